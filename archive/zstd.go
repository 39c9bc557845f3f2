package archive

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Level names the fixed compression levels of the config ("auto", the
// default, picks fastest or default per stream: see Compress).
func Level(name string) (zstd.EncoderLevel, error) {
	switch name {
	case "fastest":
		return zstd.SpeedFastest, nil
	case "default":
		return zstd.SpeedDefault, nil
	case "better":
		return zstd.SpeedBetterCompression, nil
	case "best":
		return zstd.SpeedBestCompression, nil
	}
	return 0, fmt.Errorf("unknown compression level %q", name)
}

// AutoSample is how much of a stream the "auto" level compresses both ways
// before it chooses.
const AutoSample = 4 << 20

// autoMargin: "auto" takes the default encoder only when it makes the
// sample at least 1/autoMargin (0.1%) smaller than the fastest one; in a
// near tie the cheaper encoder wins.
const autoMargin = 1000

// chunkMargin is autoMargin for data compressed as many small frames (the
// chunked format: a frame per ~1 MiB chunk, each starting with no
// history): the default encoder must make the sample at least 1% smaller.
// Per chunk, klauspost's default level took 2.6x the fastest one's CPU on
// the benchmark corpus's database dumps (1.67-1.82 against 0.64-0.77 CPU-s
// for 483 MB in 1.4 MiB frames, raw literals) to store them 0.71% smaller,
// and a chunked backup also spends CPU on cutting, naming and an age
// header per chunk, which one stream does not.
const chunkMargin = 100

// defaultWindow is the window of the default level: 4 MiB, as klauspost's
// fastest level has, instead of its default 8 MiB. zstd -3 itself uses
// 2 MiB; on the benchmark corpus's database dumps 4 MiB stores 1.5 KB more
// per 300 MB than 8 MiB, and an encoder holds 10 MiB instead of 18 (two
// items are packed at once, each with its encoder, under the memory budget).
const defaultWindow = 4 << 20

// minTrial: streams shorter than this are compressed at the default level
// without a trial.
const minTrial = 64 << 10

// rawMargin: "auto" leaves literals raw (no Huffman coding) only when that
// makes the sample at most 1/rawMargin (0.01%) larger.
const rawMargin = 10000

// Compressor is a zstd encoder writing to an io.Writer: one frame, or for
// "auto" a second one if it changes how literals are coded midway (a zstd
// stream may be several frames: zstd -d and every decoder read them as one).
type Compressor struct {
	w    io.Writer
	conc int
	used Choice // what is in use; Level "" while "auto" is still sampling
	enc  *zstd.Encoder
	// sample holds the first AutoSample bytes while "auto" decides.
	sample []byte
	// watch, with raw literals, estimates what Huffman coding them would
	// save.
	watch *litWatch
}

// Choice is an encoder configuration: a level of Level, and whether the
// literals (the bytes no match covers) are stored raw instead of Huffman
// coded. Raw literals only change how the encoder spends its time: the
// output is an ordinary zstd frame either way.
type Choice struct {
	Level   string
	RawLits bool
}

// String is the name recorded in the manifest: "default", "fastest", or
// with raw literals "default-rawlit" / "fastest-rawlit".
func (c Choice) String() string {
	if c.RawLits {
		return c.Level + "-rawlit"
	}
	return c.Level
}

// Compress wraps w in a zstd encoder at level. concurrency <= 0 lets zstd
// pick. Close flushes the stream; it does not close w.
//
// Level "" or "auto" holds back the first AutoSample bytes and chooses the
// encoder on them (see Choose). Text-like data with random tokens (XML with
// ids) often comes out smaller at the fast level, database pages smaller at
// the default one. Database pages whose unmatched bytes are random gain
// nothing from Huffman-coding them, which costs a third of the encoder's
// time there: auto then stores literals raw, and keeps checking that choice
// on every 8th block of its own output (see litWatch): where Huffman coding
// would save more than 0.01%, the rest of the stream gets it, in a frame
// of its own.
func Compress(w io.Writer, level string, concurrency int) (*Compressor, error) {
	c := &Compressor{w: w, conc: concurrency}
	if level == "" || level == "auto" {
		c.sample = make([]byte, 0, AutoSample)
		return c, nil
	}
	if err := c.start(Choice{Level: level}); err != nil {
		return nil, err
	}
	return c, nil
}

// encoderOptions: the options of an encoder for ch (a trial one with
// lower-memory buffers: the same output, slower, less garbage).
func encoderOptions(ch Choice, trial bool) ([]zstd.EOption, error) {
	lv, err := Level(ch.Level)
	if err != nil {
		return nil, err
	}
	// No frame checksum (xxhash64 of the content): the archive's SHA-256
	// index checks every file's content, age authenticates every byte of
	// the compressed stream, and the manifest holds the SHA-256 of the
	// stored object. A fourth check cost ~2% of a backup's CPU. Stock
	// zstd -d reads frames without one.
	opts := []zstd.EOption{zstd.WithEncoderLevel(lv), zstd.WithEncoderCRC(false)}
	if lv == zstd.SpeedDefault {
		opts = append(opts, zstd.WithWindowSize(defaultWindow))
	}
	if ch.RawLits {
		opts = append(opts, zstd.WithNoEntropyCompression(true))
	}
	if trial {
		opts = append(opts, zstd.WithEncoderConcurrency(1), zstd.WithLowerEncoderMem(true))
	}
	return opts, nil
}

func (c *Compressor) start(ch Choice) error {
	opts, err := encoderOptions(ch, false)
	if err != nil {
		return err
	}
	if c.conc > 0 {
		opts = append(opts, zstd.WithEncoderConcurrency(c.conc))
	}
	w := c.w
	c.watch = nil
	if ch.RawLits {
		c.watch = newLitWatch(c.w)
		w = c.watch
	}
	enc, err := zstd.NewWriter(w, opts...)
	if err != nil {
		return err
	}
	c.enc, c.used = enc, ch
	return nil
}

// Write compresses p.
func (c *Compressor) Write(p []byte) (int, error) {
	if c.enc == nil {
		n := min(len(p), cap(c.sample)-len(c.sample))
		c.sample = append(c.sample, p[:n]...)
		if len(c.sample) < cap(c.sample) {
			return n, nil
		}
		if err := c.decide(); err != nil {
			return n, err
		}
		m, err := c.write(p[n:])
		return n + m, err
	}
	return c.write(p)
}

func (c *Compressor) write(p []byte) (int, error) {
	if c.watch == nil {
		return c.enc.Write(p)
	}
	// In steps, so that a long write hears the watch in time.
	var n int
	for len(p) > 0 {
		m, err := c.enc.Write(p[:min(len(p), watchStep)])
		n, p = n+m, p[m:]
		if err != nil {
			return n, err
		}
		if c.watch.Huffman.Load() {
			// End this frame; the rest of the stream is a frame of its own.
			if err := c.enc.Close(); err != nil {
				return n, err
			}
			if err := c.start(Choice{Level: c.used.Level}); err != nil {
				return n, err
			}
			m, err := c.enc.Write(p)
			return n + m, err
		}
	}
	return n, nil
}

// watchStep: writes with raw literals go to the encoder in steps of this
// size at most (see write).
const watchStep = 1 << 20

// decide chooses the encoder for "auto" from the sample and starts it with
// the sample.
func (c *Compressor) decide() error {
	if err := c.start(Choose(c.sample)); err != nil {
		return err
	}
	s := c.sample
	c.sample = nil
	_, err := c.write(s)
	return err
}

// Close ends the stream. It does not close the underlying writer.
func (c *Compressor) Close() error {
	if c.enc == nil {
		if err := c.decide(); err != nil {
			return err
		}
	}
	return c.enc.Close()
}

// Level reports the encoder in use as Choice.String names it: the level
// asked for, or for "auto" the one it chose ("" before the first
// AutoSample bytes or Close). A stream that went back to Huffman-coded
// literals midway reports the level alone.
func (c *Compressor) Level() string { return c.used.String() }

// Choose returns the encoder "auto" uses for a stream that starts with
// sample: the fastest level unless the default one makes the sample 0.1%
// smaller, with raw literals if Huffman-coding them saves at most 0.01%.
// The trial encoders have the real window (a smaller one made the fastest
// level look 0.2% worse than it was on the file store of the benchmark
// corpus, and flipped the choice); they are made for the sample and
// dropped: shared ones (EncodeAll) kept ~25 MiB of state alive for the
// whole run, and the GC then ran against the backup's memory limit.
func Choose(sample []byte) Choice { return choose(sample, autoMargin) }

// ChooseChunks is Choose for a stream cut into chunks that are compressed
// one frame each: the default level must save at least 1% (chunkMargin).
func ChooseChunks(sample []byte) Choice { return choose(sample, chunkMargin) }

func choose(sample []byte, margin int64) Choice {
	if len(sample) < minTrial {
		return Choice{Level: "default"} // too little to judge, and too little to matter
	}
	fast, def := Choice{Level: "fastest"}, Choice{Level: "default"}
	fs, ds := trialSize(sample, fast), trialSize(sample, def)
	ch, size := fast, fs
	if ds*margin < fs*(margin-1) {
		ch, size = def, ds
	}
	if rawWithin(trialSize(sample, Choice{Level: ch.Level, RawLits: true}), size) {
		ch.RawLits = true
	}
	return ch
}

func rawWithin(raw, huff int64) bool {
	return raw >= 0 && huff >= 0 && raw*rawMargin <= huff*(rawMargin+1)
}

// trialSize is the compressed size of sample with ch, or -1 if no encoder
// could be made.
func trialSize(sample []byte, ch Choice) int64 {
	opts, err := encoderOptions(ch, true)
	if err != nil {
		return -1
	}
	var c countWriter
	enc, err := zstd.NewWriter(&c, opts...)
	if err != nil {
		return -1
	}
	enc.Write(sample) // a countWriter never fails
	enc.Close()
	return c.n
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// Decompress wraps r in a zstd decoder with a bounded window.
// The caller must Close the result.
func Decompress(r io.Reader) (*zstd.Decoder, error) {
	// Concurrency 2 decodes blocks in a goroutine of their own, ahead of
	// the caller (tar, hashing, file writes): a restore of one item uses
	// both cores of a small server; a few blocks of 128 KiB in flight.
	//
	// IgnoreChecksum: we write frames without the xxhash64 checksum, and
	// the asynchronous decoder hashes every block anyway (~3% of a
	// restore's CPU) unless told not to. Frames that carry one (objects
	// of the first development builds) are then not checked against it:
	// their files are still checked against the archive's SHA-256 index,
	// and age authenticates every byte of the stream.
	return zstd.NewReader(r, zstd.WithDecoderMaxWindow(1<<27), zstd.WithDecoderConcurrency(2), zstd.IgnoreChecksum(true))
}
