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

func (c *watchClient) Do(req *http.Request) (*http.Response, error) {
	ctx, cancel := context.WithCancel(req.Context())
	w := &watchdog{d: c.stall}
	w.timer = time.AfterFunc(c.stall, func() { w.fired.Store(true); cancel() })
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
