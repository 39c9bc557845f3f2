package chunk

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"filippo.io/age"
	"github.com/zeebo/blake3"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
)

const host = "fe01"

// counting wraps a store and counts its calls.
type counting struct {
	upload.Store
	puts, gets, lists, stats atomic.Int64
}

func (c *counting) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	c.puts.Add(1)
	return c.Store.Put(ctx, key, r, o)
}
func (c *counting) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	c.gets.Add(1)
	return c.Store.Get(ctx, key, off, n)
}
func (c *counting) Stat(ctx context.Context, key string) (upload.ObjectInfo, error) {
	c.stats.Add(1)
	return c.Store.Stat(ctx, key)
}
func (c *counting) List(ctx context.Context, p string, fn func(upload.ObjectInfo) error) error {
	c.lists.Add(1)
	return c.Store.List(ctx, p, fn)
}

// keepsMeta gives a store object metadata as S3 and Azure keep it: the
// SHA-256 a Put was given, reported by Stat (off: none kept, as in a local
// folder).
type keepsMeta struct {
	upload.Store
	mu  sync.Mutex
	off bool
	sha map[string]string
}

func (k *keepsMeta) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	info, err := k.Store.Put(ctx, key, r, o)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil && !k.off {
		k.sha[key] = o.SHA256
	}
	return info, err
}

func (k *keepsMeta) Stat(ctx context.Context, key string) (upload.ObjectInfo, error) {
	o, err := k.Store.Stat(ctx, key)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		o.SHA256 = k.sha[key]
	}
	return o, err
}

func (k *keepsMeta) Delete(ctx context.Context, key string) error {
	err := k.Store.Delete(ctx, key)
	k.mu.Lock()
	defer k.mu.Unlock()
	if err == nil {
		delete(k.sha, key)
	}
	return err
}

func (k *keepsMeta) Unwrap() upload.Store { return k.Store }

type world struct {
	t  *testing.T
	st *counting
	// clock is the store's clock (the process's unless a test moves it).
	clock *uploadtest.ClockStore
	// meta keeps the objects' recorded SHA-256 (as S3 and Azure do).
	meta *keepsMeta
	// dir is the local folder under the store.
	dir string
	key *Key
	rs  []crypto.Recipient
	ids []age.Identity
}

