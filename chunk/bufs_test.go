package chunk

import "testing"

// TestBufReuse: getBuf gives n bytes; a buffer given back serves the next
// request it fits; idle buffers never exceed maxIdle bytes.
func TestBufReuse(t *testing.T) {
	a := getBuf(1 << 20)
	if len(a) != 1<<20 {
		t.Fatalf("len %d", len(a))
	}
	a[0] = 42
	putBuf(a)
	b := getBuf(900 << 10)
	if len(b) != 900<<10 || cap(b) < 1<<20 || b[:1][0] != 42 {
		t.Fatalf("the idle 1 MiB buffer was not reused: len %d cap %d", len(b), cap(b))
	}
	// Far too big for the request: not used for it.
	putBuf(b)
	if c := getBuf(100); cap(c) >= 1<<20 {
		t.Fatalf("a 1 MiB buffer served a 100-byte request")
	}
	for range 100 {
		putBuf(make([]byte, 1<<20))
	}
	free.mu.Lock()
	idle := free.idle
	free.mu.Unlock()
	if idle > maxIdle {
		t.Fatalf("%d idle bytes, more than %d", idle, maxIdle)
	}
}
