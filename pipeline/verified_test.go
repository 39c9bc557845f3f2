package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/upload"
)

// chunkReadStore counts the reads of chunk objects, by Get or by one
// whole-object read.
type chunkReadStore struct {
	upload.Store
	reads atomic.Int64
}

func (s *chunkReadStore) count(key string) {
	if strings.Contains(key, "/chunks/") {
		s.reads.Add(1)
	}
}

func (s *chunkReadStore) ReadWhole(ctx context.Context, key string, buf []byte) (int64, error) {
	s.count(key)
	return upload.ReadWhole(ctx, s.Store, key, buf)
}

func (s *chunkReadStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	s.count(key)
	return s.Store.Get(ctx, key, off, n)
}

// TestVerifiedItemsDecryptOnce: verify --identity over several sets that
// hold the identical item (verify all, one VerifiedItems for the run)
// reads its chunks once, not once per set; an entry that differs in one
// chunk is verified whole (and a lie in it fails), and a restore reads
// every chunk whatever the run verified.
func TestVerifiedItemsDecryptOnce(t *testing.T) {
	f := newFixture(t)
	random := make([]byte, 3<<20)
	rand.NewChaCha8([32]byte{1}).Read(random)
	a := f.tree(t, "a", map[string]string{"x": string(random), "y": "why"})
	res, err := Backup(context.Background(), inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	chunks := int64(len(m.Items[0].Chunks))
	if chunks < 2 {
		t.Fatalf("want an item of several chunks, got %d", chunks)
	}
	ctx := context.Background()
	read := func(v *VerifiedItems, m *catalog.Manifest, to string) (int64, error) {
		st := &chunkReadStore{Store: f.store}
		_, err := Read(ctx, ReadJob{Store: st, Manifest: m, Identities: f.ids, Verified: v, To: to})
		return st.reads.Load(), err
	}
	v := &VerifiedItems{}
	var total int64
	for i := range 3 {
		n, err := read(v, m, "")
		if err != nil {
			t.Fatalf("set %d: %v", i, err)
		}
		total += n
	}
	if total != chunks {
		t.Errorf("3 verifies of the same item read %d chunks, want each of its %d once", total, chunks)
	}
	// One chunk entry differs (here: lies about its hash): the item is
	// verified whole, and fails.
	other := *m
	other.Items = append([]catalog.Item(nil), m.Items...)
	other.Items[0].Chunks = append([]catalog.Chunk(nil), m.Items[0].Chunks...)
	other.Items[0].Chunks[1].SHA256 = strings.Repeat("0", 64)
	// with its own chunk list object, as another set has.
	list := catalog.ChunkList(other.Items[0].Chunks)
	sum := sha256.Sum256(list)
	other.Items[0].Key, other.Items[0].SHA256 = strings.Replace(m.Items[0].Key, m.SetID, "20990101T000000Z-000000", 1), hex.EncodeToString(sum[:])
	if _, err := f.store.Put(ctx, other.Items[0].Key, bytes.NewReader(list), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if n, err := read(v, &other, ""); err == nil || !strings.Contains(err.Error(), "SHA-256") || n == 0 {
		t.Errorf("an entry differing in one chunk: %d chunks read, %v (want it read and failed)", n, err)
	}
	if n, err := read(v, m, filepath.Join(f.dir, "r")); err != nil || n != chunks {
		t.Errorf("restore after the run verified the item: %d chunks read (want %d), %v", n, chunks, err)
	}
}
