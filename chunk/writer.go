package chunk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Known is a chunk the store holds and a committed manifest describes.
type Known struct {
	catalog.Chunk
	// RetainUntil is the lock the listing reported (zero: none or unknown).
	RetainUntil time.Time
}

// Discover finds the chunks of host that a backup may reuse: one listing of
// the host's chunk folder, checked against the chunk entries of the host's
// committed manifests (which give each chunk's stored size and SHA-256). A
// chunk object no manifest names (left by a crashed run) is known without a
// hash (see Writer.adopt); one whose size differs from its manifest's is not.
func Discover(ctx context.Context, st upload.Store, host string, manifests []*catalog.Manifest) (map[string]Known, error) {
	listed := map[string]upload.ObjectInfo{}
	err := st.List(ctx, catalog.ChunkPrefix(host), func(o upload.ObjectInfo) error {
		if _, ok := catalog.ParseChunkKey(host, o.Key); ok {
			listed[o.Key] = o
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list chunks of %s: %w", host, err)
	}
	known := map[string]Known{}
	// A chunk object no manifest names was left by a crashed run. Its
	// bytes are kept (a chunk object is never rewritten, so every hash a
	// manifest holds stays true, and a locked one could not be): the
	// writer hashes it once if this run needs it.
	// A chunk whose object differs in size from what a manifest recorded
	// is damaged: it is written again (the sets naming it were broken
	// already; the new one is not).
	damaged := map[string]bool{}
	for _, m := range manifests {
		if m == nil || m.Host != host {
			continue
		}
		for _, it := range m.Items {
			for _, c := range it.Chunks {
				o, ok := listed[c.Key]
				switch {
				case !ok:
				case o.Size == c.StoredBytes:
					known[c.Key] = Known{Chunk: c, RetainUntil: o.RetainUntil}
				default:
					damaged[c.Key] = true
				}
			}
		}
	}
	for k, o := range listed {
		if _, ok := known[k]; !ok && !damaged[k] {
			known[k] = Known{Chunk: catalog.Chunk{Key: k, StoredBytes: o.Size}, RetainUntil: o.RetainUntil}
		}
	}
	return known, nil
}

// Writer stores the chunks of one backup run. It is safe for concurrent
// use by the run's items, which share its upload slots and its record of
// chunks already stored or being stored in this run.
type Writer struct {
	Store      upload.Store
	Host       string
	Key        *Key
	Recipients []crypto.Recipient
	// Compression is the configured zstd level ("auto" chooses per item).
	Compression string
	// Opts is applied to every new chunk (object lock). A reused chunk
	// whose lock ends before Opts.RetainUntil is extended to it.
	Opts upload.PutOptions
	// Known is what Discover found.
	Known map[string]Known
	// Parallel chunks compressed, encrypted and uploaded at once (0: 4).
	Parallel int

	once    sync.Once
	sem     chan struct{}
	mu      sync.Mutex
	pending map[string]*pending
	encMu   sync.Mutex
	encs    map[archive.Choice]*zstd.Encoder

	// Counters for the run's report.
	NewChunks, ReusedChunks, UploadedBytes atomic.Int64
}

type pending struct {
	done chan struct{}
	c    catalog.Chunk
	err  error
}

func (w *Writer) init() {
	w.once.Do(func() {
		n := w.Parallel
		if n <= 0 {
			n = 4
		}
		w.sem = make(chan struct{}, n)
		w.pending = map[string]*pending{}
		w.encs = map[archive.Choice]*zstd.Encoder{}
	})
}

// bufPool holds chunk-sized buffers: one per chunk being stored.
var bufPool = sync.Pool{New: func() any { b := make([]byte, MaxSize); return &b }}

// ItemStats is what storing one item's stream did.
type ItemStats struct {
	Chunks []catalog.Chunk
	// Level is the zstd level new chunks of the item were compressed at.
	Level string
}

// Write cuts r into chunks and stores the new ones; it returns the item's
// chunk list once every chunk it names is stored. stored reports bytes
// uploaded (may be nil).
func (w *Writer) Write(ctx context.Context, r io.Reader, stored func(int64)) (ItemStats, error) {
	w.init()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var st ItemStats
	var choice *archive.Choice
	var refs []*pending
	buf := bufPool.Get().(*[]byte)
	defer bufPool.Put(buf)
	ch := w.Key.Chunker(r)
	for {
		c, err := ch.Next(*buf)
		if err == io.EOF {
			break
		}
		if err != nil {
			cancel()
			waitAll(refs)
			return st, err
		}
		if ctx.Err() != nil {
			break // a chunk of this item failed (or the run stops): waitAll says why
		}
		if choice == nil {
			cc := w.choose(c.Data)
			choice = &cc
			st.Level = cc.String()
		}
		refs = append(refs, w.add(ctx, c.Data, *choice, stored, cancel))
	}
	if err := waitAll(refs); err != nil {
		return st, err
	}
	if len(refs) == 0 {
		return st, errors.New("empty item stream")
	}
	st.Chunks = make([]catalog.Chunk, len(refs))
	for i, p := range refs {
		st.Chunks[i] = p.c
	}
	return st, nil
}

func waitAll(ps []*pending) error {
	var first error
	for _, p := range ps {
		<-p.done
		if p.err != nil && first == nil {
			first = p.err
		}
	}
	return first
}

func (w *Writer) choose(first []byte) archive.Choice {
	if w.Compression == "" || w.Compression == "auto" {
		return archive.Choose(first[:min(len(first), archive.AutoSample)])
	}
	return archive.Choice{Level: w.Compression}
}

// add returns the pending store of one chunk: a known chunk (lock extended
// if needed), one already stored or being stored by this run, or a new
// upload, which waits for a free slot first (so a fast chunker cannot run
// ahead of the uploads and fill memory).
func (w *Writer) add(ctx context.Context, data []byte, choice archive.Choice, stored func(int64), stop func()) *pending {
	id := w.Key.ID(data)
	key := catalog.ChunkKey(w.Host, id)
	w.mu.Lock()
	if p, ok := w.pending[key]; ok {
		w.mu.Unlock()
		return p
	}
	p := &pending{done: make(chan struct{})}
	w.pending[key] = p
	w.mu.Unlock()
	if k, ok := w.Known[key]; ok && (k.SHA256 == "" || k.PlainBytes == int64(len(data))) {
		w.ReusedChunks.Add(1)
		p.c = k.Chunk
		need := w.Opts.RetainUntil
		orphan := k.SHA256 == ""
		extend := !need.IsZero() && k.RetainUntil.Before(need)
		if !orphan && !extend {
			close(p.done)
			return p
		}
		if !w.acquire(ctx) {
			w.fail(key, p, ctx.Err())
			return p
		}
		size := int64(len(data))
		go func() {
			defer func() { <-w.sem; close(p.done) }()
			if orphan {
				if p.c, p.err = w.adopt(ctx, k.Chunk, size); p.err != nil {
					return
				}
			}
			if extend {
				p.err = w.extend(ctx, key, need)
			}
			if p.err != nil {
				w.forget(key, p)
				stop()
			}
		}()
		return p
	}
	if !w.acquire(ctx) {
		w.fail(key, p, ctx.Err())
		return p
	}
	b := bufPool.Get().(*[]byte)
	plain := append((*b)[:0], data...)
	go func() {
		defer func() { bufPool.Put(b); <-w.sem; close(p.done) }()
		p.c, p.err = w.put(ctx, key, plain, choice)
		if p.err != nil {
			w.forget(key, p)
			stop() // the item fails: stop cutting and storing the rest of it
		}
		if p.err == nil {
			w.NewChunks.Add(1)
			w.UploadedBytes.Add(p.c.StoredBytes)
			if stored != nil {
				stored(p.c.StoredBytes)
			}
		}
	}()
	return p
}

// adopt hashes a chunk object that a crashed run stored and no manifest
// names, so this run can name it. Its key is the keyed hash of the
// plaintext, and stores make objects visible only whole.
func (w *Writer) adopt(ctx context.Context, c catalog.Chunk, plain int64) (catalog.Chunk, error) {
	rc, err := w.Store.Get(ctx, c.Key, 0, -1)
	if err != nil {
		return c, fmt.Errorf("read chunk %s left by an earlier run: %w", c.Key, err)
	}
	defer rc.Close()
	h := sha256.New()
	n, err := io.Copy(h, rc)
	if err != nil {
		return c, fmt.Errorf("read chunk %s left by an earlier run: %w", c.Key, err)
	}
	c.StoredBytes, c.PlainBytes, c.SHA256 = n, plain, hex.EncodeToString(h.Sum(nil))
	return c, nil
}

// acquire takes an upload slot, unless ctx ends first (or has ended).
func (w *Writer) acquire(ctx context.Context) bool {
	if ctx.Err() != nil {
		return false
	}
	select {
	case w.sem <- struct{}{}:
		return true
	case <-ctx.Done():
		return false
	}
}

// fail ends p with err and forgets it, so that another item of the run
// that needs the same chunk stores it itself.
func (w *Writer) fail(key string, p *pending, err error) {
	w.forget(key, p)
	p.err = err
	close(p.done)
}

func (w *Writer) forget(key string, p *pending) {
	w.mu.Lock()
	if w.pending[key] == p {
		delete(w.pending, key)
	}
	w.mu.Unlock()
}

func (w *Writer) extend(ctx context.Context, key string, until time.Time) error {
	l, ok := upload.As[upload.Locker](w.Store)
	if !ok {
		return nil
	}
	if err := l.ExtendLock(ctx, key, until); err != nil {
		return fmt.Errorf("extend the lock of reused chunk %s: %w", key, err)
	}
	return nil
}

func (w *Writer) encoder(ch archive.Choice) (*zstd.Encoder, error) {
	w.encMu.Lock()
	defer w.encMu.Unlock()
	if e, ok := w.encs[ch]; ok {
		return e, nil
	}
	e, err := NewEncoder(ch)
	if err != nil {
		return nil, err
	}
	w.encs[ch] = e
	return e, nil
}

// NewEncoder returns a zstd encoder for whole chunks (EncodeAll: one frame
// per call, safe for concurrent use), without the frame checksum as the
// archive format writes it.
func NewEncoder(ch archive.Choice) (*zstd.Encoder, error) {
	lv, err := archive.Level(ch.Level)
	if err != nil {
		return nil, err
	}
	opts := []zstd.EOption{zstd.WithEncoderLevel(lv), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(1)}
	if ch.RawLits {
		opts = append(opts, zstd.WithNoEntropyCompression(true))
	}
	return zstd.NewWriter(nil, opts...)
}

// put compresses plain into one zstd frame, encrypts it into one age file
// and uploads it under key.
func (w *Writer) put(ctx context.Context, key string, plain []byte, ch archive.Choice) (catalog.Chunk, error) {
	enc, err := w.encoder(ch)
	if err != nil {
		return catalog.Chunk{}, err
	}
	z := enc.EncodeAll(plain, make([]byte, 0, len(plain)/2+1024))
	var obj bytes.Buffer
	obj.Grow(len(z) + 512)
	aw, err := crypto.Encrypt(&obj, w.Recipients)
	if err != nil {
		return catalog.Chunk{}, err
	}
	if _, err := aw.Write(z); err != nil {
		return catalog.Chunk{}, fmt.Errorf("encrypt chunk: %w", err)
	}
	if err := aw.Close(); err != nil {
		return catalog.Chunk{}, fmt.Errorf("encrypt chunk: %w", err)
	}
	sum := sha256.Sum256(obj.Bytes())
	c := catalog.Chunk{Key: key, PlainBytes: int64(len(plain)), StoredBytes: int64(obj.Len()), SHA256: hex.EncodeToString(sum[:])}
	opts := w.Opts
	opts.ContentType = "application/octet-stream"
	info, err := w.Store.Put(ctx, key, bytes.NewReader(obj.Bytes()), opts)
	if err != nil {
		return c, fmt.Errorf("upload chunk %s: %w", key, err)
	}
	if info.Size != 0 && info.Size != c.StoredBytes {
		return c, fmt.Errorf("upload chunk %s: store reports %d bytes, %d were sent", key, info.Size, c.StoredBytes)
	}
	return c, nil
}
