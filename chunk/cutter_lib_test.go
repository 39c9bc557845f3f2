package chunk

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"slices"
	"testing"
	"testing/iotest"

	chunkers "github.com/PlakarKorp/go-cdc-chunkers"
)

// libraryCuts is where the library's own Chunker (its reader, MaxSize
// ahead) cuts in, with the format's bounds and k's chunker key.
func libraryCuts(t testing.TB, k *Key, in []byte) []int {
	t.Helper()
	c, err := chunkers.NewChunker(Algorithm, bytes.NewReader(in), libraryOpts(k.cdc))
	if err != nil {
		t.Fatal(err)
	}
	var out []int
	end := 0
	for {
		d, err := c.Next()
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		if len(d) > 0 {
			end += len(d)
			out = append(out, end)
		}
		if err == io.EOF {
			return out
		}
	}
}

// chunkerCuts is where k.Chunker cuts r, checking that the chunks put
// together are want.
func chunkerCuts(t testing.TB, k *Key, r io.Reader, want []byte) []int {
	t.Helper()
	c := k.Chunker(r)
	defer c.Close()
	var out []int
	var got []byte
	for {
		d, err := c.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d...)
		out = append(out, len(got))
		wbufs.put(d)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("the chunks put together are not the stream (%d of %d bytes)", len(got), len(want))
	}
	return out
}

// smallReads returns at most max bytes per Read (a pipe from a tar writer
// hands over what each write holds), and now and then nothing.
type smallReads struct {
	r   io.Reader
	rnd *rand.Rand
	max int
}

func (s *smallReads) Read(p []byte) (int, error) {
	if s.rnd.IntN(16) == 0 {
		return 0, nil
	}
	return s.r.Read(p[:min(len(p), 1+s.rnd.IntN(s.max))])
}

// cutterStreams are streams whose cut points the chunker must put where
// the library puts them: shorter than a chunk, at the bounds, random data
// (cuts in the first window and past it), zeros (no cut before MaxSize, or
// a cut at MinSize), and random data around long zero runs.
func cutterStreams() map[string][]byte {
	zeros := make([]byte, 20<<20)
	return map[string][]byte{
		"empty":          nil,
		"one byte":       {1},
		"MinSize-1":      randBytes(11, MinSize-1),
		"MinSize":        randBytes(12, MinSize),
		"MinSize+1":      randBytes(13, MinSize+1),
		"NormalSize":     randBytes(14, NormalSize),
		"random 40 MiB":  randBytes(15, 40<<20),
		"zeros 20 MiB":   zeros,
		"zero runs":      slices.Concat(randBytes(16, 3<<20), zeros[:9<<20], randBytes(17, 5<<20), zeros[:MaxSize], randBytes(18, 1<<20)),
		"MaxSize exact":  zeros[:MaxSize],
		"MaxSize+1":      zeros[:MaxSize+1],
		"2 MaxSize+tail": slices.Concat(zeros[:2*MaxSize], randBytes(19, 100)),
	}
}

