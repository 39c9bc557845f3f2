package s3

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopVersityGW()
	os.Exit(code)
}

// newStore opens a store on a fresh bucket of the test server, with
// credentials from the environment (the SDK default chain).
func newStore(t *testing.T, lock bool, tweak func(*Options)) (*Store, *testenv.S3Server, string) {
	t.Helper()
	srv := testenv.VersityGW(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, lock)
	o := Options{Bucket: bucket, Prefix: "pfx/sub", Endpoint: srv.Endpoint, PathStyle: true, PartSize: MinPartSize}
	if tweak != nil {
		tweak(&o)
	}
	st, err := Open(context.Background(), o)
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return st, srv, bucket
}

// randStream is a deterministic, incompressible stream of n bytes.
func randStream(seed uint64, n int64) io.Reader {
	return io.LimitReader(rand.NewChaCha8(seedOf(seed)), n)
}

func seedOf(s uint64) [32]byte {
	var b [32]byte
	for i := range 8 {
		b[i] = byte(s >> (8 * i))
	}
	return b
}

func randBytes(seed uint64, n int) []byte {
	b, _ := io.ReadAll(randStream(seed, int64(n)))
	return b
}

func readAll(t *testing.T, st upload.Store, key string, off, n int64) []byte {
	t.Helper()
	rc, err := st.Get(context.Background(), key, off, n)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %s: %v", key, err)
	}
	return b
}

func pending(t *testing.T, srv *testenv.S3Server, bucket string) int {
	t.Helper()
	n, err := srv.PendingUploads(context.Background(), bucket, "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestPutGetSizesAroundPartBoundaries(t *testing.T) {
	st, srv, bucket := newStore(t, false, nil)
	ctx := context.Background()
	ps := int(MinPartSize)
	for i, n := range []int{0, 1, 1000, ps - 1, ps, ps + 1, 3*ps + ps/2} {
		key := fmt.Sprintf("host/set/item-%d.tar.zst.age", i)
		data := randBytes(uint64(i), n)
		info, err := st.Put(ctx, key, bytes.NewReader(data), upload.PutOptions{})
		if err != nil {
			t.Fatalf("put %d bytes: %v", n, err)
		}
		if info.Size != int64(n) || info.Key != key {
			t.Fatalf("put info %+v, want size %d", info, n)
		}
		if got := readAll(t, st, key, 0, -1); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back %d bytes, differing", n, len(got))
		}
		if n > 10 {
			off, l := int64(n/3), int64(n/2)
			if got := readAll(t, st, key, off, l); !bytes.Equal(got, data[off:off+l]) {
				t.Fatalf("%d bytes: range %d+%d differs", n, off, l)
			}
			if got := readAll(t, st, key, int64(n-5), 100); !bytes.Equal(got, data[n-5:]) {
				t.Fatalf("%d bytes: tail range differs", n)
			}
		}
		fi, err := st.Stat(ctx, key)
		if err != nil || fi.Size != int64(n) || fi.Tier != "STANDARD" || fi.ModTime.IsZero() {
			t.Fatalf("stat: %+v %v", fi, err)
		}
	}
	// Objects land under the prefix, and List reports keys relative to it.
	raw, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("pfx/sub/host/set/item-6.tar.zst.age")})
	if err != nil || aws.ToInt64(raw.ContentLength) != int64(3*ps+ps/2) {
		t.Fatalf("object not under prefix: %v", err)
	}
	var keys []string
	err = st.List(ctx, "host/", func(oi upload.ObjectInfo) error {
		keys = append(keys, oi.Key)
		if oi.ModTime.IsZero() || oi.Tier == "" {
			t.Errorf("list entry %+v lacks time or tier", oi)
		}
		return nil
	})
	if err != nil || len(keys) != 7 || keys[0] != "host/set/item-0.tar.zst.age" {
		t.Fatalf("list: %v %v", keys, err)
	}
	if pending(t, srv, bucket) != 0 {
		t.Fatal("multipart uploads left behind")
	}
	if _, err := st.Stat(ctx, "host/set/missing"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("stat missing: %v", err)
	}
	if _, err := st.Get(ctx, "host/set/missing", 0, -1); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("get missing: %v", err)
	}
	if err := st.Delete(ctx, "host/set/missing"); err != nil {
		t.Fatalf("delete missing: %v", err)
	}
	if err := st.Delete(ctx, "host/set/item-6.tar.zst.age"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, "host/set/item-6.tar.zst.age"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("stat after delete: %v", err)
	}
}

