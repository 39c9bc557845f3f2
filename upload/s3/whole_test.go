package s3

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
	"github.com/lyncbackup/lyncbackup/upload"
)

// ReadWhole (how restore reads a chunk) is one GET and nothing else: no
// HEAD, no Range, no checksum mode; an object of another size than asked
// is refused on its Content-Length; a body that breaks off is resumed on
// the ETag; a missing object is ErrNotFound.
func TestReadWholeIsOneGet(t *testing.T) {
	st, p, _, _ := proxied(t, false, nil)
	ctx := context.Background()
	data := randBytes(7, 3<<20+17)
	if _, err := st.Put(ctx, "h/c/one", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	before := len(p.Requests())
	buf := make([]byte, len(data))
	size, err := st.ReadWhole(ctx, "h/c/one", buf)
	if err != nil || size != int64(len(data)) || !bytes.Equal(buf, data) {
		t.Fatalf("ReadWhole: size %d, %v, equal %v", size, err, bytes.Equal(buf, data))
	}
	reqs := p.Requests()[before:]
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Header.Get("Range") != "" || reqs[0].Header.Get("X-Amz-Checksum-Mode") != "" {
		t.Fatalf("want one plain GET, got %d requests: %+v", len(reqs), reqs)
	}

	// One byte more or less expected than the object holds: refused by the
	// size the response announces (no retry, no second request).
	for _, n := range []int{len(data) - 1, len(data) + 1} {
		before = len(p.Requests())
		size, err = st.ReadWhole(ctx, "h/c/one", make([]byte, n))
		if err != nil || size != int64(len(data)) {
			t.Fatalf("ReadWhole of %d bytes: size %d, %v; want the object's size %d", n, size, err, len(data))
		}
		if got := len(p.Requests()) - before; got != 1 {
			t.Fatalf("a wrong size took %d requests", got)
		}
	}

	// Bodies cut mid-way (a reset, a clean close after 32 KiB): resumed
	// from the byte reached, conditional on the same object.
	for _, f := range []faultproxy.Fault{faultproxy.FaultResetResponse, faultproxy.FaultShortResponse} {
		var cut bool
		p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
			if r.Method == http.MethodGet && !cut {
				cut = true
				return f
			}
			return faultproxy.FaultNone
		})
		before = len(p.Requests())
		clear(buf)
		size, err = st.ReadWhole(ctx, "h/c/one", buf)
		if err != nil || size != int64(len(data)) || !bytes.Equal(buf, data) {
			t.Fatalf("ReadWhole through fault %d: size %d, %v", f, size, err)
		}
		reqs = p.Requests()[before:]
		if len(reqs) < 2 || !strings.HasPrefix(reqs[len(reqs)-1].Header.Get("Range"), "bytes=") || reqs[len(reqs)-1].Header.Get("If-Match") == "" {
			t.Fatalf("fault %d: want a resumed ranged GET on the ETag, got %+v", f, reqs)
		}
	}
	p.SetRule(nil)

	if _, err := st.ReadWhole(ctx, "h/c/missing", buf); !errors.Is(err, upload.ErrNotFound) || !strings.Contains(err.Error(), "h/c/missing") {
		t.Fatalf("missing object: %v", err)
	}
}
