package azure

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/parts"
	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testenv.StopAzurite()
	os.Exit(code)
}

var (
	_ upload.Store   = (*Store)(nil)
	_ upload.Locker  = (*Store)(nil)
	_ upload.Thawer  = (*Store)(nil)
	_ upload.Janitor = (*Store)(nil)
	_ upload.Prober  = (*Store)(nil)
)

// env is one store on a fresh Azurite container, optionally reached
// through a loopback proxy.
type env struct {
	az        *testenv.AzureServer
	container string
	store     *Store
	raw       *container.Client
}

type opt func(*Options)

func withProxy(p string) opt {
	return func(o *Options) { o.ServiceURL = p + "/" + testenv.AzuriteAccount }
}

func newEnv(t *testing.T, opts ...opt) *env {
	t.Helper()
	az := testenv.Azurite(t)
	name := az.Container(t)
	o := Options{
		Location:   Location{ServiceURL: az.Endpoint, Account: az.Account, Container: name, Prefix: "lync/fe01"},
		Auth:       Auth{Kind: "shared-key", Account: az.Account, Key: az.Key},
		BlockSize:  64 << 10,
		RetryDelay: 10 * time.Millisecond,
	}
	for _, f := range opts {
		f(&o)
	}
	s, err := Open(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return &env{az: az, container: name, store: s, raw: az.Client(name)}
}

// randStream is a non-compressible deterministic stream.
type randStream struct {
	r *rand.ChaCha8
	n int64
}

func newRand(seed byte, n int64) *randStream {
	var s [32]byte
	s[0] = seed
	return &randStream{r: rand.NewChaCha8(s), n: n}
}

func (r *randStream) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > r.n {
		p = p[:r.n]
	}
	r.r.Read(p)
	r.n -= int64(len(p))
	return len(p), nil
}

func randBytes(seed byte, n int) []byte {
	b, _ := io.ReadAll(newRand(seed, int64(n)))
	return b
}

func get(t *testing.T, s *Store, key string, off, n int64) []byte {
	t.Helper()
	rc, err := s.Get(context.Background(), key, off, n)
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

func TestPutGetRoundTripSizes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bs := int(e.store.blockSize)
	for i, n := range []int{0, 1, bs - 1, bs, bs + 1, 3*bs + bs/2} {
		key := fmt.Sprintf("set/item-%d.tar.zst.age", i)
		data := randBytes(byte(i), n)
		oi, err := e.store.Put(ctx, key, bytes.NewReader(data), upload.PutOptions{})
		if err != nil {
			t.Fatalf("put %d bytes: %v", n, err)
		}
		if oi.Size != int64(n) || oi.Key != key {
			t.Fatalf("put %d bytes: info %+v", n, oi)
		}
		if got := get(t, e.store, key, 0, -1); !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: read back %d bytes, different", n, len(got))
		}
		st, err := e.store.Stat(ctx, key)
		if err != nil || st.Size != int64(n) || st.ModTime.IsZero() {
			t.Fatalf("stat %d bytes: %+v %v", n, st, err)
		}
		if n > 10 {
			off, l := int64(n/3), int64(n/2)
			if got := get(t, e.store, key, off, l); !bytes.Equal(got, data[off:off+l]) {
				t.Fatalf("%d bytes: range %d+%d differs", n, off, l)
			}
			if got := get(t, e.store, key, int64(n-5), 100); !bytes.Equal(got, data[n-5:]) {
				t.Fatalf("%d bytes: tail range differs", n)
			}
		}
	}
	// The blob name carries the prefix; keys stay relative.
	if _, err := e.raw.NewBlobClient("lync/fe01/set/item-1.tar.zst.age").GetProperties(ctx, nil); err != nil {
		t.Fatalf("blob not under the prefix: %v", err)
	}
	if _, err := e.store.Get(ctx, "set/missing", 0, -1); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
	if _, err := e.store.Stat(ctx, "set/missing"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("stat missing: %v, want ErrNotFound", err)
	}
}

