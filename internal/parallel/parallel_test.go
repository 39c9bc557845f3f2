package parallel

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
)

// TestEachCallsEveryIndexOnce: every index is called exactly once.
func TestEachCallsEveryIndexOnce(t *testing.T) {
	var mu sync.Mutex
	seen := map[int]int{}
	if err := Each(context.Background(), 100, 3, func(i int) error {
		mu.Lock()
		seen[i]++
		mu.Unlock()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for i := range 100 {
		if seen[i] != 1 {
			t.Fatalf("index %d called %d times", i, seen[i])
		}
	}
}

// TestEachBound: with every call blocked, exactly limit of them are
// running (synctest.Wait returns once every goroutine of the bubble is
// blocked, so an unbounded Each would show all of them).
func TestEachBound(t *testing.T) {
	for _, limit := range []int{1, 3, 0} {
		want := limit
		if want <= 0 {
			want = DefaultLimit
		}
		synctest.Test(t, func(t *testing.T) {
			gate := make(chan struct{})
			var running atomic.Int64
			done := make(chan error)
			go func() {
				done <- Each(context.Background(), 4*want, limit, func(i int) error {
					running.Add(1)
					<-gate
					return nil
				})
			}()
			synctest.Wait()
			if n := running.Load(); n != int64(want) {
				t.Errorf("limit %d: %d calls running at once, want %d", limit, n, want)
			}
			close(gate)
			if err := <-done; err != nil {
				t.Fatal(err)
			}
			if n := running.Load(); n != int64(4*want) {
				t.Errorf("limit %d: %d calls in all, want %d", limit, n, 4*want)
			}
		})
	}
}

// TestEachFirstErrorAndAll: a failed call does not stop the others; the
// error returned is a call's.
func TestEachFirstErrorAndAll(t *testing.T) {
	boom := errors.New("boom")
	var calls atomic.Int64
	err := Each(context.Background(), 20, 4, func(i int) error {
		calls.Add(1)
		if i == 5 {
			return boom
		}
		return nil
	})
	if !errors.Is(err, boom) || calls.Load() != 20 {
		t.Errorf("err %v after %d calls, want boom after 20", err, calls.Load())
	}
}

// TestEachStopsStartingOnCancel: once ctx is done no further call is
// queued (the one waiting for the slot may still run), and the context's
// error is returned.
func TestEachStopsStartingOnCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var calls atomic.Int64
	err := Each(ctx, 50, 1, func(i int) error {
		if calls.Add(1) == 3 {
			cancel()
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("err %v, want context.Canceled", err)
	}
	if n := calls.Load(); n != 3 && n != 4 {
		t.Errorf("%d calls after the cancel at the third, want 3 (or 4: one waited for the slot)", n)
	}
}
