package parts

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"
)

// Open starts a download of the object from byte off. Off 0 is the first
// request: the whole object, no Range; it also returns the object's size
// as the response gives it (-1: not given). Off > 0 resumes after a body
// broke off: the object's bytes from off to its end, on condition that it
// is still the object the first request read (its ETag). An error wrapped
// by Permanent ends the read as it is; any other is retried like a broken
// body.
type Open func(ctx context.Context, off int64) (body io.ReadCloser, size int64, err error)

// ReadWhole reads a whole object that should be len(dst) bytes into dst
// with one request (a small object of known size: a chunk), and returns
// the object's size. When the first response says the object has another
// size, it stops there without reading a byte: the caller refuses the
// object by its size, and a swapped object of gigabytes is not downloaded.
// A body that breaks off is resumed from the byte reached, after a backoff;
// cfg.MaxAttempts failures in a row without a byte of progress end the
// read (cfg.Chunk and cfg.Concurrency are not used). Without a size in the
// response, a body shorter than dst returns its length, one longer -1.
func ReadWhole(ctx context.Context, cfg ReadConfig, dst []byte, open Open) (int64, error) {
	cfg.defaults()
	size := int64(-2) // -2: no response yet
	got, failures := 0, 0
	for {
		if err := ctx.Err(); err != nil {
			return 0, cfg.Wrap(&Error{Err: err})
		}
		n, err := func() (int, error) {
			body, sz, err := open(ctx, int64(got))
			if err != nil {
				return 0, err
			}
			defer body.Close()
			if size == -2 {
				size = sz
				if size >= 0 && size != int64(len(dst)) {
					return 0, errSize
				}
			}
			n, err := io.ReadFull(body, dst[got:])
			if size >= 0 || (err != nil && err != io.EOF && err != io.ErrUnexpectedEOF) {
				return n, err
			}
			// No size given: the body's end is the object's end.
			if err != nil {
				size = int64(got + n)
				return n, errSize
			}
			var one [1]byte
			if m, err := io.ReadFull(body, one[:]); m > 0 {
				size = -1
				return n, errSize
			} else if err != io.EOF {
				return n, err
			}
			size = int64(len(dst))
			return n, nil
		}()
		got += n
		switch {
		case err == nil:
			return size, nil
		case err == errSize:
			return size, nil
		}
		if ctx.Err() != nil {
			return 0, cfg.Wrap(&Error{Err: ctx.Err()})
		}
		var p *permanent
		if errors.As(err, &p) {
			return 0, p.err
		}
		if n > 0 {
			failures = 0
		}
		failures++
		if failures >= cfg.MaxAttempts {
			return 0, cfg.Wrap(&Error{Err: fmt.Errorf("bytes %d-%d: gave up after %d attempts: %w", got, len(dst)-1, failures, err)})
		}
		select {
		case <-time.After(cfg.Backoff(failures)):
		case <-ctx.Done():
			return 0, cfg.Wrap(&Error{Err: ctx.Err()})
		}
	}
}

// errSize ends ReadWhole's loop when the object's size is settled.
var errSize = errors.New("size settled")
