package e2e

// S3 end-to-end tests through the real binary against a real VersityGW on
// loopback: backup → list → verify --identity → restore and compare; object
// lock headers on every object; a fault-injecting proxy between the binary
// and the server (the backup survives transient faults with identical data,
// or fails cleanly with no manifest and nothing pending); prune aborts
// stale multipart uploads.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
	"github.com/lyncbackup/lyncbackup/internal/stubbin"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
)

// TestMain stops the servers (VersityGW, Azurite) that tests of this
// package started. It is the package's only TestMain: add new servers here.
func TestMain(m *testing.M) {
	if len(os.Args) > 2 && os.Args[1] == helperArg {
		os.Exit(runHelper(os.Args[2], os.Args[3:]))
	}
	code := m.Run()
	testenv.StopVersityGW()
	testenv.StopAzurite()
	testbin.Cleanup()
	stubbin.Cleanup()
	os.Exit(code)
}

type s3Env struct {
	*remoteEnv
	srv      *testenv.S3Server
	bucket   string
	endpoint string // what the binary talks to (the server or a proxy)
	bulky    string
}

// throughProxy points the binary at a fault proxy in front of the server
// (closed when the test ends); call writeConfig after it.
func (e *s3Env) throughProxy(t *testing.T) *faultproxy.Proxy {
	t.Helper()
	p, err := faultproxy.Start(e.srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	e.endpoint = p.URL
	return p
}

// newS3Env makes a source tree (a 24 MiB incompressible file, so the item
// goes multipart in 5 MiB parts, plus small files), an identity and a bucket.
func newS3Env(t *testing.T, lock bool) *s3Env {
	t.Helper()
	srv := testenv.VersityGW(t)
	e := &s3Env{remoteEnv: newRemoteEnv(t, srv.Env(), "topology"), srv: srv, bucket: srv.Bucket(t, lock), endpoint: srv.Endpoint}
	os.MkdirAll(filepath.Join(e.src, "Topology", "sub"), 0o755)
	for i := range 40 {
		os.WriteFile(filepath.Join(e.src, "Topology", "sub", fmt.Sprintf("cfg-%02d.xml", i)), []byte(strings.Repeat(fmt.Sprintf("<Setting n=%d/>", i), 50+i)), 0o644)
	}
	e.bulky = filepath.Join(e.src, "Topology", "meeting-content.bin")
	f, err := os.Create(e.bulky)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.CopyN(f, rand.NewChaCha8([32]byte{7}), 24<<20); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return e
}

func (e *s3Env) url() string { return "s3://" + e.bucket + "/" + e.prefix }

// store opens the destination as the binary does (straight to the server).
func (e *s3Env) store(t *testing.T) upload.Store {
	t.Helper()
	e.srv.SetEnv(t)
	st, err := destination.Open(context.Background(), config.Destination{URL: e.url(), Endpoint: e.srv.Endpoint, PathStyle: true, Region: e.srv.Region})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// fromURL is the bare-machine form: everything in the URL.
func (e *s3Env) fromURL() string {
	return e.url() + "?endpoint=" + e.endpoint + "&path_style=true&region=" + e.srv.Region
}

func (e *s3Env) writeConfig() {
	e.t.Helper()
	e.writeConfigWith(e.url(), "  endpoint: "+e.endpoint+"\n  path_style: true\n  part_size: 5MiB\n  concurrency: 3\n")
}

// keys lists the bucket under the prefix (raw, not through the tool).
func (e *s3Env) keys() []string {
	e.t.Helper()
	out, err := e.srv.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket), Prefix: aws.String(e.prefix + "/")})
	if err != nil {
		e.t.Fatal(err)
	}
	var ks []string
	for _, o := range out.Contents {
		ks = append(ks, aws.ToString(o.Key))
	}
	return ks
}

