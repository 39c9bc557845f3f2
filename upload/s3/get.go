package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lyncbackup/lyncbackup/upload"
)

// maxChunk caps the download chunk: ranges of 8-16 MiB keep a few requests
// in flight without holding much memory.
const maxChunk = 16 << 20

func (s *Store) chunkSize() int64 {
	if s.opt.PartSize < maxChunk {
		return s.opt.PartSize
	}
	return maxChunk
}

// archived tells whether an object in storage class sc with restore status
// restore (the x-amz-restore header) can not be read yet.
func archived(sc types.StorageClass, restore *string) bool {
	if sc != types.StorageClassGlacier && sc != types.StorageClassDeepArchive {
		return false
	}
	return restore == nil || !strings.Contains(*restore, `ongoing-request="false"`)
}

func archivedError(op, key string, sc types.StorageClass, restore *string) error {
	var msg string
	switch {
	case restore != nil && strings.Contains(*restore, `ongoing-request="true"`):
		msg = fmt.Sprintf("object is in storage class %s and its restore is still running: come back later (GLACIER takes 3-5 hours, DEEP_ARCHIVE up to 12 hours)", sc)
	default:
		msg = fmt.Sprintf("object is in storage class %s and must be restored before it can be read: run restore with --thaw (or restore it in the S3 console), then come back in 3-5 hours (DEEP_ARCHIVE: up to 12 hours)", sc)
	}
	return &opError{op: op, key: key, kind: upload.ErrArchived, detail: msg}
}

// Get implements upload.Store. The object is read as a stream of ranged
// GETs, Concurrency chunks in flight and delivered in order; memory is
// Concurrency × chunk size. A chunk whose body fails mid-way is resumed
// from where it stopped.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	full, err := s.full(key)
	if err != nil {
		return nil, opErr("get", key, err)
	}
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full)})
	if err != nil {
		if isNotFound(err) {
			return nil, &opError{op: "get", key: key, kind: upload.ErrNotFound, err: err, detail: "object not found"}
		}
		return nil, opErr("get", key, err)
	}
	if archived(head.StorageClass, head.Restore) {
		return nil, archivedError("get", key, head.StorageClass, head.Restore)
	}
	size := aws.ToInt64(head.ContentLength)
	if offset < 0 || offset > size {
		return nil, opErr("get", key, fmt.Errorf("offset %d outside the object's %d bytes", offset, size))
	}
	end := size
	if length >= 0 && offset+length < size {
		end = offset + length
	}
	rr := &rangeReader{s: s, key: key, full: full, etag: head.ETag, chunk: s.chunkSize()}
	rr.ctx, rr.cancel = context.WithCancel(ctx)
	rr.slots = make(chan struct{}, s.opt.Concurrency)
	rr.queue = make(chan chan chunkResult, s.opt.Concurrency)
	go rr.produce(offset, end)
	return rr, nil
}

type chunkResult struct {
	buf  *[]byte
	data []byte
	err  error
}

type rangeReader struct {
	s         *Store
	key, full string
	etag      *string
	chunk     int64
	ctx       context.Context
	cancel    context.CancelFunc
	slots     chan struct{}         // one per chunk fetched or held
	queue     chan chan chunkResult // chunks in order
	cur       []byte
	curBuf    *[]byte
	err       error
	closeOnce sync.Once
}

func (rr *rangeReader) produce(start, end int64) {
	defer close(rr.queue)
	for off := start; off < end; off += rr.chunk {
		n := min(rr.chunk, end-off)
		select {
		case rr.slots <- struct{}{}:
		case <-rr.ctx.Done():
			return
		}
		ch := make(chan chunkResult, 1)
		rr.queue <- ch // capacity == slots: never blocks
		go func(off, n int64) { ch <- rr.fetch(off, n) }(off, n)
	}
}

