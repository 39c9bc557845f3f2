package chunk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"
	"golang.org/x/sync/semaphore"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Fetch downloads one chunk object and checks it against its entry: size
// and SHA-256 of the stored bytes. It returns the stored bytes. The
// object is read with one request where the store can (upload.ReadWhole:
// no metadata request, no ranges, no copy), and one of another size is
// refused on the size the response announces, before its bytes are read.
func Fetch(ctx context.Context, st upload.Store, c catalog.Chunk) ([]byte, error) {
	return fetch(ctx, st, c, true)
}

// fetch is Fetch; with whole false, a chunk whose entry has an age prefix
// hash (format 3) is checked on its size and that prefix only: the caller
// decrypts it (Open), and age's authentication of every payload chunk
// under the key that header fixes admits exactly the bytes written, as for
// archive objects (pipeline.openObject). That saves hashing every stored
// byte once more.
func fetch(ctx context.Context, st upload.Store, c catalog.Chunk, whole bool) ([]byte, error) {
	// One buffer of the recorded size (a manifest caps it at
	// catalog.MaxChunkBytes).
	data := getBuf(int(c.StoredBytes))
	size, err := upload.ReadWhole(ctx, st, c.Key, data)
	if err != nil {
		putBuf(data)
		if errors.Is(err, upload.ErrArchived) && upload.NamesThaw(err) { // S3's words say it
			return nil, fmt.Errorf("chunk %s: %w", c.Key, err)
		}
		if errors.Is(err, upload.ErrArchived) {
			return nil, fmt.Errorf("chunk %s: %w (run restore with --thaw to start bringing it back)", c.Key, err)
		}
		return nil, fmt.Errorf("download chunk %s: %w", c.Key, err)
	}
	if size != c.StoredBytes {
		putBuf(data)
		return nil, &DamagedError{Key: c.Key, SHA256: c.SHA256, Msg: fmt.Sprintf(" is %s bytes, the manifest says %d (truncated, extended or swapped)", sizeText(size, c.StoredBytes), c.StoredBytes)}
	}
	if c.AgePrefixBytes > 0 {
		// Checked by verify too (whole): the whole object's hash alone
		// passed an entry whose prefix hash restore then refused.
		sum := sha256.Sum256(data[:c.AgePrefixBytes])
		if hex.EncodeToString(sum[:]) != c.AgePrefixSHA256 {
			putBuf(data)
			return nil, &DamagedError{Key: c.Key, SHA256: c.SHA256, Msg: ": age header does not match the manifest (corrupted or swapped)"}
		}
		if !whole {
			return data, nil
		}
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != c.SHA256 {
		putBuf(data)
		return nil, &DamagedError{Key: c.Key, SHA256: c.SHA256, Msg: ": SHA-256 does not match the manifest (corrupted or swapped)"}
	}
	return data, nil
}

func sizeText(n, want int64) string {
	if n < 0 {
		return fmt.Sprintf("more than %d", want)
	}
	return fmt.Sprint(n)
}

// decoder decodes whole chunks; DecodeAll is safe for concurrent use.
var decoder = sync.OnceValues(func() (*zstd.Decoder, error) {
	return zstd.NewReader(nil, zstd.WithDecoderConcurrency(4), zstd.WithDecoderMaxMemory(MaxSize),
		zstd.WithDecoderMaxWindow(1<<27), zstd.IgnoreChecksum(true))
})

// Open decrypts and decompresses one stored chunk and checks its size.
// It takes stored: its buffer goes back to the pool as soon as it is
// decrypted (a chunk holds at most two of its three buffers at once). The
// plaintext's buffer may come from the pool.
func Open(stored []byte, c catalog.Chunk, ids []age.Identity) ([]byte, error) {
	defer func() { putBuf(stored) }()
	// The whole object is in memory, so age's ReaderAt decrypts it in one
	// call into a buffer of the exact size (its streaming reader allocates
	// 64 KiB per 64 KiB of payload). It authenticates every age chunk, the
	// last one with its final-chunk mark, as the streaming reader does.
	ar, size, err := age.DecryptReaderAt(bytes.NewReader(stored), int64(len(stored)), ids...)
	if err != nil {
		var nm *age.NoIdentityMatchError
		if errors.As(err, &nm) {
			return nil, fmt.Errorf("chunk %s: %w", c.Key, crypto.ErrWrongIdentity)
		}
		return nil, &DamagedError{Key: c.Key, SHA256: c.SHA256, Msg: fmt.Sprintf(": decrypt: %v (object damaged)", firstLine(err.Error()))}
	}
	if size > catalog.MaxChunkBytes {
		return nil, fmt.Errorf("chunk %s: decrypt: %d bytes, more than a chunk holds (object damaged)", c.Key, size)
	}
	z := getBuf(int(size))
	defer putBuf(z)
	if n, err := ar.ReadAt(z, 0); int64(n) != size || (err != nil && err != io.EOF) {
		if err == nil || err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return nil, &DamagedError{Key: c.Key, SHA256: c.SHA256, Msg: fmt.Sprintf(": decrypt: %v (object damaged)", err)}
	}
	putBuf(stored)
	stored = nil
	dec, err := decoder()
	if err != nil {
		return nil, err
	}
	dst := getBuf(int(c.PlainBytes))[:0]
	plain, err := dec.DecodeAll(z, dst)
	if err != nil {
		putBuf(dst)
		return nil, fmt.Errorf("chunk %s: decompress: %w", c.Key, err)
	}
	if int64(len(plain)) != c.PlainBytes {
		putBuf(plain)
		return nil, fmt.Errorf("chunk %s holds %d bytes, the manifest says %d", c.Key, len(plain), c.PlainBytes)
	}
	return plain, nil
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// Stream returns the plaintext of a chunked item: its chunks fetched
// ahead at once, checked, decrypted and decompressed, and read in order.
// The chunks fetched or waiting ahead of the reader (the one being read
// included) weigh at most ahead × MaxSize bytes, a chunk weighing the
// larger of its stored and plain sizes (it holds up to two buffers while
// it is decoded, one once it waits), and are at most 4 × ahead chunks:
// as much memory as ahead chunks of the largest size, but with chunks of
// the usual ~1 MiB many more requests in flight (what a store far away
// needs). Read hands out each chunk's plaintext from its buffer, so the
// reader takes a finished chunk without a goroutine switch. The first
// chunk that fails stops the others, and its error is what Read returns
// once the chunks before it are read. stored reports stored bytes fetched
// (may be nil). Close stops the fetches and waits for them.
//
// A chunk whose entry has an age prefix hash is checked on its size and
// that prefix, then authenticated by age as it is decrypted (see fetch);
// StreamWhole also hashes every chunk object whole, as verify does.
func Stream(ctx context.Context, st upload.Store, chunks []catalog.Chunk, ids []age.Identity, ahead int, stored func(int64)) io.ReadCloser {
	return newStream(ctx, st, chunks, ids, ahead, stored, false)
}

// StreamWhole is Stream with every chunk object's SHA-256 checked whole.
func StreamWhole(ctx context.Context, st upload.Store, chunks []catalog.Chunk, ids []age.Identity, ahead int, stored func(int64)) io.ReadCloser {
	return newStream(ctx, st, chunks, ids, ahead, stored, true)
}

func newStream(ctx context.Context, st upload.Store, chunks []catalog.Chunk, ids []age.Identity, ahead int, stored func(int64), whole bool) io.ReadCloser {
	if ahead <= 0 {
		ahead = 4
	}
	budget := int64(ahead) * MaxSize
	s := &stream{queue: make(chan *fetched, 4*ahead-1), budget: semaphore.NewWeighted(budget)}
	s.ctx, s.cancel = context.WithCancelCause(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(s.queue)
		for _, c := range chunks {
			p := &fetched{done: make(chan struct{}), weight: min(max(c.StoredBytes, c.PlainBytes, 1), budget)}
			if s.budget.Acquire(s.ctx, p.weight) != nil {
				return
			}
			select {
			case s.queue <- p:
			case <-s.ctx.Done():
				s.budget.Release(p.weight)
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer close(p.done)
				data, err := fetch(s.ctx, st, c, whole)
				if err == nil {
					if stored != nil {
						stored(c.StoredBytes)
					}
					data, err = Open(data, c, ids)
				}
				if err != nil {
					if s.ctx.Err() == nil {
						s.cancel(&chunkFailed{err}) // the other chunks are of no use now
					}
					p.err = err
					return
				}
				p.data = data
			}()
		}
	}()
	return s
}

// fetched is one chunk of a stream: done once data or err is set.
type fetched struct {
	data   []byte
	err    error
	done   chan struct{}
	weight int64 // of the budget, given back once the chunk is read
}

// chunkFailed is the cancellation cause a chunk that failed leaves.
type chunkFailed struct{ err error }

func (f *chunkFailed) Error() string { return f.err.Error() }

type stream struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	queue  chan *fetched // chunks in order
	budget *semaphore.Weighted
	wg     sync.WaitGroup

	cur, buf  []byte // the plaintext being read, and its buffer
	weight    int64  // the chunk being read holds this much of the budget
	err       error
	closeOnce sync.Once
}

var errStreamClosed = errors.New("stream closed")

func (s *stream) Read(p []byte) (int, error) {
	for len(s.cur) == 0 {
		s.done()
		if s.err != nil {
			return 0, s.err
		}
		c, ok := <-s.queue
		if ok {
			<-c.done
		}
		switch {
		case ok && c.err == nil:
			s.cur, s.buf, s.weight = c.data, c.data, c.weight
			continue
		case s.ctx.Err() != nil:
			// The first chunk that failed, rather than what its failure
			// made the others return (a cancelled download); or the
			// caller's cancellation.
			s.err = context.Cause(s.ctx)
			var f *chunkFailed
			if errors.As(s.err, &f) {
				s.err = f.err
			}
		case ok:
			s.err = c.err
		default:
			s.err = io.EOF
		}
		s.cancel(s.err)
		return 0, s.err
	}
	n := copy(p, s.cur)
	s.cur = s.cur[n:]
	return n, nil
}

// done gives back the buffer and the budget of the chunk read to its end.
func (s *stream) done() {
	if s.buf != nil {
		putBuf(s.buf)
		s.cur, s.buf = nil, nil
	}
	if s.weight > 0 {
		s.budget.Release(s.weight)
		s.weight = 0
	}
}

// Close stops the fetches still running and waits for them, so no request
// outlives the stream.
func (s *stream) Close() error {
	s.closeOnce.Do(func() {
		s.cancel(errStreamClosed)
		s.done()
		for c := range s.queue {
			<-c.done
			if c.data != nil {
				putBuf(c.data)
			}
		}
		s.wg.Wait()
		s.err = errStreamClosed
	})
	return nil
}

// Checks remembers which chunks a run has checked (size and SHA-256), so
// that a verify reads each chunk once however many items use it.
type Checks struct {
	mu   sync.Mutex
	done map[string]*check
}

type check struct {
	once sync.Once
	err  error
}

// Check verifies c once per Checks; later calls return the first result.
func (cs *Checks) Check(ctx context.Context, st upload.Store, c catalog.Chunk, stored func(int64)) error {
	cs.mu.Lock()
	if cs.done == nil {
		cs.done = map[string]*check{}
	}
	// The whole entry: two sets may record one chunk differently (a
	// damaged manifest), and verify all must not pass the second on the
	// first's result.
	k := fmt.Sprint(c.Key, " ", c.SHA256, " ", c.StoredBytes, " ", c.AgePrefixSHA256, " ", c.AgePrefixBytes)
	ck, ok := cs.done[k]
	if !ok {
		ck = &check{}
		cs.done[k] = ck
	}
	cs.mu.Unlock()
	ck.once.Do(func() {
		var data []byte
		data, ck.err = Fetch(ctx, st, c)
		if ck.err == nil {
			putBuf(data)
			if stored != nil {
				stored(c.StoredBytes)
			}
		}
	})
	return ck.err
}

// Len is the number of distinct chunks checked.
func (cs *Checks) Len() int {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	return len(cs.done)
}
