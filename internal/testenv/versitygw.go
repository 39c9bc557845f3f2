// Package testenv starts the real servers that tests run against, on
// 127.0.0.1 only, once per test process.
//
// # VersityGW (S3)
//
// VersityGW(t) returns the one VersityGW server of this test process,
// starting it on first use as
//
//	versitygw --port 127.0.0.1:PORT posix --versioning-dir DIR DATADIR
//
// with ROOT_ACCESS_KEY / ROOT_SECRET_KEY set. The binary is looked up in
// PATH, then in $(go env GOPATH)/bin; when it is absent the test is skipped
// with a message saying how to install it (scripts/test.sh does). Every
// package that uses it should stop it when its tests end:
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		testenv.StopVersityGW()
//		os.Exit(code)
//	}
//
// (On Linux the server also dies with the test process if that is killed.)
//
// Each test makes its own bucket with s.Bucket(t, lock) (a fresh, valid name;
// lock=true makes an Object Lock bucket, which is versioned). The tool under
// test gets its credentials the way it does in production, from the AWS
// SDK's default chain: s.Env() returns the environment variables for a
// child process, s.SetEnv(t) sets them in this process. s.Client() is a raw
// SDK client for assertions (test code only).
//
// This API is shared by the S3 backend, retention and benchmark tests: keep
// it stable.
package testenv

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// S3Server is a running VersityGW on loopback.
type S3Server struct {
	Endpoint  string // "http://127.0.0.1:PORT"
	AccessKey string
	SecretKey string
	Region    string
	// DataDir is the posix backend's root (buckets are folders in it).
	DataDir string
}

var (
	vgwOnce sync.Once
	vgwSrv  *S3Server
	vgwErr  error
	vgwSkip string
	vgwMu   sync.Mutex
	vgwCmd  *exec.Cmd
	vgwDone chan error
	vgwTmp  string
	vgwLog  *os.File
)

// VersityGW returns the test process's VersityGW server, starting it on
// first use. It skips the test when the versitygw binary is not installed
// and fails it when the server cannot be started.
func VersityGW(t testing.TB) *S3Server {
	t.Helper()
	vgwOnce.Do(func() { vgwSrv, vgwSkip, vgwErr = startVersityGW() })
	if vgwSkip != "" {
		t.Skip(vgwSkip)
	}
	if vgwErr != nil {
		t.Fatalf("start versitygw: %v", vgwErr)
	}
	return vgwSrv
}

// StopVersityGW kills the server (if one was started) and removes its data.
// Call it from TestMain after m.Run.
func StopVersityGW() {
	vgwMu.Lock()
	defer vgwMu.Unlock()
	if vgwCmd != nil && vgwCmd.Process != nil {
		vgwCmd.Process.Kill()
		<-vgwDone
		vgwCmd = nil
	}
	if vgwLog != nil {
		vgwLog.Close()
		vgwLog = nil
	}
	if vgwTmp != "" {
		os.RemoveAll(vgwTmp)
		vgwTmp = ""
	}
}

// versityGWPath finds the binary in PATH or $(go env GOPATH)/bin.
func versityGWPath() string {
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			gopath = strings.TrimSpace(string(out))
		}
	}
	for _, dir := range filepath.SplitList(gopath) {
		p := filepath.Join(dir, "bin", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p
		}
		if _, err := os.Stat(p + ".exe"); err == nil {
			return p + ".exe"
		}
	}
	return ""
}

func startVersityGW() (*S3Server, string, error) {
	bin := versityGWPath()
	if bin == "" {
		return nil, "versitygw not installed (not in PATH nor $(go env GOPATH)/bin): run scripts/test.sh or `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`", nil
	}
	tmp, err := os.MkdirTemp("", "lyncbackup-versitygw-")
	if err != nil {
		return nil, "", err
	}
	data, vers := filepath.Join(tmp, "data"), filepath.Join(tmp, "versions")
	for _, d := range []string{data, vers} {
		if err := os.Mkdir(d, 0o755); err != nil {
			os.RemoveAll(tmp)
			return nil, "", err
		}
	}
	logf, err := os.Create(filepath.Join(tmp, "versitygw.log"))
	if err != nil {
		os.RemoveAll(tmp)
		return nil, "", err
	}
	srv := &S3Server{AccessKey: "lyncbackuptest", SecretKey: "lyncbackuptest-secret-" + randHex(8), Region: "us-east-1", DataDir: data}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		cmd := exec.Command(bin, "--port", addr, "--quiet", "posix", "--versioning-dir", vers, data)
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+srv.AccessKey, "ROOT_SECRET_KEY="+srv.SecretKey, "VGW_REGION="+srv.Region)
		cmd.Stdout, cmd.Stderr = logf, logf
		setPdeathsig(cmd)
		if err := cmd.Start(); err != nil {
			logf.Close()
			os.RemoveAll(tmp)
			return nil, "", err
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := waitHTTP("http://"+addr+"/", exited, 30*time.Second); err != nil {
			cmd.Process.Kill()
			<-exited
			lastErr = err
			continue
		}
		vgwMu.Lock()
		vgwCmd, vgwDone, vgwTmp, vgwLog = cmd, exited, tmp, logf
		vgwMu.Unlock()
		srv.Endpoint = "http://" + addr
		return srv, "", nil
	}
	log, _ := os.ReadFile(filepath.Join(tmp, "versitygw.log"))
	logf.Close()
	os.RemoveAll(tmp)
	return nil, "", fmt.Errorf("%v; log: %s", lastErr, tail(string(log), 2000))
}

