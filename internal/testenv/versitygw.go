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
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

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
	vgw     = &server{name: "versitygw"}
)

// VersityGW returns the test process's VersityGW server, starting it on
// first use. When the versitygw binary is not installed it skips the test,
// or fails it when Required; it fails it when the server cannot be started.
func VersityGW(t testing.TB) *S3Server {
	t.Helper()
	vgwOnce.Do(func() { vgwSrv, vgwSkip, vgwErr = startVersityGW() })
	if vgwSkip != "" {
		Unavailable(t, vgwSkip)
	}
	if vgwErr != nil {
		t.Fatalf("start versitygw: %v", vgwErr)
	}
	return vgwSrv
}

// StopVersityGW kills the server (if one was started) and removes its data.
// Call it from TestMain after m.Run.
func StopVersityGW() { vgw.stop() }

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
	if ext, err := externalVersityGW(); ext != nil || err != nil {
		return ext, "", err
	}
	bin := versityGWPath()
	if bin == "" {
		return nil, "versitygw not installed (not in PATH nor $(go env GOPATH)/bin): run scripts/test.sh or `go install github.com/versity/versitygw/cmd/versitygw@v1.8.0`", nil
	}
	srv := &S3Server{AccessKey: "lyncbackuptest", SecretKey: "lyncbackuptest-secret-" + randHex(8), Region: "us-east-1"}
	var vers string
	port, err := vgw.start("lyncbackup-versitygw-", func(tmp string) error {
		srv.DataDir, vers = filepath.Join(tmp, "data"), filepath.Join(tmp, "versions")
		for _, d := range []string{srv.DataDir, vers} {
			if err := os.Mkdir(d, 0o755); err != nil {
				return err
			}
		}
		return nil
	}, func(port int) *exec.Cmd {
		cmd := exec.Command(bin, "--port", fmt.Sprintf("127.0.0.1:%d", port), "--quiet", "posix", "--versioning-dir", vers, srv.DataDir)
		cmd.Env = append(os.Environ(), "ROOT_ACCESS_KEY="+srv.AccessKey, "ROOT_SECRET_KEY="+srv.SecretKey, "VGW_REGION="+srv.Region)
		return cmd
	}, func(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/", port) })
	if err != nil {
		return nil, "", err
	}
	srv.Endpoint = fmt.Sprintf("http://127.0.0.1:%d", port)
	return srv, "", nil
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
