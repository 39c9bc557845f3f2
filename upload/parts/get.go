package parts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"sync"
	"time"
)

// Fetch reads the object's bytes [off, off+len(dst)) into dst. It returns
// the bytes it put into dst; nil only when dst is full. An error of the
// body (a cut connection) is retried from the byte reached; an error
// wrapped by Permanent (the request itself failed after the SDK's retries,
// the object changed, it is archived…) ends the read as it is.
type Fetch func(ctx context.Context, off int64, dst []byte) (int, error)

type permanent struct{ err error }

func (p *permanent) Error() string { return p.err.Error() }
func (p *permanent) Unwrap() error { return p.err }

// Permanent marks an error of Fetch that no retry can cure.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanent{err}
}

// ReadConfig shapes a ranged download.
type ReadConfig struct {
	Chunk       int64 // range size
	Concurrency int   // ranges fetched or held at once
	// MaxAttempts is how many body failures in a row, without a byte of
	// progress between them, end the read (default 5).
	MaxAttempts int
	// Backoff is the wait before retry number failures (default:
	// exponential from 200 ms with jitter, at most 20 s).
	Backoff func(failures int) time.Duration
	// Wrap turns the pipeline's own errors (giving up, cancellation) into
	// the backend's (naming operation and key).
	Wrap func(error) error
}

func defaultBackoff(failures int) time.Duration {
	d := time.Duration(float64(100*time.Millisecond) * float64(int(1)<<min(failures, 8)) * (0.5 + rand.Float64()))
	return min(d, 20*time.Second)
}

// defaults fills in what a ReadConfig leaves unset: 5 attempts, the
// default backoff, errors as they are.
func (c *ReadConfig) defaults() {
	if c.MaxAttempts < 1 {
		c.MaxAttempts = 5
	}
	if c.Backoff == nil {
		c.Backoff = defaultBackoff
	}
	if c.Wrap == nil {
		c.Wrap = func(err error) error { return err }
	}
}

// NewReader reads the object's bytes [start, end) as ranges of cfg.Chunk,
// cfg.Concurrency of them in flight, handed out in order. Memory is bounded
// by Concurrency range buffers from pool. A range whose body breaks off is
// resumed from the byte it reached (the attempt count starts again after
// progress); the first range that fails for good cancels the others, and
// its error is what Read returns once the bytes before it are delivered.
// Close stops the fetches and waits for them.
func NewReader(ctx context.Context, pool *Pool, cfg ReadConfig, start, end int64, fetch Fetch) io.ReadCloser {
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	cfg.defaults()
	r := &reader{pool: pool, cfg: cfg, fetch: fetch,
		slots: make(chan struct{}, cfg.Concurrency), queue: make(chan *chunk, cfg.Concurrency)}
	r.ctx, r.cancel = context.WithCancelCause(ctx)
	r.wg.Add(1)
	go r.produce(start, end)
	return r
}

type chunk struct {
	buf  *[]byte
	data []byte
	err  error
	done chan struct{}
}

type reader struct {
	pool   *Pool
	cfg    ReadConfig
	fetch  Fetch
	ctx    context.Context
	cancel context.CancelCauseFunc
	slots  chan struct{} // one per range fetched or held
	queue  chan *chunk   // ranges in order
	wg     sync.WaitGroup

	cur       []byte
	curBuf    *[]byte
	err       error
	closeOnce sync.Once
}

// errStopped marks a range that stopped because the read was cancelled.
var errStopped = errors.New("stopped")

var errClosed = errors.New("read after close")

func (r *reader) produce(start, end int64) {
	defer r.wg.Done()
	defer close(r.queue)
	for off := start; off < end; off += r.cfg.Chunk {
		n := min(r.cfg.Chunk, end-off)
		select {
		case r.slots <- struct{}{}:
		case <-r.ctx.Done():
			return
		}
		c := &chunk{done: make(chan struct{})}
		c.buf = r.pool.Get(r.cfg.Chunk)
		c.data = (*c.buf)[:n]
		r.queue <- c // capacity == slots: never blocks
		r.wg.Add(1)
		go func(off int64) {
			defer r.wg.Done()
			defer close(c.done)
			if c.err = r.fill(off, c.data); c.err != nil && c.err != errStopped {
				r.cancel(&failed{c.err}) // the other ranges are of no use now
			}
		}(off)
	}
}

// fill reads [off, off+len(data)), resuming after body failures.
func (r *reader) fill(off int64, data []byte) error {
	got, failures := 0, 0
	for got < len(data) {
		if r.ctx.Err() != nil {
			return errStopped
		}
		m, err := r.fetch(r.ctx, off+int64(got), data[got:])
		got += m
		if err == nil {
			if got < len(data) {
				err = io.ErrUnexpectedEOF
			} else {
				break
			}
		}
		if r.ctx.Err() != nil {
			return errStopped
		}
		var p *permanent
		if errors.As(err, &p) {
			return p.err
		}
		if m > 0 {
			failures = 0
		}
		failures++
		if failures >= r.cfg.MaxAttempts {
			return r.cfg.Wrap(&Error{Err: fmt.Errorf("bytes %d-%d: gave up after %d attempts: %w", off, off+int64(len(data))-1, failures, err)})
		}
		select {
		case <-time.After(r.cfg.Backoff(failures)):
		case <-r.ctx.Done():
			return errStopped
		}
	}
	return nil
}

// stopReason is why a range stopped: another range's failure, or the
// caller's cancellation.
func (r *reader) stopReason() error {
	cause := context.Cause(r.ctx)
	if f, ok := cause.(*failed); ok {
		return f.err
	}
	return r.cfg.Wrap(&Error{Err: cause})
}

// failed is the cancellation cause a range that failed for good leaves.
type failed struct{ err error }

func (f *failed) Error() string { return f.err.Error() }

func (r *reader) release() {
	if r.curBuf != nil {
		r.pool.Put(r.curBuf)
		r.curBuf, r.cur = nil, nil
		<-r.slots
	}
}

func (r *reader) Read(p []byte) (int, error) {
	for len(r.cur) == 0 {
		r.release()
		if r.err != nil {
			return 0, r.err
		}
		c, ok := <-r.queue
		if !ok {
			if r.ctx.Err() != nil {
				r.err = r.stopReason()
			} else {
				r.err = io.EOF
			}
			return 0, r.err
		}
		<-c.done
		if c.err != nil {
			r.pool.Put(c.buf)
			<-r.slots
			r.err = c.err
			if c.err == errStopped {
				r.err = r.stopReason()
			}
			r.cancel(r.err)
			return 0, r.err
		}
		r.cur, r.curBuf = c.data, c.buf
	}
	n := copy(p, r.cur)
	r.cur = r.cur[n:]
	return n, nil
}

// Close stops the fetches still running and waits for them, so no request
// outlives the reader.
func (r *reader) Close() error {
	r.closeOnce.Do(func() {
		r.cancel(errClosed)
		if r.curBuf != nil {
			r.pool.Put(r.curBuf)
			r.curBuf, r.cur = nil, nil
		}
		for c := range r.queue {
			<-c.done
			r.pool.Put(c.buf)
		}
		r.wg.Wait()
		r.err = errClosed
	})
	return nil
}
