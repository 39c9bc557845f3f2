package pipeline

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"runtime"
	"testing"
	"time"
)

// The bytes come out in order and complete, whatever the write and read sizes.
func TestBufPipeOrderAndEOF(t *testing.T) {
	data := make([]byte, 5<<20+12345)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	for _, useReadFrom := range []bool{false, true} {
		p := newBufPipe(3, 64<<10)
		go func() {
			if useReadFrom {
				_, err := p.ReadFrom(io.LimitReader(bytes.NewReader(data), int64(len(data))))
				p.CloseWrite(err)
				return
			}
			rest := data
			for len(rest) > 0 {
				n := min(len(rest), 1+r.IntN(200<<10))
				if _, err := p.Write(rest[:n]); err != nil {
					p.CloseWrite(err)
					return
				}
				rest = rest[n:]
			}
			p.CloseWrite(nil)
		}()
		var got bytes.Buffer
		buf := make([]byte, 7777)
		for {
			n, err := p.Read(buf)
			got.Write(buf[:n])
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
		}
		if !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("readFrom=%v: got %d bytes, differing from the %d written", useReadFrom, got.Len(), len(data))
		}
	}
}

// The writer's error reaches the reader after the data buffered before it
// was dropped or delivered, never as a clean EOF.
func TestBufPipeWriterError(t *testing.T) {
	p := newBufPipe(2, 16)
	boom := errors.New("boom")
	go func() {
		p.Write([]byte("0123456789abcdef0123"))
		p.CloseWrite(boom)
	}()
	_, err := io.ReadAll(p)
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
}

// Closing the read side unblocks a writer stuck on a full buffer.
func TestBufPipeCloseReadUnblocksWriter(t *testing.T) {
	p := newBufPipe(1, 8)
	stop := errors.New("store gave up")
	done := make(chan error, 1)
	go func() {
		_, err := p.Write(make([]byte, 1<<20))
		done <- err
	}()
	// Wait until the writer holds every chunk (one queued, one being
	// filled): from there it can only block on the full pipe, so CloseRead
	// meets a writer that is in (or on its way into) the blocking send.
	deadline := time.Now().Add(5 * time.Second)
	for len(p.full) < cap(p.full) || len(p.free) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("writer never filled the pipe")
		}
		runtime.Gosched()
	}
	p.CloseRead(stop)
	select {
	case err := <-done:
		if !errors.Is(err, stop) {
			t.Fatalf("writer got %v, want %v", err, stop)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("writer still blocked after CloseRead")
	}
	if _, err := p.Write([]byte("x")); !errors.Is(err, stop) {
		t.Fatalf("write after CloseRead: %v", err)
	}
}
