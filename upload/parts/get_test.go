package parts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakeObject serves ranges of data, with faults decided per call.
type fakeObject struct {
	data []byte
	mu   sync.Mutex
	// calls records the offset and length of every fetch.
	calls     [][2]int64
	inFlight  int
	maxFlight int
	// fault may return (bytes to deliver before failing, error).
	fault func(ctx context.Context, call int, off int64, n int) (int, error)
}

func (o *fakeObject) fetch(ctx context.Context, off int64, dst []byte) (int, error) {
	o.mu.Lock()
	o.calls = append(o.calls, [2]int64{off, int64(len(dst))})
	call := len(o.calls)
	o.inFlight++
	o.maxFlight = max(o.maxFlight, o.inFlight)
	o.mu.Unlock()
	defer func() {
		o.mu.Lock()
		o.inFlight--
		o.mu.Unlock()
	}()
	if o.fault != nil {
		if m, err := o.fault(ctx, call, off, len(dst)); err != nil {
			return copy(dst[:m], o.data[off:]), err
		}
	}
	runtime.Gosched()
	return copy(dst, o.data[off:]), nil
}

func (o *fakeObject) callsAt(off int64) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	n := 0
	for _, c := range o.calls {
		if c[0] == off {
			n++
		}
	}
	return n
}

var noWait = ReadConfig{Chunk: 1000, Concurrency: 3, MaxAttempts: 3, Backoff: func(int) time.Duration { return 0 }}

func readAll(t *testing.T, rc io.ReadCloser) ([]byte, error) {
	t.Helper()
	var buf bytes.Buffer
	_, err := io.Copy(&buf, rc)
	rc.Close()
	return buf.Bytes(), err
}

// Ranges come back in order and whole, any start and end; at most
// Concurrency are fetched at once and the buffers out never exceed
// Concurrency ranges.
func TestReaderOrderAndBound(t *testing.T) {
	data := randBytes(7, 25_345)
	for _, r := range [][2]int64{{0, 25_345}, {0, 0}, {999, 1001}, {1, 25_344}, {12_000, 25_345}} {
		o := &fakeObject{data: data}
		pool := &Pool{}
		got, err := readAll(t, NewReader(context.Background(), pool, noWait, r[0], r[1], o.fetch))
		if err != nil || !bytes.Equal(got, data[r[0]:r[1]]) {
			t.Fatalf("%v: %d bytes, %v", r, len(got), err)
		}
		if o.maxFlight > noWait.Concurrency {
			t.Fatalf("%d fetches at once, limit %d", o.maxFlight, noWait.Concurrency)
		}
		if peak := pool.PeakOut(); peak > int64(noWait.Concurrency)*noWait.Chunk {
			t.Fatalf("%d buffer bytes out at once", peak)
		}
		if pool.out != 0 {
			t.Fatalf("%d buffer bytes never returned", pool.out)
		}
	}
}

// A body that breaks off is resumed from the byte reached, not fetched
// again from the start of its range.
func TestReaderResumesFromByteReached(t *testing.T) {
	data := randBytes(8, 5000)
	o := &fakeObject{data: data}
	var cut atomic.Bool
	o.fault = func(_ context.Context, _ int, off int64, n int) (int, error) {
		if off == 2000 && cut.CompareAndSwap(false, true) {
			return 300, io.ErrUnexpectedEOF
		}
		return 0, nil
	}
	got, err := readAll(t, NewReader(context.Background(), &Pool{}, noWait, 0, 5000, o.fetch))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	if o.callsAt(2300) != 1 || o.callsAt(2000) != 1 {
		t.Fatalf("calls %v: want one at 2000 and the resume at 2300", o.calls)
	}
}

