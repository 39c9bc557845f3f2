package chunk

import (
	"bytes"
	"context"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
)

// whole is a store with the one-request read (upload.WholeReader) that
// counts its reads and can hold them: hold(key) returns a channel the read
// waits on (or nil), entered reports each read as it starts.
type whole struct {
	*counting
	reads, inFlight, maxFlight atomic.Int64
	hold                       func(key string) chan struct{}
	entered                    chan string
}

func (w *whole) ReadWhole(ctx context.Context, key string, buf []byte) (int64, error) {
	w.reads.Add(1)
	n := w.inFlight.Add(1)
	defer w.inFlight.Add(-1)
	for {
		m := w.maxFlight.Load()
		if n <= m || w.maxFlight.CompareAndSwap(m, n) {
			break
		}
	}
	if w.entered != nil {
		w.entered <- key
	}
	if w.hold != nil {
		if ch := w.hold(key); ch != nil {
			select {
			case <-ch:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
	}
	return upload.ReadWhole(ctx, w.counting.Store, key, buf)
}

func (w *world) chunks(n int, seed uint64) ([]byte, []catalog.Chunk) {
	w.t.Helper()
	in := data(n, seed)
	st, err := w.writer(nil).Write(context.Background(), bytes.NewReader(in), nil)
	if err != nil {
		w.t.Fatal(err)
	}
	return in, st.Chunks
}

// A store with the one-request read gets one read per chunk and no Get.
func TestStreamReadsEachChunkOnce(t *testing.T) {
	w := newWorld(t)
	in, cs := w.chunks(5<<20, 11)
	ws := &whole{counting: w.st}
	gets := w.st.gets.Load()
	s := Stream(context.Background(), ws, cs, w.ids, 2, nil)
	got, err := io.ReadAll(s)
	s.Close()
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if ws.reads.Load() != int64(len(cs)) || w.st.gets.Load() != gets {
		t.Fatalf("%d chunks took %d reads and %d Gets", len(cs), ws.reads.Load(), w.st.gets.Load()-gets)
	}
}

// The read-ahead is bounded: at most 4 × ahead chunks of the usual size
// at once, and with chunks of the largest size (by weight) ahead of them.
func TestStreamAheadBounded(t *testing.T) {
	w := newWorld(t)
	in, cs := w.chunks(12<<20, 12)
	if len(cs) < 8 {
		t.Fatalf("only %d chunks", len(cs))
	}
	release := make(chan struct{})
	ws := &whole{counting: w.st, entered: make(chan string, len(cs)), hold: func(string) chan struct{} { return release }}
	s := Stream(context.Background(), ws, cs, w.ids, 1, nil)
	for range 3 { // nothing is read yet: 3 wait ahead of the first
		<-ws.entered
	}
	close(release)
	got, err := io.ReadAll(s)
	s.Close()
	if err != nil || !bytes.Equal(got, in) {
		t.Fatalf("read back %d bytes, %v", len(got), err)
	}
	if m := ws.maxFlight.Load(); m > 4 {
		t.Fatalf("%d chunks in flight with ahead 1; at most 4", m)
	}

	// Chunks that weigh MaxSize each (their plain size says so): one at
	// a time with ahead 1. The first is refused by its plain size.
	heavy := append([]catalog.Chunk(nil), cs...)
	for i := range heavy {
		heavy[i].PlainBytes = MaxSize
	}
	release = make(chan struct{})
	ws = &whole{counting: w.st, entered: make(chan string, len(cs)), hold: func(string) chan struct{} { return release }}
	s = Stream(context.Background(), ws, heavy, w.ids, 1, nil)
	<-ws.entered
	close(release)
	_, err = io.ReadAll(s)
	s.Close()
	if err == nil || !strings.Contains(err.Error(), "manifest says") {
		t.Fatalf("heavy chunks: %v", err)
	}
	if m := ws.maxFlight.Load(); m != 1 {
		t.Fatalf("%d chunks of the largest size in flight with ahead 1", m)
	}
}

// The first chunk that fails stops the others at once and is the error
// reported, even while a chunk before it is still downloading (which is
// cancelled, not waited for); Close waits for every read.
func TestStreamFirstFailureStopsTheRest(t *testing.T) {
	w := newWorld(t)
	_, cs := w.chunks(6<<20, 13)
	bad := cs[2]
	rc, _ := w.st.Get(context.Background(), bad.Key, 0, -1)
	b, _ := io.ReadAll(rc)
	rc.Close()
	b[len(b)/2] ^= 1
	w.st.Put(context.Background(), bad.Key, bytes.NewReader(b), upload.PutOptions{})

	never := make(chan struct{})
	var once sync.Once
	ws := &whole{counting: w.st, hold: func(key string) chan struct{} {
		if key == cs[0].Key {
			return never // the first chunk would download forever
		}
		return nil
	}}
	// A deadline only so that a stream that waits for the first chunk
	// fails the test rather than hanging it.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := Stream(ctx, ws, cs, w.ids, 4, nil)
	_, err := io.ReadAll(s)
	once.Do(func() { s.Close() })
	if err == nil || !strings.Contains(err.Error(), bad.Key) || !strings.Contains(err.Error(), "object damaged") {
		t.Fatalf("want chunk %s's authentication error, got %v", bad.Key, err)
	}
	if n := ws.inFlight.Load(); n != 0 {
		t.Fatalf("%d reads still running after Close", n)
	}
}
