package s3

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
)

// proxied opens a store whose traffic goes through a fault-injecting proxy.
func proxied(t *testing.T, lock bool, tweak func(*Options)) (*Store, *faultproxy.Proxy, *testenv.S3Server, string) {
	t.Helper()
	srv := testenv.VersityGW(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, lock)
	p, err := faultproxy.Start(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	o := Options{Bucket: bucket, Prefix: "p", Endpoint: p.URL, PathStyle: true, PartSize: MinPartSize, StallTimeout: time.Second}
	if tweak != nil {
		tweak(&o)
	}
	st, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return st, p, srv, bucket
}

func isPart(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Has("partNumber")
}

// rotate injects faults in turn on every nth request that match.
func rotate(nth int64, match func(*http.Request) bool, faults ...faultproxy.Fault) faultproxy.Rule {
	var c atomic.Int64
	return func(_ int64, r *http.Request) faultproxy.Fault {
		if !match(r) {
			return faultproxy.FaultNone
		}
		n := c.Add(1)
		if n%nth != 0 {
			return faultproxy.FaultNone
		}
		return faults[(n/nth)%int64(len(faults))]
	}
}

// Resets mid-part, 500s, 503 SlowDown and stalls during upload and
// download: the data comes back identical and nothing is left pending.
func TestFaultsDuringUploadAndDownloadAreRetried(t *testing.T) {
	st, p, srv, bucket := proxied(t, false, nil)
	p.StallFor = 3 * time.Second
	ctx := context.Background()
	const size = 12*MinPartSize + 12345
	data := randBytes(42, size)
	p.SetRule(rotate(3, func(r *http.Request) bool { return r.Method == http.MethodPut },
		faultproxy.FaultReset, faultproxy.Fault500, faultproxy.Fault503, faultproxy.FaultStall))
	if _, err := st.Put(ctx, "h/s/big", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatalf("put through faults: %v", err)
	}
	upFaults := p.Injected()
	if upFaults < 4 {
		t.Fatalf("only %d faults injected during upload", upFaults)
	}
	if _, err := st.Put(ctx, "h/s/small", bytes.NewReader(data[:1000]), upload.PutOptions{}); err != nil {
		t.Fatalf("small put through faults: %v", err)
	}
	if n := pending(t, srv, bucket); n != 0 {
		t.Fatalf("%d multipart uploads pending", n)
	}

	p.SetRule(rotate(2, func(r *http.Request) bool { return r.Method == http.MethodGet },
		faultproxy.FaultResetResponse, faultproxy.Fault503, faultproxy.FaultStall, faultproxy.Fault500))
	got := readAll(t, st, "h/s/big", 0, -1)
	if !bytes.Equal(got, data) {
		t.Fatalf("read back %d bytes through faults, differing", len(got))
	}
	got = readAll(t, st, "h/s/big", MinPartSize+3, 3*MinPartSize)
	if !bytes.Equal(got, data[MinPartSize+3:4*MinPartSize+3]) {
		t.Fatal("range read through faults differs")
	}
	if p.Injected()-upFaults < 4 {
		t.Fatalf("only %d faults injected during download", p.Injected()-upFaults)
	}
	// Every part carried its CRC32C.
	parts := 0
	for _, r := range p.Requests() {
		u, _ := url.Parse(r.URL)
		if r.Method == http.MethodPut && u.Query().Has("partNumber") {
			parts++
			if r.Header.Get("X-Amz-Checksum-Crc32c") == "" {
				t.Fatalf("part without CRC32C: %s", r.URL)
			}
		}
	}
	if parts < 13 {
		t.Fatalf("saw %d part uploads, want at least 13", parts)
	}
}

// A store that keeps failing: Put gives up with one clean line, the
// multipart upload is aborted and no object appears.
func TestPersistentFailureAbortsCleanly(t *testing.T) {
	st, p, srv, bucket := proxied(t, false, func(o *Options) { o.MaxAttempts = 3 })
	p.SetRule(func(n int64, r *http.Request) faultproxy.Fault {
		if isPart(r) && r.URL.Query().Get("partNumber") == "3" {
			return faultproxy.Fault500
		}
		return faultproxy.FaultNone
	})
	_, err := st.Put(context.Background(), "h/s/doomed", randStream(5, 6*MinPartSize), upload.PutOptions{})
	if err == nil {
		t.Fatal("put succeeded although part 3 always fails")
	}
	msg := err.Error()
	if strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "s3 put h/s/doomed: part 3: gave up after 3 attempts: ") || !strings.HasSuffix(msg, "(HTTP 500)") ||
		strings.Contains(msg, "RequestID") || strings.Contains(msg, srv.SecretKey) {
		t.Fatalf("error %q is not one clean line naming key and part", msg)
	}
	if n := pending(t, srv, bucket); n != 0 {
		t.Fatalf("%d multipart uploads left after the failed put", n)
	}
	if _, err := st.Stat(context.Background(), "h/s/doomed"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("object exists after failed put: %v", err)
	}
}

