package chunk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/upload"
)

// randBytes is n incompressible bytes, the same for the same seed.
func randBytes(seed uint64, n int) []byte {
	var s [32]byte
	s[0] = byte(seed)
	b := make([]byte, n)
	rand.NewChaCha8(s).Read(b)
	return b
}

// cuts is where k's chunker cuts in (chunk end offsets), checking that the
// chunks put together are in (chunkerCuts) and that every chunk but the
// last is within [MinSize, MaxSize], the last at most MaxSize.
func cuts(t *testing.T, k *Key, in []byte) []int {
	t.Helper()
	out := chunkerCuts(t, k, bytes.NewReader(in), in)
	for i := range out {
		n := out[i] - prev(out[:i+1])
		if n > MaxSize || n < MinSize && i < len(out)-1 {
			t.Fatalf("chunk %d is %d bytes, outside [%d, %d]", i, n, MinSize, MaxSize)
		}
	}
	return out
}

func prev(out []int) int {
	if len(out) < 2 {
		return 0
	}
	return out[len(out)-2]
}

func testKey(b byte) *Key {
	k, err := NewKey(bytes.Repeat([]byte{b}, keySize))
	if err != nil {
		panic(err)
	}
	return k
}

// TestChunkerKeyed: the cut points are content-defined (an insertion near
// the start moves only the chunks around it), the same for the same key,
// different for another key (the store does not reveal the cut points of
// known content), and every chunk is within the size bounds.
func TestChunkerKeyed(t *testing.T) {
	in := randBytes(1, 48<<20)
	k1, k2 := testKey(1), testKey(2)
	a, b := cuts(t, k1, in), cuts(t, k1, in)
	if !slices.Equal(a, b) {
		t.Fatal("the same key cuts the same stream differently")
	}
	if n := len(a); n < 48/4 || n > 48*2 {
		t.Errorf("%d chunks of 48 MiB: the mean is not about %d bytes", n, NormalSize)
	}
	c := cuts(t, k2, in)
	same := 0
	for _, x := range c {
		if _, ok := slices.BinarySearch(a, x); ok && x != len(in) {
			same++
		}
	}
	if same > len(a)/10 {
		t.Errorf("two keys share %d of %d cut points", same, len(a))
	}
	// 1000 bytes inserted at 100 KiB: after a chunk or two, the cut
	// points are the old ones shifted by 1000.
	ins := slices.Concat(in[:100<<10], randBytes(9, 1000), in[100<<10:])
	d := cuts(t, k1, ins)
	shifted := 0
	for _, x := range d {
		if _, ok := slices.BinarySearch(a, x-1000); ok {
			shifted++
		}
	}
	if shifted < len(a)-3 {
		t.Errorf("after an insertion only %d of %d cut points survive", shifted, len(a))
	}
}

// TestChunkerShort: an empty stream has no chunk; a stream shorter than
// MinSize is one chunk.
func TestChunkerShort(t *testing.T) {
	k := testKey(1)
	if got := cuts(t, k, nil); len(got) != 0 {
		t.Errorf("empty stream: %v", got)
	}
	if got := cuts(t, k, []byte("x")); !slices.Equal(got, []int{1}) {
		t.Errorf("one byte: %v", got)
	}
	if got := cuts(t, k, randBytes(2, MinSize+1)); !slices.Equal(got, []int{MinSize + 1}) {
		t.Errorf("MinSize+1 bytes: %v", got)
	}
}

// TestChunkerGolden pins the cut points of one key on one stream: a
// library upgrade or a parameter change that moves them would make every
// host's next backup upload everything again (docs/FORMAT.md), so it has
// to be a decision, not an accident.
func TestChunkerGolden(t *testing.T) {
	got := cuts(t, testKey(7), randBytes(5, 24<<20))
	h := sha256.Sum256(fmt.Append(nil, got))
	const want = "a32eb8afc0203a37694e91069c6b00213a1c911d8b7e0cfe3708fd3d76a91cbd"
	if hex.EncodeToString(h[:]) != want {
		t.Errorf("cut points changed: %v (sha256 %x)", got, h)
	}
}

// holdFirst is a store whose Put of one key waits until every other chunk
// of the stream is stored: the first chunk's worker ends last.
type holdFirst struct {
	*counting
	first  string
	others int64
	n      atomic.Int64
	rest   chan struct{}
}

func (h *holdFirst) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	if key == h.first {
		select {
		case <-h.rest:
		case <-ctx.Done():
			return upload.ObjectInfo{}, ctx.Err()
		}
		return h.counting.Put(ctx, key, r, o)
	}
	info, err := h.counting.Put(ctx, key, r, o)
	if h.n.Add(1) == h.others {
		close(h.rest)
	}
	return info, err
}

// TestWriterKeepsOrder: chunks are named, compressed and stored by
// concurrent workers, which may end in any order; the chunk list is in
// stream order all the same, and every chunk holds its own bytes (buffers
// are reused between chunks).
func TestWriterKeepsOrder(t *testing.T) {
	w := newWorld(t)
	in := randBytes(4, 20<<20)
	ends := cuts(t, w.key, in)
	if len(ends) < 6 {
		t.Fatalf("only %d chunks", len(ends))
	}
	var want []string
	start := 0
	for _, e := range ends {
		want = append(want, catalog.ChunkKey(host, w.key.ForRecipients(crypto.Canonical(w.rs)).ID(in[start:e])))
		start = e
	}
	h := &holdFirst{counting: w.st, first: want[0], others: int64(len(want) - 1), rest: make(chan struct{})}
	wr := w.writer(nil)
	wr.Store, wr.Parallel = h, 3
	st, err := wr.Write(context.Background(), bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range st.Chunks {
		got = append(got, c.Key)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("chunk list out of stream order:\n got %v\nwant %v", got, want)
	}
	if out := w.read(st.Chunks); !bytes.Equal(out, in) {
		t.Fatal("stream differs from the input")
	}
}

// TestOtherCutsRestore: a set whose chunks were cut elsewhere than this
// chunker cuts (as by an earlier lyncbackup's Rabin chunker) reads back
// from its list alone, and the next backup of the same stream stores it
// with this chunker's cuts beside the old chunks (the first backup after a
// chunker change uploads the stream again; the old set keeps its chunks).
func TestOtherCutsRestore(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in := randBytes(6, 5<<20)
	var old []catalog.Chunk
	for off := 0; off < len(in); off += 300 << 10 { // < MinSize: one chunk per piece
		st, err := w.writer(nil).Write(ctx, bytes.NewReader(in[off:min(off+300<<10, len(in))]), nil)
		if err != nil {
			t.Fatal(err)
		}
		old = append(old, st.Chunks...)
	}
	if out := w.read(old); !bytes.Equal(out, in) {
		t.Fatal("the old set does not read back")
	}
	w.commit("20261125T010000Z-aaaaaa", old)
	known, err := Discover(ctx, w.st, host, w.manifests())
	if err != nil {
		t.Fatal(err)
	}
	wr := w.writer(known)
	st, err := wr.Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if wr.NewChunks.Load() != int64(len(st.Chunks)) || len(st.Chunks) >= len(old) {
		t.Errorf("%d new of %d chunks (old set: %d)", wr.NewChunks.Load(), len(st.Chunks), len(old))
	}
	if out := w.read(st.Chunks); !bytes.Equal(out, in) {
		t.Fatal("the new set does not read back")
	}
	if out := w.read(old); !bytes.Equal(out, in) {
		t.Fatal("the old set no longer reads back")
	}
}
