package testenv

// # Azurite (Azure Blob)
//
// Azurite(t) returns the one Azurite blob server of this test process,
// starting it on first use as
//
//	azurite-blob --skipApiVersionCheck --blobHost 127.0.0.1 --blobPort PORT --location DIR --silent
//
// (--skipApiVersionCheck because the Go SDK speaks a newer service version
// than Azurite 3.35 knows). The binary is looked up in PATH; when it is
// absent the test is skipped with a message saying how to install it
// (scripts/test.sh does). Packages that use it stop it from TestMain with
// StopAzurite() (on Linux it also dies with the test process).
//
// Each test makes its own container with a.Container(t). The tool under
// test gets credentials as in production: a.Env() is the environment for a
// child process (AZURE_STORAGE_CONNECTION_STRING), a.SetEnv(t) sets it here.

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// AzuriteAccount and AzuriteKey are the emulator's well-known development
// account and key, published in Azurite's documentation (not a secret).
const (
	AzuriteAccount = "devstoreaccount1"
	AzuriteKey     = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// AzureServer is a running Azurite blob service on loopback.
type AzureServer struct {
	Endpoint         string // "http://127.0.0.1:PORT/devstoreaccount1"
	Account          string
	Key              string
	ConnectionString string
	Dir              string // --location
}

var (
	azOnce sync.Once
	azSrv  *AzureServer
	azErr  error
	azSkip string
	az     = &server{name: "azurite-blob"}
)

// Azurite returns the test process's Azurite, starting it on first use.
// When azurite-blob is not installed it skips the test, or fails it when
// Required; it fails it when the server cannot be started.
func Azurite(t testing.TB) *AzureServer {
	t.Helper()
	azOnce.Do(func() { azSrv, azSkip, azErr = startAzurite() })
	if azSkip != "" {
		Unavailable(t, azSkip)
	}
	if azErr != nil {
		t.Fatalf("start azurite: %v", azErr)
	}
	return azSrv
}

// StopAzurite kills the server (if one was started) and removes its data.
func StopAzurite() { az.stop() }

func startAzurite() (*AzureServer, string, error) {
	if ext, err := externalAzurite(); ext != nil || err != nil {
		return ext, "", err
	}
	bin, err := exec.LookPath("azurite-blob")
	if err != nil {
		return nil, "azurite-blob not installed (not in PATH): run scripts/test.sh or `npm install -g azurite@3.35.0`", nil
	}
	var data string
	port, err := az.start("lyncbackup-azurite-", func(tmp string) error {
		data = filepath.Join(tmp, "data")
		return nil
	}, func(port int) *exec.Cmd {
		return exec.Command(bin, "--skipApiVersionCheck", "--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(port), "--location", data, "--silent")
	}, func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/%s?comp=list", port, AzuriteAccount) })
	if err != nil {
		return nil, "", err
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d/%s", port, AzuriteAccount)
	return &AzureServer{
		Endpoint: endpoint, Account: AzuriteAccount, Key: AzuriteKey, Dir: data,
		ConnectionString: "DefaultEndpointsProtocol=http;AccountName=" + AzuriteAccount + ";AccountKey=" + AzuriteKey + ";BlobEndpoint=" + endpoint + ";",
	}, "", nil
}

// Env is the environment a child process (the real binary) needs: the
// connection string, with the other AZURE_STORAGE_* variables emptied so a
// developer's own cannot leak in.
func (a *AzureServer) Env() []string {
	return []string{
		"AZURE_STORAGE_CONNECTION_STRING=" + a.ConnectionString,
		"AZURE_STORAGE_ACCOUNT=",
		"AZURE_STORAGE_KEY=",
		"AZURE_STORAGE_SAS_TOKEN=",
	}
}

// KeyEnv is the account + key flavour of Env (no connection string).
func (a *AzureServer) KeyEnv() []string {
	return []string{
		"AZURE_STORAGE_CONNECTION_STRING=",
		"AZURE_STORAGE_ACCOUNT=" + a.Account,
		"AZURE_STORAGE_KEY=" + a.Key,
		"AZURE_STORAGE_SAS_TOKEN=",
	}
}

// SetEnv sets Env() in this process for the duration of the test.
func (a *AzureServer) SetEnv(t testing.TB) {
	t.Helper()
	for _, kv := range a.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Client returns a raw SDK client for container name (test assertions only).
func (a *AzureServer) Client(name string) *container.Client {
	cred, err := container.NewSharedKeyCredential(a.Account, a.Key)
	if err != nil {
		panic(err)
	}
	c, err := container.NewClientWithSharedKeyCredential(a.Endpoint+"/"+name, cred, nil)
	if err != nil {
		panic(err)
	}
	return c
}

// Container creates a fresh container named after the test and returns its name.
func (a *AzureServer) Container(t testing.TB) string {
	t.Helper()
	name := strings.Trim(nonBucket.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	for strings.Contains(name, "--") {
		name = strings.ReplaceAll(name, "--", "-")
	}
	if len(name) > 40 {
		name = strings.Trim(name[:40], "-")
	}
	if len(name) < 3 {
		name = "t" + name + "x"
	}
	name += "-" + randHex(4)
	if err := a.CreateContainer(context.Background(), name); err != nil {
		t.Fatalf("create container %s: %v", name, err)
	}
	return name
}

// CreateContainer creates container name.
func (a *AzureServer) CreateContainer(ctx context.Context, name string) error {
	_, err := a.Client(name).Create(ctx, nil)
	return err
}