// TestChunkerCutsAsTheLibrary: Chunker reads into each chunk's own buffer
// and asks the library's cut-point function over shorter windows than the
// library's reader does (cutter.go); its cut points must be the library's
// own, whatever sizes the reads come in, and with the library's reader as
// the fallback too. The fast path must be the one in use: a library
// version that moved its cut-point function would leave every backup on
// the slower fallback without this test saying so.
func TestChunkerCutsAsTheLibrary(t *testing.T) {
	k := testKey(3)
	if c := k.Chunker(bytes.NewReader(nil)); c.cu == nil || c.lib != nil {
		t.Fatal("the library's cut-point function was not found: Chunker runs on the fallback")
	}
	for name, in := range cutterStreams() {
		want := libraryCuts(t, k, in)
		if got := chunkerCuts(t, k, bytes.NewReader(in), in); !slices.Equal(got, want) {
			t.Errorf("%s: cuts %v, the library %v", name, got, want)
		}
		rnd := rand.New(rand.NewPCG(uint64(len(in)), 1))
		if got := chunkerCuts(t, k, &smallReads{r: bytes.NewReader(in), rnd: rnd, max: 200 << 10}, in); !slices.Equal(got, want) {
			t.Errorf("%s, small reads: cuts %v, the library %v", name, got, want)
		}
		if len(in) <= 2<<20 {
			if got := chunkerCuts(t, k, iotest.OneByteReader(bytes.NewReader(in)), in); !slices.Equal(got, want) {
				t.Errorf("%s, one byte per read: cuts %v, the library %v", name, got, want)
			}
		}
	}
	// The fallback.
	libraryImplementation = func(*chunkers.Chunker) (chunkers.ChunkerImplementation, error) { return nil, errNoCutter }
	t.Cleanup(func() { libraryImplementation = nil })
	k2 := testKey(4) // a key whose cutter is not cached yet
	if c := k2.Chunker(bytes.NewReader(nil)); c.lib == nil {
		t.Fatal("without the cut-point function the chunker did not fall back to the library's reader")
	}
	for _, name := range []string{"empty", "MinSize+1", "random 40 MiB", "zero runs"} {
		in := cutterStreams()[name]
		if got, want := chunkerCuts(t, k2, bytes.NewReader(in), in), libraryCuts(t, k2, in); !slices.Equal(got, want) {
			t.Errorf("fallback, %s: cuts %v, the library %v", name, got, want)
		}
	}
}

// TestChunkerReadError: a read error mid-stream is Next's error, after
// the chunks cut before it; a reader that returns nothing forever is
// io.ErrNoProgress, not a hang.
func TestChunkerReadError(t *testing.T) {
	k := testKey(3)
	boom := errors.New("disk on fire")
	in := randBytes(21, 6<<20)
	c := k.Chunker(io.MultiReader(bytes.NewReader(in), iotest.ErrReader(boom)))
	n := 0
	var err error
	for err == nil {
		var d []byte
		d, err = c.Next()
		n += len(d)
	}
	c.Close()
	if !errors.Is(err, boom) {
		t.Errorf("error %v, want %v", err, boom)
	}
	if n == 0 || n >= len(in) {
		t.Errorf("%d bytes of chunks before the error, want some but not all of %d", n, len(in))
	}
	c = k.Chunker(readerFunc(func([]byte) (int, error) { return 0, nil }))
	defer c.Close()
	if _, err := c.Next(); !errors.Is(err, io.ErrNoProgress) {
		t.Errorf("a reader that returns nothing: %v, want io.ErrNoProgress", err)
	}
}

type readerFunc func([]byte) (int, error)

func (f readerFunc) Read(p []byte) (int, error) { return f(p) }

// FuzzChunkerCuts: streams built of random, zero and repeated runs (each
// shape byte one run, sized so that windows, MinSize, NormalSize and
// MaxSize are crossed), read in random sizes, cut where the library cuts.
func FuzzChunkerCuts(f *testing.F) {
	f.Add(uint64(1), []byte{0x10, 0x85, 0x42, 0xff})
	f.Add(uint64(2), []byte{0xc0, 0xc0, 0x01})
	f.Add(uint64(3), []byte{0x7f})
	k := testKey(5)
	f.Fuzz(func(t *testing.T, seed uint64, shape []byte) {
		if len(shape) > 12 {
			shape = shape[:12]
		}
		rnd := rand.New(rand.NewPCG(seed, 2))
		var in []byte
		for _, b := range shape {
			n := (int(b&0x3f) + 1) << 16 // 64 KiB .. 4 MiB
			switch b >> 6 {
			case 0, 1:
				in = append(in, randBytes(rnd.Uint64(), n)...)
			case 2:
				in = append(in, make([]byte, n*2)...)
			case 3:
				pat := randBytes(rnd.Uint64(), 1+int(b&0x0f))
				in = append(in, bytes.Repeat(pat, n/len(pat))...)
			}
		}
		want := libraryCuts(t, k, in)
		got := chunkerCuts(t, k, &smallReads{r: bytes.NewReader(in), rnd: rnd, max: 1 + int(seed%(3<<20))}, in)
		if !slices.Equal(got, want) {
			t.Fatalf("cuts %v, the library %v", got, want)
		}
	})
}