// The attempt count starts again after progress: a body that keeps
// breaking but delivers bytes each time gets through, one that delivers
// nothing gives up after MaxAttempts.
func TestReaderAttemptsResetOnProgress(t *testing.T) {
	data := randBytes(9, 3000)
	o := &fakeObject{data: data}
	o.fault = func(_ context.Context, _ int, off int64, n int) (int, error) {
		if off >= 1000 && off < 2000 && n > 100 {
			return 100, io.ErrUnexpectedEOF // 10 breaks in a row, each with progress
		}
		return 0, nil
	}
	got, err := readAll(t, NewReader(context.Background(), &Pool{}, noWait, 0, 3000, o.fetch))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("progressing range: %d bytes, %v", len(got), err)
	}

	o = &fakeObject{data: data}
	o.fault = func(_ context.Context, _ int, off int64, n int) (int, error) {
		if off == 1000 {
			return 0, io.ErrUnexpectedEOF
		}
		return 0, nil
	}
	wrapped := noWait
	wrapped.Wrap = func(err error) error { return errors.Join(errors.New("backend get k"), err) }
	got, err = readAll(t, NewReader(context.Background(), &Pool{}, wrapped, 0, 3000, o.fetch))
	if err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") || !strings.Contains(err.Error(), "backend get k") {
		t.Fatalf("stuck range: %v", err)
	}
	// The stuck range cancels the others, so fewer bytes may come first,
	// but never any of the stuck range or after it.
	if len(got) > 1000 || !bytes.Equal(got, data[:len(got)]) {
		t.Fatalf("got %d bytes before the error; at most the 1000 before the stuck range", len(got))
	}
	if n := o.callsAt(1000); n != 3 {
		t.Fatalf("%d attempts at the stuck range, want 3", n)
	}
	if !strings.Contains(err.Error(), "bytes 1000-1999:") {
		t.Fatalf("stuck range: %v does not name bytes 1000-1999", err)
	}
}

// A clean read costs one fetch per range and no wait; a fetch that breaks
// the Fetch contract (fewer bytes than asked, and no error) is resumed
// from the byte reached, never taken as the whole range.
func TestReaderFetchesAndShortFetches(t *testing.T) {
	data := randBytes(12, 5500)
	waits := 0
	cfg := noWait
	cfg.Backoff = func(int) time.Duration { waits++; return 0 }
	cfg.Concurrency = 1 // waits is not guarded
	o := &fakeObject{data: data}
	got, err := readAll(t, NewReader(context.Background(), &Pool{}, cfg, 0, 5500, o.fetch))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("clean read: %d bytes, %v", len(got), err)
	}
	if len(o.calls) != 6 || waits != 0 {
		t.Fatalf("clean read of 6 ranges: %d fetches %v, %d waits", len(o.calls), o.calls, waits)
	}

	o = &fakeObject{data: data}
	var short atomic.Bool
	o.fault = func(_ context.Context, _ int, off int64, n int) (int, error) {
		if off == 2000 && short.CompareAndSwap(false, true) {
			return 400, errShortNil
		}
		return 0, nil
	}
	shortFetch := func(ctx context.Context, off int64, dst []byte) (int, error) {
		m, err := o.fetch(ctx, off, dst)
		if err == errShortNil {
			return m, nil
		}
		return m, err
	}
	got, err = readAll(t, NewReader(context.Background(), &Pool{}, cfg, 0, 5500, shortFetch))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("short fetch: %d bytes, %v (equal: %v)", len(got), err, bytes.Equal(got, data))
	}
	if o.callsAt(2400) != 1 {
		t.Fatalf("short fetch: calls %v, want the rest of the range fetched from 2400", o.calls)
	}
}

var errShortNil = errors.New("short, reported as nil")

// A ReadConfig without Backoff or MaxAttempts (S3 and Azure leave Backoff
// to the default) retries a broken body with the default backoff.
func TestReaderDefaults(t *testing.T) {
	data := randBytes(13, 3000)
	o := &fakeObject{data: data}
	o.fault = func(_ context.Context, call int, off int64, n int) (int, error) {
		if call <= 2 {
			return 0, io.ErrUnexpectedEOF // two failures in a row (~0.6 s of backoff), then the body
		}
		return 0, nil
	}
	got, err := readAll(t, NewReader(context.Background(), &Pool{}, ReadConfig{Chunk: 3000}, 0, 3000, o.fetch))
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("%d bytes, %v", len(got), err)
	}
	if len(o.calls) != 3 {
		t.Fatalf("%d fetches, want 3", len(o.calls))
	}
}

// A permanent error is not retried and is returned as the backend made it.
func TestReaderPermanentErrorNotRetried(t *testing.T) {
	changed := errors.New("object changed while it was being read")
	o := &fakeObject{data: randBytes(10, 3000)}
	o.fault = func(_ context.Context, _ int, off int64, n int) (int, error) {
		if off == 2000 {
			return 0, Permanent(changed)
		}
		return 0, nil
	}
	_, err := readAll(t, NewReader(context.Background(), &Pool{}, noWait, 0, 3000, o.fetch))
	if err != changed || o.callsAt(2000) != 1 {
		t.Fatalf("err %v after %d attempts", err, o.callsAt(2000))
	}
}

