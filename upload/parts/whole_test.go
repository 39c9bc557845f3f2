package parts

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

// cutBody delivers its bytes, then fails (a connection cut mid-way).
type cutBody struct {
	r   io.Reader
	err error
}

func (b *cutBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err == io.EOF && b.err != nil {
		err = b.err
	}
	return n, err
}
func (b *cutBody) Close() error { return nil }

// wholeObject serves data for ReadWhole; cut[i] > 0 cuts the body of call i
// after that many bytes; size < -1 reports the real size.
type wholeObject struct {
	data     []byte
	cut      map[int]int
	noSize   bool
	offs     []int64
	bodyRead int
}

func (o *wholeObject) open(_ context.Context, off int64) (io.ReadCloser, int64, error) {
	o.offs = append(o.offs, off)
	rest := o.data[off:]
	var err error
	if n, ok := o.cut[len(o.offs)]; ok {
		rest, err = rest[:n], errors.New("connection reset")
	}
	size := int64(len(o.data))
	if o.noSize {
		size = -1
	}
	return &cutBody{r: &countReader{bytes.NewReader(rest), &o.bodyRead}, err: err}, size, nil
}

type countReader struct {
	r *bytes.Reader
	n *int
}

func (c *countReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += n
	return n, err
}

var fast = ReadConfig{MaxAttempts: 3, Backoff: func(int) time.Duration { return 0 }}

func TestReadWhole(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789"), 1000)
	ctx := context.Background()

	// One request, the whole object.
	o := &wholeObject{data: data}
	buf := make([]byte, len(data))
	if size, err := ReadWhole(ctx, fast, buf, o.open); err != nil || size != int64(len(data)) || !bytes.Equal(buf, data) || len(o.offs) != 1 {
		t.Fatalf("whole: size %d, %v, %d requests", size, err, len(o.offs))
	}

	// Another size than expected: the response's size, no byte read.
	for _, n := range []int{len(data) - 1, len(data) + 1} {
		o = &wholeObject{data: data}
		if size, err := ReadWhole(ctx, fast, make([]byte, n), o.open); err != nil || size != int64(len(data)) || o.bodyRead != 0 || len(o.offs) != 1 {
			t.Fatalf("expect %d: size %d, %v, %d bytes read, %d requests", n, size, err, o.bodyRead, len(o.offs))
		}
	}

	// Cut bodies resume from the byte reached; progress resets the count.
	o = &wholeObject{data: data, cut: map[int]int{1: 1000, 2: 0, 3: 2500, 4: 0}}
	clear(buf)
	if size, err := ReadWhole(ctx, fast, buf, o.open); err != nil || size != int64(len(data)) || !bytes.Equal(buf, data) {
		t.Fatalf("resumed: size %d, %v", size, err)
	}
	if want := []int64{0, 1000, 1000, 3500, 3500}; len(o.offs) != len(want) || o.offs[1] != 1000 || o.offs[3] != 3500 {
		t.Fatalf("resumed at %v, want %v", o.offs, want)
	}

	// MaxAttempts failures without progress: gives up, naming the bytes.
	o = &wholeObject{data: data, cut: map[int]int{1: 0, 2: 0, 3: 0}}
	if _, err := ReadWhole(ctx, fast, buf, o.open); err == nil || !strings.Contains(err.Error(), "gave up after 3 attempts") ||
		!strings.Contains(err.Error(), "bytes 0-9999:") {
		t.Fatalf("no progress: %v", err)
	}

	// An empty object where bytes are expected: its size at once, no
	// retries of a body that has nothing to give.
	o = &wholeObject{data: nil}
	if size, err := ReadWhole(ctx, fast, buf, o.open); err != nil || size != 0 || len(o.offs) != 1 {
		t.Fatalf("empty object: size %d, %v, %d requests", size, err, len(o.offs))
	}

	// A permanent error of open ends the read at once, as it is.
	calls := 0
	perm := errors.New("NoSuchKey")
	if _, err := ReadWhole(ctx, fast, buf, func(context.Context, int64) (io.ReadCloser, int64, error) {
		calls++
		return nil, 0, Permanent(perm)
	}); err != perm || calls != 1 {
		t.Fatalf("permanent: %v after %d calls", err, calls)
	}

	// No size in the response: the body's end tells.
	for _, tc := range []struct {
		n    int
		want int64
	}{{len(data), int64(len(data))}, {len(data) + 5, int64(len(data))}, {len(data) - 1, -1}} {
		o = &wholeObject{data: data, noSize: true}
		if size, err := ReadWhole(ctx, fast, make([]byte, tc.n), o.open); err != nil || size != tc.want {
			t.Fatalf("no size, expect %d: size %d, %v", tc.n, size, err)
		}
	}

	// Cancelled: stops.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := ReadWhole(cctx, fast, buf, o.open); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
}
