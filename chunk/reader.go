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

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Fetch downloads one chunk object and checks it against its entry: size
// and SHA-256 of the stored bytes. It returns the stored bytes.
func Fetch(ctx context.Context, st upload.Store, c catalog.Chunk) ([]byte, error) {
	rc, err := st.Get(ctx, c.Key, 0, -1)
	if err != nil {
		if errors.Is(err, upload.ErrArchived) {
			return nil, fmt.Errorf("chunk %s: %w (run restore with --thaw to start bringing it back)", c.Key, err)
		}
		return nil, fmt.Errorf("download chunk %s: %w", c.Key, err)
	}
	defer rc.Close()
	// One buffer of the recorded size (a manifest caps it at
	// catalog.MaxChunkBytes), then one byte more must not exist.
	data := getBuf(int(c.StoredBytes))
	n, err := io.ReadFull(rc, data)
	if err == nil {
		var one [1]byte
		var m int
		m, err = io.ReadFull(rc, one[:])
		n += m
	}
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		putBuf(data)
		return nil, fmt.Errorf("download chunk %s: %w", c.Key, err)
	}
	if int64(n) != c.StoredBytes {
		putBuf(data)
		return nil, fmt.Errorf("chunk %s is %s bytes, the manifest says %d (truncated, extended or swapped)", c.Key, sizeText(n, c.StoredBytes), c.StoredBytes)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != c.SHA256 {
		putBuf(data)
		return nil, fmt.Errorf("chunk %s: SHA-256 does not match the manifest (corrupted or swapped)", c.Key)
	}
	return data, nil
}

func sizeText(n int, want int64) string {
	if int64(n) > want {
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
		return nil, fmt.Errorf("chunk %s: decrypt: %v (object damaged)", c.Key, firstLine(err.Error()))
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
		return nil, fmt.Errorf("chunk %s: decrypt: %v (object damaged)", c.Key, err)
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
// ahead at once (up to ahead+2 in memory), checked, decrypted and
// decompressed, and concatenated in order. The first failure ends the
// stream with its error. stored reports stored bytes fetched (may be nil).
// Close stops the fetches.
func Stream(ctx context.Context, st upload.Store, chunks []catalog.Chunk, ids []age.Identity, ahead int, stored func(int64)) io.ReadCloser {
	if ahead <= 0 {
		ahead = 4
	}
	ctx, cancel := context.WithCancel(ctx)
	pr, pw := io.Pipe()
	type result struct {
		data []byte
		err  error
	}
	slots := make(chan chan result, ahead)
	go func() {
		defer close(slots)
		for _, c := range chunks {
			res := make(chan result, 1)
			select {
			case slots <- res:
			case <-ctx.Done():
				return
			}
			go func() {
				data, err := Fetch(ctx, st, c)
				if err == nil {
					if stored != nil {
						stored(c.StoredBytes)
					}
					data, err = Open(data, c, ids)
				}
				res <- result{data, err}
			}()
		}
	}()
	go func() {
		for res := range slots {
			r := <-res
			if r.err == nil {
				// io.Pipe's Write returns once the reader has taken every
				// byte: the buffer is free again.
				_, r.err = pw.Write(r.data)
				putBuf(r.data)
			}
			if r.err != nil {
				pw.CloseWithError(r.err)
				cancel()
				for range slots {
				}
				return
			}
		}
		if err := ctx.Err(); err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.Close()
	}()
	return &stream{PipeReader: pr, cancel: cancel}
}

type stream struct {
	*io.PipeReader
	cancel context.CancelFunc
}

func (s *stream) Close() error {
	s.cancel()
	return s.PipeReader.CloseWithError(errors.New("stream closed"))
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
	k := c.Key + " " + c.SHA256
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