// checksum: when_required sends no checksum headers, except Content-MD5
// for object-lock uploads (AWS requires one with lock headers).
func TestChecksumWhenRequired(t *testing.T) {
	for _, lock := range []bool{false, true} {
		st, p, _, _ := proxied(t, lock, func(o *Options) { o.Checksum = "when_required" })
		po := upload.PutOptions{}
		if lock {
			po.RetainUntil = time.Now().Add(time.Hour)
		}
		ctx := context.Background()
		if _, err := st.Put(ctx, "h/s/one", strings.NewReader("small"), po); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Put(ctx, "h/s/multi", randStream(1, 2*MinPartSize+1), po); err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range p.Requests() {
			if r.Method != http.MethodPut {
				continue
			}
			n++
			for h := range r.Header {
				if strings.HasPrefix(strings.ToLower(h), "x-amz-checksum-") || strings.EqualFold(h, "x-amz-sdk-checksum-algorithm") {
					t.Errorf("lock=%v: %s sent with checksum: when_required", lock, h)
				}
			}
			if md5 := r.Header.Get("Content-Md5"); (md5 != "") != lock {
				t.Errorf("lock=%v: Content-MD5 %q on %s", lock, md5, r.URL)
			}
		}
		if n < 4 {
			t.Fatalf("saw only %d PUTs", n)
		}
	}
}

