package retention

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
)

// heapAtGets measures the live heap when the store is asked for the
// manifest that the given Get (counting manifest Gets from 1) reads.
type heapAtGets struct {
	upload.Store
	mu    sync.Mutex
	gets  int
	at    int
	heap  uint64
	taken bool
}

func (h *heapAtGets) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	if strings.HasSuffix(key, "/"+catalog.ManifestName) {
		h.mu.Lock()
		h.gets++
		if h.gets == h.at {
			var ms runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&ms)
			h.heap, h.taken = ms.HeapAlloc, true
		}
		h.mu.Unlock()
	}
	return h.Store.Get(ctx, key, offset, length)
}

// A prune holds the sets, not their chunk entries: the policy needs none,
// and the chunk sweep takes each manifest's chunks as its listing reads
// them, keeping each chunk once. Measured when the sweep's listing starts,
// after the policy's listing: the code before kept every set's entries
// from that first listing (here 30 sets of 5,000 chunks, 3% new a set:
// +11.9 MB), this code keeps the sets without them (no growth measured).
func TestApplierHoldsNoChunkEntries(t *testing.T) {
	const sets, chunks = 30, 5000
	st, _ := localStore(t)
	ctx := context.Background()
	host := "fe01"
	rnd := rand.New(rand.NewPCG(1, 2))
	hx := func() string {
		return fmt.Sprintf("%016x%016x%016x%016x", rnd.Uint64(), rnd.Uint64(), rnd.Uint64(), rnd.Uint64())
	}
	newChunk := func() catalog.Chunk {
		id := hx()
		return catalog.Chunk{Key: catalog.ChunkKey(host, id), PlainBytes: 1 << 20, StoredBytes: 800_000, SHA256: hx(), AgePrefixSHA256: hx(), AgePrefixBytes: 184}
	}
	cs := make([]catalog.Chunk, chunks)
	for i := range cs {
		cs[i] = newChunk()
	}
	start := time.Date(2026, 10, 1, 2, 0, 0, 0, time.UTC)
	for s := range sets {
		for range chunks * 3 / 100 {
			cs[rnd.IntN(chunks)] = newChunk()
		}
		at := start.Add(time.Duration(s) * 24 * time.Hour)
		id := catalog.NewSetID(at)
		var list strings.Builder
		for _, c := range cs {
			list.WriteString(c.Key + "\n")
		}
		key := catalog.SetPrefix(host, id) + "sql" + catalog.ChunksSuffix
		if _, err := st.Put(ctx, key, strings.NewReader(list.String()), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256([]byte(list.String()))
		m := &catalog.Manifest{Format: catalog.FormatVersion, Tool: "test", Host: host, SetID: id, Start: at, End: at.Add(time.Minute), Status: StatusComplete,
			Items: []catalog.Item{{Name: "sql", Kind: "path", Key: key, PlainBytes: chunks << 20, StoredBytes: chunks * 800_000, SHA256: hex.EncodeToString(sum[:]),
				Layout: catalog.LayoutChunked, Chunks: append([]catalog.Chunk(nil), cs...)}}}
		if err := (&catalog.Catalog{Store: st}).Commit(ctx, m, upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// One chunk object no set names, so that the sweep runs (and deletes it).
	orphan := catalog.ChunkKey(host, hx())
	if _, err := st.Put(ctx, orphan, bytes.NewReader([]byte("x")), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}

	h := &heapAtGets{Store: st, at: sets + 1} // the sweep listing's first manifest
	var before runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	a := &Applier{Store: h, Policy: Policy{Last: sets - 5}, Now: func() time.Time { return start.AddDate(0, 2, 0) }}
	rep, err := a.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Deleted != 5 || rep.ChunksDeleted == 0 {
		t.Fatalf("deleted %d sets and %d chunks, want 5 sets and the unused chunks", rep.Deleted, rep.ChunksDeleted)
	}
	if !h.taken {
		t.Fatalf("the sweep read no manifest (%d manifest reads)", h.gets)
	}
	grew := int64(h.heap) - int64(before.HeapAlloc)
	t.Logf("heap when the sweep's listing starts: %+d bytes", grew)
	if grew > 4<<20 {
		t.Errorf("the prune holds %d MB when its sweep starts: the sets' chunk entries (want at most 4 MB)", grew>>20)
	}
}
