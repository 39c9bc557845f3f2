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

// defaultWindow is the window of the default level: 4 MiB, as klauspost's
// fastest level has, instead of its default 8 MiB. zstd -3 itself uses
// 2 MiB; on the benchmark corpus's database dumps 4 MiB stores 1.5 KB more
// per 300 MB than 8 MiB, and an encoder holds 10 MiB instead of 18 (two
// items are packed at once, each with its encoder, under the memory budget).
const defaultWindow = 4 << 20

// minTrial: streams shorter than this are compressed at the default level
// without a trial.
const minTrial = 64 << 10

// Compressor is a zstd encoder writing one frame to an io.Writer.
type Compressor struct {
	w    io.Writer
	conc int
	used string // the level in use; "" while "auto" is still sampling
	enc  *zstd.Encoder
	// sample holds the first AutoSample bytes while "auto" decides.
	sample []byte
}

// Compress wraps w in a zstd encoder at level. concurrency <= 0 lets zstd
// pick. Close flushes the frame; it does not close w.
//
// Level "" or "auto" holds back the first AutoSample bytes, compresses them
// with both klauspost's fastest (≈ zstd -1) and default (≈ zstd -3)
// encoders, and continues the stream with the one that made them smaller
// (the fastest one unless the default saves at least 0.1%; a stream under
// 64 KiB gets the default without a trial). Text-like data with random
// tokens (XML with ids) often comes out smaller at the fast level, database
// pages smaller at the default one; either way the output is one ordinary
// zstd frame.
func Compress(w io.Writer, level string, concurrency int) (*Compressor, error) {
	c := &Compressor{w: w, conc: concurrency}
	if level == "" || level == "auto" {
		c.sample = make([]byte, 0, AutoSample)
		return c, nil
	}
	if err := c.start(level); err != nil {
		return nil, err
	}
	return c, nil
}

func (c *Compressor) start(level string) error {
	lv, err := Level(level)
	if err != nil {
		return err
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
	if c.conc > 0 {
		opts = append(opts, zstd.WithEncoderConcurrency(c.conc))
	}
	enc, err := zstd.NewWriter(c.w, opts...)
	if err != nil {
		return err
	}
	c.enc, c.used = enc, level
	return nil
}

// Write compresses p.
func (c *Compressor) Write(p []byte) (int, error) {
	if c.enc != nil {
		return c.enc.Write(p)
	}
	n := min(len(p), cap(c.sample)-len(c.sample))
	c.sample = append(c.sample, p[:n]...)
	if len(c.sample) < cap(c.sample) {
		return n, nil
	}
	if err := c.decide(); err != nil {
		return n, err
	}
	m, err := c.enc.Write(p[n:])
	return n + m, err
}

// decide chooses the level for "auto" from the sample and starts the
// encoder with the sample.
func (c *Compressor) decide() error {
	level := ChooseLevel(c.sample)
	if err := c.start(level); err != nil {
		return err
	}
	s := c.sample
	c.sample = nil
	_, err := c.enc.Write(s)
	return err
}

// Close ends the frame. It does not close the underlying writer.
func (c *Compressor) Close() error {
	if c.enc == nil {
		if err := c.decide(); err != nil {
			return err
		}
	}
	return c.enc.Close()
}

// Level reports the level in use: the one asked for, or for "auto" the
// one it chose ("" before the first AutoSample bytes or Close).
func (c *Compressor) Level() string { return c.used }

// ChooseLevel returns "fastest" or "default": the encoder that compresses
// sample smaller, the fastest one unless the default saves 0.1% or more.
// The trial encoders have the real window (a smaller one made the fastest
// level look 0.2% worse than it was on the file store of the benchmark
// corpus, and flipped the choice); they are made for the sample and
// dropped: shared ones (EncodeAll) kept ~25 MiB of state alive for the
// whole run, and the GC then ran against the backup's memory limit.
func ChooseLevel(sample []byte) string {
	if len(sample) < minTrial {
		return "default" // too little to judge, and too little to matter
	}
	var size [2]int64
	for i, lv := range []zstd.EncoderLevel{zstd.SpeedFastest, zstd.SpeedDefault} {
		var c countWriter
		// The real window (4 MiB at both levels); lower-memory buffers
		// (the same output, slower, and 11 MiB of garbage instead of 18).
		enc, err := zstd.NewWriter(&c, zstd.WithEncoderLevel(lv), zstd.WithEncoderConcurrency(1), zstd.WithEncoderCRC(false),
			zstd.WithWindowSize(defaultWindow), zstd.WithLowerEncoderMem(true))
		if err != nil {
			return "default"
		}
		enc.Write(sample) // a countWriter never fails
		enc.Close()
		size[i] = c.n
	}
	if size[1]*autoMargin < size[0]*(autoMargin-1) {
		return "default"
	}
	return "fastest"
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// Decompress wraps r in a zstd decoder with a bounded window.
// The caller must Close the result.
func Decompress(r io.Reader) (*zstd.Decoder, error) {
	// Concurrency 2 decodes blocks in a goroutine of their own, ahead of
	// the caller (tar, hashing, file writes): a restore of one item uses
	// both cores of a small server; a few blocks of 128 KiB in flight.
	return zstd.NewReader(r, zstd.WithDecoderMaxWindow(1<<27), zstd.WithDecoderConcurrency(2))
}
