package archive

import (
	"errors"
	"io"
	"sync"
	"sync/atomic"

	"github.com/klauspost/compress/huff0"
)

// litWatch passes a zstd stream with raw literals through to w and
// estimates, on a sample of its blocks, what Huffman-coding their literals
// would have saved. It reads the stream as RFC 8878 lays it out: a frame
// header, then blocks of a 3-byte header and a body; a compressed block's
// body starts with its literals section, whose 1-3 byte header says how
// the literals are stored and how many there are.
//
// Every watchEvery-th compressed block with at least minWatchLits raw
// literals is Huffman-coded with huff0 (as the encoder would have, with a
// fresh table). As soon as the samples of the current window (watchWindow
// samples, then it starts again) would have saved more than 1/rawMargin of
// those blocks' size, Huffman is set, and stays set: text after random
// data is caught within a sample or two. The watcher never fails the
// stream: on anything it does not expect it stops watching and sets
// Huffman (Huffman-coded literals are never the larger choice).
type litWatch struct {
	w       io.Writer
	Huffman atomic.Bool

	st      int // parse state
	need    int // checksum bytes still to pass
	hdr     [18]byte
	nhdr    int
	fhd     byte   // the frame header descriptor
	last    bool   // the current block is the frame's last
	blocks  int    // compressed blocks seen
	lits    []byte // the sampled block's literals, litSize of them
	litSize int
	body    int // bytes of the current block's body still to pass
	size    int // the current block's body size

	// chunk: one frame is judged on its own (ChunkWantsHuffman): its first
	// compressed block is sampled too, and at most chunkSampleLits of each
	// sampled block's literals are coded, the saving scaled to them all.
	chunk   bool
	litFull int // the sampled block's literals, all of them
	coded   int // compressed blocks whose literals are Huffman-coded
	// countOnly: no block is sampled (HuffmanCoded).
	countOnly bool

	// The current window: samples, bytes they would have saved, and the
	// size of their blocks.
	sampled, saved, sampledBytes int64
	scratch                      huff0.Scratch
	off                          bool // stopped watching (decided, or lost)
}

const (
	watchEvery      = 8
	watchWindow     = 8
	minWatchLits    = 1024
	chunkSampleLits = 16 << 10
)

const (
	stFrame    = iota // collecting the frame header
	stBlock           // collecting a block header
	stLitHdr          // collecting a compressed block's literals header
	stLits            // collecting sampled literals
	stSkip            // passing the rest of a block body
	stChecksum        // passing the content checksum
)

var errWatch = errors.New("unexpected zstd stream")

func newLitWatch(w io.Writer) *litWatch {
	lw := &litWatch{w: w, lits: make([]byte, 0, 1<<17)}
	lw.scratch.Reuse = huff0.ReusePolicyNone
	// As klauspost's block encoder: Huffman-coded literals only when they
	// are at least 1/16 smaller.
	lw.scratch.WantLogLess = 4
	return lw
}

func (lw *litWatch) Write(p []byte) (int, error) {
	if !lw.off {
		if err := lw.parse(p); err != nil {
			// Lost: back to what the encoder does by default.
			lw.off = true
			lw.Huffman.Store(true)
		}
	}
	return lw.w.Write(p)
}

