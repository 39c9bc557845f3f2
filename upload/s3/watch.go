package s3

import (
	"context"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
)

// stallError is returned when a request moved no byte (sent or received)
// for the stall timeout. It reports Timeout() so the SDK retryer retries it
// like any other transient network failure.
type stallError struct{}

func (stallError) Error() string   { return "connection stalled (no data moved), cut" }
func (stallError) Timeout() bool   { return true }
func (stallError) Temporary() bool { return true }

// watchClient cuts requests that stop making progress. Go's http.Client has
// only whole-request timeouts, which a 5 GiB part on a slow link would hit;
// a stalled connection instead is detected by a watchdog that every read of
// the request or response body resets.
type watchClient struct {
	inner aws.HTTPClient
	stall time.Duration
}

type watchdog struct {
	timer *time.Timer
	d     time.Duration
	fired atomic.Bool
	mu    sync.Mutex
	done  bool
}

func (w *watchdog) kick() {
	w.mu.Lock()
	if !w.done {
		w.timer.Reset(w.d)
	}
	w.mu.Unlock()
}

func (w *watchdog) stop() {
	w.mu.Lock()
	w.done = true
	w.timer.Stop()
	w.mu.Unlock()
}

// answerWaitKey carries, in a request's context, how long the server may
// take to answer once the request is sent (see withAnswerWait).
type answerWaitKey struct{}

// withAnswerWait lets the requests made with ctx wait up to d for the
// server's answer instead of the stall timeout: CompleteMultipartUpload on
// a server that copies every part into place before it answers
// (VersityGW's posix backend, ~600 MB/s here) sends nothing meanwhile, and
// cutting it makes the retry find the upload claimed by the first attempt.
func withAnswerWait(ctx context.Context, d time.Duration) context.Context {
	return context.WithValue(ctx, answerWaitKey{}, d)
}

func (c *watchClient) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	d := c.stall
	if wait, ok := req.Context().Value(answerWaitKey{}).(time.Duration); ok && wait > d {
		d = wait
	}
	w := &watchdog{d: d}
	w.timer = time.AfterFunc(d, func() { w.fired.Store(true); cancel() })
	req = req.WithContext(ctx)
	if req.Body != nil && req.Body != http.NoBody && req.ContentLength > 0 {
		req.Body = &watchBody{rc: req.Body, w: w}
	}
	resp, err := c.inner.Do(req)
	if err != nil {
		w.stop()
		cancel()
		if w.fired.Load() {
			return resp, stallError{}
		}
		return resp, err
	}
	w.mu.Lock()
	w.d = c.stall // the answer's body moves under the stall timeout again
	w.mu.Unlock()
	w.kick()
	resp.Body = &watchBody{rc: resp.Body, w: w, onClose: func() { w.stop(); cancel() }}
	return resp, nil
}

type watchBody struct {
	rc      io.ReadCloser
	w       *watchdog
	onClose func()
	once    sync.Once
}

func (b *watchBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 {
		b.w.kick()
	}
	if err != nil && err != io.EOF && b.w.fired.Load() {
		return n, stallError{}
	}
	return n, err
}

func (b *watchBody) Close() error {
	err := b.rc.Close()
	if b.onClose != nil {
		b.once.Do(b.onClose)
	}
	return err
}