// failingReader yields n bytes of data, then err.
type failingReader struct {
	r   io.Reader
	n   int64
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, f.err
	}
	if int64(len(p)) > f.n {
		p = p[:f.n]
	}
	n, err := f.r.Read(p)
	f.n -= int64(n)
	return n, err
}

func TestFailedPutLeavesNothing(t *testing.T) {
	st, srv, bucket := newStore(t, false, nil)
	ctx := context.Background()
	boom := errors.New("exporter exploded")
	_, err := st.Put(ctx, "h/s/broken", &failingReader{r: randStream(1, 1<<40), n: 3*MinPartSize + 7, err: boom}, upload.PutOptions{})
	if !errors.Is(err, boom) {
		t.Fatalf("put error %v does not wrap the reader's", err)
	}
	if _, err := st.Stat(ctx, "h/s/broken"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("failed put left an object: %v", err)
	}
	if n := pending(t, srv, bucket); n != 0 {
		t.Fatalf("%d multipart uploads left after a failed put", n)
	}

	// Cancelled while parts are in flight.
	cctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	go func() {
		io.CopyN(pw, randStream(2, 1<<40), 4*MinPartSize)
		cancel()
		io.Copy(pw, randStream(3, 1<<40)) // keeps producing until Put stops reading
	}()
	_, err = st.Put(cctx, "h/s/cancelled", pr, upload.PutOptions{})
	pr.CloseWithError(errors.New("put returned"))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled put: %v", err)
	}
	if n := pending(t, srv, bucket); n != 0 {
		t.Fatalf("%d multipart uploads left after a cancelled put", n)
	}
	if _, err := st.Stat(ctx, "h/s/cancelled"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("cancelled put left an object: %v", err)
	}
}

func TestManySmallItems(t *testing.T) {
	st, _, _ := newStore(t, false, nil)
	ctx := context.Background()
	const items = 300
	var wg sync.WaitGroup
	errs := make(chan error, items)
	sem := make(chan struct{}, 8)
	for i := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			data := randBytes(uint64(i), 100+i*37)
			if _, err := st.Put(ctx, fmt.Sprintf("h/set/item-%04d", i), bytes.NewReader(data), upload.PutOptions{}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	n := 0
	err := st.List(ctx, "h/set/", func(oi upload.ObjectInfo) error {
		want := fmt.Sprintf("h/set/item-%04d", n)
		if oi.Key != want || oi.Size != int64(100+n*37) {
			return fmt.Errorf("entry %d: %+v, want %s", n, oi, want)
		}
		n++
		return nil
	})
	if err != nil || n != items {
		t.Fatalf("listed %d of %d: %v", n, items, err)
	}
	for _, i := range []int{0, 150, 299} {
		if got := readAll(t, st, fmt.Sprintf("h/set/item-%04d", i), 0, -1); !bytes.Equal(got, randBytes(uint64(i), 100+i*37)) {
			t.Fatalf("item %d differs", i)
		}
	}
}

func TestDeleteRemovesEveryVersion(t *testing.T) {
	st, srv, bucket := newStore(t, false, nil)
	ctx := context.Background()
	if err := srv.EnableVersioning(ctx, bucket); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := st.Put(ctx, "h/s/v", bytes.NewReader(randBytes(uint64(i), 1000)), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A plain DELETE by someone else adds a delete marker on top.
	if _, err := srv.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("pfx/sub/h/s/v")}); err != nil {
		t.Fatal(err)
	}
	vs, err := st.versions(ctx, "pfx/sub/h/s/v")
	if err != nil || len(vs) != 4 {
		t.Fatalf("versions before delete: %v %v", vs, err)
	}
	if err := st.Delete(ctx, "h/s/v"); err != nil {
		t.Fatal(err)
	}
	out, err := srv.Client().ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String("pfx/sub/h/s/v")})
	if err != nil {
		t.Fatal(err)
	}
	if len(out.Versions)+len(out.DeleteMarkers) != 0 {
		t.Fatalf("left behind: %d versions, %d delete markers", len(out.Versions), len(out.DeleteMarkers))
	}
}