// One range failing for good cancels the ranges still being fetched (before
// the reader is closed), and Read returns that range's error even when an
// earlier range is the one the cancellation stopped.
func TestReaderFailureCancelsSiblings(t *testing.T) {
	boom := errors.New("range 2 refused")
	o := &fakeObject{data: randBytes(11, 3000)}
	var running atomic.Int32
	o.fault = func(ctx context.Context, _ int, off int64, n int) (int, error) {
		if off == 2000 {
			for running.Load() < 2 { // fail once both siblings are hanging
				runtime.Gosched()
			}
			return 0, Permanent(boom)
		}
		running.Add(1)
		defer running.Add(-1)
		<-ctx.Done() // ranges 0 and 1 hang until cancelled
		return 0, ctx.Err()
	}
	rc := NewReader(context.Background(), &Pool{}, noWait, 0, 3000, o.fetch)
	readErr := make(chan error, 1)
	go func() {
		_, err := rc.Read(make([]byte, 10))
		readErr <- err
	}()
	// Not closed: the hanging siblings must end all the same.
	waitFor(t, func() bool { return running.Load() == 0 && len(readErr) == 1 })
	if err := <-readErr; err != boom {
		t.Fatalf("read: %v, want the failing range's error", err)
	}
	rc.Close()
	if _, err := rc.Read(make([]byte, 10)); err == nil {
		t.Fatal("read after close succeeded")
	}
}

// The caller's cancellation ends the read with a cancellation error, and
// Close returns only when no fetch is left running.
func TestReaderCancelAndClose(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	o := &fakeObject{data: randBytes(12, 10_000)}
	var running atomic.Int32
	o.fault = func(fctx context.Context, _ int, off int64, n int) (int, error) {
		if off == 0 {
			return 0, nil
		}
		running.Add(1)
		defer running.Add(-1)
		<-fctx.Done()
		return 0, fctx.Err()
	}
	rc := NewReader(ctx, &Pool{}, noWait, 0, 10_000, o.fetch)
	if _, err := io.ReadFull(rc, make([]byte, 1000)); err != nil {
		t.Fatal(err)
	}
	cancel()
	if _, err := rc.Read(make([]byte, 1)); !errors.Is(err, context.Canceled) {
		t.Fatalf("after cancel: %v", err)
	}
	rc.Close()
	if n := running.Load(); n != 0 {
		t.Fatalf("%d fetches still running after Close", n)
	}

	// Close early without cancelling: same.
	rc = NewReader(context.Background(), &Pool{}, noWait, 0, 10_000, o.fetch)
	if _, err := io.ReadFull(rc, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	rc.Close()
	if n := running.Load(); n != 0 {
		t.Fatalf("%d fetches still running after Close", n)
	}
}

type fakeAbort struct {
	aborts, present int
	err             error
}

func (f *fakeAbort) Stage(context.Context, int, []byte) error { return nil }
func (f *fakeAbort) Commit(context.Context, int, int64) error { return nil }
func (f *fakeAbort) Abort(context.Context) error              { f.aborts++; return f.err }
func (f *fakeAbort) Gone(context.Context) (bool, error)       { f.present--; return f.present < 0, nil }
func TestAbortUntilGone(t *testing.T) {
	f := &fakeAbort{present: 2}
	if err := AbortUntilGone(context.Background(), f); err != nil || f.aborts != 3 {
		t.Fatalf("%v after %d aborts", err, f.aborts)
	}
	f = &fakeAbort{present: 100}
	if err := AbortUntilGone(context.Background(), f); err == nil || f.aborts != 6 {
		t.Fatalf("never gone: %v after %d aborts", err, f.aborts)
	}
	f = &fakeAbort{err: ErrNothingToAbort}
	if err := AbortUntilGone(context.Background(), f); err != nil || f.aborts != 1 {
		t.Fatalf("nothing to abort: %v", err)
	}
	// A cancelled caller still gets its upload aborted.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f = &fakeAbort{}
	if err := AbortUntilGone(ctx, f); err != nil || f.aborts != 1 {
		t.Fatalf("cancelled caller: %v after %d aborts", err, f.aborts)
	}
}