// AWS_CA_BUNDLE is set on these machines; with it the SDK must still talk
// plain http to a loopback endpoint.
func TestWorksWithCABundleSet(t *testing.T) {
	srv := testenv.VersityGW(t)
	srv.SetEnv(t)
	bundle := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(bundle, testenv.NewCAPEM(t, "test CA"), 0o644)
	t.Setenv("AWS_CA_BUNDLE", bundle)
	st, err := Open(context.Background(), Options{Bucket: srv.Bucket(t, false), Endpoint: srv.Endpoint, PathStyle: true})
	if err != nil {
		t.Fatalf("open with AWS_CA_BUNDLE set: %v", err)
	}
	if _, err := st.Put(context.Background(), "k", strings.NewReader("hello"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, st, "k", 0, -1); string(got) != "hello" {
		t.Fatalf("read %q", got)
	}
}

// VersityGW has no archive tiers, so a loopback proxy in front of it plays
// frozenStore opens a store behind f (its Cold: keys with "/cold") in front
// of VersityGW, holding h/s/cold = "frozen data".
func frozenStore(t *testing.T, f faultproxy.S3Frozen) *Store {
	t.Helper()
	srv := testenv.VersityGW(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, false)
	f.Cold = func(r *http.Request) bool { return strings.Contains(r.URL.Path, "/cold") }
	fake, err := f.Start(srv.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	st, err := Open(context.Background(), Options{Bucket: bucket, Endpoint: fake.URL, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), "h/s/cold", strings.NewReader("frozen data"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	return st
}

// S3's part: HEAD reports DEEP_ARCHIVE (or a finished restore), GET answers
// InvalidObjectState, POST ?restore is accepted.
func TestArchivedObjectsAndThaw(t *testing.T) {
	var restored atomic.Bool
	var restores atomic.Int32
	st := frozenStore(t, faultproxy.S3Frozen{
		Class:     "DEEP_ARCHIVE",
		Thawed:    restored.Load,
		OnRestore: func(*http.Request) { restores.Add(1) },
	})
	ctx := context.Background()
	fi, err := st.Stat(ctx, "h/s/cold")
	if err != nil || !fi.Archived || fi.Tier != "DEEP_ARCHIVE" {
		t.Fatalf("stat: %+v %v", fi, err)
	}
	_, err = st.Get(ctx, "h/s/cold", 0, -1)
	if !errors.Is(err, upload.ErrArchived) || !strings.Contains(err.Error(), "DEEP_ARCHIVE") || !strings.Contains(err.Error(), "--thaw") {
		t.Fatalf("get of an archived object: %v", err)
	}
	// The one-GET read of a chunk says the same (its GET fails; a HEAD
	// then tells the storage class).
	if _, err = st.ReadWhole(ctx, "h/s/cold", make([]byte, 11)); !errors.Is(err, upload.ErrArchived) || !strings.Contains(err.Error(), "storage class DEEP_ARCHIVE") || !strings.Contains(err.Error(), "--thaw") {
		t.Fatalf("ReadWhole of an archived object: %v", err)
	}
	th, err := st.Thaw(ctx, "h/s/cold", 3)
	if err != nil || th.State != upload.ThawStarted || restores.Load() != 1 || !strings.Contains(th.Message, "12 hours") || !strings.Contains(th.Message, "3 days") {
		t.Fatalf("thaw: %+v %v (%d restore requests)", th, err, restores.Load())
	}
	restored.Store(true)
	if got := readAll(t, st, "h/s/cold", 0, -1); string(got) != "frozen data" {
		t.Fatalf("after thaw: %q", got)
	}
	if buf := make([]byte, 11); func() error { _, err := st.ReadWhole(ctx, "h/s/cold", buf); return err }() != nil || string(buf) != "frozen data" {
		t.Fatalf("ReadWhole after thaw: %q", buf)
	}
	if th, err := st.Thaw(ctx, "h/s/cold", 3); err != nil || th.State != upload.ThawOnline || !strings.Contains(th.Message, "already restored") || restores.Load() != 1 {
		t.Fatalf("second thaw: %+v %v", th, err)
	}
}

// INTELLIGENT_TIERING's Archive Access and Deep Archive Access tiers are
// archive tiers too: HEAD reports the class INTELLIGENT_TIERING and an
// x-amz-archive-status, GET answers InvalidObjectState, and the restore
// request must not carry Days (S3 refuses it: the object itself moves
// back to the Frequent Access tier).
func TestIntelligentTieringArchiveTiers(t *testing.T) {
	var restored atomic.Bool
	var restores atomic.Int32
	var body atomic.Value
	st := frozenStore(t, faultproxy.S3Frozen{
		Class:         "INTELLIGENT_TIERING",
		ArchiveStatus: "DEEP_ARCHIVE_ACCESS",
		Thawed:        restored.Load,
		OnRestore: func(r *http.Request) {
			restores.Add(1)
			b, _ := io.ReadAll(r.Body)
			body.Store(string(b))
		},
	})
	ctx := context.Background()
	fi, err := st.Stat(ctx, "h/s/cold")
	if err != nil || !fi.Archived || fi.Tier != "INTELLIGENT_TIERING" {
		t.Fatalf("stat: %+v %v", fi, err)
	}
	_, err = st.Get(ctx, "h/s/cold", 0, -1)
	if !errors.Is(err, upload.ErrArchived) || !strings.Contains(err.Error(), "INTELLIGENT_TIERING (DEEP_ARCHIVE_ACCESS)") ||
		!strings.Contains(err.Error(), "--thaw") || !strings.Contains(err.Error(), "up to 12 hours") {
		t.Fatalf("get of an archived object: %v", err)
	}
	if _, err = st.ReadWhole(ctx, "h/s/cold", make([]byte, 11)); !errors.Is(err, upload.ErrArchived) || !strings.Contains(err.Error(), "DEEP_ARCHIVE_ACCESS") {
		t.Fatalf("ReadWhole of an archived object: %v", err)
	}
	th, err := st.Thaw(ctx, "h/s/cold", 3)
	if err != nil || th.State != upload.ThawStarted || restores.Load() != 1 || !strings.Contains(th.Message, "12 hours") || !strings.Contains(th.Message, "Frequent Access") {
		t.Fatalf("thaw: %+v %v (%d restore requests)", th, err, restores.Load())
	}
	if b, _ := body.Load().(string); strings.Contains(b, "<Days>") || !strings.Contains(b, "<Tier>Standard</Tier>") {
		t.Fatalf("restore request for an INTELLIGENT_TIERING archive tier: %s", b)
	}
	restored.Store(true)
	if got := readAll(t, st, "h/s/cold", 0, -1); string(got) != "frozen data" {
		t.Fatalf("after thaw: %q", got)
	}
	if fi, err := st.Stat(ctx, "h/s/cold"); err != nil || fi.Archived {
		t.Fatalf("stat after thaw: %+v %v", fi, err)
	}
	if th, err := st.Thaw(ctx, "h/s/cold", 3); err != nil || th.State != upload.ThawOnline || restores.Load() != 1 {
		t.Fatalf("second thaw: %+v %v", th, err)
	}
}

func isComplete(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Query().Has("uploadId")
}

// A server that copies the parts into place before it answers Complete
// (VersityGW's posix backend) sends nothing meanwhile: the stall timeout
// must not cut that wait, or every retry finds the upload claimed and a
// large object fails every night.
func TestSlowCompleteIsWaitedFor(t *testing.T) {
	st, p, _, _ := proxied(t, false, nil) // stall timeout 1 s
	p.StallFor = 2500 * time.Millisecond
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if isComplete(r) {
			return faultproxy.FaultStall
		}
		return faultproxy.FaultNone
	})
	data := randBytes(7, 2*MinPartSize+1)
	if _, err := st.Put(context.Background(), "h/s/big", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatalf("put with a slow Complete: %v", err)
	}
	completes := 0
	for _, r := range p.Requests() {
		if r.Method == http.MethodPost && strings.Contains(r.URL, "uploadId") {
			completes++
		}
	}
	if completes != 1 || p.Abandoned() != 0 {
		t.Fatalf("%d Complete requests, %d abandoned: the wait for its answer was cut", completes, p.Abandoned())
	}
	if got := readAll(t, st, "h/s/big", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("object differs")
	}
}

// Complete answered, the object not visible yet (a retried Complete that
// VersityGW answers while the first attempt still assembles it): Put
// looks again instead of failing on the 404.
func TestObjectAppearingAfterComplete(t *testing.T) {
	st, p, _, _ := proxied(t, false, nil)
	var completed atomic.Bool
	var heads atomic.Int32
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		switch {
		case isComplete(r):
			completed.Store(true)
		case completed.Load() && r.Method == http.MethodHead && heads.Add(1) == 1:
			return faultproxy.Fault404
		}
		return faultproxy.FaultNone
	})
	data := randBytes(8, 2*MinPartSize+1)
	if _, err := st.Put(context.Background(), "h/s/late", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatalf("put whose object appears a moment after Complete: %v", err)
	}
	if heads.Load() != 2 {
		t.Fatalf("%d HEADs after Complete, want 2 (one 404, one found)", heads.Load())
	}
}

