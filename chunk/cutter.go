package chunk

import (
	"errors"
	"io"
	"reflect"
	"sync"
	"unsafe"

	chunkers "github.com/PlakarKorp/go-cdc-chunkers"
)

// The cutting, and why it does not use the library's reader.
//
// The library's Chunker reads the stream into one buffer of its own, looks
// MaxSize (8 MiB) ahead of every cut and moves the unread rest down when it
// reaches the buffer's end; each chunk was then copied into a buffer of its
// own for the worker that stores it. On the bench corpus those moves and
// copies were 0.38 of a backup's 4.4 CPU-s (CPU profile, session 23), and
// each item in work held a 12 MiB read buffer.
//
// Chunker instead reads the stream straight into the chunk's own buffer
// and asks the library's FastCDC cut-point function (the same code, the
// same key, the same bounds) over what it has read so far: first MinSize +
// 256 KiB, then twice as far past MinSize each time no cut is found, up to
// MaxSize. The function scans from MinSize and returns the first position
// whose fingerprint matches the mask, so a cut it finds in a shorter window
// is the cut it finds in the full one (TestChunkerCutsAsTheLibrary and
// FuzzChunkerCuts check that against the library's own Chunker). What was
// read past the cut (on average a fraction of a chunk) is copied to the
// start of the next chunk's buffer.
//
// The library keeps that function (its ChunkerImplementation) in an
// unexported field of its Chunker, with no accessor; cutterFor reads it
// through reflect. Should a version of the library move it, cutterFor
// fails and Chunker falls back to the library's own reader (and a copy per
// chunk), with the same cut points: go.mod pins the version and the tests
// above compare both ways.

// firstLook is how far past MinSize the first window reaches; chunkCap is
// the capacity a chunk's buffer starts with (about 98% of chunks fit: past
// NormalSize a cut comes every ~256 KiB of random data on average).
const (
	firstLook = 256 << 10
	chunkCap  = NormalSize + 1<<20
)

// cutter is the library's cut-point function for one chunker key.
type cutter struct {
	impl chunkers.ChunkerImplementation
	opts *chunkers.ChunkerOpts
}

// cut returns the end of the chunk that starts data[:n] (n when none ends
// within it, or n <= MinSize).
func (c *cutter) cut(data []byte, n int) int { return c.impl.Algorithm(c.opts, data, n) }

var cutters sync.Map // string(chunker key) -> *cutter

// cutterScratch is the buffer the library wants when it makes a Chunker
// (at least MaxSize bytes). cutterFor never reads with that Chunker, so
// the buffer is never written: it stays zero pages that cost no memory.
var cutterScratch [MaxSize]byte

// errNoCutter: the library's cut-point function could not be reached.
var errNoCutter = errors.New("the chunker library's cut-point function is not where this version expects it")

// libraryImplementation, when set (tests), replaces the reflect look-up.
var libraryImplementation func(*chunkers.Chunker) (chunkers.ChunkerImplementation, error)

func cutterFor(key []byte) (*cutter, error) {
	if c, ok := cutters.Load(string(key)); ok {
		return c.(*cutter), nil
	}
	opts := libraryOpts(key)
	lc, err := chunkers.NewChunkerBuffer(Algorithm, eofReader{}, opts, cutterScratch[:])
	if err != nil {
		return nil, err
	}
	get := implementationOf
	if libraryImplementation != nil {
		get = libraryImplementation
	}
	impl, err := get(lc)
	if err != nil {
		return nil, err
	}
	c, _ := cutters.LoadOrStore(string(key), &cutter{impl: impl, opts: opts})
	return c.(*cutter), nil
}

func libraryOpts(key []byte) *chunkers.ChunkerOpts {
	return &chunkers.ChunkerOpts{MinSize: MinSize, MaxSize: MaxSize, NormalSize: NormalSize, Key: key}
}

// implementationOf reads the library Chunker's unexported implementation
// field (see above).
func implementationOf(lc *chunkers.Chunker) (chunkers.ChunkerImplementation, error) {
	f := reflect.ValueOf(lc).Elem().FieldByName("implementation")
	if !f.IsValid() || f.Type() != reflect.TypeFor[chunkers.ChunkerImplementation]() {
		return nil, errNoCutter
	}
	impl := *(*chunkers.ChunkerImplementation)(unsafe.Pointer(f.UnsafeAddr()))
	if impl == nil {
		return nil, errNoCutter
	}
	return impl, nil
}

