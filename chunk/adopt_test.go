package chunk

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// flipByte changes one byte of a stored object in the middle, keeping its
// size (bit rot in a folder, a changed byte).
func (w *world) flipByte(key string) {
	w.t.Helper()
	p := filepath.Join(w.dir, filepath.FromSlash(key))
	b, err := os.ReadFile(p)
	if err != nil {
		w.t.Fatal(err)
	}
	b[len(b)/2] ^= 0x40
	if err := os.WriteFile(p, b, 0o644); err != nil {
		w.t.Fatal(err)
	}
}

// A crashed run's chunk (no manifest names it) damaged before the next run
// (same size, one byte changed): the next run must not adopt it. It did,
// naming the damaged object's SHA-256: verify without a key passed and the
// restore failed in age. Now an orphan is adopted only when its bytes hash
// to the SHA-256 recorded beside it at upload (S3 / Azure metadata), and
// is stored again otherwise, or where the store keeps no metadata (a local
// folder). An intact orphan with its hash recorded is adopted (no upload).
func TestDamagedOrphanNotAdopted(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		name          string
		meta, damaged bool
		puts          int64
	}{
		{"metadata, intact", true, false, 0},
		{"metadata, damaged", true, true, 1},
		{"no metadata, intact", false, false, 1},
		{"no metadata, damaged", false, true, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			w.meta.off = !c.meta
			in := data(400<<10, 17)                                           // one chunk
			orphan, err := w.writer(nil).Write(ctx, bytes.NewReader(in), nil) // the crashed run's
			if err != nil {
				t.Fatal(err)
			}
			key := orphan.Chunks[0].Key
			if c.damaged {
				w.flipByte(key)
			}
			known, err := Discover(ctx, w.st, host, w.manifests())
			if err != nil {
				t.Fatal(err)
			}
			if k, ok := known[key]; !ok || k.SHA256 != "" {
				t.Fatalf("orphan: %+v %v, want known without a hash", k, ok)
			}
			w.st.puts.Store(0)
			wr := w.writer(known)
			st, err := wr.Write(ctx, bytes.NewReader(in), nil)
			if err != nil {
				t.Fatal(err)
			}
			if n := w.st.puts.Load(); n != c.puts {
				t.Errorf("%d puts, want %d", n, c.puts)
			}
			w.commit("20261126T010000Z-bbbbbb", st.Chunks)
			// What verify without a key checks (the stored object's SHA-256)
			// and what restore does must agree: the set restores.
			if out := w.read(st.Chunks); !bytes.Equal(out, in) {
				t.Fatal("the set's stream differs")
			}
		})
	}
}