// A multi-block Put stages blocks with fixed-length ids and a Content-MD5
// each, concurrently, and the blob appears only at the commit.
func TestPutStagesBlocksWithChecksums(t *testing.T) {
	az := testenv.Azurite(t)
	p, err := faultproxy.Start(strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	e := newEnv(t, withProxy(p.URL))
	data := randBytes(7, 10*int(e.store.blockSize)+123)
	if _, err := e.store.Put(context.Background(), "big", bytes.NewReader(data), upload.PutOptions{ContentType: "application/octet-stream"}); err != nil {
		t.Fatal(err)
	}
	var ids []string
	commits := 0
	for _, r := range p.Requests() {
		switch {
		case r.Method == "PUT" && strings.Contains(r.URL, "comp=block&") || strings.HasSuffix(r.URL, "comp=block"):
			if r.Header.Get("Content-Md5") == "" {
				t.Errorf("block without Content-MD5: %s", r.URL)
			}
			i := strings.Index(r.URL, "blockid=")
			if i < 0 {
				t.Fatalf("no blockid in %s", r.URL)
			}
			id, _, _ := strings.Cut(r.URL[i+len("blockid="):], "&")
			ids = append(ids, id)
		case r.Method == "PUT" && strings.Contains(r.URL, "comp=blocklist"):
			commits++
		}
	}
	if len(ids) != 11 || commits != 1 {
		t.Fatalf("%d blocks staged and %d commits; want 11 and 1", len(ids), commits)
	}
	for _, id := range ids {
		if len(id) != len(ids[0]) {
			t.Fatalf("block ids of different lengths: %q vs %q", id, ids[0])
		}
	}
	if got := get(t, e.store, "big", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("read back different data")
	}
	bl, err := e.raw.NewBlockBlobClient("lync/fe01/big").GetBlockList(context.Background(), blockblob.BlockListTypeAll, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(bl.CommittedBlocks) != 11 || len(bl.UncommittedBlocks) != 0 {
		t.Fatalf("committed %d, uncommitted %d blocks", len(bl.CommittedBlocks), len(bl.UncommittedBlocks))
	}
}

func TestBlockSizeGrowsAndLimitIsClean(t *testing.T) {
	if got := parts.Size(16<<20, 1, blocksPerStep, maxBlockSize); got != 16<<20 {
		t.Fatal(got)
	}
	if got := parts.Size(16<<20, 49999+1, blocksPerStep, maxBlockSize); got != 256<<20 {
		t.Fatalf("block 49999: %d, want 256 MiB", got)
	}
	var capacity int64
	for i := 0; i < MaxBlocks; i++ {
		capacity += parts.Size(DefaultBlockSize, i+1, blocksPerStep, maxBlockSize)
	}
	// 8 MiB blocks (the default since the memory budget was measured) hold
	// ~2.4 TiB in 50,000 growing blocks; larger part_size raises it.
	if capacity < 2<<40 {
		t.Fatalf("50,000 blocks hold only %d bytes at the default size", capacity)
	}
	if got := parts.Size(3000<<20, 20000+1, blocksPerStep, maxBlockSize); got != maxBlockSize {
		t.Fatalf("growth not capped at the service maximum: %d", got)
	}

	e := newEnv(t, func(o *Options) { o.BlockSize = 1 << 10 })
	e.store.stepBlocks, e.store.maxBlocks = 3, 9
	ctx := context.Background()
	fits := int64(3*1024 + 3*2048 + 3*4096)
	data := randBytes(3, int(fits))
	if _, err := e.store.Put(ctx, "grow", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	bl, err := e.raw.NewBlockBlobClient("lync/fe01/grow").GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sizes []int64
	for _, b := range bl.CommittedBlocks {
		sizes = append(sizes, *b.Size)
	}
	if fmt.Sprint(sizes) != "[1024 1024 1024 2048 2048 2048 4096 4096 4096]" {
		t.Fatalf("block sizes %v", sizes)
	}
	if !bytes.Equal(get(t, e.store, "grow", 0, -1), data) {
		t.Fatal("read back different data")
	}
	_, err = e.store.Put(ctx, "toolong", newRand(4, fits+1), upload.PutOptions{})
	t.Logf("over the limit: %v", err)
	if err == nil || !strings.Contains(err.Error(), "longer than 9 blocks") {
		t.Fatalf("over the block limit: %v", err)
	}
	if _, err := e.store.Stat(ctx, "toolong"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("a failed Put left a blob: %v", err)
	}
	assertNoUncommitted(t, e)
}

func assertNoUncommitted(t *testing.T, e *env) {
	t.Helper()
	pager := e.raw.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{UncommittedBlobs: true}})
	committed := map[string]bool{}
	cp := e.raw.NewListBlobsFlatPager(nil)
	for cp.More() {
		page, err := cp.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			committed[*it.Name] = true
		}
	}
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			if !committed[*it.Name] {
				t.Errorf("uncommitted blob left behind: %s", *it.Name)
			}
		}
	}
}