func newWorld(t *testing.T) *world {
	t.Helper()
	dir := t.TempDir()
	ls, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := age.GenerateX25519Identity()
	r, err := crypto.ParseRecipient(id.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	raw := bytes.Repeat([]byte{7}, 32)
	k, err := NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	km := &keepsMeta{Store: ls, sha: map[string]string{}}
	sc := uploadtest.NewClockStore(km, 0)
	return &world{t: t, st: &counting{Store: sc}, clock: sc, meta: km, dir: dir, key: k, rs: []crypto.Recipient{r}, ids: []age.Identity{id}}
}

func data(n int, seed uint64) []byte {
	r := rand.New(rand.NewPCG(seed, 1))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	return b
}

func (w *world) writer(known map[string]Known) *Writer {
	return &Writer{Store: w.st, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest", Known: known}
}

func (w *world) read(chunks []catalog.Chunk) []byte {
	w.t.Helper()
	s := Stream(context.Background(), w.st, chunks, w.ids, 3, nil)
	defer s.Close()
	b, err := io.ReadAll(s)
	if err != nil {
		w.t.Fatal(err)
	}
	return b
}

// commit writes a manifest of one chunked item.
func (w *world) commit(id string, chunks []catalog.Chunk) {
	w.t.Helper()
	t0, _ := catalog.ParseSetID(id)
	it := catalog.Item{Name: "sql", Kind: "path", Key: catalog.ChunksKey(host, id, "sql"), Layout: catalog.LayoutChunked,
		SHA256: strings.Repeat("0", 64), Chunks: chunks}
	for _, c := range chunks {
		it.StoredBytes += c.StoredBytes
	}
	m := &catalog.Manifest{Format: catalog.FormatVersion, Host: host, SetID: id, Start: t0, End: t0, Status: catalog.StatusComplete, Items: []catalog.Item{it}}
	if err := (&catalog.Catalog{Store: w.st}).Commit(context.Background(), m, upload.PutOptions{}); err != nil {
		w.t.Fatal(err)
	}
}

func (w *world) sets() []catalog.Set {
	w.t.Helper()
	sets, err := (&catalog.Catalog{Store: w.st}).List(context.Background())
	if err != nil {
		w.t.Fatal(err)
	}
	return sets
}

func (w *world) manifests() []*catalog.Manifest {
	var ms []*catalog.Manifest
	for _, s := range w.sets() {
		if s.Manifest != nil {
			ms = append(ms, s.Manifest)
		}
	}
	return ms
}

// intact fails the test if a committed manifest names a missing chunk.
func (w *world) intact() {
	w.t.Helper()
	for _, m := range w.manifests() {
		for _, it := range m.Items {
			for _, c := range it.Chunks {
				if _, err := w.st.Stat(context.Background(), c.Key); err != nil {
					w.t.Errorf("set %s names chunk %s: %v", m.SetID, c.Key, err)
				}
			}
		}
	}
}

func TestRoundTripAndReuse(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in := append(data(9<<20, 1), bytes.Repeat(data(3<<20, 2), 3)...) // repeated content in one item
	st, err := w.writer(nil).Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Chunks) < 4 {
		t.Fatalf("%d chunks of %d bytes", len(st.Chunks), len(in))
	}
	distinct := map[string]bool{}
	var plain int64
	for _, c := range st.Chunks {
		distinct[c.Key] = true
		plain += c.PlainBytes
		if c.PlainBytes > MaxSize {
			t.Errorf("chunk of %d bytes", c.PlainBytes)
		}
	}
	if plain != int64(len(in)) {
		t.Fatalf("chunks hold %d bytes of %d", plain, len(in))
	}
	if len(distinct) == len(st.Chunks) {
		t.Error("repeated content gave no repeated chunk")
	}
	if n := w.st.puts.Load(); n != int64(len(distinct)) {
		t.Errorf("%d puts for %d distinct chunks", n, len(distinct))
	}
	if out := w.read(st.Chunks); !bytes.Equal(out, in) {
		t.Fatal("stream differs from the input")
	}
	w.commit("20261125T010000Z-aaaaaa", st.Chunks)

	// Night 2: the same stream with a change in the middle. Discovery makes
	// one listing and reads nothing per chunk; only the changed chunks go up.
	in2 := bytes.Clone(in)
	copy(in2[5<<20:], "changed")
	ms := w.manifests()
	w.st.lists.Store(0)
	w.st.gets.Store(0)
	w.st.puts.Store(0)
	known, err := Discover(ctx, w.st, host, ms)
	if err != nil {
		t.Fatal(err)
	}
	if l, g, s := w.st.lists.Load(), w.st.gets.Load(), w.st.stats.Load(); l != 1 || g != 0 || s != 0 {
		t.Errorf("discovery made %d lists, %d gets, %d stats: want one listing", l, g, s)
	}
	if len(known) != len(distinct) {
		t.Errorf("%d known of %d", len(known), len(distinct))
	}
	wr := w.writer(known)
	st2, err := wr.Write(ctx, bytes.NewReader(in2), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := wr.NewChunks.Load(); n < 1 || n > 2 || w.st.puts.Load() != n {
		t.Errorf("night 2 stored %d new chunks with %d puts: want the 1-2 around the change", n, w.st.puts.Load())
	}
	if out := w.read(st2.Chunks); !bytes.Equal(out, in2) {
		t.Fatal("night 2 stream differs")
	}

	// A chunk object no manifest names (a crashed run's) is not rewritten:
	// the next run that needs it hashes it once and, as the hash matches
	// the one recorded at its upload, names it.
	orphanData := data(400<<10, 9)
	orphan, err := w.writer(nil).Write(ctx, bytes.NewReader(orphanData), nil)
	if err != nil {
		t.Fatal(err)
	}
	known, _ = Discover(ctx, w.st, host, ms)
	if k, ok := known[orphan.Chunks[0].Key]; !ok || k.SHA256 != "" {
		t.Errorf("orphan chunk: %+v %v, want known without a hash", k, ok)
	}
	w.st.puts.Store(0)
	adopted, err := w.writer(known).Write(ctx, bytes.NewReader(orphanData), nil)
	if err != nil {
		t.Fatal(err)
	}
	if w.st.puts.Load() != 0 || adopted.Chunks[0] != orphan.Chunks[0] {
		t.Errorf("orphan adopted as %+v with %d puts, want %+v and none", adopted.Chunks[0], w.st.puts.Load(), orphan.Chunks[0])
	}
	// A listed chunk whose size differs from the manifest's is not known.
	victim := st.Chunks[0].Key
	w.st.Put(ctx, victim, strings.NewReader("short"), upload.PutOptions{})
	known, _ = Discover(ctx, w.st, host, ms)
	if _, ok := known[victim]; ok {
		t.Error("a chunk of the wrong size counts as known")
	}
}

func TestStreamChecks(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in := data(6<<20, 3)
	st, err := w.writer(nil).Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	// Same size, one payload bit flipped: a restore (which checks the
	// manifest's age prefix hash, then lets age authenticate the payload)
	// refuses it naming the chunk; a check without identity refuses it on
	// the SHA-256 of the whole object.
	c := st.Chunks[1]
	if c.AgePrefixBytes <= 0 || len(c.AgePrefixSHA256) != 64 {
		t.Fatalf("chunk entry without an age prefix hash: %+v", c)
	}
	rc, _ := w.st.Get(ctx, c.Key, 0, -1)
	b, _ := io.ReadAll(rc)
	rc.Close()
	b[len(b)-3] ^= 1
	w.st.Put(ctx, c.Key, bytes.NewReader(b), upload.PutOptions{})
	s := Stream(ctx, w.st, st.Chunks, w.ids, 2, nil)
	_, err = io.ReadAll(s)
	s.Close()
	if err == nil || !strings.Contains(err.Error(), c.Key) || !strings.Contains(err.Error(), "object damaged") {
		t.Errorf("damaged chunk: %v", err)
	}
	// Another chunk's object of the same size in its place (a valid age
	// file for the same identity): refused on the age header, before
	// anything is decrypted.
	swapped := []catalog.Chunk{st.Chunks[0], st.Chunks[0]}
	swapped[1].AgePrefixSHA256 = strings.Repeat("0", 64)
	s = Stream(ctx, w.st, swapped, w.ids, 2, nil)
	_, err = io.ReadAll(s)
	s.Close()
	if err == nil || !strings.Contains(err.Error(), "age header does not match") {
		t.Errorf("swapped chunk: %v", err)
	}
	// StreamWhole (verify) also hashes every object whole: an entry whose
	// object SHA-256 is wrong fails there, while a restore's checks (size,
	// age prefix, age's authentication) hold for the intact object.
	wrong := st.Chunks[0]
	wrong.SHA256 = strings.Repeat("0", 64)
	for _, c := range []struct {
		name string
		open func(context.Context, upload.Store, []catalog.Chunk, []age.Identity, int, func(int64)) io.ReadCloser
		want string
	}{{"Stream", Stream, ""}, {"StreamWhole", StreamWhole, "SHA-256"}} {
		s = c.open(ctx, w.st, []catalog.Chunk{wrong}, w.ids, 2, nil)
		_, err = io.ReadAll(s)
		s.Close()
		if (c.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.want)) {
			t.Errorf("%s of an entry with a wrong object SHA-256: %v", c.name, err)
		}
	}
	// A chunk entry from a format 2 manifest (no prefix hash): the whole
	// object's SHA-256 is checked, as before.
	old := st.Chunks[1]
	old.AgePrefixSHA256, old.AgePrefixBytes = "", 0
	s = Stream(ctx, w.st, []catalog.Chunk{old}, w.ids, 2, nil)
	_, err = io.ReadAll(s)
	s.Close()
	if err == nil || !strings.Contains(err.Error(), "SHA-256") {
		t.Errorf("damaged chunk without prefix hash: %v", err)
	}
	var cs Checks
	if err := cs.Check(ctx, w.st, c, nil); err == nil {
		t.Error("Check passed a damaged chunk")
	}
	gets := w.st.gets.Load()
	cs.Check(ctx, w.st, c, nil)
	if w.st.gets.Load() != gets {
		t.Error("a chunk was checked twice in one run")
	}
	// One byte more or less than the manifest's size: refused by size,
	// even though the recorded bytes (the first stored_bytes) are intact.
	c2 := st.Chunks[2]
	rc, _ = w.st.Get(ctx, c2.Key, 0, -1)
	orig, _ := io.ReadAll(rc)
	rc.Close()
	// Read with Get, and with the one-request read of S3 and Azure.
	for name, b := range map[string][]byte{"extended": append(append([]byte(nil), orig...), 0), "truncated": orig[:len(orig)-1]} {
		w.st.Put(ctx, c2.Key, bytes.NewReader(b), upload.PutOptions{})
		for _, rs := range []upload.Store{w.st, &whole{counting: w.st}} {
			s = Stream(ctx, rs, st.Chunks[2:3], w.ids, 2, nil)
			_, err = io.ReadAll(s)
			s.Close()
			if err == nil || !strings.Contains(err.Error(), "truncated, extended or swapped") {
				t.Errorf("%s chunk: %v", name, err)
			}
		}
	}
	w.st.Put(ctx, c2.Key, bytes.NewReader(orig), upload.PutOptions{})
	// The manifest's plain size is checked too (a swapped, valid chunk).
	bad := append([]catalog.Chunk(nil), st.Chunks[:1]...)
	bad[0].PlainBytes++
	s = Stream(ctx, w.st, bad, w.ids, 2, nil)
	_, err = io.ReadAll(s)
	s.Close()
	if err == nil || !strings.Contains(err.Error(), "manifest says") {
		t.Errorf("wrong plain size: %v", err)
	}
}

func TestKeyFile(t *testing.T) {
	p := KeyFile(t.TempDir(), host)
	k1, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateKey(p)
	if err != nil {
		t.Fatal(err)
	}
	d := data(1000, 5)
	big := randBytes(3, 8<<20)
	if k1.ID(d) != k2.ID(d) || !slices.Equal(cuts(t, k1, big), cuts(t, k2, big)) {
		t.Error("the key file does not give the same ids and cuts again")
	}
	other, _ := NewKey(bytes.Repeat([]byte{1}, 32))
	if other.ID(d) == k1.ID(d) || slices.Equal(cuts(t, other, big), cuts(t, k1, big)) {
		t.Error("two keys give the same ids or cuts")
	}
	// Given as --identity by mistake, the file is named for what it is.
	if _, err := crypto.LoadIdentities(p, nil); err == nil || !strings.Contains(err.Error(), "is the host's chunk key") {
		t.Errorf("the chunk key file as an identity: %v", err)
	}
}

// --- prune and backup interleavings (docs/FORMAT.md) ---

// forgetAndSweep is what retention does for one host: the forgotten set's
// manifest is gone already; marker, listing, sweep, release.
func (w *world) sweep(o Options) (SweepResult, error) {
	w.t.Helper()
	ctx := context.Background()
	mark, stale, err := BeginSweep(ctx, w.st, host, o)
	if err != nil {
		return SweepResult{}, err
	}
	defer mark.Release(ctx)
	ref, err := referenced(host, w.sets())
	if err != nil {
		w.t.Fatal(err)
	}
	return Sweep(ctx, w.st, host, ref, stale, false, 2, mark.Healthy)
}

// setup: set A uses chunk X; A is then forgotten (its manifest deleted),
// so X is unreferenced, and the next backup has the same content.
func (w *world) setup() ([]byte, catalog.Chunk) {
	w.t.Helper()
	in := data(400<<10, 11) // under MinSize: one chunk
	st, err := w.writer(nil).Write(context.Background(), bytes.NewReader(in), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	w.commit("20261125T010000Z-aaaaaa", st.Chunks)
	return in, st.Chunks[0]
}

// backup runs a chunked backup of in: marker, discovery, write, commit.
func (w *world) backup(id string, in []byte, o Options, between func()) error {
	ctx := context.Background()
	mark, err := BeginBackup(ctx, w.st, host, id, o)
	if err != nil {
		return err
	}
	defer mark.Release(ctx)
	known, err := Discover(ctx, w.st, host, w.manifests())
	if err != nil {
		return err
	}
	if between != nil {
		between()
	}
	cw := w.writer(known)
	cw.Live = mark.Healthy // as the pipeline's writer
	st, err := cw.Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		return err
	}
	if err := mark.Healthy(); err != nil {
		return err
	}
	w.commit(id, st.Chunks)
	return nil
}

func noRefresh() Options { return Options{NoRefresh: true} }

// markerKeys lists the host's marker objects.
func (w *world) markerKeys() []string {
	w.t.Helper()
	var out []string
	if err := w.st.List(context.Background(), LockPrefix(host), func(o upload.ObjectInfo) error {
		out = append(out, o.Key)
		return nil
	}); err != nil {
		w.t.Fatal(err)
	}
	return out
}

// A backup that finds X known, then a prune that finds X unreferenced: the
// prune sees the backup's marker and leaves the chunks alone.
func TestBackupThenPrune(t *testing.T) {
	w := newWorld(t)
	in, x := w.setup()
	ctx := context.Background()
	err := w.backup("20261126T010000Z-bbbbbb", in, noRefresh(), func() {
		// The backup has decided to reuse X. Now A is forgotten and a prune runs.
		if err := w.st.Delete(ctx, catalog.ManifestKey(host, "20261125T010000Z-aaaaaa")); err != nil {
			t.Fatal(err)
		}
		_, err := w.sweep(noRefresh())
		if !errors.Is(err, ErrBackupRunning) {
			t.Errorf("sweep during a backup: %v, want ErrBackupRunning", err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.st.Stat(ctx, x.Key); err != nil {
		t.Errorf("reused chunk X: %v", err)
	}
	w.intact()
	// With the backup done, a prune sweeps; X is used by the new set.
	if res, err := w.sweep(noRefresh()); err != nil || len(res.Deleted) != 0 {
		t.Errorf("sweep after: %d deleted, %v", len(res.Deleted), err)
	}
	w.intact()
}

// A prune that has found X unreferenced (its marker is written, it saw no
// backup), then a backup starts: the backup waits for the prune to end
// before it lists the chunks, so it does not reuse the deleted X.
func TestPruneThenBackup(t *testing.T) {
	w := newWorld(t)
	in, x := w.setup()
	ctx := context.Background()
	w.st.Delete(ctx, catalog.ManifestKey(host, "20261125T010000Z-aaaaaa"))
	mark, stale, err := BeginSweep(ctx, w.st, host, noRefresh())
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := referenced(host, w.sets())
	waited := 0
	o := noRefresh()
	o.Wait = func(context.Context, int) error {
		waited++
		if waited == 1 {
			// The backup saw the prune marker. The prune now deletes X and ends.
			res, err := Sweep(ctx, w.st, host, ref, stale, false, 2, nil)
			if err != nil || len(res.Deleted) != 1 || res.Deleted[0].Key != x.Key {
				t.Errorf("sweep: %+v, %v", res.Deleted, err)
			}
			mark.Release(ctx)
		}
		return nil
	}
	if err := w.backup("20261126T010000Z-bbbbbb", in, o, nil); err != nil {
		t.Fatal(err)
	}
	if waited != 1 {
		t.Errorf("the backup looked again %d times, want 1 wait for the prune", waited)
	}
	w.intact()
}

// A prune whose marker is still there after the backup's limit: the backup
// gives up with a message naming the prune, and commits nothing.
func TestBackupGivesUpOnLongPrune(t *testing.T) {
	w := newWorld(t)
	in, _ := w.setup()
	ctx := context.Background()
	if _, _, err := BeginSweep(ctx, w.st, host, noRefresh()); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	o := noRefresh()
	o.Now = func() time.Time { return clock }
	o.Wait = func(context.Context, int) error { clock = clock.Add(10 * time.Minute); return nil }
	o.MaxWait = 20 * time.Minute
	err := w.backup("20261126T010000Z-bbbbbb", in, o, nil)
	if err == nil || !strings.Contains(err.Error(), "prune of host fe01 is running") {
		t.Errorf("backup behind a long prune: %v", err)
	}
	if len(w.manifests()) != 1 {
		t.Error("a backup that gave up committed a set")
	}
	// Its marker is gone, so a prune is not held up by it.
	if left := w.markerKeys(); len(left) != 1 || !strings.HasPrefix(left[0], LockPrefix(host)+pruneMark) {
		t.Errorf("markers left: %v, want the prune's only", left)
	}
}

// A crashed backup's marker goes stale: the prune then sweeps (its orphan
// chunks and the forgotten set's) and deletes the stale marker.
func TestStaleBackupMarker(t *testing.T) {
	w := newWorld(t)
	_, x := w.setup()
	ctx := context.Background()
	if _, err := BeginBackup(ctx, w.st, host, "20261126T010000Z-bbbbbb", noRefresh()); err != nil {
		t.Fatal(err)
	}
	w.st.Delete(ctx, catalog.ManifestKey(host, "20261125T010000Z-aaaaaa"))
	if _, err := w.sweep(noRefresh()); !errors.Is(err, ErrBackupRunning) {
		t.Fatalf("fresh marker: %v", err)
	}
	w.clock.Advance(StaleAfter + time.Minute) // in the store's clock
	res, err := w.sweep(noRefresh())
	if err != nil || len(res.Deleted) != 1 || res.Deleted[0].Key != x.Key {
		t.Fatalf("sweep past a stale marker: %+v, %v", res.Deleted, err)
	}
	if left := w.markerKeys(); len(left) != 0 {
		t.Errorf("markers left: %v", left)
	}
}

// A backup whose marker could not be rewritten for too long refuses to
// commit: a prune may have taken it for crashed.
func TestUnhealthyMarkerBlocksCommit(t *testing.T) {
	w := newWorld(t)
	in, _ := w.setup()
	clock := time.Now()
	o := noRefresh()
	o.Now = func() time.Time { return clock }
	err := w.backup("20261126T010000Z-bbbbbb", in, o, func() { clock = clock.Add(StaleAfter) })
	if err == nil || !strings.Contains(err.Error(), "taken this one for crashed") {
		t.Errorf("commit with a stale marker: %v", err)
	}
}

// A marker that went unwritten for longer than another run allows stays
// unhealthy after it is written again: a process stopped for 31 minutes
// resumes, its ticker fires at once, and the fresh marker hid the gap while
// a prune that took the run for crashed was deleting its chunks.
func TestMarkerGapStaysUnhealthy(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	clock := time.Now()
	o := noRefresh()
	o.Now = func() time.Time { return clock }
	m, err := BeginBackup(ctx, w.st, host, "20261126T010000Z-bbbbbb", o)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Release(ctx)
	clock = clock.Add(RefreshEvery)
	if err := m.write(ctx); err != nil || m.Healthy() != nil {
		t.Fatalf("a marker written every 5 minutes: %v, %v", err, m.Healthy())
	}
	clock = clock.Add(StaleAfter + time.Minute) // SIGSTOP, a suspended VM
	if err := m.write(ctx); err != nil {
		t.Fatal(err)
	}
	if err := m.Healthy(); err == nil || !strings.Contains(err.Error(), "went unwritten for 31m0s") {
		t.Errorf("after a 31-minute gap and a fresh write: %v", err)
	}
}

// A backup paused past StaleAfter after its discovery: meanwhile a second
// backup of the host (which took the first for crashed) stored chunk X and
// committed. Resumed, the first must not write X again over the committed
// object (a new age encryption: other bytes, same size), which left the
// second set unrestorable while both runs exited 0.
func TestResumedBackupWritesNoChunk(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in := data(400<<10, 99) // one chunk, new to both runs
	clock := time.Now()
	o1 := noRefresh()
	o1.Now = func() time.Time { return clock }
	m1, err := BeginBackup(ctx, w.st, host, "20261126T010000Z-aaaaaa", o1)
	if err != nil {
		t.Fatal(err)
	}
	defer m1.Release(ctx)
	known1, err := Discover(ctx, w.st, host, w.manifests())
	if err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(StaleAfter + time.Minute) // paused 31 minutes
	w.clock.Advance(StaleAfter + time.Minute)   // for everyone else too
	if err := w.backup("20261126T013200Z-bbbbbb", in, noRefresh(), nil); err != nil {
		t.Fatalf("second backup: %v", err)
	}
	m1.write(ctx) // resumed: the pending refresh tick fires first
	cw := w.writer(known1)
	cw.Live = m1.Healthy
	if _, err := cw.Write(ctx, bytes.NewReader(in), nil); err == nil || !strings.Contains(err.Error(), "went unwritten") {
		t.Errorf("the resumed backup wrote its chunks: %v", err)
	}
	for _, m := range w.manifests() {
		s := Stream(ctx, w.st, m.Items[0].Chunks, w.ids, 2, nil)
		_, err := io.Copy(io.Discard, s)
		s.Close()
		if err != nil {
			t.Errorf("set %s does not restore: %v", m.SetID, err)
		}
	}
}

// afterList runs fn once, right after a listing of prefix: a run paused
// between a listing and what it does with it.
type afterList struct {
	upload.Store
	prefix string
	once   sync.Once
	fn     func()
}

func (a *afterList) List(ctx context.Context, p string, f func(upload.ObjectInfo) error) error {
	err := a.Store.List(ctx, p, f)
	if p == a.prefix {
		a.once.Do(a.fn)
	}
	return err
}

// A prune that lists X as unreferenced, then sleeps past StaleAfter (prune
// --from on a laptop): meanwhile a backup takes its marker for stale,
// adopts X and commits. Woken, the prune deletes nothing more.
func TestPausedPruneDeletesNothing(t *testing.T) {
	w := newWorld(t)
	in, x := w.setup()
	ctx := context.Background()
	if err := w.st.Delete(ctx, catalog.ManifestKey(host, "20261125T010000Z-aaaaaa")); err != nil {
		t.Fatal(err)
	}
	clock := time.Now()
	po := noRefresh()
	po.Now = func() time.Time { return clock }
	pm, stale, err := BeginSweep(ctx, w.st, host, po)
	if err != nil {
		t.Fatal(err)
	}
	defer pm.Release(ctx)
	ref, _ := referenced(host, w.sets())
	hook := &afterList{Store: w.st, prefix: catalog.ChunkPrefix(host), fn: func() {
		clock = clock.Add(StaleAfter + time.Minute) // the prune's machine sleeps
		w.clock.Advance(StaleAfter + time.Minute)   // the store's time goes on
		if err := w.backup("20261126T010000Z-bbbbbb", in, noRefresh(), nil); err != nil {
			t.Errorf("backup: %v", err)
		}
	}}
	res, err := Sweep(ctx, hook, host, ref, stale, false, 2, pm.Healthy)
	if err == nil || !strings.Contains(err.Error(), "went unwritten") && !strings.Contains(err.Error(), "last written") {
		t.Errorf("the woken prune's sweep: %v", err)
	}
	if len(res.Deleted) != 0 {
		t.Errorf("the woken prune deleted %v (X is %s)", res.Deleted, x.Key)
	}
	w.intact()
}

var errWouldWait = errors.New("the backup would wait for the prune")

// The protocol's order (docs/FORMAT.md): a prune writes its marker before
// it looks for backups' markers. A backup that starts right after the
// prune looked, finds X orphaned and reuses it, must either wait for the
// prune or have its chunks left alone. With the prune looking first, the
// prune saw no backup and swept X under it.
func TestSweepWritesMarkerBeforeLooking(t *testing.T) {
	w := newWorld(t)
	in, _ := w.setup()
	ctx := context.Background()
	w.st.Delete(ctx, catalog.ManifestKey(host, "20261125T010000Z-aaaaaa"))
	id := "20261126T010000Z-bbbbbb"
	var mark *Marker
	var written ItemStats
	var berr error
	hook := &afterList{Store: w.st, prefix: LockPrefix(host), fn: func() {
		o := noRefresh()
		o.Wait = func(context.Context, int) error { return errWouldWait }
		mark, berr = BeginBackup(ctx, w.st, host, id, o)
		var known map[string]Known
		if berr == nil {
			known, berr = Discover(ctx, w.st, host, w.manifests())
		}
		if berr == nil {
			written, berr = w.writer(known).Write(ctx, bytes.NewReader(in), nil)
		}
	}}
	pm, stale, err := BeginSweep(ctx, hook, host, noRefresh())
	if err != nil {
		t.Fatal(err)
	}
	ref, _ := referenced(host, w.sets())
	if _, err := Sweep(ctx, w.st, host, ref, stale, false, 2, pm.Healthy); err != nil {
		t.Fatal(err)
	}
	pm.Release(ctx)
	if errors.Is(berr, errWouldWait) {
		return // the backup saw the prune's marker: it waits
	}
	if berr != nil {
		t.Fatal(berr)
	}
	w.commit(id, written.Chunks)
	mark.Release(ctx)
	w.intact()
}

// The other half: a backup writes its marker before it looks for prunes'.
// A prune that starts right after the backup looked must see the backup's
// marker and leave the chunks alone.
func TestBackupWritesMarkerBeforeLooking(t *testing.T) {
	w := newWorld(t)
	in, _ := w.setup()
	ctx := context.Background()
	w.st.Delete(ctx, catalog.ManifestKey(host, "20261125T010000Z-aaaaaa"))
	var pm *Marker
	var stale []upload.ObjectInfo
	var perr error
	hook := &afterList{Store: w.st, prefix: LockPrefix(host), fn: func() {
		pm, stale, perr = BeginSweep(ctx, w.st, host, noRefresh())
	}}
	id := "20261126T010000Z-bbbbbb"
	mark, err := BeginBackup(ctx, hook, host, id, noRefresh())
	if err != nil {
		t.Fatal(err)
	}
	known, err := Discover(ctx, w.st, host, w.manifests())
	if err != nil {
		t.Fatal(err)
	}
	st, err := w.writer(known).Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if perr == nil {
		ref, _ := referenced(host, w.sets())
		Sweep(ctx, w.st, host, ref, stale, false, 2, pm.Healthy)
		pm.Release(ctx)
	} else if !errors.Is(perr, ErrBackupRunning) {
		t.Fatal(perr)
	}
	w.commit(id, st.Chunks)
	mark.Release(ctx)
	w.intact()
}

// A damaged manifest may name any chunk: the host is not swept.
func TestDamagedManifestStopsSweep(t *testing.T) {
	w := newWorld(t)
	_, x := w.setup()
	ctx := context.Background()
	w.st.Put(ctx, catalog.ManifestKey(host, "20261125T010000Z-aaaaaa"), strings.NewReader("{"), upload.PutOptions{})
	if _, err := referenced(host, w.sets()); err == nil || !strings.Contains(err.Error(), "damaged manifest") {
		t.Errorf("Referenced: %v", err)
	}
	if _, err := w.st.Stat(ctx, x.Key); err != nil {
		t.Error(err)
	}
}

// Two backups of one host never run at once: the second one stops.
func TestConcurrentBackupsRefused(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	m, err := BeginBackup(ctx, w.st, host, "20261126T010000Z-bbbbbb", noRefresh())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := BeginBackup(ctx, w.st, host, "20261126T010001Z-cccccc", noRefresh()); !errors.Is(err, ErrOtherBackup) {
		t.Errorf("second backup: %v", err)
	}
	m.Release(ctx)
	m2, err := BeginBackup(ctx, w.st, host, "20261126T010001Z-cccccc", noRefresh())
	if err != nil {
		t.Fatalf("after the first ended: %v", err)
	}
	m2.Release(ctx)
	// Another host's backup is no obstacle.
	m3, _ := BeginBackup(ctx, w.st, host, "20261126T010000Z-bbbbbb", noRefresh())
	defer m3.Release(ctx)
	if m4, err := BeginBackup(ctx, w.st, "fe02", "20261126T010000Z-dddddd", noRefresh()); err != nil {
		t.Errorf("other host: %v", err)
	} else {
		m4.Release(ctx)
	}
}

// failing refuses every Put after the first n.
type failing struct {
	*counting
	n        int64
	attempts atomic.Int64
}

func (f *failing) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	f.attempts.Add(1)
	if f.puts.Load() >= f.n {
		return upload.ObjectInfo{}, errors.New("injected failure")
	}
	return f.counting.Put(ctx, key, r, o)
}

// A failed chunk upload fails the item with the store's error and stops
// storing the rest of it.
func TestWriteFailureStops(t *testing.T) {
	w := newWorld(t)
	f := &failing{counting: w.st, n: 2}
	wr := &Writer{Store: f, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest", Parallel: 1}
	in := data(40<<20, 21) // ~20 chunks
	_, err := wr.Write(context.Background(), bytes.NewReader(in), nil)
	if err == nil || !strings.Contains(err.Error(), "injected failure") {
		t.Fatalf("Write: %v", err)
	}
	if n := f.attempts.Load(); n > 5 {
		t.Errorf("%d chunk uploads tried after the first failure of ~20 chunks", n)
	}
}

// A marker left by a process of this machine that has ended is dead at
// once: the next backup runs (a killed backup does not block the next one
// for StaleAfter).
func TestDeadProcessMarker(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	hn, _ := os.Hostname()
	body := fmt.Sprintf(`{"kind":"backup","machine":%q,"pid":%d}`, hn, cmd.Process.Pid)
	w.st.Put(ctx, LockPrefix(host)+backupMark+"20261126T010000Z-bbbbbb", strings.NewReader(body), upload.PutOptions{})
	m, err := BeginBackup(ctx, w.st, host, "20261126T010001Z-cccccc", noRefresh())
	if err != nil {
		t.Fatalf("backup after a dead one: %v", err)
	}
	m.Release(ctx)
	// The same marker with a live pid (this test's) on this machine blocks.
	body = fmt.Sprintf(`{"kind":"backup","machine":%q,"pid":%d}`, hn, os.Getppid())
	w.st.Put(ctx, LockPrefix(host)+backupMark+"20261126T010000Z-bbbbbb", strings.NewReader(body), upload.PutOptions{})
	if _, err := BeginBackup(ctx, w.st, host, "20261126T010001Z-cccccc", noRefresh()); !errors.Is(err, ErrOtherBackup) {
		t.Errorf("live marker: %v", err)
	}
}

// TestIDIsKeyedBLAKE3: a chunk id is the keyed BLAKE3 hash of the plaintext
// (docs/FORMAT.md), checked against the BLAKE3 team's published test
// vector (key "whats the Elvish word for friend", empty input).
func TestIDIsKeyedBLAKE3(t *testing.T) {
	k, err := NewKey([]byte("whats the Elvish word for friend"))
	if err != nil {
		t.Fatal(err)
	}
	if got, want := k.ID(nil), "92b2b75604ed3c761f9d6f62392c8a9227ad0ea3f09573e783f1498a4ed60d26"; got != want {
		t.Fatalf("ID(\"\") = %s, want the BLAKE3 keyed_hash test vector %s", got, want)
	}
}

// A chunk is encrypted to the recipients of the backup that stored it, so
// only a backup to the same recipients may reuse it. After the key is
// replaced, the next backup stores every chunk again, encrypted to the new
// key, and its set restores with that key alone; the recipients in another
// order are the same recipients.
func TestWriterRecipientsNameChunks(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	in := data(6<<20, 11)
	st, err := w.writer(nil).Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.commit("20261125T010000Z-aaaaaa", st.Chunks)

	newID, _ := age.GenerateX25519Identity()
	newR, err := crypto.ParseRecipient(newID.Recipient().String())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		rs    []crypto.Recipient
		reuse bool
	}{
		{"same recipients", w.rs, true},
		{"one added, in another order", []crypto.Recipient{newR, w.rs[0]}, false},
		{"the same two, the other order", []crypto.Recipient{w.rs[0], newR}, true},
		{"replaced", []crypto.Recipient{newR}, false},
	} {
		known, err := Discover(ctx, w.st, host, w.manifests())
		if err != nil {
			t.Fatal(err)
		}
		wr := w.writer(known)
		wr.Recipients = c.rs
		st, err := wr.Write(ctx, bytes.NewReader(in), nil)
		if err != nil {
			t.Fatal(err)
		}
		if reused := wr.ReusedChunks.Load(); (reused == int64(len(st.Chunks))) != c.reuse || (!c.reuse && reused != 0) {
			t.Errorf("%s: %d of %d chunks reused, want reuse %v", c.name, reused, len(st.Chunks), c.reuse)
		}
		// Every chunk the set names opens with each of its recipients'
		// identities alone.
		for _, id := range []age.Identity{w.ids[0], newID} {
			mine := false
			for _, r := range c.rs {
				mine = mine || r.Text == id.(*age.X25519Identity).Recipient().String()
			}
			if !mine {
				continue
			}
			s := Stream(ctx, w.st, st.Chunks, []age.Identity{id}, 3, nil)
			out, err := io.ReadAll(s)
			s.Close()
			if err != nil || !bytes.Equal(out, in) {
				t.Errorf("%s: the set does not restore with the identity of %s alone: %v", c.name, id.(*age.X25519Identity).Recipient(), err)
			}
		}
		w.commit(fmt.Sprintf("20261126T0%d0000Z-bbbbbb", len(w.manifests())), st.Chunks)
	}
}

// TestIDKeyForRecipients: the id key is derived as docs/FORMAT.md says
// (computed here from that text with BLAKE3 directly), the order and
// repeats of the recipients do not matter, and the value is pinned: a
// change costs every host a full upload.
func TestIDKeyForRecipients(t *testing.T) {
	raw := []byte("whats the Elvish word for friend")
	k, err := NewKey(raw)
	if err != nil {
		t.Fatal(err)
	}
	rs := []string{"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHsKLqeplhpW+uObz5dvMgjz1OxfM/XXUB+VHtZ6isGN", "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p"}
	h, _ := blake3.NewKeyed(raw)
	h.Write([]byte("lyncbackup chunk ids for recipients\n"))
	for _, r := range []string{rs[1], rs[0]} { // sorted bytewise: "age1…" < "ssh-…"
		fmt.Fprintf(h, "%d:%s\n", len(r), r)
	}
	h2, _ := blake3.NewKeyed(h.Sum(nil)[:32])
	h2.Write([]byte("chunk"))
	want := hex.EncodeToString(h2.Sum(nil))
	for _, order := range [][]string{rs, {rs[1], rs[0]}, {rs[0], rs[1], rs[0]}} {
		if got := k.ForRecipients(order).ID([]byte("chunk")); got != want {
			t.Errorf("recipients %q: id %s, want %s (docs/FORMAT.md's derivation)", order, got, want)
		}
	}
	if want != "2196f6feba9f3a8c0895631a6dc58f06692716fe2e550543e93b154139125c05" {
		t.Errorf("id %s: the derivation changed (every host would upload every chunk again)", want)
	}
	if k.ForRecipients(rs[:1]).ID([]byte("chunk")) == want || k.ID([]byte("chunk")) == want {
		t.Error("other recipients (or none) give the same id")
	}
}

// referenced is what the sweep of retention computes for sets: the chunk
// keys their manifests name, or Damaged's error.
func referenced(host string, sets []catalog.Set) (map[string]bool, error) {
	refs := NewReferences(host)
	for _, s := range sets {
		if s.Manifest != nil {
			refs.Add(s.Manifest)
		}
	}
	if err := Damaged(host, sets); err != nil {
		return nil, err
	}
	return refs.Keys(), nil
}

// stuckThenFull: the first Put waits until its context ends (an upload in
// flight when the run stops), the second fails as a full disk does.
type stuckThenFull struct {
	*counting
	n atomic.Int64
}

var errDiskFull = errors.New("write /dest/x: no space left on device")

func (s *stuckThenFull) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	switch s.n.Add(1) {
	case 1:
		<-ctx.Done()
		return upload.ObjectInfo{}, fmt.Errorf("put %s: %w", key, ctx.Err())
	case 2:
		return upload.ObjectInfo{}, errDiskFull
	}
	return s.counting.Put(ctx, key, r, o)
}

// The item fails with the error that stopped it, not with the cancellation
// it caused in an earlier chunk's upload (a chunked backup onto a full disk
// said "context canceled" and "item interrupted").
func TestWriteFailureNamesTheCause(t *testing.T) {
	w := newWorld(t)
	s := &stuckThenFull{counting: w.st}
	wr := &Writer{Store: s, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest", Parallel: 4}
	_, err := wr.Write(context.Background(), bytes.NewReader(data(20<<20, 22)), nil)
	if !errors.Is(err, errDiskFull) {
		t.Fatalf("Write: %v, want the disk-full error", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatalf("Write: %v names the cancellation", err)
	}
}

// TestKeyFileBeingWritten: a run that finds the key file another run has
// just created and not yet written (empty, or part of its line) takes that
// run's key once it is written; it neither calls the file damaged (with the
// advice to delete it) nor makes a key of its own. That holds when the file
// appears between this run's read and its own create, and when this run's
// first read finds it. Several runs at once on a new staging folder all get
// one key. An old file that does not parse is damaged at once.
func TestKeyFileBeingWritten(t *testing.T) {
	raw := bytes.Repeat([]byte{7}, keySize)
	want, _ := NewKey(raw)
	probe := data(1000, 5)
	t.Cleanup(func() { beforeCreate, keyUnreadable = nil, nil })
	for _, when := range []string{"before create", "before read"} {
		p := KeyFile(t.TempDir(), host)
		var f *os.File
		start := func() { // the other run creates the file and writes part of it
			var err error
			if f, err = os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600); err != nil {
				t.Fatal(err)
			}
			f.WriteString(keyHeader + hex.EncodeToString(raw[:10]))
		}
		if when == "before read" {
			start()
		} else {
			beforeCreate = func() { beforeCreate = nil; start() }
		}
		keyUnreadable = func() { // it finishes once this run has read the part
			keyUnreadable = nil
			f.WriteString(hex.EncodeToString(raw[10:]) + "\n")
			f.Close()
		}
		k, err := LoadOrCreateKey(p)
		if err != nil {
			t.Fatalf("%s: the key another run was writing: %v", when, err)
		}
		if k.ID(probe) != want.ID(probe) {
			t.Errorf("%s: took another key than the one the other run wrote", when)
		}
	}

	// An hour-old file with half a line is damaged, without waiting for it.
	p := KeyFile(t.TempDir(), host)
	os.WriteFile(p, []byte(keyHeader+hex.EncodeToString(raw[:10])), 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(p, old, old)
	waited := false
	keyUnreadable = func() { waited = true }
	if _, err := LoadOrCreateKey(p); err == nil || !strings.Contains(err.Error(), "is damaged") || waited {
		t.Errorf("old half-written key file: %v (waited %v), want damaged at once", err, waited)
	}
	keyUnreadable = nil

	keyAtOnce(t, KeyFile(t.TempDir(), host), 8)
}

// shortStore stores a chunk object one byte short and says so, as a store
// that lost the end of an upload would.
type shortStore struct{ *counting }

func (s shortStore) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return upload.ObjectInfo{}, err
	}
	return s.counting.Put(ctx, key, bytes.NewReader(b[:len(b)-1]), o)
}

// TestWriteStoreSizeChecked: a chunk the store reports with another size
// than was sent fails the item, naming both sizes; it is never listed as
// stored.
func TestWriteStoreSizeChecked(t *testing.T) {
	w := newWorld(t)
	wr := &Writer{Store: shortStore{w.st}, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest", Parallel: 2}
	st, err := wr.Write(context.Background(), bytes.NewReader(data(3<<20, 23)), nil)
	if err == nil || !strings.Contains(err.Error(), "store reports") || len(st.Chunks) != 0 {
		t.Fatalf("Write: %v, %d chunks: want the size mismatch", err, len(st.Chunks))
	}
}

// TestWriteAutoChoosesForChunks: with "auto" (and no level), an item's
// chunks are compressed at the level archive.ChooseChunks picks for its
// first chunk, not archive.Choose's one-stream pick. The stream is made
// so that the two differ: the default level saves between 0.1% and 1%.
func TestWriteAutoChoosesForChunks(t *testing.T) {
	w := newWorld(t)
	r := rand.New(rand.NewPCG(5, 6))
	var b bytes.Buffer
	for b.Len() < 6<<20 { // 64 KiB of database-like records, then 128 KiB of random bytes
		var rec bytes.Buffer
		for rec.Len() < 64<<10 {
			sip := fmt.Sprintf("sip:user%d@contoso.com", r.IntN(5000)+1)
			rec.WriteString("CDR")
			rec.Write(data(8, r.Uint64()))
			rec.Write(make([]byte, 24))
			rec.Write(append([]byte(sip), make([]byte, 48-len(sip))...))
			rec.Write(data(16, r.Uint64()))
		}
		b.Write(rec.Bytes()[:64<<10])
		b.Write(data(128<<10, r.Uint64()))
	}
	stream := b.Bytes()
	ch := w.key.Chunker(bytes.NewReader(stream))
	first, err := ch.Next()
	if err != nil {
		t.Fatal(err)
	}
	first = bytes.Clone(first[:min(len(first), archive.AutoSample)])
	ch.Close()
	stream1, chunks := archive.Choose(first).String(), archive.ChooseChunks(first).String()
	if stream1 == chunks {
		t.Fatalf("the test stream's first chunk gets %s either way: it cannot tell the two apart", chunks)
	}
	for _, level := range []string{"auto", ""} {
		wr := w.writer(nil)
		wr.Compression = level
		st, err := wr.Write(context.Background(), bytes.NewReader(stream), nil)
		if err != nil {
			t.Fatal(err)
		}
		if st.Level != chunks {
			t.Errorf("compression %q: chunks compressed at %s, want %s (one stream would take %s)", level, st.Level, chunks, stream1)
		}
		if !bytes.Equal(w.read(st.Chunks), stream) {
			t.Errorf("compression %q: the chunks do not read back as the stream", level)
		}
	}
}

// archivedGets answers every Get with ErrArchived while on: objects in an
// offline tier (S3 GLACIER, Azure Archive).
type archivedGets struct {
	*counting
	on atomic.Bool
}

func (a *archivedGets) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if a.on.Load() {
		return nil, fmt.Errorf("get %s: %w", key, upload.ErrArchived)
	}
	return a.counting.Get(ctx, key, off, n)
}

// A crashed run's chunk that the next run cannot read to adopt it (the
// destination's tier archived it, or a prune swept it since the listing)
// is stored again over it: the item does not fail night after night.
func TestUnreadableOrphanIsStoredAgain(t *testing.T) {
	ctx := context.Background()
	for _, how := range []string{"archived", "swept"} {
		t.Run(how, func(t *testing.T) {
			w := newWorld(t)
			st := &archivedGets{counting: w.st}
			in := data(3<<20, 11)
			wr := &Writer{Store: st, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest"}
			orphan, err := wr.Write(ctx, bytes.NewReader(in), nil) // no manifest names it
			if err != nil {
				t.Fatal(err)
			}
			known, err := Discover(ctx, st, host, nil)
			if err != nil || len(known) != len(orphan.Chunks) {
				t.Fatalf("discover: %d known, %d chunks: %v", len(known), len(orphan.Chunks), err)
			}
			switch how {
			case "archived":
				st.on.Store(true)
			case "swept":
				if err := st.Delete(ctx, orphan.Chunks[0].Key); err != nil {
					t.Fatal(err)
				}
			}
			w.st.puts.Store(0)
			wr = &Writer{Store: st, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest", Known: known}
			again, err := wr.Write(ctx, bytes.NewReader(in), nil)
			if err != nil {
				t.Fatalf("second run: %v", err)
			}
			want := int64(len(orphan.Chunks))
			if how == "swept" {
				want = 1
			}
			if w.st.puts.Load() != want || wr.NewChunks.Load() != want {
				t.Fatalf("%d puts, %d new chunks: want %d", w.st.puts.Load(), wr.NewChunks.Load(), want)
			}
			st.on.Store(false)
			if out := w.read(again.Chunks); !bytes.Equal(out, in) {
				t.Fatal("stream differs")
			}
		})
	}
}

// A set whose manifest is in an archive tier stops the sweep of its host
// as a damaged one does (it may name any chunk), and says how to bring it
// back; another host's is none of this host's business.
func TestDamagedArchivedManifest(t *testing.T) {
	archived := catalog.Set{Host: "fe01", ID: "20260101T000000Z-000001", ManifestErr: fmt.Errorf("get: %w", upload.ErrArchived)}
	err := Damaged("fe01", []catalog.Set{archived})
	if err == nil || !strings.Contains(err.Error(), "archive tier") || !strings.Contains(err.Error(), "restore "+archived.ID+" --thaw") {
		t.Errorf("an archived manifest: %v", err)
	}
	if err := Damaged("fe02", []catalog.Set{archived}); err != nil {
		t.Errorf("another host's archived manifest stops the sweep: %v", err)
	}
}

// TestWriteRawLiteralItemCodesTextChunks: "auto" gives an item that starts
// with random bytes (a presentation at the head of a file store) raw
// literals, chosen on its first chunk; a later chunk of text still gets
// Huffman-coded literals, so the item stores no more than at the fastest
// level throughout. No stored frame is one whose raw literals Huffman coding
// would have shrunk.
func TestWriteRawLiteralItemCodesTextChunks(t *testing.T) {
	w := newWorld(t)
	r := rand.New(rand.NewPCG(11, 12))
	var b bytes.Buffer
	b.Write(data(3<<20, 3))
	for i := 0; b.Len() < 9<<20; i++ {
		fmt.Fprintf(&b, "<DocItem Name=\"urn:schema:Microsoft.Rtc.Management.Settings.%s.2008\" Id=\"%016x\"><Policy Identity=\"Tag:Policy%d\" MaxMeetingSize=\"%d\" LineUri=\"tel:+1425555%04d\" SipAddress=\"sip:user%d@contoso.com\"/></DocItem>\n",
			[]string{"Archiving", "Registrar", "Voice", "Conferencing"}[r.IntN(4)], r.Uint64(), i, r.IntN(250), r.IntN(10000), r.IntN(50000))
	}
	stream := b.Bytes()
	stored := func(level string) (int64, ItemStats) {
		wr := w.writer(nil)
		wr.Compression = level
		st, err := wr.Write(context.Background(), bytes.NewReader(stream), nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.read(st.Chunks), stream) {
			t.Fatalf("compression %q: the chunks do not read back as the stream", level)
		}
		var n int64
		for _, c := range st.Chunks {
			n += c.StoredBytes
		}
		return n, st
	}
	fastest, _ := stored("fastest")
	auto, st := stored("auto")
	if st.Level != "fastest-rawlit" {
		t.Fatalf("auto chose %s for a stream starting with random bytes; the test needs fastest-rawlit", st.Level)
	}
	for _, c := range st.Chunks {
		if frame := w.frame(c.Key); archive.ChunkWantsHuffman(frame) {
			t.Errorf("chunk %s (%d bytes) is stored with raw literals worth Huffman coding", c.Key, c.PlainBytes)
		}
	}
	if auto > fastest+fastest/1000 {
		t.Errorf("auto stored %d bytes, fastest %d", auto, fastest)
	}
}

// frame is the zstd frame stored under key (the age file decrypted).
func (w *world) frame(key string) []byte {
	w.t.Helper()
	rc, err := w.st.Get(context.Background(), key, 0, -1)
	if err != nil {
		w.t.Fatal(err)
	}
	defer rc.Close()
	pr, err := crypto.Decrypt(rc, w.ids)
	if err != nil {
		w.t.Fatal(err)
	}
	frame, err := io.ReadAll(pr)
	if err != nil {
		w.t.Fatal(err)
	}
	return frame
}

// TestPutHuffmanHintFollowsTheText: with raw literals chosen for the item,
// a chunk of text sets the item's hint, and the next chunks start with
// Huffman coding (a run of text is not compressed twice per chunk); the
// first chunk whose blocks the encoder leaves all raw (random bytes, or
// records whose literals Huffman coding does not shrink) clears it, so the
// chunks after it are not Huffman-coded for nothing. Text, and a chunk
// that starts while the hint is on, is compressed at the item's level
// with Huffman coding, the rest with raw literals: each stored frame is
// exactly what that encoder makes of the chunk.
func TestPutHuffmanHintFollowsTheText(t *testing.T) {
	w := newWorld(t)
	wr := w.writer(nil)
	wr.init()
	r := rand.New(rand.NewPCG(21, 22))
	text := func() []byte {
		var b bytes.Buffer
		for b.Len() < 1<<20 {
			fmt.Fprintf(&b, "<DocItem Name=\"urn:schema:Microsoft.Rtc.Management.Settings.Voice.2008\" Id=\"%016x\"><Policy MaxMeetingSize=\"%d\" SipAddress=\"sip:user%d@contoso.com\"/></DocItem>\n", r.Uint64(), r.IntN(250), r.IntN(50000))
		}
		return b.Bytes()
	}
	records := func() []byte {
		var b bytes.Buffer
		for b.Len() < 1<<20 {
			b.WriteString("CDR")
			b.Write(data(8, r.Uint64()))
			b.Write(make([]byte, 24))
			sip := fmt.Sprintf("sip:user%d@contoso.com", r.IntN(5000)+1)
			b.Write(append([]byte(sip), make([]byte, 48-len(sip))...))
			b.Write(data(16, r.Uint64()))
		}
		return b.Bytes()
	}
	ch := archive.Choice{Level: "fastest", RawLits: true}
	huff := new(atomic.Bool)
	for i, step := range []struct {
		name  string
		plain []byte
		after bool
	}{
		{"random", data(1<<20, 31), false},
		{"text", text(), true},
		{"more text", text(), true},
		{"records", records(), false},
		{"text again", text(), true},
		{"random again", data(1<<20, 32), false},
	} {
		before := huff.Load()
		buf := wbufs.get(len(step.plain))
		copy(buf, step.plain)
		c, err := wr.put(context.Background(), fmt.Sprintf("%s/chunks/00/%064d.zst.age", host, i), buf, ch, huff)
		if err != nil {
			t.Fatal(err)
		}
		if huff.Load() != step.after {
			t.Errorf("after %s: hint %v, want %v", step.name, huff.Load(), step.after)
		}
		if got := w.read([]catalog.Chunk{c}); !bytes.Equal(got, step.plain) {
			t.Errorf("%s: the chunk does not read back", step.name)
		}
		// A chunk starts with Huffman coding while the hint is on; one of
		// text is compressed again with it (the smaller kept).
		want := ch
		if before || step.after {
			want = archive.Choice{Level: ch.Level}
		}
		level := want.String()
		enc, err := NewEncoder(want, 1)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(w.frame(c.Key), enc.EncodeAll(step.plain, nil)) {
			t.Errorf("%s: the stored frame is not the chunk compressed at %s", step.name, level)
		}
	}
}

// keyAtOnce has n runs load or create the key at path at once: each must
// get the same key, whose ID of "x" it returns.
func keyAtOnce(t *testing.T, path string, n int) string {
	t.Helper()
	ids := make([]string, n)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			k, err := LoadOrCreateKey(path)
			if err != nil {
				t.Errorf("run %d: %v", i, err)
				return
			}
			ids[i] = k.ID([]byte("x"))
		})
	}
	wg.Wait()
	for _, id := range ids[1:] {
		if id != ids[0] {
			t.Fatalf("runs at once got different keys: %v", ids)
		}
	}
	return ids[0]
}

// thawNamed is an archived error whose words name restore --thaw (S3's).
type thawNamed struct{ error }

func (e thawNamed) Unwrap() error { return e.error }
func (thawNamed) NamesThaw() bool { return true }

// TestFetchArchivedNamesThawOnce: an archived chunk's error gets the way
// back (--thaw) added, unless the store's words name it already (S3's):
// a restore of a frozen chunked set on S3 said it twice.
func TestFetchArchivedNamesThawOnce(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	c := catalog.Chunk{Key: host + "/chunks/ab/ab00", StoredBytes: 10}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"Azure's words", fmt.Errorf("get %s: %w", c.Key, upload.ErrArchived)},
		{"S3's words", thawNamed{fmt.Errorf("get %s: %w: run restore with --thaw (or restore it in the S3 console)", c.Key, upload.ErrArchived)}},
	} {
		_, err := fetch(ctx, failingGets{w.st, tc.err}, c, true)
		if !errors.Is(err, upload.ErrArchived) || strings.Count(err.Error(), "--thaw") != 1 {
			t.Errorf("%s: %v, want --thaw named once", tc.name, err)
		}
	}
}

// failingGets answers every Get with err.
type failingGets struct {
	upload.Store
	err error
}

func (f failingGets) Get(context.Context, string, int64, int64) (io.ReadCloser, error) {
	return nil, f.err
}