type eofReader struct{}

func (eofReader) Read([]byte) (int, error) { return 0, io.EOF }

// Chunker returns a content-defined chunker over r with this key's Gear
// table and the format's size bounds. Close it when done.
func (k *Key) Chunker(r io.Reader) *Chunker {
	c := &Chunker{r: r}
	cu, err := cutterFor(k.cdc)
	if err == nil {
		c.cu = cu
		return c
	}
	// The library's own reader: the same cut points, one more copy.
	c.scan = scanPool.Get().(*[]byte)
	c.lib, c.err = chunkers.NewChunkerBuffer(Algorithm, r, libraryOpts(k.cdc), *c.scan)
	return c
}

// scanPool holds the read buffers of the library's own reader (the
// fallback): it looks MaxSize ahead of every cut.
const scanSize = MaxSize + 4<<20

var scanPool = sync.Pool{New: func() any { b := make([]byte, scanSize); return &b }}

// Chunker cuts a stream at content-defined points.
type Chunker struct {
	r   io.Reader
	cu  *cutter
	buf []byte // the next chunk's buffer: buf[:n] read so far (a wbufs buffer)
	n   int
	eof bool  // r has ended (or failed: rerr)
	err error // sticky: io.EOF after the last chunk

	lib  *chunkers.Chunker // the fallback
	scan *[]byte
}

// Next returns the next chunk in a buffer of its own (from wbufs), which
// the caller keeps: it may give it back with wbufs.put when done. It
// returns io.EOF after the last chunk; an empty stream has no chunk.
func (c *Chunker) Next() ([]byte, error) {
	if c.err != nil {
		return nil, c.err
	}
	if c.lib != nil {
		return c.nextLib()
	}
	limit := MinSize + firstLook
	for {
		if err := c.fill(limit); err != nil {
			c.err = err
			return nil, err
		}
		if c.n == 0 {
			c.err = io.EOF
			return nil, io.EOF
		}
		n := min(c.n, MaxSize)
		cut := c.cu.cut(c.buf[:n], n)
		if cut < n || n == MaxSize || c.eof {
			return c.emit(cut), nil
		}
		limit = min(MinSize+2*(limit-MinSize), MaxSize)
	}
}

// fill reads until buf holds limit bytes or the stream ends.
func (c *Chunker) fill(limit int) error {
	if c.buf == nil {
		c.buf = wbufs.get(chunkCap)
	}
	if limit > len(c.buf) {
		nb := wbufs.get(max(limit, 2*len(c.buf)))
		copy(nb, c.buf[:c.n])
		wbufs.put(c.buf)
		c.buf = nb
	}
	empty := 0
	for c.n < limit && !c.eof {
		m, err := c.r.Read(c.buf[c.n:limit])
		c.n += m
		switch {
		case err == io.EOF:
			c.eof = true
		case err != nil:
			return err
		case m == 0:
			if empty++; empty >= 100 {
				return io.ErrNoProgress
			}
		default:
			empty = 0
		}
	}
	return nil
}

// emit hands buf[:cut] out and moves what was read past it to the start
// of a new buffer.
func (c *Chunker) emit(cut int) []byte {
	out := c.buf[:cut]
	rest := c.n - cut
	nb := wbufs.get(max(chunkCap, rest))
	copy(nb, c.buf[cut:c.n])
	c.buf, c.n = nb, rest
	return out
}

func (c *Chunker) nextLib() ([]byte, error) {
	data, err := c.lib.Next()
	if err != nil {
		c.err = err
		if err != io.EOF {
			return nil, err
		}
		// The library returns a last chunk shorter than MinSize together
		// with io.EOF.
	}
	if len(data) == 0 {
		c.err = io.EOF
		return nil, io.EOF
	}
	own := wbufs.get(len(data))
	copy(own, data)
	return own, nil
}

// Close gives the chunker's buffers back; c must not be used afterwards.
func (c *Chunker) Close() {
	if c.buf != nil {
		wbufs.put(c.buf)
	}
	if c.scan != nil {
		scanPool.Put(c.scan)
	}
	c.buf, c.scan, c.lib, c.r = nil, nil, nil, nil
	c.err = errors.New("chunker closed")
}
