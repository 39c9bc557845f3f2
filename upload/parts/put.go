package parts

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// Limits shape an upload.
type Limits struct {
	PartSize    int64  // first part size; a stream that ends within it is stored whole
	GrowEvery   int    // parts per size step of Size
	MaxPartSize int64  // the service's largest part
	MaxParts    int    // the service's part-count limit
	Concurrency int    // parts being staged at once (one more is being filled)
	Unit        string // what the service calls a part, for messages ("parts", "blocks")
}

// Target is the object being written, as a backend sees it.
type Target interface {
	// Single stores a stream that ended within its first part as one object.
	Single(ctx context.Context, data []byte) error
	// Begin starts a staged (multipart / block) upload.
	Begin(ctx context.Context) (Upload, error)
}

// Upload is a staged upload in progress.
type Upload interface {
	// Stage stores part n (counting from 1). It is called concurrently
	// and returns its final error (the SDKs retry requests themselves).
	Stage(ctx context.Context, n int, data []byte) error
	// Commit makes the parts 1..parts (total bytes) the object.
	Commit(ctx context.Context, parts int, total int64) error
	// Abort removes what was staged (ErrNothingToAbort: nothing of ours).
	Abort(ctx context.Context) error
	// Gone tells whether the upload has really disappeared.
	Gone(ctx context.Context) (bool, error)
}

// Put reads r to its end and stores it through t: a stream that ends within
// the first part is one Single call, a longer one is staged part by part
// while the stream is still being read, then committed. At most Concurrency
// parts are being staged while one more is being filled, so the memory held
// is (Concurrency+1) part buffers from pool. On any failure (a part, the
// input, the commit, ctx) the staged upload is aborted until gone and the
// first cause is returned. It returns the bytes read.
//
// An r that holds its bytes in memory already (a *bytes.Buffer, or any
// Bytes() []byte reader) and fits the first part is stored with one Single
// call on those bytes, with no part buffer and no copy: a chunked backup
// stores each chunk so, a few at once.
func Put(ctx context.Context, r io.Reader, pool *Pool, lim Limits, t Target) (int64, error) {
	if lim.Concurrency < 1 {
		lim.Concurrency = 1
	}
	if lim.Unit == "" {
		lim.Unit = "parts"
	}
	size := Size(lim.PartSize, 1, lim.GrowEvery, lim.MaxPartSize)
	if b, ok := r.(interface{ Bytes() []byte }); ok {
		if data := b.Bytes(); int64(len(data)) < size {
			return int64(len(data)), t.Single(ctx, data)
		}
	}
	first := pool.Get(size)
	n, rerr := io.ReadFull(r, *first)
	switch {
	case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
		defer pool.Put(first)
		return int64(n), t.Single(ctx, (*first)[:n])
	case rerr != nil:
		pool.Put(first)
		return 0, pipeErr("read input: %w", rerr)
	}
	up, err := t.Begin(ctx)
	if err != nil {
		pool.Put(first)
		return 0, err
	}
	parts, total, err := stageAll(ctx, r, pool, lim, up, first)
	if err == nil {
		err = up.Commit(ctx, parts, total)
	}
	if err != nil {
		if aerr := AbortUntilGone(ctx, up); aerr != nil {
			err = fmt.Errorf("%w (and removing the staged %s failed: %v; `prune` will retry)", err, lim.Unit, aerr)
		}
		return total, err
	}
	return total, nil
}

type part struct {
	n    int
	buf  *[]byte
	data []byte
}

// stageAll sends first (full) and the rest of r as parts; the caller's
// goroutine reads, Concurrency workers stage.
func stageAll(ctx context.Context, r io.Reader, pool *Pool, lim Limits, up Upload, first *[]byte) (int, int64, error) {
	pctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	slots := make(chan struct{}, lim.Concurrency+1) // one per buffer held
	work := make(chan part)
	var wg sync.WaitGroup
	for range lim.Concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				err := up.Stage(pctx, p.n, p.data)
				pool.Put(p.buf)
				<-slots
				if err != nil {
					cancel(err) // the first cause wins; the other parts stop
				}
			}
		}()
	}
	send := func(p part) bool {
		select {
		case work <- p:
			return true
		case <-pctx.Done():
			pool.Put(p.buf)
			<-slots
			return false
		}
	}

	total := int64(len(*first))
	parts := 1
	slots <- struct{}{}
	ok := send(part{n: 1, buf: first, data: *first})
	var readErr error
	for n := 2; ok; n++ {
		select {
		case slots <- struct{}{}:
		case <-pctx.Done():
			ok = false
			continue
		}
		if n > lim.MaxParts {
			<-slots
			var one [1]byte
			if m, _ := io.ReadFull(r, one[:]); m > 0 {
				readErr = pipeErr("stream longer than %d %s (%d bytes so far): raise destination.part_size", lim.MaxParts, lim.Unit, total)
			}
			break
		}
		buf := pool.Get(Size(lim.PartSize, n, lim.GrowEvery, lim.MaxPartSize))
		m, rerr := io.ReadFull(r, *buf)
		total += int64(m)
		if m > 0 {
			parts = n
			ok = send(part{n: n, buf: buf, data: (*buf)[:m]})
		} else {
			pool.Put(buf)
			<-slots
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			readErr = pipeErr("read input: %w", rerr)
			break
		}
	}
	close(work)
	wg.Wait()
	if readErr != nil {
		return parts, total, readErr
	}
	if cause := context.Cause(pctx); cause != nil {
		if err := ctx.Err(); err != nil {
			return parts, total, &Error{Err: err}
		}
		return parts, total, cause
	}
	return parts, total, nil
}
