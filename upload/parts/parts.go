// Package parts is the one transfer machinery of the object-store backends:
// an ordered, bounded, concurrent pipeline of parts for uploads (Put) and of
// ranges for downloads (NewReader), with one buffer pool, one part-size
// growth rule and one retry policy. A backend supplies only the calls that
// talk to its service: store a small object whole, stage a part, commit,
// abort (and tell whether the upload is gone), and fetch a range.
package parts

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Pool recycles part and range buffers by size: a long transfer allocates
// its few buffers once, not once per part. A plain free list, not a
// sync.Pool: the pool's per-GC victim cache let idle buffers be dropped and
// reallocated, and peak RSS crept up with the data. How many buffers are out
// at once is bounded by the pipelines, not by the pool.
type Pool struct {
	mu   sync.Mutex
	free map[int64][]*[]byte
	// out counts the bytes of buffers handed out and not yet returned;
	// peak is its maximum (what tests hold the memory bound against).
	out, peak int64
}

// Get returns a buffer of exactly size bytes.
func (p *Pool) Get(size int64) *[]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out += size
	p.peak = max(p.peak, p.out)
	if l := p.free[size]; len(l) > 0 {
		buf := l[len(l)-1]
		p.free[size] = l[:len(l)-1]
		return buf
	}
	s := make([]byte, size)
	return &s
}

// Put gives a buffer from Get back.
func (p *Pool) Put(buf *[]byte) {
	size := int64(cap(*buf))
	*buf = (*buf)[:size]
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out -= size
	if p.free == nil {
		p.free = map[int64][]*[]byte{}
	}
	// Only the current size is worth keeping: after the part size grew,
	// the smaller buffers are never asked for again.
	for sz := range p.free {
		if sz < size {
			delete(p.free, sz)
		}
	}
	p.free[size] = append(p.free[size], buf)
}

// PeakOut returns the high-water mark of buffer bytes out and resets it.
func (p *Pool) PeakOut() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	pk := p.peak
	p.peak = p.out
	return pk
}

// Size is the size of part n (counting from 1) when the first part is base
// bytes: base doubled every growEvery parts, capped at maxSize. Memory in
// flight is (concurrency+1) × Size(n), so it grows only with streams that
// need it, and a service's part-count limit is never the end of a backup.
func Size(base int64, n, growEvery int, maxSize int64) int64 {
	if growEvery <= 0 {
		growEvery = 1
	}
	shift := (n - 1) / growEvery
	if shift > 40 {
		return maxSize
	}
	s := base << shift
	if s > maxSize || s <= 0 {
		return maxSize
	}
	return s
}

// Capacity is how many bytes parts 1..parts hold under Size.
func Capacity(base int64, parts, growEvery int, maxSize int64) int64 {
	var sum int64
	for n := 1; n <= parts; n++ {
		sum += Size(base, n, growEvery, maxSize)
	}
	return sum
}

// Error is an error of the pipeline itself (reading the input, the part
// limit, cancellation, giving up on a range), as opposed to one a backend
// call returned (those come back unchanged). Backends prefix it with the
// operation and key.
type Error struct{ Err error }

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

func pipeErr(format string, a ...any) error { return &Error{Err: fmt.Errorf(format, a...)} }

// ErrNothingToAbort, returned by Upload.Abort, says there is nothing of ours
// to remove (for example a committed object already holds the name).
var ErrNothingToAbort = errors.New("nothing to abort")

// AbortUntilGone aborts u and checks that it is gone, a few times: a part
// whose request was cut client-side may still land on the server a moment
// after the abort and bring the upload back (AWS documents this for S3;
// Azure's staged blocks behave the same). It runs with a deadline of its
// own and ignores the cancellation of ctx, which may be the very reason the
// upload failed.
func AbortUntilGone(ctx context.Context, u Upload) error {
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for attempt := range 6 {
		if err := u.Abort(actx); err != nil {
			if errors.Is(err, ErrNothingToAbort) {
				return nil
			}
			return err
		}
		select {
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		case <-actx.Done():
			return actx.Err()
		}
		gone, err := u.Gone(actx)
		if err != nil || gone {
			return nil // gone, or cannot tell: the abort itself succeeded
		}
	}
	return errors.New("upload still present after repeated aborts")
}
