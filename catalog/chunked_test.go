package catalog

import (
	"bytes"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/lyncbackup/lyncbackup/upload"
)

func chunkedManifest() *Manifest {
	m := validManifest("fe01", "20261125T151203Z-a1b2c3", "certs")
	id1, id2 := strings.Repeat("1", 64), "ab"+strings.Repeat("c", 62)
	m.Items = append(m.Items, Item{Name: "sql", Kind: "path", Key: ChunksKey("fe01", m.SetID, "sql"), Layout: LayoutChunked,
		PlainBytes: 10, StoredBytes: 30, Files: 1, SHA256: strings.Repeat("ef", 32),
		Chunks: []Chunk{
			{Key: ChunkKey("fe01", id1), PlainBytes: 5, StoredBytes: 10, SHA256: strings.Repeat("0", 64)},
			{Key: ChunkKey("fe01", id2), PlainBytes: 5, StoredBytes: 20, SHA256: strings.Repeat("1", 64)},
		}})
	return m
}

func TestChunkedManifest(t *testing.T) {
	good := chunkedManifest()
	data, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	// A chunked set written before chunk age prefixes (format 2) still reads.
	old := chunkedManifest()
	old.Format = FormatChunkedNoPrefix
	if od, err := old.Marshal(); err != nil {
		t.Fatalf("format 2: %v", err)
	} else if _, err := ParseManifest(bytes.NewReader(od)); err != nil {
		t.Fatalf("format 2: %v", err)
	}
	if it, _ := m.Item("sql"); !it.Chunked() || len(it.Chunks) != 2 || it.Chunks[1].Key != "fe01/chunks/ab/ab"+strings.Repeat("c", 62)+".zst.age" {
		t.Fatalf("round trip: %+v", it)
	}
	if got := string(ChunkList(m.Items[1].Chunks)); got != m.Items[1].Chunks[0].Key+"\n"+m.Items[1].Chunks[1].Key+"\n" {
		t.Errorf("ChunkList = %q", got)
	}
	bad := []struct {
		name string
		mut  func(m *Manifest)
		want string
	}{
		{"format 1", func(m *Manifest) { m.Format = 1 }, "chunked item in a format 1"},
		{"other host's chunk", func(m *Manifest) { m.Items[1].Chunks[0].Key = ChunkKey("fe02", strings.Repeat("1", 64)) }, "invalid key"},
		{"wrong fan-out", func(m *Manifest) { m.Items[1].Chunks[0].Key = "fe01/chunks/22/" + strings.Repeat("1", 64) + ".zst.age" }, "invalid key"},
		{"path escape", func(m *Manifest) { m.Items[1].Chunks[0].Key = "fe01/chunks/11/../../../etc/passwd" }, "invalid key"},
		{"sum", func(m *Manifest) { m.Items[1].StoredBytes = 29 }, "not the sum"},
		{"empty chunk", func(m *Manifest) { m.Items[1].Chunks[0].PlainBytes = 0 }, "invalid size"},
		{"huge chunk", func(m *Manifest) {
			m.Items[1].Chunks[0].StoredBytes = MaxChunkBytes + 1
			m.Items[1].StoredBytes = MaxChunkBytes + 21
		}, "invalid size"},
		{"bad sha", func(m *Manifest) { m.Items[1].Chunks[0].SHA256 = "x" }, "invalid sha256"},
		{"no chunks", func(m *Manifest) { m.Items[1].Chunks = nil; m.Items[1].StoredBytes = 0 }, "without chunks"},
		{"list key", func(m *Manifest) { m.Items[1].Key = ItemKey("fe01", m.SetID, "sql") }, "outside its set"},
		{"archive with chunks", func(m *Manifest) { m.Items[0].Chunks = m.Items[1].Chunks }, "chunks listed for an archive item"},
		{"layout", func(m *Manifest) { m.Items[1].Layout = "packs" }, "unknown layout"},
		{"age prefix", func(m *Manifest) { m.Items[1].AgePrefixBytes = 5; m.Items[1].AgePrefixSHA256 = strings.Repeat("0", 64) }, "age prefix"},
		{"chunk prefix in format 2", func(m *Manifest) {
			m.Format = FormatChunkedNoPrefix
			m.Items[1].Chunks[0].AgePrefixBytes, m.Items[1].Chunks[0].AgePrefixSHA256 = 5, strings.Repeat("0", 64)
		}, "age prefix in a format 2"},
		{"chunk prefix longer than the object", func(m *Manifest) {
			m.Items[1].Chunks[0].AgePrefixBytes, m.Items[1].Chunks[0].AgePrefixSHA256 = 11, strings.Repeat("0", 64)
		}, "invalid age prefix"},
		{"chunk prefix without its hash", func(m *Manifest) { m.Items[1].Chunks[0].AgePrefixBytes = 5 }, "invalid age prefix"},
	}
	for _, c := range bad {
		m := chunkedManifest()
		c.mut(m)
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, ok := ParseChunkKey("fe01", "fe01/chunks/11/"+strings.Repeat("1", 64)+".zst.age"); !ok {
		t.Error("ParseChunkKey refuses a good key")
	}
}

// flatOnly hides the store's Folderer, so List falls back to one listing.
type flatOnly struct{ upload.Store }

// recorder records the prefixes listed and the keys listed.
type recorder struct {
	upload.Store
	mu       sync.Mutex
	prefixes []string
	keys     []string
}

func (r *recorder) Unwrap() upload.Store { return r.Store }

func (r *recorder) List(ctx context.Context, prefix string, fn func(upload.ObjectInfo) error) error {
	r.mu.Lock()
	r.prefixes = append(r.prefixes, prefix)
	r.mu.Unlock()
	return r.Store.List(ctx, prefix, func(o upload.ObjectInfo) error {
		r.mu.Lock()
		r.keys = append(r.keys, o.Key)
		r.mu.Unlock()
		return fn(o)
	})
}

// TestListSkipsChunks: on a store that names its folders, List finds the
// sets without listing a host's chunk folder (thousands of objects per GiB
// of chunked sets), and finds exactly what one flat listing finds.
func TestListSkipsChunks(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	cat := &Catalog{Store: st}
	for _, id := range []string{"20260101T000000Z-000001", "20260102T000000Z-000002"} {
		m := validManifest("fe01", id, "certs")
		put(t, st, m.Items[0].Key, "obj")
		if err := cat.Commit(ctx, m, upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(t, st, ItemKey("fe01", "20260103T000000Z-000003", "certs"), "half") // incomplete
	put(t, st, LeaseKey("fe02", "20260104T000000Z-000004"), "{}")
	for i := range 50 {
		put(t, st, ChunkKey("fe01", fmt.Sprintf("%02x%062x", i, i)), "chunk")
	}
	put(t, st, "README.txt", "x")
	put(t, st, "fe01/not-a-set/x", "x")

	rec := &recorder{Store: st}
	byFolder, err := (&Catalog{Store: rec}).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	flat, err := (&Catalog{Store: flatOnly{st}}).List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	describe := func(sets []Set) string {
		var b strings.Builder
		for _, s := range sets {
			fmt.Fprintf(&b, "%s/%s:%s:%d ", s.Host, s.ID, s.Status(), len(s.Objects))
		}
		return b.String()
	}
	if got, want := describe(byFolder), describe(flat); got != want || len(byFolder) != 4 {
		t.Fatalf("by folder: %s\nflat:      %s", got, want)
	}
	for _, k := range rec.keys {
		if strings.Contains(k, "/chunks/") {
			t.Fatalf("List listed chunk %s (prefixes %v)", k, rec.prefixes)
		}
	}
	if slices.Contains(rec.prefixes, "") {
		t.Fatalf("List listed the whole store: %v", rec.prefixes)
	}
}

// TestCommitRefusesAnUnreadableManifest: a manifest over the size a reader
// accepts is not committed (the set would list as damaged and restore
// nothing); one at the limit is, and reads back. The limit is lowered here:
// at 256 MiB it takes ~800,000 chunks.
func TestCommitRefusesAnUnreadableManifest(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	cat := &Catalog{Store: st}
	m := chunkedManifest()
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte("\n ")) {
		t.Errorf("manifest is indented:\n%s", data)
	}
	defer func(n int) { manifestLimit = n }(manifestLimit)
	manifestLimit = len(data)
	if err := cat.Commit(ctx, m, upload.PutOptions{}); err != nil {
		t.Fatalf("at the limit: %v", err)
	}
	if _, err := cat.LoadManifest(ctx, m.Host, m.SetID); err != nil {
		t.Fatalf("at the limit, read back: %v", err)
	}
	big := chunkedManifest()
	big.SetID = "20261125T151204Z-a1b2c4"
	big.Items[1].Key = ChunksKey("fe01", big.SetID, "sql")
	big.Items[0].Key = ItemKey("fe01", big.SetID, "certs")
	big.Items[1].Chunks = append(big.Items[1].Chunks, Chunk{Key: ChunkKey("fe01", strings.Repeat("2", 64)), PlainBytes: 5, StoredBytes: 10, SHA256: strings.Repeat("2", 64)})
	big.Items[1].PlainBytes, big.Items[1].StoredBytes = 15, 40
	err = cat.Commit(ctx, big, upload.PutOptions{})
	if err == nil || !strings.Contains(err.Error(), "over the "+fmt.Sprint(manifestLimit)+" a restore reads (3 chunks): a set this large needs format: archive") {
		t.Fatalf("over the limit: %v", err)
	}
	if _, err := cat.LoadManifest(ctx, big.Host, big.SetID); err == nil {
		t.Fatal("a manifest over the limit was committed")
	}
	if _, err := ParseManifest(bytes.NewReader(append(data, ' '))); err == nil || err.Error() != fmt.Sprintf("manifest larger than %d bytes", manifestLimit) {
		t.Errorf("reading one over the limit: %v", err)
	}
}

// FuzzParseChunkKey: the hand-written ParseChunkKey and IsHex64 accept
// exactly what the regular expressions they replaced accepted.
func FuzzParseChunkKey(f *testing.F) {
	chunkRe := regexp.MustCompile(`^([A-Za-z0-9][A-Za-z0-9._-]{0,99})/chunks/([0-9a-f]{2})/([0-9a-f]{64})\.zst\.age$`)
	hexRe := regexp.MustCompile(`^[0-9a-f]{64}$`)
	id := "ab" + strings.Repeat("c", 62)
	for _, s := range []struct{ host, key string }{
		{"fe01", ChunkKey("fe01", id)},
		{"fe01", "fe01/chunks/ac/" + id + ".zst.age"},
		{"fe01", "fe02/chunks/ab/" + id + ".zst.age"},
		{"fe01", "fe01/chunks/ab/" + strings.ToUpper(id) + ".zst.age"},
		{"fe01", "fe01/chunks/ab/" + id + ".zst.agex"},
		{"fe01", "fe01/chunkz/ab/" + id + ".zst.age"},
		{".x", ".x/chunks/ab/" + id + ".zst.age"},
		{"", "/chunks/ab/" + id + ".zst.age"},
		{"fe01", ""},
	} {
		f.Add(s.host, s.key)
	}
	f.Fuzz(func(t *testing.T, host, key string) {
		m := chunkRe.FindStringSubmatch(key)
		wantOK := m != nil && m[1] == host && m[2] == m[3][:2]
		got, ok := ParseChunkKey(host, key)
		if ok != wantOK || ok && got != m[3] {
			t.Fatalf("ParseChunkKey(%q, %q) = %q, %v; the expression says %v", host, key, got, ok, wantOK)
		}
		for _, s := range []string{key, host} {
			if IsHex64(s) != hexRe.MatchString(s) {
				t.Fatalf("IsHex64(%q) = %v", s, IsHex64(s))
			}
		}
		if len(key) > 11 {
			if s := key[len(key)-11:] + strings.Repeat("0", 53); IsHex64(s) != hexRe.MatchString(s) {
				t.Fatalf("IsHex64(%q) = %v", s, IsHex64(s))
			}
		}
	})
}

// TestListSharesChunkStrings: the chunk keys and hashes that several sets
// name are held once after List (a host's sets name mostly the same
// chunks; per set, they made a listing of 34 sets of ~46 GiB ~670 MiB).
func TestListSharesChunkStrings(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	cat := &Catalog{Store: st}
	for _, id := range []string{"20261125T151203Z-a1b2c3", "20261126T151203Z-a1b2c4"} {
		m := chunkedManifest()
		m.SetID = id
		m.Items[0].Key = ItemKey("fe01", id, "certs")
		m.Items[1].Key = ChunksKey("fe01", id, "sql")
		put(t, st, m.Items[0].Key, "obj")
		if err := cat.Commit(ctx, m, upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	sets, err := cat.List(ctx)
	if err != nil || len(sets) != 2 || sets[0].Manifest == nil || sets[1].Manifest == nil {
		t.Fatalf("List: %d sets, %v", len(sets), err)
	}
	a, b := sets[0].Manifest.Items[1].Chunks[1], sets[1].Manifest.Items[1].Chunks[1]
	if a.Key != b.Key || unsafe.StringData(a.Key) != unsafe.StringData(b.Key) || unsafe.StringData(a.SHA256) != unsafe.StringData(b.SHA256) {
		t.Error("the two sets hold their own copies of a shared chunk's key and hash")
	}
}

// TestListNoChunks: with NoChunks a listing keeps every manifest field but
// the chunk entries (their count and sizes are in the item), and
// LoadManifest reads the chosen set whole.
func TestListNoChunks(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	cat := &Catalog{Store: st, NoChunks: true}
	m := chunkedManifest()
	put(t, st, m.Items[0].Key, "obj")
	if err := cat.Commit(ctx, m, upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	sets, err := cat.List(ctx)
	if err != nil || len(sets) != 1 || sets[0].Manifest == nil || sets[0].Status() != StatusComplete {
		t.Fatalf("List: %+v, %v", sets, err)
	}
	it := sets[0].Manifest.Items[1]
	if it.Chunks != nil || !it.Chunked() || it.StoredBytes != 30 {
		t.Errorf("listed item: %+v", it)
	}
	whole, err := cat.LoadManifest(ctx, m.Host, m.SetID)
	if err != nil || len(whole.Items[1].Chunks) != 2 {
		t.Fatalf("LoadManifest: %v", err)
	}
}
