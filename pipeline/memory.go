package pipeline

import (
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
)

// MemoryBudget is the soft memory limit a backup holds by design: the part
// buffers of the items in flight (parallel items, each with concurrency+1
// parts of partSize) plus 48 MiB for the zstd encoders (4 MiB windows), age
// and the rest — 112 MiB with the defaults (2 items, 3 parts of 8 MiB in
// flight). Zero or negative arguments take those defaults. Without a limit
// the heap before a collection grows with the run (measured: peak RSS
// 126 MiB for 256 MiB of data, 155 MiB for 4 GiB); with it the peak stays
// flat (118 -> 127 MiB, bench/run.sh --flat). 108 MiB made the GC work
// harder (+6% CPU on 4 GiB).
func MemoryBudget(parallel int, partSize, concurrency int64) int64 {
	if parallel <= 0 {
		parallel = 2
	}
	if partSize <= 0 {
		partSize = 8 << 20
	}
	if concurrency <= 0 {
		concurrency = 3
	}
	return 48<<20 + int64(parallel)*(concurrency+1)*partSize
}

// BackupMemory is the soft memory limit a backup in format needs by
// design: MemoryBudget for the archive format; for the chunked format, whose
// chunks go to the store from their own buffers, what its chunk writer
// holds (each item's chunker, the chunks in work, the idle buffers, the
// zstd encoders of level: chunk.WriteMemory), one part buffer (the
// manifest and the chunk lists) and 16 MiB for the rest: 92 MiB with the
// defaults. Until 2026-12-02 the chunked format's limit also held
// MemoryBudget's part buffers, which its chunks never use (209 MiB): it
// never bound, and the peak grew with the run (98 MiB backing up 256 MB of
// corpus to loopback S3, 114 MiB for 4 GiB); with this one 94 and 103 MiB
// (docs/BENCHMARKS.md). Zero or negative arguments take MemoryBudget's
// defaults.
func BackupMemory(format, level string, parallel int, partSize, concurrency int64) int64 {
	if format != FormatChunked {
		return MemoryBudget(parallel, partSize, concurrency)
	}
	if parallel <= 0 {
		parallel = 2
	}
	if partSize <= 0 {
		partSize = 8 << 20
	}
	return 16<<20 + partSize + chunk.WriteMemory(parallel, 0, level)
}

// ReadMemory is the soft memory limit a command reading the items of the
// sets ms (restore, ls, verify) holds by design. For chunked items: each item's
// read-ahead (chunkAhead chunks of the largest size, chunk.Stream), the
// idle chunk buffers kept for reuse (chunk.IdleMemory), one part buffer
// (the manifest and chunk lists are read through it) and 16 MiB for the
// zstd decoders, the extractor and the store client: 72 MiB with the
// defaults (2 items at once, 8 MiB parts). A set holding an item in one
// object (format archive) takes MemoryBudget, its downloads' part buffers,
// if that is more. Without a limit the heap before a collection grew with
// the run, as a backup's did: peak RSS 87 MiB restoring 256 MB of corpus
// from loopback S3, 108 MiB for 4 GiB; with it (and 16 MiB of idle
// buffers instead of 32) 80 and 87 MiB, the CPU unchanged (docs/BENCHMARKS.md).
// A chunk larger than usual only makes the collector run more often.
func ReadMemory(parallel int, partSize, concurrency int64, ms ...*catalog.Manifest) int64 {
	if parallel <= 0 {
		parallel = 2
	}
	if partSize <= 0 {
		partSize = 8 << 20
	}
	limit := 16<<20 + partSize + int64(parallel)*chunkAhead*chunk.MaxSize + chunk.IdleMemory
	for _, m := range ms {
		if m == nil {
			continue
		}
		for _, it := range m.Items {
			if !it.Chunked() {
				return max(limit, MemoryBudget(parallel, partSize, concurrency))
			}
		}
	}
	return limit
}
