package e2e

// Azure Blob end-to-end tests through the real binary against Azurite on
// loopback: backup → list → verify --identity → restore and compare (with
// a connection string, and with account + key); immutability and legal
// hold headers on every object (Azurite does not enforce them, so a proxy
// records what is sent); transient faults survived with identical data; a
// persistent fault fails cleanly with no manifest and no blocks left.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

type azEnv struct {
	*remoteEnv
	az        *testenv.AzureServer
	container string
	endpoint  string // destination.endpoint ("" = from the connection string)
}

// throughProxy points the binary at a fault proxy in front of Azurite
// (closed when the test ends); call writeConfig after it.
func (e *azEnv) throughProxy(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(strings.TrimSuffix(e.az.Endpoint, "/"+testenv.AzuriteAccount))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	e.endpoint = p.URL + "/" + testenv.AzuriteAccount
	e.env = append(e.az.KeyEnv(), "LYNCBACKUP_CONFIG="+e.config)
	return p
}

// newAzEnv makes a source tree (a 20 MiB incompressible file, so the item
// is staged as several 4 MiB blocks, plus small files), an identity and a
// container.
func newAzEnv(t *testing.T) *azEnv {
	t.Helper()
	az := testenv.Azurite(t)
	e := &azEnv{remoteEnv: newRemoteEnv(t, az.Env(), "filestore"), az: az, container: az.Container(t)}
	os.MkdirAll(filepath.Join(e.src, "FileStore", "meeting-ü"), 0o755)
	for i := range 30 {
		os.WriteFile(filepath.Join(e.src, "FileStore", "meeting-ü", fmt.Sprintf("handout-%02d.txt", i)), []byte(strings.Repeat(fmt.Sprintf("line %d\n", i), 40+i)), 0o644)
	}
	f, err := os.Create(filepath.Join(e.src, "FileStore", "recording.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{9}), 20<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return e
}

func (e *azEnv) url() string { return "azblob://" + e.container + "/" + e.prefix }

func (e *azEnv) writeConfig() {
	e.t.Helper()
	ep := ""
	if e.endpoint != "" {
		ep = "  endpoint: " + e.endpoint + "\n"
	}
	e.writeConfigWith(e.url(), ep+"  part_size: 4MiB\n  concurrency: 3\n")
}

// blobs lists the container (raw, not through the tool); with uncommitted,
// blobs that only have staged blocks are listed too.
func (e *azEnv) blobs(uncommitted bool) []string {
	e.t.Helper()
	pager := e.az.Client(e.container).NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{UncommittedBlobs: uncommitted}})
	var names []string
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			names = append(names, *it.Name)
		}
	}
	sort.Strings(names)
	return names
}