func (e *s3Env) pending() int {
	e.t.Helper()
	n, err := e.srv.PendingUploads(context.Background(), e.bucket, "")
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

func TestS3BackupListVerifyRestore(t *testing.T) {
	e := newS3Env(t, false)
	e.writeConfig()
	set := e.backup()

	keys := e.keys()
	item := e.prefix + "/" + e.host + "/" + set + "/topology.tar.zst.age"
	manifest := e.prefix + "/" + e.host + "/" + set + "/manifest.json"
	if len(keys) != 2 || keys[0] != manifest || keys[1] != item {
		t.Fatalf("bucket holds %v, want the item and the manifest under %s/", keys, e.prefix)
	}
	h, err := e.srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(item)})
	if err != nil || aws.ToInt64(h.ContentLength) < 24<<20 {
		t.Fatalf("item object: %v", err)
	}
	if e.pending() != 0 {
		t.Fatal("multipart uploads left after a successful backup")
	}

	// list and verify from the URL alone (a bare machine without config).
	bare := []string{"LYNCBACKUP_CONFIG=" + filepath.Join(e.dir, "absent.yaml")}
	sets := listSets(t, append(append([]string(nil), e.env...), bare...), e.fromURL())
	if len(sets) != 1 || sets[set] != "complete" {
		t.Fatalf("list: %v", sets)
	}
	if r := e.run(bare, "verify", "--from", e.fromURL(), "--identity", e.key, "latest"); r.Code != 0 {
		t.Fatalf("verify --identity: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	e.restoreAndCompare("", nil)
	e.restoreAndCompare(e.fromURL(), bare)
}

func TestS3ObjectLockOnEveryObject(t *testing.T) {
	e := newS3Env(t, true)
	e.destExtra = "  object_lock: {mode: GOVERNANCE, days: 2, legal_hold: false}\n"
	e.writeConfig()
	before := time.Now().UTC()
	e.backup()
	keys := e.keys()
	if len(keys) != 2 {
		t.Fatalf("bucket holds %v", keys)
	}
	for _, k := range keys {
		h, err := e.srv.Client().HeadObject(context.Background(), &s3.HeadObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(k)})
		if err != nil {
			t.Fatal(err)
		}
		until := aws.ToTime(h.ObjectLockRetainUntilDate)
		if h.ObjectLockMode != s3types.ObjectLockModeGovernance || until.Before(before.Add(47*time.Hour)) || until.After(time.Now().Add(49*time.Hour)) {
			t.Fatalf("%s: lock mode %q until %v, want GOVERNANCE about 2 days from %v", k, h.ObjectLockMode, until, before)
		}
	}
	// A locked object cannot be deleted, not even through the raw API
	// without the governance bypass.
	vs, err := e.srv.Client().ListObjectVersions(context.Background(), &s3.ListObjectVersionsInput{Bucket: aws.String(e.bucket), Prefix: aws.String(keys[1])})
	if err != nil || len(vs.Versions) != 1 {
		t.Fatalf("versions: %v", err)
	}
	if _, err := e.srv.Client().DeleteObject(context.Background(), &s3.DeleteObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(keys[1]), VersionId: vs.Versions[0].VersionId}); err == nil {
		t.Fatal("locked version deleted")
	}
	e.restoreAndCompare("", nil)
	// check probes the bucket: writable, versioned, object lock on.
	r := e.run(nil, "check", "--json")
	var rep struct {
		Checks []struct{ Name, Status, Detail string } `json:"checks"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("check --json: %v\n%s", err, r.Stdout)
	}
	found := map[string]string{}
	for _, c := range rep.Checks {
		found[strings.Fields(c.Name)[0]+" "+c.Status] = c.Detail
	}
	if _, ok := found["destination ok"]; !ok {
		t.Errorf("check did not probe the bucket successfully: %+v", rep.Checks)
	}
	if d, ok := found["object ok"]; !ok || !strings.Contains(d, "enabled") {
		t.Errorf("check does not report object lock enabled: %+v", rep.Checks)
	}
	if d := found["versioning ok"]; d != "enabled" {
		t.Errorf("check does not report versioning enabled: %+v", rep.Checks)
	}
	if n := len(e.keys()); n != 2 {
		t.Errorf("check left %d objects (probe object not deleted?)", n)
	}
}

// Transient faults (resets mid-part, 500, 503 SlowDown, stalls) on upload
// and download through the real binary: the backup succeeds and restores
// identical data; nothing is left pending.
func TestS3BackupRestoreThroughFaults(t *testing.T) {
	e := newS3Env(t, false)
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
			if r.Header.Get("Range") != "" {
				if n := gets.Add(1); n%2 == 0 {
					return []faultproxy.Fault{faultproxy.FaultResetResponse, faultproxy.Fault503}[(n/2)%2]
				}
			}
		}
		return faultproxy.FaultNone
	})
	e.backup()
	upFaults := p.Injected()
	if upFaults < 2 {
		t.Fatalf("only %d faults injected during the backup", upFaults)
	}
	if e.pending() != 0 {
		t.Fatal("multipart uploads left after the backup")
	}
	e.restoreAndCompare("", nil)
	if p.Injected()-upFaults < 2 {
		t.Fatalf("only %d faults injected during the restore", p.Injected()-upFaults)
	}
	t.Logf("%d faults injected (%d on upload)", p.Injected(), upFaults)
}

// A store that keeps refusing one part: the backup fails with one error
// line, writes no manifest and leaves no multipart upload behind.
func TestS3BackupFailsCleanly(t *testing.T) {
	e := newS3Env(t, false)
	p := e.throughProxy(t)
	e.writeConfig()
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "3" {
			return faultproxy.FaultReset
		}
		return faultproxy.FaultNone
	})
	// AWS_MAX_ATTEMPTS is the SDK's own knob; it keeps the test short.
	r := e.run([]string{"AWS_MAX_ATTEMPTS=2"}, "backup")
	if r.Code == 0 || r.Code == 3 {
		t.Fatalf("backup exit %d although part 3 never gets through\n%s", r.Code, r.Stderr)
	}
	failsWith(t, r, r.Code, "part 3", "gave up after 2 attempts")
	if strings.Contains(r.Stderr, e.srv.SecretKey) || strings.Contains(r.Stderr, "RequestID") {
		t.Fatalf("stderr leaks the secret or request ids:\n%s", r.Stderr)
	}
	for _, k := range e.keys() {
		if strings.HasSuffix(k, "manifest.json") {
			t.Fatalf("a manifest was written by a failed backup: %s", k)
		}
	}
	if n := e.pending(); n != 0 {
		t.Fatalf("%d multipart uploads left after the failed backup", n)
	}
}

// prune aborts multipart uploads under the host's prefix once they are
// older than the grace period.
func TestS3PruneAbortsStaleUploads(t *testing.T) {
	e := newS3Env(t, false)
	e.writeConfig()
	e.backup()
	c := e.srv.Client()
	ctx := context.Background()
	stale := e.prefix + "/" + e.host + "/20200101T000000Z-dead00/topology.tar.zst.age"
	if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(e.bucket), Key: aws.String(stale)}); err != nil {
		t.Fatal(err)
	}
	if e.pending() != 1 {
		t.Fatal("test upload not pending")
	}
	waitStoreAged(t, e.store(t), time.Now(), time.Second)
	if r := e.run(nil, "prune", "--keep-last", "5", "--grace", "1s"); r.Code != 0 {
		t.Fatalf("prune: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if n := e.pending(); n != 0 {
		t.Fatalf("%d multipart uploads left after prune", n)
	}
	if sets := listSets(t, e.env, e.fromURL()); len(sets) != 1 {
		t.Fatalf("prune changed the sets: %v", sets)
	}
}
