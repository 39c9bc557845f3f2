package s3

import (
	"context"
	"crypto/sha256"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/upload"
)

// heapPeak samples the live heap while f runs.
func heapPeak(f func()) uint64 {
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	f()
	close(stop)
	wg.Wait()
	return peak.Load()
}

// A 1 GiB incompressible stream of unknown length in 5 MiB parts that grow
// (the growth period is shortened so the test sees parts of 5, 10 and 20
// MiB), read back by concurrent ranged GETs: identical bytes, no pending
// upload, and the heap stays within the buffers in flight plus slack, far
// below the object's size.
func TestLargeStreamManyGrowingParts(t *testing.T) {
	size := int64(1<<30 + 12345)
	if testing.Short() {
		size = 200<<20 + 12345
	}
	st, srv, bucket := newStore(t, false, nil)
	st.growEvery = 60 // parts 1-60: 5 MiB, 61-120: 10 MiB, then 20 MiB
	ctx := context.Background()

	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)

	want := sha256.New()
	var info upload.ObjectInfo
	var err error
	start := time.Now()
	upPeak := heapPeak(func() {
		info, err = st.Put(ctx, "h/s/huge", io.TeeReader(randStream(99, size), want), upload.PutOptions{})
	})
	upTime := time.Since(start)
	upOut := st.bufs.PeakOut()
	if err != nil {
		t.Fatal(err)
	}
	if info.Size != size {
		t.Fatalf("put reports %d bytes, want %d", info.Size, size)
	}
	if n := pending(t, srv, bucket); n != 0 {
		t.Fatalf("%d multipart uploads pending", n)
	}

	runtime.GC()
	runtime.GC() // twice: sync.Pool keeps buffers for one cycle
	var downBase runtime.MemStats
	runtime.ReadMemStats(&downBase)
	st.bufs.PeakOut()
	got := sha256.New()
	var n int64
	start = time.Now()
	downPeak := heapPeak(func() {
		rc, gerr := st.Get(ctx, "h/s/huge", 0, -1)
		if gerr != nil {
			err = gerr
			return
		}
		n, err = io.Copy(got, rc)
		rc.Close()
	})
	downTime := time.Since(start)
	downOut := st.bufs.PeakOut()
	if err != nil {
		t.Fatal(err)
	}
	if n != size || string(got.Sum(nil)) != string(want.Sum(nil)) {
		t.Fatalf("read back %d bytes, hash differs or size wrong (want %d)", n, size)
	}

	// Buffers: the upload holds at most (concurrency+1) parts of the
	// largest size used (20 MiB), the download concurrency chunks.
	upBuf, downBuf := uint64(st.opt.Concurrency+1)*(20<<20), uint64(st.opt.Concurrency)*uint64(st.chunkSize())
	if size < 1<<30 {
		upBuf = uint64(st.opt.Concurrency+1) * (10 << 20)
	}
	upHeap, downHeap := upPeak-min(upPeak, base.HeapInuse), downPeak-min(downPeak, downBase.HeapInuse)
	t.Logf("%d MiB: upload %v (%.0f MiB/s), buffers peak %d MiB, heap +%d MiB; download %v (%.0f MiB/s), buffers peak %d MiB, heap +%d MiB",
		size>>20, upTime.Round(time.Millisecond), float64(size>>20)/upTime.Seconds(), upOut>>20, upHeap>>20,
		downTime.Round(time.Millisecond), float64(size>>20)/downTime.Seconds(), downOut>>20, downHeap>>20)
	if uint64(upOut) > upBuf {
		t.Errorf("upload held %d MiB of part buffers, bound %d MiB", upOut>>20, upBuf>>20)
	}
	if uint64(downOut) > downBuf {
		t.Errorf("download held %d MiB of chunk buffers, bound %d MiB", downOut>>20, downBuf>>20)
	}
	// The heap (garbage and pooled buffers of earlier sizes included) stays
	// far below the object: nothing buffers the whole stream.
	if limit := uint64(2*upBuf + 64<<20); upHeap > limit || downHeap > limit {
		t.Errorf("heap grew by %d MiB (upload) / %d MiB (download), limit %d MiB", upHeap>>20, downHeap>>20, limit>>20)
	}
}