// setPdeathsig asks Linux to kill the server when the test process dies
// (the field only exists in syscall.SysProcAttr on Linux, hence reflection).
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if f := reflect.ValueOf(cmd.SysProcAttr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.SetInt(9) // SIGKILL
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func waitHTTP(url string, exited <-chan error, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("versitygw exited: %v", err)
		default:
		}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("versitygw did not answer on %s within %v", url, limit)
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Env returns the environment a child process (the real binary) needs to
// reach the server through the AWS SDK's default credential chain. Shared
// config files are pointed at nothing so a developer's ~/.aws cannot leak in.
func (s *S3Server) Env() []string {
	return []string{
		"AWS_ACCESS_KEY_ID=" + s.AccessKey,
		"AWS_SECRET_ACCESS_KEY=" + s.SecretKey,
		"AWS_REGION=" + s.Region,
		"AWS_EC2_METADATA_DISABLED=true",
		"AWS_CONFIG_FILE=" + os.DevNull,
		"AWS_SHARED_CREDENTIALS_FILE=" + os.DevNull,
		"AWS_PROFILE=",
		"AWS_SESSION_TOKEN=",
	}
}

// SetEnv sets Env() in this process for the duration of the test.
func (s *S3Server) SetEnv(t testing.TB) {
	t.Helper()
	for _, kv := range s.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
}

// Client returns a raw SDK client for the server (path-style, static
// credentials). For test assertions only: the tool never gets credentials
// this way.
func (s *S3Server) Client() *s3.Client {
	return s3.New(s3.Options{
		Region:       s.Region,
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

var nonBucket = regexp.MustCompile(`[^a-z0-9-]+`)

// Bucket creates a fresh bucket named after the test and returns its name.
// With lock, the bucket has Object Lock enabled (and hence versioning).
// The bucket is left behind: the server's data dir goes with StopVersityGW.
func (s *S3Server) Bucket(t testing.TB, lock bool) string {
	t.Helper()
	name := strings.Trim(nonBucket.ReplaceAllString(strings.ToLower(t.Name()), "-"), "-")
	if len(name) > 40 {
		name = name[:40]
	}
	name = strings.Trim(name, "-") + "-" + randHex(4)
	if err := s.CreateBucket(context.Background(), name, lock); err != nil {
		t.Fatalf("create bucket %s: %v", name, err)
	}
	return name
}

// CreateBucket creates bucket name, with Object Lock enabled when lock is true.
func (s *S3Server) CreateBucket(ctx context.Context, name string, lock bool) error {
	in := &s3.CreateBucketInput{Bucket: aws.String(name)}
	if lock {
		in.ObjectLockEnabledForBucket = aws.Bool(true)
	}
	_, err := s.Client().CreateBucket(ctx, in)
	return err
}

// EnableVersioning turns versioning on for bucket (a plain bucket; Object
// Lock buckets are versioned already).
func (s *S3Server) EnableVersioning(ctx context.Context, bucket string) error {
	_, err := s.Client().PutBucketVersioning(ctx, &s3.PutBucketVersioningInput{
		Bucket:                  aws.String(bucket),
		VersioningConfiguration: &s3types.VersioningConfiguration{Status: s3types.BucketVersioningStatusEnabled},
	})
	return err
}

// PendingUploads counts the unfinished multipart uploads in bucket under prefix.
func (s *S3Server) PendingUploads(ctx context.Context, bucket, prefix string) (int, error) {
	n := 0
	p := s3.NewListMultipartUploadsPaginator(s.Client(), &s3.ListMultipartUploadsInput{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return 0, err
		}
		n += len(page.Uploads)
	}
	return n, nil
}
