package chunk

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
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
	// LegalHold: the listing reported a legal hold (false: none or
	// unknown; an S3 listing never tells).
	LegalHold bool
}

// Discover finds the chunks of host that a backup may reuse: one listing of
// the host's chunk folder, checked against the chunk entries of the host's
// committed manifests (which give each chunk's stored size and SHA-256). A
// chunk object no manifest names (left by a crashed run) is known without a
// hash (see Writer.adopt); one whose size differs from its manifest's is not.
func Discover(ctx context.Context, st upload.Store, host string, manifests []*catalog.Manifest) (map[string]Known, error) {
	d := NewDiscovery(host)
	for _, m := range manifests {
		d.Add(m)
	}
	return d.Known(ctx, st)
}

// Discovery is Discover taking the manifests one at a time, as a listing
// reads them (catalog.Catalog.Each), keeping one entry per chunk rather
// than every manifest. The chunk folder is listed after the manifests
// were read, as Discover always did.
type Discovery struct {
	host string
	mu   sync.Mutex
	refs map[string][]ref // by key: the entries, one per stored size
	// Damaged are the recorded damaged chunks (LoadDamaged): a chunk whose
	// entry is recorded is not known, and is stored again.
	Damaged map[Damage]bool
	// Spent, after Known: the records that no longer match (the chunk was
	// stored again since, or is gone, or its object is intact after all);
	// the caller may clear them.
	Spent map[Damage]bool
	// Unconfirmed, after Known: recorded chunks that could not be read
	// again to confirm the damage (kept as they are, records kept).
	Unconfirmed map[Damage]error
}

// ref is a chunk entry and the newest set naming it with that entry's size.
type ref struct {
	c   catalog.Chunk
	end time.Time // the set's end
	set string
}

// newer: set r is newer than e (its end, then its id: sets of one second
// have ids in random order).
func (r ref) newer(e ref) bool {
	if !r.end.Equal(e.end) {
		return r.end.After(e.end)
	}
	return r.set > e.set
}

// NewDiscovery starts a discovery of host's chunks.
func NewDiscovery(host string) *Discovery {
	return &Discovery{host: host, refs: map[string][]ref{}}
}