// A ~1 GiB non-compressible stream with small blocks (many of them) goes
// through Put and Get with bounded memory.
func TestLargeStreamManyBlocks(t *testing.T) {
	size := int64(1 << 30)
	if testing.Short() {
		size = 64 << 20
	}
	e := newEnv(t, func(o *Options) { o.BlockSize = 1 << 20; o.Concurrency = 4 })
	ctx := context.Background()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	}()
	h := sha256.New()
	start := time.Now()
	oi, err := e.store.Put(ctx, "large", io.TeeReader(newRand(9, size), h), upload.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	upTime := time.Since(start)
	if oi.Size != size {
		t.Fatalf("size %d, want %d", oi.Size, size)
	}
	want := h.Sum(nil)
	start = time.Now()
	rc, err := e.store.Get(ctx, "large", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	h2 := sha256.New()
	n, err := io.Copy(h2, rc)
	rc.Close()
	downTime := time.Since(start)
	close(stop)
	wg.Wait()
	if err != nil || n != size || !bytes.Equal(h2.Sum(nil), want) {
		t.Fatalf("read back %d bytes (err %v), hash equal %v", n, err, bytes.Equal(h2.Sum(nil), want))
	}
	bl, err := e.raw.NewBlockBlobClient("lync/fe01/large").GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
	if err != nil || int64(len(bl.CommittedBlocks)) != size>>20 {
		t.Fatalf("%d committed blocks (%v), want %d", len(bl.CommittedBlocks), err, size>>20)
	}
	// (Concurrency+1) 1 MiB buffers each way plus the SDK's own: far below the stream.
	if p := peak.Load(); p > 96<<20 {
		t.Errorf("heap in use peaked at %d MiB for a %d MiB stream", p>>20, size>>20)
	}
	t.Logf("%d MiB: up %v, down %v, heap peak %d MiB", size>>20, upTime.Round(time.Millisecond), downTime.Round(time.Millisecond), peak.Load()>>20)
}

func TestManySmallItemsAndList(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 150
	var wg sync.WaitGroup
	errs := make(chan error, n)
	sem := make(chan struct{}, 8)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			_, err := e.store.Put(ctx, fmt.Sprintf("host/set1/item%03d", i), bytes.NewReader(randBytes(byte(i), i*37)), upload.PutOptions{})
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if _, err := e.store.Put(ctx, "host/set2/x", strings.NewReader("x"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	err := e.store.List(ctx, "host/set1/", func(oi upload.ObjectInfo) error {
		keys = append(keys, oi.Key)
		var i int
		fmt.Sscanf(oi.Key, "host/set1/item%03d", &i)
		if oi.Size != int64(i*37) || oi.ModTime.IsZero() {
			t.Errorf("%s: size %d modtime %v", oi.Key, oi.Size, oi.ModTime)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != n || !sort.StringsAreSorted(keys) || keys[0] != "host/set1/item000" {
		t.Fatalf("listed %d keys (sorted %v), first %q", len(keys), sort.StringsAreSorted(keys), keys[0])
	}
	stop := errors.New("stop")
	if err := e.store.List(ctx, "host/", func(upload.ObjectInfo) error { return stop }); err != stop {
		t.Fatalf("List did not pass on the callback's error: %v", err)
	}
	for _, k := range keys[:10] {
		if err := e.store.Delete(ctx, k); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Stat(ctx, k); !errors.Is(err, upload.ErrNotFound) {
			t.Fatalf("%s still there after Delete: %v", k, err)
		}
	}
	if err := e.store.Delete(ctx, "host/set1/item000"); err != nil {
		t.Fatalf("deleting a missing object: %v", err)
	}
}

func TestAccessTierArchiveAndThaw(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.AccessTier = "Archive" })
	ctx := context.Background()
	if _, err := e.store.Put(ctx, "cold/item", bytes.NewReader(randBytes(1, 1000)), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	st, err := e.store.Stat(ctx, "cold/item")
	if err != nil || st.Tier != "Archive" || !st.Archived {
		t.Fatalf("stat: %+v %v", st, err)
	}
	// A manifest, lease or marker (Online) stays readable: not Archive.
	if _, err := e.store.Put(ctx, "online/manifest.json", bytes.NewReader([]byte("{}")), upload.PutOptions{Online: true}); err != nil {
		t.Fatal(err)
	}
	if on, err := e.store.Stat(ctx, "online/manifest.json"); err != nil || on.Tier == "Archive" || on.Archived {
		t.Fatalf("an Online put went to %+v %v", on, err)
	}
	var listed upload.ObjectInfo
	e.store.List(ctx, "cold/", func(oi upload.ObjectInfo) error { listed = oi; return nil })
	if listed.Tier != "Archive" || !listed.Archived {
		t.Fatalf("list: %+v", listed)
	}
	_, err = e.store.Get(ctx, "cold/item", 0, -1)
	if !errors.Is(err, upload.ErrArchived) || !strings.Contains(err.Error(), "rehydrated") {
		t.Fatalf("get archived: %v", err)
	}
	th, err := e.store.Thaw(ctx, "cold/item", 7)
	if err != nil || th.State != upload.ThawStarted || !strings.Contains(th.Message, "rehydration") || !strings.Contains(th.Message, "come back") {
		t.Fatalf("thaw: %+v %v", th, err)
	}
	t.Logf("thaw says: %s", th.Message)

	e2 := newEnv(t, func(o *Options) { o.AccessTier = "Cool" })
	if _, err := e2.store.Put(ctx, "warm", strings.NewReader("x"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if st, _ := e2.store.Stat(ctx, "warm"); st.Tier != "Cool" || st.Archived {
		t.Fatalf("cool blob: %+v", st)
	}
	if th, err := e2.store.Thaw(ctx, "warm", 7); err != nil || th.State != upload.ThawOnline || !strings.Contains(th.Message, "online already") {
		t.Fatalf("thaw of an online blob: %+v %v", th, err)
	}
	if _, err := ParseTier("Glacier"); err == nil {
		t.Fatal("bad tier accepted")
	}
}

func TestProbe(t *testing.T) {
	e := newEnv(t)
	rep, err := e.store.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !rep.Exists || !rep.Writable || !rep.Readable || !rep.Deletable {
		t.Fatalf("probe: %+v", rep)
	}
	assertEmpty(t, e)
	missing := *e.store
	cc, _ := container.NewClientWithSharedKeyCredential(e.az.Endpoint+"/no-such-container", mustKey(t, e.az), nil)
	missing.cc, missing.container = cc, "no-such-container"
	rep, err = missing.Probe(context.Background())
	if err != nil || rep.Exists || rep.Writable || !strings.Contains(rep.Missing, "does not exist") {
		t.Fatalf("probe of a missing container: %+v %v", rep, err)
	}
}

func mustKey(t *testing.T, az *testenv.AzureServer) *container.SharedKeyCredential {
	c, err := container.NewSharedKeyCredential(az.Account, az.Key)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func assertEmpty(t *testing.T, e *env) {
	t.Helper()
	pager := e.raw.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Include: container.ListBlobsInclude{UncommittedBlobs: true}})
	for pager.More() {
		page, err := pager.NextPage(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range page.Segment.BlobItems {
			t.Errorf("left behind: %s", *it.Name)
		}
	}
}

func TestAbortStaleUncommittedBlocks(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bb := e.raw.NewBlockBlobClient("lync/fe01/set9/half.tar.zst.age")
	if _, err := bb.StageBlock(ctx, blockID("abcdefabcdef", 0), nopRSC("some bytes"), nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.store.Put(ctx, "set9/whole", strings.NewReader("done"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	n, err := e.store.AbortStale(ctx, "", time.Now().Add(-time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("cutoff before the upload: aborted %d (%v), want 0", n, err)
	}
	n, err = e.store.AbortStale(ctx, "", time.Now().Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("aborted %d (%v), want 1", n, err)
	}
	assertNoUncommitted(t, e)
	if _, err := e.store.Stat(ctx, "set9/whole"); err != nil {
		t.Fatalf("the committed blob was touched: %v", err)
	}
}

// Committed and uncommitted-only blobs interleaved across listing pages,
// and a committed blob with stray staged blocks: exactly the
// uncommitted-only ones go, and the count says how many.
func TestAbortStaleAcrossPages(t *testing.T) {
	old := listPage
	listPage = 3
	t.Cleanup(func() { listPage = old })
	e := newEnv(t)
	ctx := context.Background()
	want := 0
	for i := range 12 {
		name := fmt.Sprintf("set9/b%02d", i)
		if i%3 == 1 {
			bb := e.raw.NewBlockBlobClient("lync/fe01/" + name)
			if _, err := bb.StageBlock(ctx, blockID("abcdefabcdef", 0), nopRSC("some bytes"), nil); err != nil {
				t.Fatal(err)
			}
			want++
			continue
		}
		if _, err := e.store.Put(ctx, name, strings.NewReader("done"), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// A committed blob that also holds staged blocks is not touched.
	if _, err := e.raw.NewBlockBlobClient("lync/fe01/set9/b05").StageBlock(ctx, blockID("abcdefabcdef", 1), nopRSC("stray"), nil); err != nil {
		t.Fatal(err)
	}
	n, err := e.store.AbortStale(ctx, "", time.Now().Add(time.Hour))
	if err != nil || n != want {
		t.Fatalf("aborted %d (%v), want %d", n, err, want)
	}
	assertNoUncommitted(t, e)
	for i := range 12 {
		if i%3 == 1 {
			continue
		}
		if _, err := e.store.Stat(ctx, fmt.Sprintf("set9/b%02d", i)); err != nil {
			t.Fatalf("committed blob b%02d touched: %v", i, err)
		}
	}
	if n, err := e.store.AbortStale(ctx, "", time.Now().Add(time.Hour)); err != nil || n != 0 {
		t.Fatalf("second sweep aborted %d (%v), want 0", n, err)
	}
}

func nopRSC(s string) interface {
	io.ReadSeekCloser
} {
	return readSeekNopCloser{strings.NewReader(s)}
}

type readSeekNopCloser struct{ *strings.Reader }

func (readSeekNopCloser) Close() error { return nil }

func TestPutCancelledLeavesNothing(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	r := &cancelAfter{r: newRand(5, 100*e.store.blockSize), left: 5 * e.store.blockSize, cancel: cancel}
	_, err := e.store.Put(ctx, "cancelled", r, upload.PutOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("put: %v, want context.Canceled", err)
	}
	if _, err := e.store.Stat(context.Background(), "cancelled"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("cancelled Put left a blob: %v", err)
	}
	assertNoUncommitted(t, e)

	failing := io.MultiReader(newRand(6, 3*e.store.blockSize), errReader{})
	if _, err := e.store.Put(context.Background(), "readfail", failing, upload.PutOptions{}); err == nil || !strings.Contains(err.Error(), "pipeline broke") {
		t.Fatalf("put of a failing reader: %v", err)
	}
	if _, err := e.store.Stat(context.Background(), "readfail"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("failed Put left a blob: %v", err)
	}
	assertNoUncommitted(t, e)
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("pipeline broke") }

type cancelAfter struct {
	r      io.Reader
	left   int64
	cancel func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.left <= 0 {
		c.cancel()
	}
	n, err := c.r.Read(p)
	c.left -= int64(n)
	return n, err
}

func TestGetCloseEarlyStopsTransfers(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	data := randBytes(2, 20*int(e.store.blockSize))
	if _, err := e.store.Put(ctx, "k", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	// Readers other tests left open are not this test's to count.
	before := len(goroutinesIn("lyncbackup/upload/parts."))
	for i := 0; i < 5; i++ {
		rc, err := e.store.Get(ctx, "k", 0, -1)
		if err != nil {
			t.Fatal(err)
		}
		b := make([]byte, 1000)
		if _, err := io.ReadFull(rc, b); err != nil || !bytes.Equal(b, data[:1000]) {
			t.Fatal("first bytes differ", err)
		}
		rc.Close()
		if _, err := rc.Read(b); err == nil {
			t.Fatal("read after Close succeeded")
		}
	}
	// Close waits for its fetches: right after it returns, no goroutine of
	// the range pipeline may be left (connections idle in the HTTP pool are
	// not ours to count).
	if left := goroutinesIn("lyncbackup/upload/parts."); len(left) > before {
		t.Fatalf("%d range fetches still running after Close (%d before):\n%s", len(left), before, left[len(left)-1])
	}
	_ = to.Ptr(0)
}

// goroutinesIn returns the stacks of the goroutines with a frame in pkg,
// leaving out those whose work is over but which have not exited yet: the
// goroutine Wait released may look before them. Such a goroutine is inside
// WaitGroup.Done (its last deferred call; seen once under Wine), or past it,
// its own function the only frame left (a range fetch's closure at its
// closing brace, runnable; seen once in CI under -race). A fetch still
// running has fill and the store's calls above its closure; one not yet
// started has not called Done, so Wait would not have returned.
func goroutinesIn(pkg string) []string {
	buf := make([]byte, 8<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if !strings.Contains(g, pkg) || strings.Contains(g, "sync.(*WaitGroup).Done") || finishedClosure(g) {
			continue
		}
		out = append(out, g)
	}
	return out
}

// finishedClosure: the goroutine's top frame is a range fetch's closure
// (parts.(*reader).produce.func1) itself, calling nothing.
func finishedClosure(stack string) bool {
	lines := strings.SplitN(stack, "\n", 3)
	return len(lines) >= 2 && strings.Contains(lines[1], "upload/parts.(*reader).produce.func")
}

func TestFolders(t *testing.T) {
	uploadtest.Folders(t, newEnv(t).store)
}
