package archive_test

// Per-stage benchmarks (run with: go test -run '^$' -bench . ./archive/).
// b.SetBytes makes every line report MB/s of plain input; the zstd ones
// also report the stored/plain ratio, so a speed gain that costs size shows.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/klauspost/compress/zstd"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/bench/benchdata"
)

const benchSize = 64 << 20

var (
	mixedOnce sync.Once
	mixed     []byte
)

func mixedData() []byte {
	mixedOnce.Do(func() { mixed = benchdata.Mixed(benchdata.Size(benchSize), 1) })
	return mixed
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

func benchTree(b *testing.B) (string, int64) {
	dir := b.TempDir()
	if _, err := benchdata.Tree(dir, benchdata.Size(benchSize), 1); err != nil {
		b.Fatal(err)
	}
	var total int64
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			fi, _ := d.Info()
			total += fi.Size()
		}
		return nil
	})
	return dir, total
}

// BenchmarkPack: walk + read + per-file SHA-256 + tar framing, no compression.
func BenchmarkPack(b *testing.B) {
	dir, total := benchTree(b)
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		if _, err := archive.Write(context.Background(), io.Discard, []archive.Root{{Path: dir, Name: "corpus"}}, archive.Options{TempDir: b.TempDir()}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZstd: archive.Compress at each configured level (auto includes
// its trial of the first 4 MiB), with the encoder's own concurrency
// (0 = GOMAXPROCS) and with one goroutine.
func BenchmarkZstd(b *testing.B) {
	data := mixedData()
	for _, level := range []string{"auto", "fastest", "default", "better", "best"} {
		for _, conc := range []int{1, 0} {
			name := level + "/conc=auto"
			if conc == 1 {
				name = level + "/conc=1"
			}
			b.Run(name, func(b *testing.B) {
				b.SetBytes(int64(len(data)))
				var cw countWriter
				for b.Loop() {
					cw.n = 0
					zw, err := archive.Compress(&cw, level, conc)
					if err != nil {
						b.Fatal(err)
					}
					if _, err := zw.Write(data); err != nil {
						b.Fatal(err)
					}
					if err := zw.Close(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(cw.n)/float64(len(data)), "ratio")
			})
		}
	}
}

// BenchmarkZstdDecompress: archive.Decompress of the default level.
func BenchmarkZstdDecompress(b *testing.B) {
	data := mixedData()
	var buf bytes.Buffer
	zw, _ := archive.Compress(&buf, "default", 0)
	zw.Write(data)
	zw.Close()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		zr, err := archive.Decompress(bytes.NewReader(buf.Bytes()))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, zr); err != nil {
			b.Fatal(err)
		}
		zr.Close()
	}
}

// BenchmarkSHA256: the per-file and per-object hash, in 1 MiB writes.
func BenchmarkSHA256(b *testing.B) {
	data := mixedData()[:16<<20]
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		h := sha256.New()
		for p := data; len(p) > 0; p = p[min(len(p), 1<<20):] {
			h.Write(p[:min(len(p), 1<<20)])
		}
		h.Sum(nil)
	}
}

// BenchmarkExtract: tar reader + per-file SHA-256 check + file writes
// (to a temp folder on the real disk), no decompression.
func BenchmarkExtract(b *testing.B) {
	dir, total := benchTree(b)
	var tarball bytes.Buffer
	if _, err := archive.Write(context.Background(), &tarball, []archive.Root{{Path: dir, Name: "corpus"}}, archive.Options{TempDir: b.TempDir()}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(total)
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		to := filepath.Join(b.TempDir(), "out")
		b.StartTimer()
		if _, err := archive.Extract(context.Background(), bytes.NewReader(tarball.Bytes()), archive.ExtractOptions{Dir: to}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkZstdOptions compares encoder set-ups of klauspost/compress
// directly (window size, concurrent blocks), to choose what Compress uses.
func BenchmarkZstdOptions(b *testing.B) {
	data := mixedData()
	cases := []struct {
		name string
		opts []zstd.EOption
	}{
		{"default/stream", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault)}},
		{"default/sync", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderConcurrency(1)}},
		{"default/jobs", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithConcurrentBlocks(true)}},
		{"default/jobs/win2M", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithConcurrentBlocks(true), zstd.WithWindowSize(2 << 20)}},
		{"default/stream/win2M", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(2 << 20)}},
		{"default/jobs/win16M", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithConcurrentBlocks(true), zstd.WithWindowSize(16 << 20)}},
		{"default/jobs/alllit", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithConcurrentBlocks(true), zstd.WithAllLitEntropyCompression(true)}},
		{"default/stream/rawlit", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(4 << 20), zstd.WithNoEntropyCompression(true)}},
		{"default/stream/win4M", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithWindowSize(4 << 20)}},
		{"fastest/jobs", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithConcurrentBlocks(true)}},
		{"better/jobs", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithConcurrentBlocks(true)}},
		{"better/jobs/win2M", []zstd.EOption{zstd.WithEncoderLevel(zstd.SpeedBetterCompression), zstd.WithConcurrentBlocks(true), zstd.WithWindowSize(2 << 20)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			var cw countWriter
			for b.Loop() {
				cw.n = 0
				zw, err := zstd.NewWriter(&cw, c.opts...)
				if err != nil {
					b.Fatal(err)
				}
				// 1 MiB writes, as the tar writer's copy buffer makes them.
				for p := data; len(p) > 0; p = p[min(len(p), 1<<20):] {
					if _, err := zw.Write(p[:min(len(p), 1<<20)]); err != nil {
						b.Fatal(err)
					}
				}
				if err := zw.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(cw.n)/float64(len(data)), "ratio")
			b.ReportMetric(float64(cw.n), "stored-bytes")
		})
	}
}