// Credentials without s3:ListBucketVersions: on a bucket that was never
// versioned a plain delete is final and works; on a versioned (Object
// Lock) bucket Delete refuses, naming the permission, instead of leaving
// the data behind a delete marker.
func TestDeleteWithoutListVersionsPermission(t *testing.T) {
	denyVersions := func(_ int64, r *http.Request) faultproxy.Fault {
		if r.Method == http.MethodGet && r.URL.Query().Has("versions") {
			return faultproxy.Fault403
		}
		return faultproxy.FaultNone
	}
	ctx := context.Background()
	st, p, _, _ := proxied(t, false, nil)
	if _, err := st.Put(ctx, "h/s/x", strings.NewReader("data"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	p.SetRule(denyVersions)
	if err := st.Delete(ctx, "h/s/x"); err != nil {
		t.Fatalf("delete from a plain bucket without s3:ListBucketVersions: %v", err)
	}
	if _, err := st.Stat(ctx, "h/s/x"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("object still there: %v", err)
	}

	lst, lp, _, _ := proxied(t, true, nil)
	if _, err := lst.Put(ctx, "h/s/y", strings.NewReader("data"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	lp.SetRule(denyVersions)
	err := lst.Delete(ctx, "h/s/y")
	if err == nil || !strings.Contains(err.Error(), "list versions: AccessDenied") || !strings.Contains(err.Error(), "s3:ListBucketVersions") {
		t.Fatalf("delete from a versioned bucket without s3:ListBucketVersions: %v", err)
	}
	if _, err := lst.Stat(ctx, "h/s/y"); err != nil {
		t.Fatalf("object gone or hidden although the delete failed: %v", err)
	}
}