// fetch reads [off, off+n) into a pooled buffer, resuming after body
// failures. Errors of the request itself have been retried by the SDK.
func (rr *rangeReader) fetch(off, n int64) chunkResult {
	buf := rr.s.bufs.get(rr.chunk)
	data := (*buf)[:n]
	fail := func(err error) chunkResult {
		rr.s.bufs.put(buf)
		return chunkResult{err: err}
	}
	var got int64
	failures := 0
	for got < n {
		if err := rr.ctx.Err(); err != nil {
			return fail(opErr("get", rr.key, err))
		}
		want := fmt.Sprintf("bytes=%d-%d", off+got, off+n-1)
		out, err := rr.s.client.GetObject(rr.ctx, &s3.GetObjectInput{
			Bucket: aws.String(rr.s.opt.Bucket), Key: aws.String(rr.full), Range: aws.String(want), IfMatch: rr.etag,
		})
		if err != nil {
			if errCode(err) == "PreconditionFailed" {
				return fail(opErr("get", rr.key, errors.New("object changed while it was being read")))
			}
			if errCode(err) == "InvalidObjectState" {
				return fail(archivedError("get", rr.key, types.StorageClassGlacier, nil))
			}
			return fail(opErr("get", rr.key, err))
		}
		if out.ContentLength != nil && *out.ContentLength != n-got {
			out.Body.Close()
			return fail(opErr("get", rr.key, fmt.Errorf("asked for %s, the server sent %d bytes (Range not honoured)", want, *out.ContentLength)))
		}
		m, rerr := io.ReadFull(out.Body, data[got:])
		out.Body.Close()
		if m > 0 {
			failures = 0
		}
		got += int64(m)
		if rerr == nil {
			break
		}
		if rr.ctx.Err() != nil {
			return fail(opErr("get", rr.key, rr.ctx.Err()))
		}
		failures++
		if failures >= rr.s.opt.MaxAttempts {
			return fail(opErr("get", rr.key, fmt.Errorf("gave up after %d attempts: %s", failures, describe(rerr))))
		}
		// Exponential backoff with jitter, as the SDK does.
		d := time.Duration(float64(100*time.Millisecond) * float64(int(1)<<min(failures, 8)) * (0.5 + rand.Float64()))
		select {
		case <-time.After(min(d, 20*time.Second)):
		case <-rr.ctx.Done():
		}
	}
	return chunkResult{buf: buf, data: data}
}

func (rr *rangeReader) Read(p []byte) (int, error) {
	for len(rr.cur) == 0 {
		if rr.curBuf != nil {
			rr.s.bufs.put(rr.curBuf)
			rr.curBuf = nil
			<-rr.slots
		}
		if rr.err != nil {
			return 0, rr.err
		}
		ch, ok := <-rr.queue
		if !ok {
			if err := rr.ctx.Err(); err != nil {
				rr.err = opErr("get", rr.key, err)
			} else {
				rr.err = io.EOF
			}
			return 0, rr.err
		}
		res := <-ch
		if res.err != nil {
			rr.err = res.err
			rr.cancel()
			<-rr.slots
			return 0, rr.err
		}
		rr.cur, rr.curBuf = res.data, res.buf
		if len(rr.cur) == 0 { // cannot happen: chunks are never empty
			rr.s.bufs.put(rr.curBuf)
			rr.curBuf = nil
			<-rr.slots
		}
	}
	n := copy(p, rr.cur)
	rr.cur = rr.cur[n:]
	return n, nil
}

// Close stops the fetches still running and waits for them, so no request
// outlives the reader.
func (rr *rangeReader) Close() error {
	rr.closeOnce.Do(func() {
		rr.cancel()
		if rr.curBuf != nil {
			rr.s.bufs.put(rr.curBuf)
			rr.curBuf, rr.cur = nil, nil
		}
		for ch := range rr.queue {
			if res := <-ch; res.buf != nil {
				rr.s.bufs.put(res.buf)
			}
		}
		if rr.err == nil {
			rr.err = errors.New("read after close")
		}
	})
	return nil
}