func TestObjectLockAppliedAndDeleteRefused(t *testing.T) {
	for _, size := range []int{1000, 2*MinPartSize + 5} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			st, srv, bucket := newStore(t, true, func(o *Options) { o.LockMode = "GOVERNANCE" })
			ctx := context.Background()
			until := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
			data := randBytes(7, size)
			if _, err := st.Put(ctx, "h/s/locked", bytes.NewReader(data), upload.PutOptions{RetainUntil: until}); err != nil {
				t.Fatal(err)
			}
			h, err := srv.Client().HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(bucket), Key: aws.String("pfx/sub/h/s/locked")})
			if err != nil {
				t.Fatal(err)
			}
			if h.ObjectLockMode != types.ObjectLockModeGovernance || h.ObjectLockRetainUntilDate == nil || !h.ObjectLockRetainUntilDate.Equal(until) {
				t.Fatalf("object lock headers: mode %q until %v, want GOVERNANCE %v", h.ObjectLockMode, h.ObjectLockRetainUntilDate, until)
			}
			ru, hold, err := st.LockInfo(ctx, "h/s/locked")
			if err != nil || !ru.Equal(until) || hold {
				t.Fatalf("lock info: %v %v %v", ru, hold, err)
			}
			fi, err := st.Stat(ctx, "h/s/locked")
			if err != nil || !fi.Locked(time.Now()) {
				t.Fatalf("stat does not report the lock: %+v %v", fi, err)
			}
			err = st.Delete(ctx, "h/s/locked")
			if !errors.Is(err, upload.ErrLocked) {
				t.Fatalf("delete of a locked object: %v, want ErrLocked", err)
			}
			// The refusal tells until when (prune reports it).
			if le := (*upload.LockedError)(nil); !errors.As(err, &le) || !le.RetainUntil.Equal(until) || le.LegalHold {
				t.Fatalf("delete of a locked object: %#v, want a LockedError until %v", err, until)
			}
			if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "h/s/locked") {
				t.Fatalf("error is not one line naming the key: %q", err)
			}
			if got := readAll(t, st, "h/s/locked", 0, -1); !bytes.Equal(got, data) {
				t.Fatal("locked object changed after refused delete")
			}
			// Extend never shortens.
			if err := st.ExtendLock(ctx, "h/s/locked", until.Add(-time.Hour), until.Add(-time.Hour)); err != nil {
				t.Fatal(err)
			}
			if ru, _, _ := st.LockInfo(ctx, "h/s/locked"); !ru.Equal(until) {
				t.Fatalf("lock shortened to %v", ru)
			}
			later := until.Add(24 * time.Hour)
			if err := st.ExtendLock(ctx, "h/s/locked", later, later); err != nil {
				t.Fatal(err)
			}
			if ru, _, _ := st.LockInfo(ctx, "h/s/locked"); !ru.Equal(later) {
				t.Fatalf("lock not extended: %v", ru)
			}
		})
	}
}

