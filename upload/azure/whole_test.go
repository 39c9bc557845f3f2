package azure

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

// ReadWhole (how restore reads a chunk) is one download and nothing else:
// no properties request, no Range; a blob of another size than asked is
// refused on its Content-Length; a body that breaks off is resumed on the
// ETag; a missing blob is ErrNotFound, an Archive-tier one ErrArchived with
// Get's explanation.
func TestReadWholeIsOneDownload(t *testing.T) {
	p, _ := startProxy(t)
	e := newEnv(t, withProxy(p.URL))
	ctx := context.Background()
	data := randBytes(9, 300<<10+5)
	if _, err := e.store.Put(ctx, "c/one", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	before := len(p.Requests())
	buf := make([]byte, len(data))
	size, err := e.store.ReadWhole(ctx, "c/one", buf)
	if err != nil || size != int64(len(data)) || !bytes.Equal(buf, data) {
		t.Fatalf("ReadWhole: size %d, %v", size, err)
	}
	reqs := p.Requests()[before:]
	if len(reqs) != 1 || reqs[0].Method != http.MethodGet || reqs[0].Header.Get("X-Ms-Range") != "" || reqs[0].Header.Get("Range") != "" {
		t.Fatalf("want one plain download, got %d requests: %+v", len(reqs), reqs)
	}
	for _, n := range []int{len(data) - 1, len(data) + 1} {
		before = len(p.Requests())
		size, err = e.store.ReadWhole(ctx, "c/one", make([]byte, n))
		if err != nil || size != int64(len(data)) || len(p.Requests())-before != 1 {
			t.Fatalf("ReadWhole of %d bytes: size %d, %v, %d requests; want the blob's size %d in one", n, size, err, len(p.Requests())-before, len(data))
		}
	}
	for _, f := range []faultproxy.Fault{faultproxy.FaultResetResponse, faultproxy.FaultShortResponse} {
		var cut bool
		p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
			if isBlobGet(r) && !cut {
				cut = true
				return f
			}
			return faultproxy.FaultNone
		})
		before = len(p.Requests())
		clear(buf)
		size, err = e.store.ReadWhole(ctx, "c/one", buf)
		if err != nil || size != int64(len(data)) || !bytes.Equal(buf, data) {
			t.Fatalf("ReadWhole through fault %d: size %d, %v", f, size, err)
		}
		reqs = p.Requests()[before:]
		last := reqs[len(reqs)-1]
		if len(reqs) < 2 || !strings.HasPrefix(last.Header.Get("X-Ms-Range"), "bytes=") || last.Header.Get("If-Match") == "" {
			t.Fatalf("fault %d: want a resumed ranged download on the ETag, got %+v", f, reqs)
		}
	}
	p.SetRule(nil)
	if _, err := e.store.ReadWhole(ctx, "c/missing", buf); !errors.Is(err, upload.ErrNotFound) || !strings.Contains(err.Error(), "c/missing") {
		t.Fatalf("missing blob: %v", err)
	}

	cold := newEnv(t, func(o *Options) { o.AccessTier = "Archive" })
	if _, err := cold.store.Put(ctx, "c/cold", bytes.NewReader(data[:1000]), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cold.store.ReadWhole(ctx, "c/cold", make([]byte, 1000)); !errors.Is(err, upload.ErrArchived) || !strings.Contains(err.Error(), "rehydrated") {
		t.Fatalf("ReadWhole of an archived blob: %v", err)
	}
}
