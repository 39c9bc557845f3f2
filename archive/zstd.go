package archive

import (
	"fmt"
	"io"

	"github.com/klauspost/compress/zstd"
)

// Level names the compression levels of the config.
func Level(name string) (zstd.EncoderLevel, error) {
	switch name {
	case "fastest":
		return zstd.SpeedFastest, nil
	case "", "default":
		return zstd.SpeedDefault, nil
	case "better":
		return zstd.SpeedBetterCompression, nil
	case "best":
		return zstd.SpeedBestCompression, nil
	}
	return 0, fmt.Errorf("unknown compression level %q", name)
}

// Compress wraps w in a zstd encoder. concurrency <= 0 lets zstd pick.
// Close flushes the frame; it does not close w.
func Compress(w io.Writer, level string, concurrency int) (io.WriteCloser, error) {
	lv, err := Level(level)
	if err != nil {
		return nil, err
	}
	opts := []zstd.EOption{zstd.WithEncoderLevel(lv)}
	if concurrency > 0 {
		opts = append(opts, zstd.WithEncoderConcurrency(concurrency))
	}
	return zstd.NewWriter(w, opts...)
}

// Decompress wraps r in a zstd decoder with a bounded window.
// The caller must Close the result.
func Decompress(r io.Reader) (*zstd.Decoder, error) {
	// Concurrency 2 decodes blocks in a goroutine of their own, ahead of
	// the caller (tar, hashing, file writes): a restore of one item uses
	// both cores of a small server; a few blocks of 128 KiB in flight.
	return zstd.NewReader(r, zstd.WithDecoderMaxWindow(1<<27), zstd.WithDecoderConcurrency(2))
}