func TestLegalHold(t *testing.T) {
	st, srv, bucket := newStore(t, true, nil)
	ctx := context.Background()
	if _, err := st.Put(ctx, "h/s/held", strings.NewReader("evidence"), upload.PutOptions{LegalHold: true}); err != nil {
		t.Fatal(err)
	}
	_, hold, err := st.LockInfo(ctx, "h/s/held")
	if err != nil || !hold {
		t.Fatalf("legal hold not applied: %v %v", hold, err)
	}
	err = st.Delete(ctx, "h/s/held")
	if le := (*upload.LockedError)(nil); !errors.Is(err, upload.ErrLocked) || !errors.As(err, &le) || !le.LegalHold || !le.RetainUntil.IsZero() {
		t.Fatalf("delete under legal hold: %v, want a LockedError telling the hold", err)
	}
	// Once the hold is lifted the object (every version) goes.
	if _, err := srv.Client().PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{
		Bucket: aws.String(bucket), Key: aws.String("pfx/sub/h/s/held"),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff},
	}); err != nil {
		t.Fatal(err)
	}
	if err := st.Delete(ctx, "h/s/held"); err != nil {
		t.Fatalf("delete after hold lifted: %v", err)
	}
	out, err := srv.Client().ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String("pfx/sub/h/s/held")})
	if err != nil || len(out.Versions)+len(out.DeleteMarkers) != 0 {
		t.Fatalf("versions left: %v %v", out, err)
	}
}

// SetLegalHold holds an object stored without one (a chunk a set under
// hold reuses): a delete is then refused; setting it again is no error,
// and a missing object is ErrNotFound.
func TestSetLegalHold(t *testing.T) {
	st, _, _ := newStore(t, true, nil)
	ctx := context.Background()
	if _, err := st.Put(ctx, "h/chunks/aa/reused", strings.NewReader("chunk"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, hold, err := st.LockInfo(ctx, "h/chunks/aa/reused"); err != nil || hold {
		t.Fatalf("before: hold %v, %v", hold, err)
	}
	for range 2 {
		if err := st.SetLegalHold(ctx, "h/chunks/aa/reused"); err != nil {
			t.Fatal(err)
		}
	}
	if _, hold, err := st.LockInfo(ctx, "h/chunks/aa/reused"); err != nil || !hold {
		t.Fatalf("after: hold %v, %v", hold, err)
	}
	if err := st.Delete(ctx, "h/chunks/aa/reused"); !errors.Is(err, upload.ErrLocked) {
		t.Fatalf("delete of a held chunk: %v", err)
	}
	if err := st.SetLegalHold(ctx, "h/chunks/aa/missing"); !errors.Is(err, upload.ErrNotFound) {
		t.Errorf("hold of a missing object: %v", err)
	}
}

// The SHA-256 a Put is given is kept as user metadata and reported by
// Stat, for one PutObject and for a multipart upload alike; a Put without
// one reports none.
func TestPutRecordsSHA256(t *testing.T) {
	st, _, _ := newStore(t, false, nil)
	ctx := context.Background()
	sum := strings.Repeat("ab", 32)
	for key, n := range map[string]int64{"h/chunks/aa/single": 1000, "h/chunks/aa/multi": 2*MinPartSize + 5} {
		if _, err := st.Put(ctx, key, randStream(3, n), upload.PutOptions{SHA256: sum}); err != nil {
			t.Fatal(err)
		}
		if oi, err := st.Stat(ctx, key); err != nil || oi.SHA256 != sum {
			t.Errorf("%s: Stat reports SHA-256 %q, %v; want %q", key, oi.SHA256, err, sum)
		}
	}
	if _, err := st.Put(ctx, "h/chunks/aa/none", strings.NewReader("x"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if oi, err := st.Stat(ctx, "h/chunks/aa/none"); err != nil || oi.SHA256 != "" {
		t.Errorf("without one: %q, %v", oi.SHA256, err)
	}
}

func TestAbortStale(t *testing.T) {
	st, srv, bucket := newStore(t, false, nil)
	ctx := context.Background()
	c := srv.Client()
	for _, k := range []string{"pfx/sub/h/s/a", "pfx/sub/h/s/b", "other/x"} {
		if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(k)}); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := st.AbortStale(ctx, "h/", time.Now().Add(-time.Hour)); err != nil || n != 0 {
		t.Fatalf("aborted %d recent uploads: %v", n, err)
	}
	n, err := st.AbortStale(ctx, "h/", time.Now().Add(time.Minute))
	if err != nil || n != 2 {
		t.Fatalf("aborted %d, want 2: %v", n, err)
	}
	if left, _ := srv.PendingUploads(ctx, bucket, "pfx/"); left != 0 {
		t.Fatalf("%d uploads left under the prefix", left)
	}
	if other, _ := srv.PendingUploads(ctx, bucket, "other/"); other != 1 {
		t.Fatalf("an upload outside the prefix was touched (%d left)", other)
	}
}

// More stale uploads than one listing page: all are aborted. VersityGW
// refuses the second page's markers, so this passes only because each
// page is aborted as it is listed and the listing then starts again.
func TestAbortStaleAcrossPages(t *testing.T) {
	st, srv, bucket := newStore(t, false, nil)
	old := uploadsPage
	uploadsPage = 4
	t.Cleanup(func() { uploadsPage = old })
	ctx := context.Background()
	c := srv.Client()
	want := 0
	for i := range 9 {
		for range 1 + i%2 { // some keys with two uploads
			if _, err := c.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String(fmt.Sprintf("pfx/sub/h/s/k%02d", i))}); err != nil {
				t.Fatal(err)
			}
			want++
		}
	}
	n, err := st.AbortStale(ctx, "h/", time.Now().Add(time.Minute))
	if err != nil || n != want {
		t.Fatalf("aborted %d of %d: %v", n, want, err)
	}
	if left, _ := srv.PendingUploads(ctx, bucket, "pfx/"); left != 0 {
		t.Fatalf("%d uploads left under the prefix", left)
	}
}

func TestProbe(t *testing.T) {
	st, _, _ := newStore(t, false, nil)
	rep, err := st.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Exists || !rep.Writable || !rep.Readable || !rep.Deletable || rep.ObjectLock != "disabled" {
		t.Fatalf("plain bucket: %+v", rep)
	}
	lst, _, _ := newStore(t, true, nil)
	rep, err = lst.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Writable || !rep.Deletable || rep.ObjectLock != "enabled" || rep.Versioning != "enabled" {
		t.Fatalf("lock bucket: %+v", rep)
	}
	missing := &Store{opt: st.opt, client: st.client, growEvery: st.growEvery}
	missing.opt.Bucket = "no-such-bucket-here"
	if _, err := missing.Probe(context.Background()); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("probe of a missing bucket: %v", err)
	}
}

