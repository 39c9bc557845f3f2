package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Get implements upload.Store. The object is read as ranges of BlockSize,
// Concurrency of them in flight, handed out in order; memory is bounded by
// Concurrency+1 range buffers. A range that fails mid-body is fetched again
// (if the blob's ETag is unchanged). An Archive-tier blob yields an error
// wrapping upload.ErrArchived that explains rehydration.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	bb, err := s.blob(key)
	if err != nil {
		return nil, err
	}
	p, err := bb.GetProperties(ctx, nil)
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	if p.AccessTier != nil && strings.EqualFold(*p.AccessTier, string(blob.AccessTierArchive)) {
		msg := "blob is in the Archive tier: it must be rehydrated to Hot or Cool before it can be read (standard priority takes up to 15 hours, high priority under 1 hour for small blobs)"
		if p.ArchiveStatus != nil && strings.HasPrefix(*p.ArchiveStatus, "rehydrate-pending") {
			msg = "blob is being rehydrated from the Archive tier (" + *p.ArchiveStatus + "): try again in a few hours"
		}
		return nil, &Error{Op: "get", Key: key, Code: "BlobArchived", Msg: msg, sentinel: upload.ErrArchived}
	}
	size := to0(p.ContentLength)
	if offset < 0 || offset > size {
		return nil, fmt.Errorf("azure: get %s: offset %d outside the object (%d bytes)", key, offset, size)
	}
	end := size
	if length >= 0 && offset+length < size {
		end = offset + length
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &rangeReader{s: s, bb: bb, key: key, ctx: rctx, cancel: cancel, etag: p.ETag,
		queue: make(chan *chunk, s.concurrency), pool: newBufPool(s.concurrency + 1)}
	r.wg.Add(1)
	go r.produce(offset, end)
	return r, nil
}

type chunk struct {
	off  int64
	buf  []byte
	err  error
	done chan struct{}
}

type rangeReader struct {
	s      *Store
	bb     *blockblob.Client
	key    string
	ctx    context.Context
	cancel context.CancelFunc
	etag   *azcore.ETag
	queue  chan *chunk
	pool   *bufPool
	wg     sync.WaitGroup

	cur    *chunk
	pos    int
	err    error
	closed bool
}

func (r *rangeReader) produce(start, end int64) {
	defer r.wg.Done()
	defer close(r.queue)
	for off := start; off < end; {
		n := min(r.s.blockSize, end-off)
		buf, err := r.pool.get(r.ctx, n)
		if err != nil {
			return
		}
		c := &chunk{off: off, buf: buf, done: make(chan struct{})}
		r.wg.Add(1)
		go r.fetch(c)
		select {
		case r.queue <- c:
		case <-r.ctx.Done():
			return
		}
		off += n
	}
}

// fetch reads one range, retrying it when the body breaks off (the SDK
// already retried the request itself on throttling, 5xx and resets).
func (r *rangeReader) fetch(c *chunk) {
	defer r.wg.Done()
	defer close(c.done)
	var err error
	for attempt := 0; attempt < r.s.rangeTries; attempt++ {
		if attempt > 0 {
			select {
			case <-time.After(time.Duration(attempt) * 500 * time.Millisecond):
			case <-r.ctx.Done():
				c.err = r.s.wrap("get", r.key, r.ctx.Err())
				return
			}
		}
		var resp blob.DownloadStreamResponse
		resp, err = r.bb.DownloadStream(r.ctx, &blob.DownloadStreamOptions{
			Range:            blob.HTTPRange{Offset: c.off, Count: int64(len(c.buf))},
			AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: r.etag}},
		})
		if err != nil {
			if st := statusOf(err); st == http.StatusPreconditionFailed {
				c.err = &Error{Op: "get", Key: r.key, StatusCode: st, Code: "ConditionNotMet", Msg: "the blob changed while it was being read"}
				return
			} else if st >= 400 && st < 500 && st != http.StatusRequestTimeout && st != http.StatusTooManyRequests {
				c.err = r.s.wrap("get", r.key, err)
				return
			}
			if r.ctx.Err() != nil {
				break
			}
			continue
		}
		_, err = io.ReadFull(resp.Body, c.buf)
		resp.Body.Close()
		if err == nil {
			return
		}
		if r.ctx.Err() != nil {
			break
		}
	}
	if r.ctx.Err() != nil {
		err = r.ctx.Err()
	}
	c.err = r.s.wrap(fmt.Sprintf("get (bytes %d-%d)", c.off, c.off+int64(len(c.buf))-1), r.key, err)
}

func (r *rangeReader) Read(p []byte) (int, error) {
	if r.closed {
		return 0, errReadClosed
	}
	for {
		if r.cur != nil {
			if r.pos < len(r.cur.buf) {
				n := copy(p, r.cur.buf[r.pos:])
				r.pos += n
				return n, nil
			}
			r.pool.put(r.cur.buf)
			r.cur = nil
		}
		if r.err != nil {
			return 0, r.err
		}
		c, ok := <-r.queue
		if !ok {
			if err := r.ctx.Err(); err != nil {
				r.err = r.s.wrap("get", r.key, err)
			} else {
				r.err = io.EOF
			}
			continue
		}
		select {
		case <-c.done:
		case <-r.ctx.Done():
			<-c.done
		}
		if c.err != nil {
			r.err = c.err
			continue
		}
		r.cur, r.pos = c, 0
	}
}

var errReadClosed = errors.New("azure: read after Close")

// Close stops the transfers in flight and waits for them.
func (r *rangeReader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.cancel()
	for range r.queue { // unblock and drain the producer
	}
	r.wg.Wait()
	return nil
}
