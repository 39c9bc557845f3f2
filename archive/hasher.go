package archive

import (
	"crypto/sha256"
	"hash"
)

// A restore hashes the files it writes on a goroutine of its own. The
// extractor's goroutine is the one that creates and writes every file, one
// after another, and on a file store (thousands of files) it is the
// restore's critical path: the kernel's work for each file is there
// already, and SHA-256 of the bytes (~0.8 s per GiB) need not be. The
// extractor reads a file into one of hashBufs buffers, writes it and hands
// it over; the hasher hashes the buffers in order and, at each file's end,
// records its sum. Nothing waits for a file's sum until the archive's end
// (the index check).
const (
	hashBufs    = 4
	hashBufSize = 256 << 10
)

type hashJob struct {
	b    []byte // bytes of the current file (nil: none)
	name string // set: the current file ends here; its sum is recorded under name
}

type hasher struct {
	work chan hashJob
	free chan []byte
	done chan struct{}
	sums fileSums // the hasher's until wait returns
	h    hash.Hash
	sum  [32]byte
	over bool // wait was called
}

func newHasher() *hasher {
	hs := &hasher{work: make(chan hashJob, 2*hashBufs), free: make(chan []byte, hashBufs), done: make(chan struct{}), h: sha256.New()}
	for range hashBufs {
		hs.free <- make([]byte, hashBufSize)
	}
	go hs.run()
	return hs
}

func (hs *hasher) run() {
	defer close(hs.done)
	for j := range hs.work {
		if j.b != nil {
			hs.h.Write(j.b)
			hs.free <- j.b[:cap(j.b)]
		}
		if j.name != "" {
			hs.h.Sum(hs.sum[:0])
			hs.sums.add(j.name, hs.sum)
			hs.h.Reset()
		}
	}
}

// buf is a buffer for the next bytes of the current file.
func (hs *hasher) buf() []byte { return <-hs.free }

// put gives back a buffer from buf that holds nothing to hash.
func (hs *hasher) put(b []byte) { hs.free <- b[:cap(b)] }

// add hands over b (from buf) as the next bytes of the current file.
func (hs *hasher) add(b []byte) { hs.work <- hashJob{b: b} }

// end ends the current file: its sum will be recorded under name.
func (hs *hasher) end(name string) { hs.work <- hashJob{name: name} }

// wait ends the hasher once it has hashed everything handed over and
// returns the sums, in the order the files ended. Nothing may be handed
// over after the first call.
func (hs *hasher) wait() *fileSums {
	if !hs.over {
		hs.over = true
		close(hs.work)
		<-hs.done
	}
	return &hs.sums
}