func (lw *litWatch) parse(p []byte) error {
	for len(p) > 0 {
		switch lw.st {
		case stFrame:
			// Magic and descriptor first, then the rest of the header.
			want := 5
			if lw.nhdr >= 5 {
				want = lw.frameHeaderLen()
				if want > len(lw.hdr) {
					return errWatch
				}
			}
			lw.collect(&p, want)
			if lw.nhdr < want || want == 5 {
				continue
			}
			lw.fhd, lw.nhdr, lw.st = lw.hdr[4], 0, stBlock
		case stBlock:
			lw.collect(&p, 3)
			if lw.nhdr < 3 {
				continue
			}
			h := int(lw.hdr[0]) | int(lw.hdr[1])<<8 | int(lw.hdr[2])<<16
			lw.nhdr = 0
			lw.last = h&1 == 1
			lw.size = h >> 3
			switch (h >> 1) & 3 {
			case 0: // raw block
				lw.body, lw.st = lw.size, stSkip
			case 1: // RLE block: one byte
				lw.body, lw.st = 1, stSkip
			case 2:
				lw.blocks++
				lw.body, lw.st = lw.size, stLitHdr
			default:
				return errWatch
			}
			if lw.body == 0 {
				lw.endBlock()
			}
		case stLitHdr:
			// The first byte gives the header's length.
			want := 1
			if lw.nhdr >= 1 {
				want = litHeaderLen(lw.hdr[0])
			}
			before := lw.nhdr
			lw.collect(&p, want)
			lw.body -= lw.nhdr - before
			if lw.body < 0 {
				return errWatch
			}
			if lw.nhdr < want || (want == 1 && litHeaderLen(lw.hdr[0]) > 1) {
				continue
			}
			typ, size := lw.hdr[0]&3, litRegenerated(lw.hdr[:lw.nhdr])
			lw.nhdr = 0
			if typ >= 2 {
				lw.coded++ // Huffman-coded (with its table, or the last one's)
			}
			if typ == 0 && size >= minWatchLits && size <= lw.body && lw.sampleBlock() {
				lw.litSize, lw.litFull, lw.lits = size, size, lw.lits[:0]
				if lw.chunk {
					lw.litSize = min(size, chunkSampleLits)
				}
				lw.st = stLits
			} else {
				lw.st = stSkip
			}
			if lw.body == 0 {
				lw.endBlock()
			}
		case stLits:
			n := min(len(p), lw.litSize-len(lw.lits))
			lw.lits = append(lw.lits, p[:n]...)
			p, lw.body = p[n:], lw.body-n
			if len(lw.lits) == lw.litSize {
				lw.measure()
				lw.st = stSkip
			}
			if lw.body == 0 {
				lw.endBlock()
			}
		case stSkip:
			n := min(len(p), lw.body)
			p, lw.body = p[n:], lw.body-n
			if lw.body == 0 {
				lw.endBlock()
			}
		case stChecksum:
			n := min(len(p), lw.need)
			p, lw.need = p[n:], lw.need-n
			if lw.need == 0 {
				lw.st = stFrame
			}
		}
	}
	return nil
}

// sampleBlock tells whether the current compressed block's literals are
// sampled: every watchEvery-th block, and in a chunk the first one too.
func (lw *litWatch) sampleBlock() bool {
	if lw.countOnly {
		return false
	}
	if lw.chunk {
		return (lw.blocks-1)%watchEvery == 0
	}
	return lw.blocks%watchEvery == 0
}

// collect moves bytes of p into hdr until it holds want bytes (want <=
// len(hdr)).
func (lw *litWatch) collect(p *[]byte, want int) {
	n := min(len(*p), want-lw.nhdr)
	copy(lw.hdr[lw.nhdr:], (*p)[:n])
	lw.nhdr += n
	*p = (*p)[n:]
}

// frameHeaderLen is the frame header's length from its first 5 bytes in
// hdr (more than len(hdr) if they are not a zstd frame's).
func (lw *litWatch) frameHeaderLen() int {
	if lw.hdr[0] != 0x28 || lw.hdr[1] != 0xb5 || lw.hdr[2] != 0x2f || lw.hdr[3] != 0xfd {
		return len(lw.hdr) + 1 // not a zstd frame: stop watching
	}
	fhd := lw.hdr[4]
	single := fhd&0x20 != 0
	n := 5
	if !single {
		n++ // window descriptor
	}
	n += [4]int{0, 1, 2, 4}[fhd&3] // dictionary id
	fcs := [4]int{0, 2, 4, 8}[fhd>>6]
	if fcs == 0 && single {
		fcs = 1
	}
	return n + fcs
}

func (lw *litWatch) endBlock() {
	lw.st = stBlock
	if lw.last {
		lw.st = stFrame
		if lw.fhd&4 != 0 {
			lw.st, lw.need = stChecksum, 4
		}
	}
}