// Add takes the chunk entries of one committed manifest (another host's
// are ignored). Safe for concurrent use.
func (d *Discovery) Add(m *catalog.Manifest) {
	if m == nil || m.Host != d.host {
		return
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, it := range m.Items {
		for _, c := range it.Chunks {
			// Of two entries of one size, the newest set's: a damaged chunk
			// stored again keeps its size and gets another SHA-256, which
			// only the sets written since hold.
			r := ref{c: c, end: m.End, set: m.SetID}
			i := slices.IndexFunc(d.refs[c.Key], func(e ref) bool { return e.c.StoredBytes == c.StoredBytes })
			switch {
			case i < 0:
				d.refs[c.Key] = append(d.refs[c.Key], r)
			case r.newer(d.refs[c.Key][i]):
				d.refs[c.Key][i] = r
			}
		}
	}
}

// Known lists the host's chunk folder and returns the reusable chunks.
func (d *Discovery) Known(ctx context.Context, st upload.Store) (map[string]Known, error) {
	listed := map[string]upload.ObjectInfo{}
	err := st.List(ctx, catalog.ChunkPrefix(d.host), func(o upload.ObjectInfo) error {
		if _, ok := catalog.ParseChunkKey(d.host, o.Key); ok {
			listed[o.Key] = o
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list chunks of %s: %w", d.host, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	known := map[string]Known{}
	// A chunk whose object differs in size from what a manifest recorded
	// is damaged: it is written again (the sets naming it were broken
	// already; the new one is not).
	damaged := map[string]bool{}
	// So is one whose entry a verify or restore recorded as damaged (same
	// size, other bytes: DamagedError): its sets were broken already.
	d.Spent = map[Damage]bool{}
	for dm := range d.Damaged {
		d.Spent[dm] = true
	}
	for key, entries := range d.refs {
		o, ok := listed[key]
		if !ok {
			continue
		}
		for _, e := range entries {
			c := e.c
			if o.Size != c.StoredBytes {
				damaged[key] = true
				continue
			}
			if dm := (Damage{Key: key, SHA256: c.SHA256}); d.Damaged[dm] {
				// Read it once more before writing over it: an object
				// that is intact after all (a record made from a faulty
				// read) stays, since writing it again would break every
				// set naming it. Unread (a read error), it stays too, and
				// so does the record.
				data, err := Fetch(ctx, st, c)
				var de *DamagedError
				switch {
				case err == nil:
					putBuf(data)
				case errors.As(err, &de):
					delete(d.Spent, dm)
					damaged[key] = true
					continue
				default:
					delete(d.Spent, dm)
					if d.Unconfirmed == nil {
						d.Unconfirmed = map[Damage]error{}
					}
					d.Unconfirmed[dm] = err
				}
			}
			known[key] = Known{Chunk: c, RetainUntil: o.RetainUntil, LegalHold: o.LegalHold}
		}
	}
	// A chunk object no manifest names was left by a crashed run. Its
	// bytes are kept (every hash a manifest holds stays true, and a locked
	// one could not be rewritten) when they are intact: the writer hashes
	// it once if this run needs it, and adopts it if that matches the hash
	// recorded at its upload (Writer.adopt).
	for k, o := range listed {
		if _, ok := known[k]; !ok && !damaged[k] {
			known[k] = Known{Chunk: catalog.Chunk{Key: k, StoredBytes: o.Size}, RetainUntil: o.RetainUntil, LegalHold: o.LegalHold}
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
	// whose lock ends before Opts.RetainUntil is extended to it, and with
	// Opts.LegalHold one the listing does not show held gets a legal hold:
	// a set under hold must not be deletable through the chunks it shares
	// with older sets.
	Opts upload.PutOptions
	// LockSlack is added to Opts.RetainUntil when a reused chunk's lock is
	// extended (upload.ExtendSlack), so that a chunk reused night after
	// night costs a retention write about once every slack+1 nights, not
	// every night. New chunks get Opts.RetainUntil exactly.
	LockSlack time.Duration
	// Known is what Discover found.
	Known map[string]Known
	// Parallel chunks named, compressed, encrypted and uploaded at once (0: defaultSlots).
	Parallel int
	// Live, when set, is asked before each chunk is written or adopted (the
	// run's marker's Healthy): a run another one may have taken for
	// crashed writes no more chunks, since a chunk it wrote over, or an
	// orphan it adopted, may be one a prune is deleting or another backup
	// has committed meanwhile.
	Live func() error
	// KeepOrphans: some committed manifest of the host could not be read
	// (damaged, archived, a read error), so a chunk that looks like an
	// orphan may be one that set names. An orphan with no SHA-256 recorded
	// at its upload (a local folder's, or written before the record) is
	// then adopted by hashing its bytes as they are, never stored again
	// over: a new upload would be other bytes (age is randomised) under a
	// name that set's manifest hashed. One whose bytes differ from its
	// recorded SHA-256 has been damaged since and is stored again.
	KeepOrphans bool
	// Rewrite are the chunks a verify or restore recorded as damaged
	// (Discovery.Damaged) that this run stores again over the damaged
	// object when it needs them; Rewritten then lists them.
	Rewrite map[string]bool
	// KeyFile is the chunk key's file, for messages ("": not told).
	KeyFile string

	once      sync.Once
	rewritten []string
	ids       *Key // names chunks: Key for these Recipients
	sem       chan struct{}
	mu        sync.Mutex
	pending   map[string]*pending
	encMu     sync.Mutex
	encs      map[archive.Choice]*zstd.Encoder

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
			n = defaultSlots
		}
		w.sem = make(chan struct{}, n)
		w.ids = w.Key.ForRecipients(crypto.Canonical(w.Recipients))
		w.pending = map[string]*pending{}
		w.encs = map[archive.Choice]*zstd.Encoder{}
	})
}

// defaultSlots: chunks in work at once when Writer.Parallel is 0. A slot
// spends most of its time waiting on its upload (on a loopback S3 server,
// ~15 ms a chunk against ~6 ms of compressing, encrypting and hashing;
// with 4 slots the chunkers waited for one most of the run), so there are
// several per CPU; a slot waiting on its upload holds only its object.
const defaultSlots = 8

// ItemStats is what storing one item's stream did.
type ItemStats struct {
	Chunks []catalog.Chunk
	// Level is the zstd level new chunks of the item were compressed at.
	Level string
}

// slot is one chunk of an item's stream: its worker sets p (the chunk's
// store, this worker's or another's that stores the same chunk) and closes
// done.
type slot struct {
	done chan struct{}
	p    *pending
}

// Write cuts r into chunks and stores the new ones; it returns the item's
// chunk list once every chunk it names is stored. stored reports bytes
// uploaded (may be nil).
//
// The cutting is the only serial step: each chunk goes, in a buffer of its
// own, to a worker that names it (keyed BLAKE3), and stores it if it is new
// (compress, encrypt, upload). A chunk takes one of the run's upload slots
// before it is cut and gives it back when its worker is done, so the
// chunker never runs more than Parallel chunks ahead of the uploads and
// memory stays bounded. The list keeps stream order whatever order the
// workers finish in.
func (w *Writer) Write(ctx context.Context, r io.Reader, stored func(int64)) (ItemStats, error) {
	w.init()
	// A failing chunk stops the item with its error as the cause: the
	// uploads it cancels fail with "context canceled", and the item must
	// name the failure (a full disk), not the cancellation.
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	failed := func(err error) error {
		if c := context.Cause(ctx); c != nil && c != ctx.Err() {
			return c
		}
		return err
	}
	var st ItemStats
	var choice *archive.Choice
	// huff: with raw literals chosen, a chunk of the item wanted Huffman
	// coding lately, so the next ones start with it (put).
	huff := new(atomic.Bool)
	var refs []*slot
	ch := w.Key.Chunker(r)
	defer ch.Close()
	for {
		if !w.acquire(ctx) {
			// A chunk of this item failed (or the run stops).
			if err := waitAll(refs); err != nil {
				return st, failed(err)
			}
			return st, failed(ctx.Err())
		}
		cut, err := ch.Next()
		if err != nil {
			<-w.sem
			if err == io.EOF {
				break
			}
			cancel(err)
			waitAll(refs)
			return st, err
		}
		// The chunk's buffer is its own (Chunker.Next): the worker gives
		// it back.
		data := cut
		if choice == nil {
			cc := w.choose(data)
			choice = &cc
			st.Level = cc.String()
		}
		s := &slot{done: make(chan struct{})}
		refs = append(refs, s)
		go w.store(ctx, s, data, *choice, huff, stored, cancel)
	}
	if err := waitAll(refs); err != nil {
		return st, failed(err)
	}
	if len(refs) == 0 {
		return st, errors.New("empty item stream")
	}
	st.Chunks = make([]catalog.Chunk, len(refs))
	for i, s := range refs {
		st.Chunks[i] = s.p.c
	}
	return st, nil
}

func waitAll(ss []*slot) error {
	var first error
	for _, s := range ss {
		<-s.done
		<-s.p.done
		if s.p.err != nil && first == nil {
			first = s.p.err
		}
	}
	return first
}

func (w *Writer) choose(first []byte) archive.Choice {
	if w.Compression == "" || w.Compression == "auto" {
		return archive.ChooseChunks(first[:min(len(first), archive.AutoSample)])
	}
	return archive.Choice{Level: w.Compression}
}

// store runs in a worker, holding an upload slot (given back at the end)
// and owning data (a wbufs buffer). It names the chunk and sets s.p to the
// chunk's pending store: a known chunk (lock extended if needed), one
// already stored or being stored by this run, or a new upload.
func (w *Writer) store(ctx context.Context, s *slot, data []byte, choice archive.Choice, huff *atomic.Bool, stored func(int64), stop func(error)) {
	defer func() { <-w.sem }()
	defer close(s.done)
	id := w.ids.ID(data)
	key := catalog.ChunkKey(w.Host, id)
	size := int64(len(data))
	w.mu.Lock()
	if p, ok := w.pending[key]; ok {
		w.mu.Unlock()
		wbufs.put(data)
		s.p = p
		return
	}
	p := &pending{done: make(chan struct{})}
	w.pending[key] = p
	w.mu.Unlock()
	s.p = p
	defer close(p.done)
	if w.Live != nil {
		if err := w.Live(); err != nil {
			wbufs.put(data)
			p.err = err
			w.forget(key, p)
			stop(err)
			return
		}
	}
	if k, ok := w.Known[key]; ok && (k.SHA256 == "" || k.PlainBytes == size) {
		c, err := k.Chunk, error(nil)
		if k.SHA256 == "" {
			c, err = w.adopt(ctx, k.Chunk, size)
		}
		// An orphan this run cannot read (in an archive tier, or swept
		// since the listing), or whose bytes it cannot show intact, is
		// stored again over it instead.
		if !errors.Is(err, upload.ErrArchived) && !errors.Is(err, upload.ErrNotFound) && !errors.Is(err, errUnadoptable) {
			wbufs.put(data)
			w.ReusedChunks.Add(1)
			p.c, p.err = c, err
			if need := w.Opts.RetainUntil; p.err == nil && !need.IsZero() && k.RetainUntil.Before(need) {
				p.err = w.extend(ctx, key, need)
			}
			if p.err == nil && w.Opts.LegalHold && !k.LegalHold {
				p.err = w.hold(ctx, key)
			}
			if p.err != nil {
				w.forget(key, p)
				stop(p.err)
			}
			return
		}
	}
	p.c, p.err = w.put(ctx, key, data, choice, huff) // gives data back
	if p.err != nil {
		w.forget(key, p)
		stop(p.err) // the item fails: stop cutting and storing the rest of it
		return
	}
	if w.Rewrite[key] {
		w.mu.Lock()
		w.rewritten = append(w.rewritten, key)
		w.mu.Unlock()
	}
	w.NewChunks.Add(1)
	w.UploadedBytes.Add(p.c.StoredBytes)
	if stored != nil {
		stored(p.c.StoredBytes)
	}
}

func (w *Writer) keyFile() string {
	if w.KeyFile != "" {
		return w.KeyFile
	}
	return "(<staging>/" + w.Host + ".chunkkey)"
}

// Rewritten lists the recorded damaged chunks (Rewrite) this run stored
// again.
func (w *Writer) Rewritten() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.rewritten)
}

// errUnadoptable: an orphan chunk whose bytes this run cannot show to be
// those its writer uploaded. It is stored again.
var errUnadoptable = errors.New("orphan chunk not adopted")

// adopt hashes a chunk object that a crashed run stored and no manifest
// names, so this run can name it. Its key is the keyed hash of the
// plaintext, and stores make objects visible only whole. The run holds no
// identity and cannot decrypt it, so it adopts the object only when its
// bytes hash to the SHA-256 its writer recorded beside it at upload
// (PutOptions.SHA256): an object damaged since (bit rot in a folder, a
// changed byte) was adopted with the damaged bytes' hash, and the new set
// verified but did not restore. Without a recorded hash (a local folder,
// or an object written before 2026-12-01) it is stored again.
func (w *Writer) adopt(ctx context.Context, c catalog.Chunk, plain int64) (catalog.Chunk, error) {
	info, err := w.Store.Stat(ctx, c.Key)
	if err != nil {
		return c, fmt.Errorf("read chunk %s left by an earlier run: %w", c.Key, err)
	}
	if info.SHA256 == "" && !w.KeepOrphans {
		return c, fmt.Errorf("%w: %s has no SHA-256 recorded at its upload", errUnadoptable, c.Key)
	}
	if info.Archived {
		return c, fmt.Errorf("read chunk %s left by an earlier run: %w", c.Key, upload.ErrArchived)
	}
	rc, err := w.Store.Get(ctx, c.Key, 0, -1)
	if err != nil {
		return c, fmt.Errorf("read chunk %s left by an earlier run: %w", c.Key, err)
	}
	defer rc.Close()
	h := sha256.New()
	head := &headWriter{max: 64 << 10}
	n, err := io.Copy(io.MultiWriter(h, head), rc)
	if err != nil {
		return c, fmt.Errorf("read chunk %s left by an earlier run: %w", c.Key, err)
	}
	sum := hex.EncodeToString(h.Sum(nil))
	if info.SHA256 != "" && sum != info.SHA256 {
		return c, fmt.Errorf("%w: %s does not hash to the SHA-256 recorded at its upload (damaged since)", errUnadoptable, c.Key)
	}
	c.StoredBytes, c.PlainBytes, c.SHA256 = n, plain, sum
	c.AgePrefixSHA256, c.AgePrefixBytes = "", 0
	if p := crypto.PrefixLen(head.b); p > 0 {
		ps := sha256.Sum256(head.b[:p])
		c.AgePrefixSHA256, c.AgePrefixBytes = hex.EncodeToString(ps[:]), int64(p)
	}
	return c, nil
}

// headWriter keeps the first max bytes written to it.
type headWriter struct {
	b   []byte
	max int
}

func (h *headWriter) Write(p []byte) (int, error) {
	if room := h.max - len(h.b); room > 0 {
		h.b = append(h.b, p[:min(room, len(p))]...)
	}
	return len(p), nil
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
	if err := l.ExtendLock(ctx, key, until, until.Add(w.LockSlack)); err != nil {
		return fmt.Errorf("extend the lock of reused chunk %s: %w", key, err)
	}
	return nil
}

// hold places a legal hold on a reused chunk (once per chunk and run: a
// chunk is stored or reused once per run, see pending).
func (w *Writer) hold(ctx context.Context, key string) error {
	l, ok := upload.As[upload.Locker](w.Store)
	if !ok {
		return nil // a local folder has no holds
	}
	if err := l.SetLegalHold(ctx, key); err != nil {
		return fmt.Errorf("set a legal hold on reused chunk %s: %w", key, err)
	}
	return nil
}

func (w *Writer) encoder(ch archive.Choice) (*zstd.Encoder, error) {
	w.encMu.Lock()
	defer w.encMu.Unlock()
	if e, ok := w.encs[ch]; ok {
		return e, nil
	}
	e, err := NewEncoder(ch, encoders(cap(w.sem)))
	if err != nil {
		return nil, err
	}
	w.encs[ch] = e
	return e, nil
}

// chunkWindow is the zstd window of chunk frames.
const chunkWindow = 2 << 20

// encoders is how many chunks of a run are compressed at once: one per
// slot, at most one per CPU (a state holds up to 8 MiB of history). With a
// single state, the slots' EncodeAll calls waited for each other and kept
// a backup on one core for compression.
func encoders(slots int) int { return max(1, min(slots, runtime.GOMAXPROCS(0))) }

// WriteMemory is what a run's chunk writer holds at most, beside the store
// client: items chunkers (each the buffer of the chunk it is reading,
// chunkCap), slots chunks in work (each its plaintext in a buffer of
// chunkCap, its zstd frame and age object: about 2 × NormalSize on
// average), the idle buffers kept for reuse, and the zstd encoder states
// (per level in use, up to three at once, one per CPU: a window and a
// block of history and the level's match tables, encoderTables).
func WriteMemory(items, slots int, level string) int64 {
	if slots <= 0 {
		slots = defaultSlots
	}
	return int64(items)*chunkCap + int64(slots)*(chunkCap+2*NormalSize) + writeIdle + 3*int64(encoders(slots))*(chunkWindow+128<<10+encoderTables(level))
}

// encoderTables is the match tables of one zstd encoder state at level
// (klauspost v1.20, entries of 8 bytes: fastest 2^15; default 2^17 and
// 2^15; better 2^19 and 2^13; best 2^22 and 2^18). "auto" (or "")
// compresses chunks at fastest or default.
func encoderTables(level string) int64 {
	switch level {
	case "fastest":
		return 1 << 18
	case "better":
		return 1<<22 + 1<<16
	case "best":
		return 1<<25 + 1<<21
	}
	return 1<<20 + 1<<18
}

// NewEncoder returns a zstd encoder for whole chunks (EncodeAll: one frame
// per call, safe for concurrent use, up to concurrency calls at once: more
// wait for one to end), without the frame checksum as the archive format
// writes it.
func NewEncoder(ch archive.Choice, concurrency int) (*zstd.Encoder, error) {
	lv, err := archive.Level(ch.Level)
	if err != nil {
		return nil, err
	}
	// A 2 MiB window, as zstd -3 has, and the lower-memory history: an
	// encoder state keeps its window and one block of history (2.1 MiB)
	// instead of twice its window, for the same frames (a chunk is rarely
	// larger than the history, and then only the history moves more often),
	// and one state per CPU is kept per level in use (two or three with
	// "auto"). On the bench corpus a local backup's peak RSS went from
	// 134/158 MiB (256 MB / 4 GiB of corpus) to 127/132 MiB with it when
	// four levels were in use (session 23's trial of the dumps at default
	// and text at better), and by 5-10 MiB with two.
	opts := []zstd.EOption{zstd.WithEncoderLevel(lv), zstd.WithEncoderCRC(false), zstd.WithEncoderConcurrency(max(concurrency, 1)),
		zstd.WithWindowSize(chunkWindow), zstd.WithLowerEncoderMem(true)}
	if ch.RawLits {
		opts = append(opts, zstd.WithNoEntropyCompression(true))
	}
	return zstd.NewWriter(nil, opts...)
}

// put compresses plain into one zstd frame, encrypts it into one age file
// and uploads it under key. It owns plain (a wbufs buffer) and gives it
// back once compressed; the frame and the object are built in wbufs
// buffers too, the frame given back once encrypted, so a slot waiting on
// its upload holds only the object.
//
// With raw literals (ch.RawLits, "auto" on the item's first chunk), a
// frame whose literals Huffman coding would shrink (the XML after a file
// store's first presentation) is compressed again with Huffman coding, the
// smaller kept, and huff set: the item's next chunks start with Huffman
// coding, until one whose blocks the encoder left all raw (huff cleared).
// Text comes in runs of chunks, so each run is compressed twice only once.
func (w *Writer) put(ctx context.Context, key string, plain []byte, ch archive.Choice, huff *atomic.Bool) (catalog.Chunk, error) {
	size := int64(len(plain))
	first := ch
	if ch.RawLits && huff.Load() {
		first.RawLits = false
	}
	enc, err := w.encoder(first)
	if err != nil {
		wbufs.put(plain)
		return catalog.Chunk{}, err
	}
	z := enc.EncodeAll(plain, wbufs.get(maxFrame(len(plain)))[:0])
	switch {
	case !ch.RawLits:
	case !first.RawLits:
		if !archive.HuffmanCoded(z) {
			huff.Store(false)
		}
	case archive.ChunkWantsHuffman(z):
		huff.Store(true)
		if z, err = w.reencode(plain, z, archive.Choice{Level: ch.Level}); err != nil {
			wbufs.put(plain)
			return catalog.Chunk{}, err
		}
	}
	wbufs.put(plain)
	obj := &sliceWriter{b: wbufs.get(maxObject(len(z)))[:0]}
	defer func() { wbufs.put(obj.b) }()
	err = encrypt(obj, w.Recipients, z)
	wbufs.put(z)
	if err != nil {
		return catalog.Chunk{}, err
	}
	sum := sha256.Sum256(obj.b)
	c := catalog.Chunk{Key: key, PlainBytes: size, StoredBytes: int64(len(obj.b)), SHA256: hex.EncodeToString(sum[:])}
	if n := crypto.PrefixLen(obj.b); n > 0 {
		ps := sha256.Sum256(obj.b[:n])
		c.AgePrefixSHA256, c.AgePrefixBytes = hex.EncodeToString(ps[:]), int64(n)
	}
	opts := w.Opts
	opts.ContentType = "application/octet-stream"
	opts.SHA256 = c.SHA256 // lets a later run adopt it after a crash
	// A bytes.Buffer: the S3 and Azure clients send it from these bytes
	// (parts.Put), without a part buffer and a copy per chunk.
	info, err := w.Store.Put(ctx, key, bytes.NewBuffer(obj.b), opts)
	if err != nil && w.Rewrite[key] && errors.Is(err, upload.ErrLocked) {
		// Azure keeps an immutable blob's bytes (an S3 bucket with object
		// lock takes the PUT as a new version): the damaged chunk stays
		// until its lock ends, and no set can use this content under it.
		return c, fmt.Errorf("store damaged chunk %s again: the store refuses to write over it while it is locked (%w); every set naming it cannot restore this item: move the chunk key file %s aside so that the next backup names and stores every chunk anew (it uploads everything once more), or wait until the lock ends", key, err, w.keyFile())
	}
	if err != nil {
		return c, fmt.Errorf("upload chunk %s: %w", key, err)
	}
	if info.Size != 0 && info.Size != c.StoredBytes {
		return c, fmt.Errorf("upload chunk %s: store reports %d bytes, %d were sent", key, info.Size, c.StoredBytes)
	}
	return c, nil
}

// reencode compresses plain with ch and returns the smaller of that frame
// and z; the other goes back to wbufs.
func (w *Writer) reencode(plain, z []byte, ch archive.Choice) ([]byte, error) {
	enc, err := w.encoder(ch)
	if err != nil {
		wbufs.put(z)
		return nil, err
	}
	z2 := enc.EncodeAll(plain, wbufs.get(maxFrame(len(plain)))[:0])
	if len(z2) < len(z) {
		z, z2 = z2, z
	}
	wbufs.put(z2)
	return z, nil
}

// encrypt writes z to w as one age file.
func encrypt(w io.Writer, rs []crypto.Recipient, z []byte) error {
	aw, err := crypto.Encrypt(w, rs)
	if err != nil {
		return err
	}
	if _, err := aw.Write(z); err != nil {
		return fmt.Errorf("encrypt chunk: %w", err)
	}
	if err := aw.Close(); err != nil {
		return fmt.Errorf("encrypt chunk: %w", err)
	}
	return nil
}

// maxFrame bounds the zstd frame of n bytes (zstd's ZSTD_COMPRESSBOUND:
// incompressible blocks are stored raw, 3 bytes of header per 128 KiB
// block, plus the frame header), so EncodeAll does not grow its buffer.
func maxFrame(n int) int { return n + n>>8 + 1<<10 }

// maxObject bounds the age file of an n-byte plaintext: its header (about
// 100 bytes per recipient, so 64 KiB leaves room for hundreds) and 16 bytes
// of tag per 64 KiB payload chunk.
func maxObject(n int) int { return n + (n>>16+1)*16 + 64<<10 }

// sliceWriter appends what is written to b.
type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) {
	s.b = append(s.b, p...)
	return len(p), nil
}