// The SDK default chain is the only way in: a wrong secret fails with an
// error that names the operation and never the secret.
func TestWrongCredentialsErrorIsCleanAndSecretFree(t *testing.T) {
	srv := testenv.VersityGW(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, false)
	const secret = "totally-wrong-secret-value"
	t.Setenv("AWS_SECRET_ACCESS_KEY", secret)
	st, err := Open(context.Background(), Options{Bucket: bucket, Endpoint: srv.Endpoint, PathStyle: true, MaxAttempts: 2})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Put(context.Background(), "k", strings.NewReader("x"), upload.PutOptions{})
	if err == nil {
		t.Fatal("put with a wrong secret succeeded")
	}
	msg := err.Error()
	if strings.Contains(msg, secret) || strings.Contains(msg, srv.AccessKey) || strings.Contains(msg, "\n") ||
		strings.Contains(msg, "RequestID") || !strings.HasPrefix(msg, "s3 put k: ") {
		t.Fatalf("error %q leaks or is not one clean line", msg)
	}
}

func sha(b []byte) [32]byte { return sha256.Sum256(b) }

// Without credentials in the chain the error says where they are looked for.
func TestNoCredentialsExplains(t *testing.T) {
	srv := testenv.VersityGW(t)
	srv.SetEnv(t)
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	st, err := Open(context.Background(), Options{Bucket: srv.Bucket(t, false), Endpoint: srv.Endpoint, PathStyle: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Put(context.Background(), "k", strings.NewReader("x"), upload.PutOptions{})
	if err == nil || !strings.HasPrefix(err.Error(), "s3 put k: no usable AWS credentials") || !strings.Contains(err.Error(), "AWS_ACCESS_KEY_ID") {
		t.Fatalf("error without credentials: %v", err)
	}
	if _, err := Open(context.Background(), Options{Bucket: "bkt", Profile: "no-such-profile"}); err == nil || !strings.Contains(err.Error(), `"no-such-profile" not found`) {
		t.Fatalf("missing profile: %v", err)
	}
}

func TestFolders(t *testing.T) {
	st, _, _ := newStore(t, false, nil)
	uploadtest.Folders(t, st)
}

// A delete the store refuses for a retention still running in the store's
// clock is ErrLocked (prune counts it as locked and goes on) also when
// this machine's clock is hours ahead and takes that retention for past:
// the old store judged it with this machine's clock and returned a plain
// error, which failed the prune.
func TestDeleteRefusalJudgedInStoreClock(t *testing.T) {
	st, _, _ := newStore(t, true, nil)
	ctx := context.Background()
	until := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	if _, err := st.Put(ctx, "h/chunks/aa/locked", strings.NewReader("chunk"), upload.PutOptions{RetainUntil: until}); err != nil {
		t.Fatal(err)
	}
	st.clock = func() time.Time { return time.Now().Add(2 * time.Hour) }
	if err := st.Delete(ctx, "h/chunks/aa/locked"); !errors.Is(err, upload.ErrLocked) {
		t.Errorf("delete of an object retained for another hour of the store's, this machine 2 h ahead: %v, want ErrLocked", err)
	}
}

// TestDeleteTellsLatestLockOfVersions: a key with several locked
// versions (a chunk stored again over a damaged one, locked for less than
// the old version) is gone only once every version is: the refusal
// (upload.LockedError) and DeleteLock tell the latest retention among
// them and any legal hold, not the first version's (VersityGW lists the
// newest first: before, the refusal said the newer, shorter lock).
// DeleteLock deletes nothing; a key with no lock left, or none at all,
// is nil; a bucket without Object Lock is asked nothing per key.
func TestDeleteTellsLatestLockOfVersions(t *testing.T) {
	st, _, _ := newStore(t, true, func(o *Options) { o.LockMode = "GOVERNANCE" })
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	u1, u2 := now.Add(24*time.Hour), now.Add(72*time.Hour)
	for _, u := range []time.Time{u2, u1} { // the older version locked longer
		if _, err := st.Put(ctx, "h/chunks/aa/x", strings.NewReader("chunk"), upload.PutOptions{RetainUntil: u}); err != nil {
			t.Fatal(err)
		}
	}
	// A second key: an older version under legal hold alone, the newer locked.
	if _, err := st.Put(ctx, "h/chunks/aa/y", strings.NewReader("chunk"), upload.PutOptions{LegalHold: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "h/chunks/aa/y", strings.NewReader("chunk"), upload.PutOptions{RetainUntil: u1}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(ctx, "h/chunks/aa/free", strings.NewReader("chunk"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	want := map[string]upload.LockedError{"h/chunks/aa/x": {RetainUntil: u2}, "h/chunks/aa/y": {RetainUntil: u1, LegalHold: true}}
	for key, w := range want {
		le, err := st.DeleteLock(ctx, key)
		if err != nil || le == nil || !le.RetainUntil.Equal(w.RetainUntil) || le.LegalHold != w.LegalHold {
			t.Errorf("DeleteLock(%s) = %+v, %v; want until %v, hold %v", key, le, err, w.RetainUntil, w.LegalHold)
		}
		err = st.Delete(ctx, key)
		if le := (*upload.LockedError)(nil); !errors.As(err, &le) || !le.RetainUntil.Equal(w.RetainUntil) || le.LegalHold != w.LegalHold {
			t.Errorf("Delete(%s) = %v; want a LockedError until %v, hold %v", key, err, w.RetainUntil, w.LegalHold)
		} else if !strings.Contains(err.Error(), w.RetainUntil.Format(time.RFC3339)) || strings.Contains(err.Error(), "\n") {
			t.Errorf("Delete(%s): %q does not say until %v on one line", key, err, w.RetainUntil)
		}
		vs, err := st.versions(ctx, "pfx/sub/"+key)
		if err != nil || len(vs) != 2 {
			t.Errorf("%s: versions left %v, %v; want both", key, vs, err)
		}
	}
	if le, err := st.DeleteLock(ctx, "h/chunks/aa/free"); le != nil || err != nil {
		t.Errorf("DeleteLock of an unlocked key = %+v, %v; want nil", le, err)
	}
	if le, err := st.DeleteLock(ctx, "h/chunks/aa/none"); le != nil || err != nil {
		t.Errorf("DeleteLock of a missing key = %+v, %v; want nil", le, err)
	}
	if _, err := st.Stat(ctx, "h/chunks/aa/free"); err != nil {
		t.Errorf("DeleteLock deleted: %v", err)
	}

	// A bucket without Object Lock: one configuration read, then nothing.
	plain, _, _ := newStore(t, false, nil)
	if _, err := plain.Put(ctx, "h/chunks/aa/z", strings.NewReader("chunk"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if le, err := plain.DeleteLock(ctx, "h/chunks/aa/z"); le != nil || err != nil {
			t.Errorf("DeleteLock without Object Lock = %+v, %v; want nil", le, err)
		}
	}
	if plain.lockConf != lockOff {
		t.Errorf("a bucket without Object Lock taken for one that may lock (%d)", plain.lockConf)
	}
}

// TestDeleteKeepsNewestWhileAnOlderVersionIsLocked: a key whose current
// version is free of locks and an older version locked (here a legal
// hold, which the test lifts as an operator would) keeps its current
// version when Delete is refused, also under a delete marker someone put
// on top (the marker goes: the key is listed again); once the lock is
// gone, Delete removes every version. Before, Delete removed the current
// version first, and the key then read as the older, locked version (the
// damaged bytes a newer version had replaced).
func TestDeleteKeepsNewestWhileAnOlderVersionIsLocked(t *testing.T) {
	st, srv, bucket := newStore(t, true, nil)
	ctx := context.Background()
	held := map[string]string{}
	for _, key := range []string{"h/chunks/aa/k", "h/chunks/aa/m"} {
		if _, err := st.Put(ctx, key, strings.NewReader("old"), upload.PutOptions{LegalHold: true}); err != nil {
			t.Fatal(err)
		}
		vs, err := st.versions(ctx, "pfx/sub/"+key)
		if err != nil || len(vs) != 1 {
			t.Fatalf("%s: versions %v, %v", key, vs, err)
		}
		held[key] = vs[0].id
		if _, err := st.Put(ctx, key, strings.NewReader("new"), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := srv.Client().DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String("pfx/sub/h/chunks/aa/m")}); err != nil {
		t.Fatal(err)
	}
	for key, id := range held {
		err := st.Delete(ctx, key)
		if le := (*upload.LockedError)(nil); !errors.As(err, &le) || !le.LegalHold {
			t.Errorf("Delete(%s) = %v; want a LockedError under legal hold", key, err)
		}
		if got := readAll(t, st, key, 0, -1); string(got) != "new" {
			t.Errorf("%s reads %q after a refused Delete, want its current version %q", key, got, "new")
		}
		if _, err := srv.Client().PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(bucket), Key: aws.String("pfx/sub/" + key), VersionId: aws.String(id),
			LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOff}}); err != nil {
			t.Fatal(err)
		}
		if err := st.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%s) once the hold is lifted: %v", key, err)
		}
		if vs, err := st.versions(ctx, "pfx/sub/"+key); err != nil || len(vs) != 0 {
			t.Errorf("%s: left behind %v, %v", key, vs, err)
		}
	}
}