func TestAzureBackupListVerifyRestore(t *testing.T) {
	e := newAzEnv(t)
	e.writeConfig()
	set := e.backup()

	item := e.prefix + "/" + e.host + "/" + set + "/filestore.tar.zst.age"
	manifest := e.prefix + "/" + e.host + "/" + set + "/manifest.json"
	if got := e.blobs(true); len(got) != 2 || got[0] != item || got[1] != manifest {
		t.Fatalf("container holds %v, want the item and the manifest", got)
	}
	p, err := e.az.Client(e.container).NewBlobClient(item).GetProperties(context.Background(), nil)
	if err != nil || *p.ContentLength < 20<<20 {
		t.Fatalf("item blob: %v", err)
	}

	// list, verify and restore from the URL alone (bare machine: no config,
	// the connection string in the environment).
	bare := []string{"LYNCBACKUP_CONFIG=" + filepath.Join(e.dir, "absent.yaml")}
	sets := listSets(t, append(append([]string(nil), e.env...), bare...), e.url())
	if len(sets) != 1 || sets[set] != "complete" {
		t.Fatalf("list: %v", sets)
	}
	if r := e.run(bare, "verify", "--from", e.url(), "--identity", e.key, "latest"); r.Code != 0 {
		t.Fatalf("verify --identity: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	e.restoreAndCompare("", nil)
	e.restoreAndCompare(e.url(), bare)

	// Account + key instead of a connection string: the endpoint comes from
	// destination.endpoint.
	e.env = append(e.az.KeyEnv(), "LYNCBACKUP_CONFIG="+e.config)
	e.endpoint = e.az.Endpoint
	e.writeConfig()
	e.backup()
	if r := e.run(nil, "verify", "--identity", e.key, "latest"); r.Code != 0 {
		t.Fatalf("verify with account+key: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	e.restoreAndCompare("", nil)

	// check probes the container and leaves nothing behind.
	r := e.run(nil, "check", "--json")
	if !strings.Contains(r.Stdout, `"destination`) {
		t.Fatalf("check --json did not probe the destination:\n%s\n%s", r.Stdout, r.Stderr)
	}
	var rep struct {
		Checks []struct{ Name, Status, Detail string } `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, r.Stdout)
	}
	ok := false
	for _, c := range rep.Checks {
		if strings.HasPrefix(c.Name, "destination") && c.Status == "ok" {
			ok = true
		}
	}
	if !ok {
		t.Errorf("check did not probe the container successfully: %+v", rep.Checks)
	}
	if n := len(e.blobs(true)); n != 4 {
		t.Errorf("container holds %d blobs after check, want the 4 of two sets", n)
	}
	if strings.Contains(r.Stdout+r.Stderr, e.az.Key) {
		t.Fatal("check output leaks the account key")
	}
}

// Immutability and legal hold reach the service on every object (item and
// manifest), with the locked mode from the config.
func TestAzureImmutabilityOnEveryObject(t *testing.T) {
	e := newAzEnv(t)
	p := e.throughProxy(t)
	e.destExtra = "  access_tier: Cool\n  immutability: {days: 2, locked: true, legal_hold: true}\n"
	e.writeConfig()
	before := time.Now().UTC()
	set := e.backup()
	objects := map[string]bool{}
	for _, r := range p.Requests() {
		path, _ := url.PathUnescape(r.URL)
		if r.Method != http.MethodPut || !strings.Contains(path, "/"+set+"/") {
			continue
		}
		q := ""
		if i := strings.Index(path, "?"); i >= 0 {
			path, q = path[:i], path[i+1:]
		}
		if strings.Contains(q, "comp=block&") || strings.HasSuffix(q, "comp=block") || strings.HasPrefix(q, "blockid=") {
			continue // staged blocks carry no policy; the commit does
		}
		name := path[strings.LastIndex(path, "/")+1:]
		if name == "lease.json" {
			continue // the run's lease is rewritten and deleted: never locked
		}
		objects[name] = true
		until, err := http.ParseTime(r.Header.Get("X-Ms-Immutability-Policy-Until-Date"))
		if err != nil || until.Before(before.Add(47*time.Hour)) || until.After(time.Now().Add(49*time.Hour)) {
			t.Errorf("%s (%s): until %q, want about 2 days from now", name, q, r.Header.Get("X-Ms-Immutability-Policy-Until-Date"))
		}
		if m := r.Header.Get("X-Ms-Immutability-Policy-Mode"); m != "Locked" {
			t.Errorf("%s: mode %q, want Locked", name, m)
		}
		if h := r.Header.Get("X-Ms-Legal-Hold"); h != "true" {
			t.Errorf("%s: legal hold %q, want true", name, h)
		}
		if tier := r.Header.Get("X-Ms-Access-Tier"); tier != "Cool" {
			t.Errorf("%s: tier %q, want Cool", name, tier)
		}
	}
	if !objects["filestore.tar.zst.age"] || !objects["manifest.json"] {
		t.Fatalf("policy requests seen for %v, want the item and the manifest", objects)
	}
	e.restoreAndCompare("", nil)
}

// Transient faults (resets, 500, 503, stalls) on upload and download
// through the real binary: the backup succeeds and restores identical data.
func TestAzureBackupRestoreThroughFaults(t *testing.T) {
	e := newAzEnv(t)
	p := e.throughProxy(t)
	p.StallFor = 2 * time.Second
	e.writeConfig()
	var puts, gets atomic.Int64
	faults := []faultproxy.Fault{faultproxy.FaultReset, faultproxy.Fault503, faultproxy.Fault500, faultproxy.FaultStall}
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		switch r.Method {
		case http.MethodPut:
			if n := puts.Add(1); n%2 == 0 {
				return faults[(n/2)%4]
			}
		case http.MethodGet:
			if r.Header.Get("X-Ms-Range") != "" || r.Header.Get("Range") != "" {
				if n := gets.Add(1); n%2 == 0 {
					return []faultproxy.Fault{faultproxy.FaultResetResponse, faultproxy.Fault503}[(n/2)%2]
				}
			}
		}
		return faultproxy.FaultNone
	})
	set := e.backup("LYNCBACKUP_AZURE_MAX_RETRIES=6")
	upFaults := p.Injected()
	if upFaults < 2 {
		t.Fatalf("only %d faults injected during the backup", upFaults)
	}
	if got := e.blobs(true); len(got) != 2 || !strings.HasSuffix(got[1], set+"/manifest.json") {
		t.Fatalf("container holds %v after the backup", got)
	}
	e.restoreAndCompare("", []string{"LYNCBACKUP_AZURE_MAX_RETRIES=6"})
	if p.Injected()-upFaults < 2 {
		t.Fatalf("only %d faults injected during the restore", p.Injected()-upFaults)
	}
	t.Logf("%d faults injected (%d on upload)", p.Injected(), upFaults)
}

// A store that keeps refusing one block: the backup fails with one error
// line, writes no manifest and leaves no committed or uncommitted blob.
func TestAzureBackupFailsCleanly(t *testing.T) {
	e := newAzEnv(t)
	p := e.throughProxy(t)
	e.writeConfig()
	var blocks atomic.Int64
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if r.Method == http.MethodPut && r.URL.Query().Get("comp") == "block" && blocks.Add(1) >= 3 {
			return faultproxy.Fault500
		}
		return faultproxy.FaultNone
	})
	r := e.run([]string{"LYNCBACKUP_AZURE_MAX_RETRIES=1"}, "backup")
	if r.Code == 0 || r.Code == 3 {
		t.Fatalf("backup exit %d although blocks never get through\n%s", r.Code, r.Stderr)
	}
	failsWith(t, r, r.Code, "filestore", "HTTP 500")
	if strings.Contains(r.Stderr, e.az.Key) || strings.Contains(r.Stderr, "RequestId") {
		t.Fatalf("stderr leaks the key or request ids:\n%s", r.Stderr)
	}
	if got := e.blobs(true); len(got) != 0 {
		t.Fatalf("a failed backup left %v", got)
	}
}