// litHeaderLen is the length of a literals section header from its first
// byte (RFC 8878 3.1.1.3.1.1).
func litHeaderLen(b0 byte) int {
	sf := (b0 >> 2) & 3
	if b0&3 < 2 { // raw or RLE
		switch sf {
		case 1:
			return 2
		case 3:
			return 3
		}
		return 1
	}
	switch sf {
	case 0, 1:
		return 3
	case 2:
		return 4
	}
	return 5
}

// litRegenerated is the literals' size for a raw or RLE section header.
func litRegenerated(h []byte) int {
	switch len(h) {
	case 1:
		return int(h[0] >> 3)
	case 2:
		return int(h[0]>>4) | int(h[1])<<4
	case 3:
		return int(h[0]>>4) | int(h[1])<<4 | int(h[2])<<12
	}
	return -1
}

// measure Huffman-codes the sampled literals and, every watchWindow
// samples, decides.
func (lw *litWatch) measure() {
	saved := 0
	out, _, err := huff0.Compress4X(lw.lits, &lw.scratch)
	switch {
	case err == nil && len(out) < len(lw.lits):
		// The encoder also writes a 3-5 byte header and, for 4 streams, a
		// 6-byte jump table; the larger header costs 2 bytes more than raw.
		saved = len(lw.lits) - len(out) - 8
	case errors.Is(err, huff0.ErrUseRLE):
		saved = len(lw.lits) - 1
	}
	if lw.litFull > len(lw.lits) && saved > 0 {
		saved = int(int64(saved) * int64(lw.litFull) / int64(len(lw.lits)))
	}
	lw.saved += int64(max(saved, 0))
	lw.sampledBytes += int64(3 + lw.size)
	lw.sampled++
	if lw.saved*rawMargin > lw.sampledBytes {
		lw.Huffman.Store(true)
		lw.off = true
		return
	}
	if lw.sampled == watchWindow {
		lw.sampled, lw.saved, lw.sampledBytes = 0, 0, 0
	}
}

// ChunkWantsHuffman tells whether a zstd frame written with raw literals
// (one chunk of an item "auto" gave raw literals) would have been worth
// writing with Huffman-coded ones, by litWatch's rule on a sample of its
// blocks: the first compressed block and every watchEvery-th after it, up
// to chunkSampleLits of each one's literals. An item's choice is made on its
// first chunk, and a file store that starts with a presentation (no
// matches, so nothing for Huffman to gain) would otherwise store all of its
// XML with raw literals. A frame it cannot read wants Huffman.
func ChunkWantsHuffman(frame []byte) bool {
	lw := chunkWatch(frame, false)
	defer chunkWatches.Put(lw)
	if !lw.off && lw.st != stFrame {
		return true // cut short: not a whole frame
	}
	return lw.Huffman.Load()
}

// HuffmanCoded tells whether any block of a zstd frame written with
// Huffman coding allowed has its literals Huffman-coded: when none has
// (the encoder found nothing to gain), the item's next chunk may as well
// start with raw literals again. A frame it cannot read counts as coded.
func HuffmanCoded(frame []byte) bool {
	lw := chunkWatch(frame, true)
	defer chunkWatches.Put(lw)
	return lw.coded > 0 || lw.off || lw.st != stFrame
}

// chunkWatches keeps the chunk watchers (a literals buffer and huff0's
// tables each) for the next chunk: one per chunk was ~140 KiB of garbage.
var chunkWatches = sync.Pool{New: func() any {
	lw := newLitWatch(io.Discard)
	lw.lits = make([]byte, 0, chunkSampleLits)
	return lw
}}

// chunkWatch is a pooled watcher in chunk mode that has read frame;
// countOnly samples nothing (it only counts coded blocks).
func chunkWatch(frame []byte, countOnly bool) *litWatch {
	lw := chunkWatches.Get().(*litWatch)
	lw.Huffman.Store(false)
	lw.st, lw.need, lw.nhdr, lw.fhd, lw.last, lw.blocks = stFrame, 0, 0, 0, false, 0
	lw.lits, lw.litSize, lw.body, lw.size = lw.lits[:0], 0, 0, 0
	lw.chunk, lw.countOnly, lw.litFull, lw.coded = true, countOnly, 0, 0
	lw.sampled, lw.saved, lw.sampledBytes, lw.off = 0, 0, 0, false
	lw.Write(frame)
	return lw
}
