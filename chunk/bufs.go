package chunk

import "sync"

// Restore buffers: a chunk's stored bytes, its compressed plaintext and its
// plaintext each need one buffer of a size known in advance (the manifest
// and the age payload size give them). Reusing buffers, rather than
// allocating (and clearing) three fresh ones per chunk, took ~15% off a
// restore's CPU (allocation, clearing, page faults, GC). The free list is
// bounded (maxIdle bytes), so it adds at most that to the peak memory of
// the chunks in flight; chunks vary in size, so any idle buffer that holds
// n bytes without being more than twice as big serves, the smallest first.
//
// A backup has its own list (wbufs, larger: each of its upload slots holds
// a chunk's plaintext, its zstd frame and its age object at once).

const (
	// maxIdle: the restore's chunk buffers of two items in flight (chunk
	// read-ahead 16 MiB each); 6 MiB left most of them fresh allocations
	// (~0.5 CPU-s more per GiB restored, measured). 32 MiB, kept until
	// 2026-12-02, held the same CPU as 16 MiB but let the peak grow with
	// the run (restore from loopback S3: 87 MiB peak RSS for 256 MB of
	// corpus, 108 MiB for 4 GiB; with 16 MiB and the restore's memory
	// limit, pipeline.ReadMemory, 80 and 87 MiB).
	maxIdle  = 16 << 20
	bufRound = 64 << 10
	// writeIdle: room for the buffers that the upload slots give back and
	// take again (each slot takes a plaintext, a frame and an object buffer
	// of ~1.3 MiB per chunk). With 8 MiB most were fresh allocations: a
	// 1 GiB backup allocated 918 MB of chunk buffers and ran 142 GCs; with
	// 24 MiB, 131 MB and 81 GCs, for ~5 MiB more peak RSS (local folder,
	// the bench corpus). 12 MiB with the backup's memory limit
	// (pipeline.BackupMemory) kept the peak within 10% from 256 MB to
	// 4 GiB (94 -> 103 MiB; 24 MiB and no limit that binds: 98 -> 114) for
	// +0.09 CPU-s per GiB; 8 MiB cost +0.43 CPU-s (2026-12-02).
	writeIdle = 12 << 20
)

// IdleMemory is what a restore keeps at most in idle chunk buffers.
const IdleMemory = maxIdle

type bufList struct {
	mu   sync.Mutex
	bufs [][]byte
	idle int
	max  int
}

var (
	free  = &bufList{max: maxIdle}
	wbufs = &bufList{max: writeIdle}
)

// getBuf returns a restore buffer of length n (its contents are not cleared).
func getBuf(n int) []byte { return free.get(n) }

// putBuf gives a restore buffer back; b must not be used afterwards.
func putBuf(b []byte) { free.put(b) }

// get returns a buffer of length n (its contents are not cleared).
func (free *bufList) get(n int) []byte {
	if n <= 0 {
		return nil
	}
	free.mu.Lock()
	best := -1
	for i, b := range free.bufs {
		if c := cap(b); c >= n && c <= 2*n+bufRound && (best < 0 || c < cap(free.bufs[best])) {
			best = i
		}
	}
	if best >= 0 {
		b := free.bufs[best]
		last := len(free.bufs) - 1
		free.bufs[best] = free.bufs[last]
		free.bufs[last] = nil
		free.bufs = free.bufs[:last]
		free.idle -= cap(b)
		free.mu.Unlock()
		return b[:n]
	}
	free.mu.Unlock()
	return make([]byte, n, (n+bufRound-1)/bufRound*bufRound)
}

// put gives a buffer back; b must not be used afterwards. Beyond max
// bytes of idle buffers, it is left to the GC.
func (free *bufList) put(b []byte) {
	if cap(b) < bufRound {
		return
	}
	free.mu.Lock()
	defer free.mu.Unlock()
	if free.idle+cap(b) > free.max {
		return
	}
	free.bufs = append(free.bufs, b[:0])
	free.idle += cap(b)
}
