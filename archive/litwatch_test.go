package archive

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// rawLitStream compresses data at the default level with raw literals.
func rawLitStream(t testing.TB, data []byte, opts ...zstd.EOption) []byte {
	t.Helper()
	var buf bytes.Buffer
	o, _ := encoderOptions(Choice{Level: "default", RawLits: true}, false)
	enc, err := zstd.NewWriter(&buf, append(o, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	enc.Write(data)
	enc.Close()
	return buf.Bytes()
}

// watchAll feeds stream to a fresh litWatch in pieces of the sizes split
// gives, and checks that every byte passes through unchanged.
func watchAll(t *testing.T, stream []byte, split func() int) *litWatch {
	t.Helper()
	var out bytes.Buffer
	lw := newLitWatch(&out)
	for p := stream; len(p) > 0; {
		n := min(len(p), max(1, split()))
		if m, err := lw.Write(p[:n]); m != n || err != nil {
			t.Fatalf("write %d: %d, %v", n, m, err)
		}
		p = p[n:]
	}
	if !bytes.Equal(out.Bytes(), stream) {
		t.Fatal("the stream did not pass through unchanged")
	}
	return lw
}

// TestLitWatch: the watcher follows our encoder's streams to the end
// whatever the write sizes (it counts every compressed block, ends between
// frames, and never gives up), finds nothing to gain on random-looking
// literals, and asks for Huffman coding on text.
func TestLitWatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	bak := rawLitStream(t, bakLike(24<<20, rng))
	xml := rawLitStream(t, xmlLike(24<<20, rng))
	// Two frames back to back, the second with a content checksum and a
	// known size (a single-segment header), as other encoders write them.
	small := rawLitStream(t, bakLike(3<<20, rng), zstd.WithEncoderCRC(true))
	var tiny bytes.Buffer
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderCRC(true))
	tiny.Write(enc.EncodeAll([]byte("abc"), nil))
	two := append(append(append([]byte{}, small...), tiny.Bytes()...), small...)

	whole := watchAll(t, bak, func() int { return len(bak) })
	if whole.off || whole.st != stFrame || whole.blocks < 190 {
		t.Fatalf("whole stream: off=%v state=%d blocks=%d", whole.off, whole.st, whole.blocks)
	}
	if whole.Huffman.Load() {
		t.Error("random-looking literals: Huffman coding asked for")
	}
	for _, size := range []int{1, 2, 3, 7, 4096, 100_003} {
		lw := watchAll(t, bak, func() int { return size })
		if lw.off || lw.st != stFrame || lw.blocks != whole.blocks || lw.Huffman.Load() {
			t.Errorf("writes of %d: off=%v state=%d blocks=%d (whole: %d) huffman=%v", size, lw.off, lw.st, lw.blocks, whole.blocks, lw.Huffman.Load())
		}
	}
	random := watchAll(t, bak, func() int { return rng.IntN(70000) })
	if random.off || random.blocks != whole.blocks {
		t.Errorf("random writes: off=%v blocks=%d of %d", random.off, random.blocks, whole.blocks)
	}
	lw := watchAll(t, two, func() int { return rng.IntN(5000) })
	if lw.off || lw.st != stFrame {
		t.Errorf("two frames, checksums: off=%v state=%d", lw.off, lw.st)
	}
	if !watchAll(t, xml, func() int { return 1 << 20 }).Huffman.Load() {
		t.Error("text: Huffman coding not asked for")
	}
	// Not zstd at all: it stops watching, asks for Huffman coding (the
	// safe side), and still passes everything on.
	if lw := watchAll(t, []byte("PK\x03\x04 not a zstd stream"), func() int { return 3 }); !lw.off || !lw.Huffman.Load() {
		t.Errorf("not zstd: off=%v huffman=%v, want both", lw.off, lw.Huffman.Load())
	}
}

// TestChunkWantsHuffman: one chunk's frame with raw literals (as "auto"
// writes the chunks of an item whose first chunk gained nothing from
// Huffman coding) is judged on its own: text wants Huffman, database-like
// records and random bytes do not, and text after a megabyte of random
// bytes does (only its first compressed blocks are text, so the first one
// must be sampled, not only every 8th). A frame cut short wants Huffman:
// the encoder's own choice is the safe one.
func TestChunkWantsHuffman(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	// One chunk's frame at the fastest level, as the chunk writer makes it:
	// with raw literals (frame) or Huffman coding allowed (huffFrame).
	encode := func(b []byte, raw bool) []byte {
		o, _ := encoderOptions(Choice{Level: "fastest", RawLits: raw}, false)
		enc, err := zstd.NewWriter(nil, append(o, zstd.WithEncoderCRC(false), zstd.WithWindowSize(2<<20))...)
		if err != nil {
			t.Fatal(err)
		}
		return enc.EncodeAll(b, nil)
	}
	frame := func(b []byte) []byte { return encode(b, true) }
	huffFrame := func(b []byte) []byte { return encode(b, false) }
	mixed := append(randomBytes(1<<20, rng), xmlLike(300<<10, rng)...)
	for _, c := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"text", frame(xmlLike(1300<<10, rng)), true},
		{"records", frame(bakLike(1300<<10, rng)), false},
		{"random", frame(randomBytes(1300<<10, rng)), false},
		{"random then text", frame(mixed), true},
		{"records cut short", frame(bakLike(1300<<10, rng))[:200<<10], true},
		{"not zstd", []byte("PK\x03\x04 not a zstd frame"), true},
	} {
		if got := ChunkWantsHuffman(c.b); got != c.want {
			t.Errorf("%s: ChunkWantsHuffman = %v, want %v", c.name, got, c.want)
		}
	}
	// HuffmanCoded: a frame written with Huffman coding allowed, of text,
	// has coded literals; of records or random bytes the encoder left them
	// all raw.
	for _, c := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"text", huffFrame(xmlLike(1300<<10, rng)), true},
		{"records", huffFrame(bakLike(1300<<10, rng)), false},
		{"random", huffFrame(randomBytes(1300<<10, rng)), false},
		{"text with raw literals", frame(xmlLike(1300<<10, rng)), false},
		{"records cut short", huffFrame(bakLike(1300<<10, rng))[:200<<10], true},
	} {
		if got := HuffmanCoded(c.b); got != c.want {
			t.Errorf("%s: HuffmanCoded = %v, want %v", c.name, got, c.want)
		}
	}
}

// FuzzLitWatch: whatever the bytes, the watcher passes them on unchanged and
// does not panic.
func FuzzLitWatch(f *testing.F) {
	rng := rand.New(rand.NewPCG(9, 10))
	f.Add(rawLitStream(f, bakLike(300<<10, rng)), uint16(1000))
	f.Add(rawLitStream(f, xmlLike(200<<10, rng)), uint16(7))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00, 0x05, 0x00, 0x00}, uint16(1))
	f.Fuzz(func(t *testing.T, b []byte, split uint16) {
		watchAll(t, b, func() int { return int(split) })
		ChunkWantsHuffman(b)
		HuffmanCoded(b)
	})
}
