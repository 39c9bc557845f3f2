package pipeline

import (
	"errors"
	"io"
	"sync"
)

// bufPipe is an io.Pipe with a bounded buffer of n chunks of size bytes.
//
// io.Pipe hands each Write straight to a Read, so the two sides take
// turns: while the store is busy sending a part, the packer (tar, zstd,
// age) waits, and while the packer works, the store waits. On two cores
// that serialisation costs most of the second core. With a few chunks in
// between, the writer runs ahead by up to n*size bytes and both sides work
// at once; memory stays bounded by n*size per pipe.
type bufPipe struct {
	full chan []byte // filled chunks, in order
	free chan []byte // drained chunks for reuse

	// writer side
	wcur []byte

	// reader side
	rcur []byte // unread part of the chunk being drained
	rbuf []byte // that chunk, to give back to free

	once   sync.Once     // closes full
	rdone  chan struct{} // closed when the reader gives up
	mu     sync.Mutex
	werr   error // what Read returns after the last chunk (io.EOF or the writer's error)
	rerr   error // what Write returns after the reader closed
	closed bool  // reader closed
}

func newBufPipe(n, size int) *bufPipe {
	p := &bufPipe{full: make(chan []byte, n), free: make(chan []byte, n+1), rdone: make(chan struct{})}
	for range n + 1 {
		p.free <- make([]byte, 0, size)
	}
	return p
}

var errReaderGone = errors.New("read side of the pipe closed")

func (p *bufPipe) readerErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.rerr != nil {
		return p.rerr
	}
	return io.ErrClosedPipe
}

// Write copies b into the buffer, blocking while it is full.
func (p *bufPipe) Write(b []byte) (int, error) {
	select {
	case <-p.rdone:
		return 0, p.readerErr()
	default:
	}
	n := 0
	for len(b) > 0 {
		if p.wcur == nil {
			select {
			case c := <-p.free:
				p.wcur = c[:0]
			case <-p.rdone:
				return n, p.readerErr()
			}
		}
		k := copy(p.wcur[len(p.wcur):cap(p.wcur)], b)
		p.wcur = p.wcur[:len(p.wcur)+k]
		b = b[k:]
		n += k
		if len(p.wcur) == cap(p.wcur) {
			if err := p.send(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (p *bufPipe) send() error {
	c := p.wcur
	p.wcur = nil
	select {
	case p.full <- c:
		return nil
	case <-p.rdone:
		return p.readerErr()
	}
}

// ReadFrom fills the buffer straight from r until r ends (io.EOF is not an
// error), without the extra copy of io.Copy's own buffer.
func (p *bufPipe) ReadFrom(r io.Reader) (int64, error) {
	var total int64
	for {
		if p.wcur == nil {
			select {
			case c := <-p.free:
				p.wcur = c[:0]
			case <-p.rdone:
				return total, p.readerErr()
			}
		}
		n, err := r.Read(p.wcur[len(p.wcur):cap(p.wcur)])
		p.wcur = p.wcur[:len(p.wcur)+n]
		total += int64(n)
		if len(p.wcur) == cap(p.wcur) {
			if serr := p.send(); serr != nil {
				return total, serr
			}
		}
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

// CloseWrite ends the stream: the reader gets the buffered data and then
// err (io.EOF when err is nil). It must be called once, by the writer.
func (p *bufPipe) CloseWrite(err error) {
	if err == nil {
		err = io.EOF
	}
	if len(p.wcur) > 0 && !errors.Is(err, io.EOF) {
		p.wcur = nil // a failed stream's tail is not worth delivering
	}
	if len(p.wcur) > 0 {
		p.send()
	}
	p.mu.Lock()
	p.werr = err
	p.mu.Unlock()
	p.once.Do(func() { close(p.full) })
}

// Read drains the buffer in order, blocking while it is empty.
func (p *bufPipe) Read(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, nil
	}
	for len(p.rcur) == 0 {
		if p.rbuf != nil {
			p.free <- p.rbuf
			p.rbuf = nil
		}
		c, ok := <-p.full
		if !ok {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.closed {
				return 0, io.ErrClosedPipe
			}
			return 0, p.werr
		}
		p.rcur, p.rbuf = c, c
	}
	k := copy(b, p.rcur)
	p.rcur = p.rcur[k:]
	return k, nil
}

// CloseRead stops the pipe from the read side: pending and later Writes
// fail with err (io.ErrClosedPipe when nil).
func (p *bufPipe) CloseRead(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return
	}
	p.closed = true
	p.rerr = err
	close(p.rdone)
}
