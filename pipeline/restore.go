package pipeline

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"sync"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/upload"
)

// ReadJob describes a restore or a verify of one set.
type ReadJob struct {
	Store    upload.Store
	Manifest *catalog.Manifest
	// Items limits the work to these item names (empty: all).
	Items []string
	// Identities decrypt; nil for a verify that only checks stored hashes.
	Identities []age.Identity
	// To is the restore folder; empty means verify (nothing is written).
	To       string
	Force    bool
	Parallel int // items at once (0: 2)
	Progress Progress
	// Checks remembers the chunks checked in this run (nil: one per Read).
	Checks *chunk.Checks
}

// ItemReport is the outcome for one item.
type ItemReport struct {
	Name        string   `json:"name"`
	OK          bool     `json:"ok"`
	Error       string   `json:"error,omitempty"`
	Files       int64    `json:"files"`
	PlainBytes  int64    `json:"plain_bytes"`
	StoredBytes int64    `json:"stored_bytes"`
	Warnings    []string `json:"warnings,omitempty"`
	Path        string   `json:"path,omitempty"`
}

// ItemDir is where an item lands under a restore folder.
func ItemDir(to, item string) string { return filepath.Join(to, item) }

// CheckRestoreDir refuses a non-empty target unless force.
func CheckRestoreDir(dir string, force bool) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("restore folder %s: %v", dir, err)
	}
	if len(ents) > 0 && !force {
		return fmt.Errorf("restore folder %s is not empty (use --force to restore into it anyway)", dir)
	}
	return nil
}

func selectItems(m *catalog.Manifest, names []string) ([]catalog.Item, error) {
	if len(names) == 0 {
		return m.Items, nil
	}
	var out []catalog.Item
	for _, n := range names {
		it, ok := m.Item(n)
		if !ok {
			var all []string
			for _, i := range m.Items {
				all = append(all, i.Name)
			}
			return nil, fmt.Errorf("set %s has no item %q (items: %v)", m.SetID, n, all)
		}
		out = append(out, it)
	}
	return out, nil
}

// Read restores (To set) or verifies (To empty) the items of a set, in
// parallel. It returns a report per item and an error if any item failed.
func Read(ctx context.Context, job ReadJob) ([]ItemReport, error) {
	if job.Progress == nil {
		job.Progress = NoProgress{}
	}
	items, err := selectItems(job.Manifest, job.Items)
	if err != nil {
		return nil, err
	}
	if job.To != "" {
		if err := CheckRestoreDir(job.To, job.Force); err != nil {
			return nil, err
		}
	}
	if pl, ok := job.Progress.(Planner); ok {
		var total int64
		for _, it := range items {
			if job.Identities == nil {
				total += it.StoredBytes // a verify without a key counts stored bytes
			} else {
				total += it.PlainBytes
			}
		}
		pl.Plan(len(items), total)
	}
	par := job.Parallel
	if par <= 0 {
		par = 2
	}
	if job.Checks == nil {
		job.Checks = &chunk.Checks{}
	}
	reports := make([]ItemReport, len(items))
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			reports[i] = readItem(ctx, job, it)
		}()
	}
	wg.Wait()
	var failed []string
	for _, r := range reports {
		if !r.OK {
			failed = append(failed, r.Name+": "+r.Error)
		}
	}
	if len(failed) == 1 {
		return reports, errors.New(failed[0])
	}
	if len(failed) > 1 {
		return reports, fmt.Errorf("%d items failed; first: %s", len(failed), failed[0])
	}
	return reports, nil
}

// hashReader counts what is read through it, hashes the first plimit
// bytes into ph (the age prefix) and, when h is set, every byte into h.
type hashReader struct {
	r      io.Reader
	h      hash.Hash // nil: the whole object is not hashed
	ph     hash.Hash // nil: no prefix recorded in the manifest
	plimit int64
	n      int64
	prog   func(int64)
}

func (hr *hashReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	if hr.h != nil {
		hr.h.Write(p[:n])
	}
	if hr.ph != nil && hr.n < hr.plimit {
		hr.ph.Write(p[:min(int64(n), hr.plimit-hr.n)])
	}
	hr.n += int64(n)
	if hr.prog != nil && n > 0 {
		hr.prog(int64(n))
	}
	return n, err
}

// observed is what reading one stored object found, for checkItem.
type observed struct {
	storedBytes int64
	prefix      string // hex SHA-256 of the age prefix ("": not read)
	sha256      string // hex SHA-256 of the whole object ("": not hashed)
	// decoded: the object was decrypted and unpacked, so files and
	// plainBytes were counted.
	decoded           bool
	files, plainBytes int64
}

// checkItem is the one list of what the manifest promises about an item,
// shared by restore and verify (with or without an identity): each checks
// everything it has observed. Every file's own SHA-256 is checked by the
// archive reader against the archive's index.
func checkItem(it catalog.Item, o observed) error {
	if o.storedBytes != it.StoredBytes {
		return fmt.Errorf("stored object is %d bytes, the manifest says %d (truncated, extended or swapped)", o.storedBytes, it.StoredBytes)
	}
	if o.sha256 != "" && o.sha256 != it.SHA256 {
		return errors.New("stored object's SHA-256 does not match the manifest (corrupted or swapped)")
	}
	if err := checkPrefix(it, o.prefix); err != nil {
		return err
	}
	if o.decoded {
		if o.files != it.Files {
			return fmt.Errorf("the object holds %d files, the manifest says %d (manifest or object altered)", o.files, it.Files)
		}
		if o.plainBytes != it.PlainBytes {
			return fmt.Errorf("the object holds %d bytes of files, the manifest says %d (manifest or object altered)", o.plainBytes, it.PlainBytes)
		}
	}
	return nil
}

// checkPrefix compares the SHA-256 of the object's age header and nonce
// with the manifest's, where the manifest records one.
func checkPrefix(it catalog.Item, got string) error {
	if it.AgePrefixBytes > 0 && got != it.AgePrefixSHA256 {
		return errors.New("stored object's age header does not match the manifest (swapped or corrupted)")
	}
	return nil
}

// errRecorder keeps the first error (other than EOF) its reader returned,
// so that a failure can be traced to the stage where it happened.
type errRecorder struct {
	r   io.Reader
	mu  sync.Mutex
	err error
}

func (e *errRecorder) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.mu.Lock()
		if e.err == nil {
			e.err = err
		}
		e.mu.Unlock()
	}
	return n, err
}

func (e *errRecorder) failed() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.err
}

// ctxReader stops a copy once ctx is done (not every store's reader
// watches the context).
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// ErrInterrupted marks a restore or verify stopped by a signal (Ctrl-C) or
// a cancelled context: it says nothing about the stored objects.
var ErrInterrupted = errors.New("interrupted")

func readItem(ctx context.Context, job ReadJob, it catalog.Item) (rep ItemReport) {
	rep = ItemReport{Name: it.Name, StoredBytes: it.StoredBytes}
	// A verify without identities checks the stored bytes only: its
	// progress is counted in those (else the bar stays at 0% until the
	// item ends).
	storedOnly := job.Identities == nil
	if storedOnly {
		job.Progress.ItemStart(it.Name, it.StoredBytes)
	} else {
		job.Progress.ItemStart(it.Name, it.PlainBytes)
	}
	defer func() {
		var err error
		if !rep.OK {
			err = errors.New(rep.Error)
		}
		job.Progress.ItemDone(it.Name, err)
	}()
	fail := func(err error) ItemReport {
		rep.Error = err.Error()
		return rep
	}
	if it.Chunked() {
		return readChunkedItem(ctx, job, it, rep, storedOnly)
	}
	rc, err := job.Store.Get(ctx, it.Key, 0, -1)
	if err != nil {
		if errors.Is(err, upload.ErrArchived) {
			return fail(fmt.Errorf("%w (run restore with --thaw to start bringing it back)", err))
		}
		if ctx.Err() != nil {
			return fail(fmt.Errorf("%w before the download started", ErrInterrupted))
		}
		return fail(fmt.Errorf("download: %w", err))
	}
	defer rc.Close()
	// A Ctrl-C stops a download that waits on the network (or on a slow
	// share) at once: not every store's reader watches the context.
	defer context.AfterFunc(ctx, func() { rc.Close() })()
	// Each stage's errors are recorded where they happen: the download
	// (network, store), the decoder (age, zstd: the object itself) and,
	// inside the archive reader, the writes to the restore folder
	// (archive.WriteError). A failure is then reported by its real cause:
	// a full disk or a Ctrl-C is never called a damaged object.
	dl := &errRecorder{r: ctxReader{ctx, rc}}
	// Download ahead of the decoder (see bufPipe), so the network and the
	// decrypt/decompress/write side work at once.
	ra := newBufPipe(pipeChunks, pipeChunkSize)
	raDone := make(chan struct{})
	go func() {
		defer close(raDone)
		_, err := io.Copy(ra, dl)
		ra.CloseWrite(err)
	}()
	defer func() { ra.CloseRead(nil); rc.Close(); <-raDone }()
	prog := func(n int64) { job.Progress.Stored(it.Name, n) }
	if storedOnly {
		prog = func(n int64) { job.Progress.Stored(it.Name, n); job.Progress.Read(it.Name, n) }
	}
	// What proves the stored object is the one the manifest names:
	//   - a restore of an item whose manifest records the age prefix: the
	//     object's size, the SHA-256 of its age header and payload nonce
	//     (checked as soon as age has parsed them, before a file is
	//     written), and age authenticating every chunk, with the final-chunk
	//     mark, under the file and payload keys that prefix fixes. Only a
	//     holder of an identity could make other chunks pass, so these admit
	//     exactly the bytes written, without hashing the whole object a
	//     second time (~15% of a restore's CPU, like restic, which also
	//     relies on its authenticated encryption when it restores);
	//   - a verify, and older manifests: the SHA-256 of the whole object,
	//     and the age prefix too where the manifest records it.
	// Every file is checked against the archive's SHA-256 index, and its
	// count and bytes against the manifest, whenever the object is decoded.
	// checkItem holds the list; restore and verify share it.
	prefixOnly := job.To != "" && job.Identities != nil && it.AgePrefixBytes > 0
	hr := &hashReader{r: ra, prog: prog}
	if !prefixOnly {
		hr.h = sha256.New()
	}
	if it.AgePrefixBytes > 0 {
		hr.ph, hr.plimit = sha256.New(), it.AgePrefixBytes
	}
	obs := func() observed {
		o := observed{storedBytes: hr.n}
		if hr.ph != nil && hr.n >= hr.plimit {
			o.prefix = hex.EncodeToString(hr.ph.Sum(nil))
		}
		if hr.h != nil {
			o.sha256 = hex.EncodeToString(hr.h.Sum(nil))
		}
		return o
	}
	checkStored := func() error { return checkItem(it, obs()) }
	// zr decodes in a goroutine of its own that reads ahead from the
	// object: it is stopped before the rest of the object is drained.
	var zr *zstd.Decoder
	drain := func() error {
		if zr != nil {
			zr.Close()
		}
		return drainCheck(hr, checkStored)
	}
	// cause names a failure of the pipe by where it happened.
	cause := func(err error, dec *errRecorder) error {
		var we *archive.WriteError
		var ue *archive.UnsafeError
		var le *archive.LimitError
		switch {
		case ctx.Err() != nil:
			return fmt.Errorf("%w: %d of %d stored bytes read (nothing of this item was moved into place)", ErrInterrupted, hr.n, it.StoredBytes)
		case errors.As(err, &we):
			return fmt.Errorf("restore folder: %w", we)
		case dl.failed() != nil:
			return fmt.Errorf("download: %w", dl.failed())
		case errors.As(err, &ue), errors.As(err, &le):
			return err
		case dec != nil && dec.failed() != nil:
			// The decoder failed on the bytes themselves: the object is
			// damaged. The stored size and hashes name how, when they can.
			if cerr := drain(); cerr != nil {
				return cerr
			}
			return fmt.Errorf("decrypt/decompress: %w (object damaged or truncated)", err)
		}
		if cerr := drain(); cerr != nil {
			return cerr
		}
		return err
	}
	if storedOnly {
		if _, err := io.Copy(io.Discard, hr); err != nil {
			return fail(cause(err, nil))
		}
		if err := checkStored(); err != nil {
			return fail(err)
		}
		rep.OK, rep.PlainBytes, rep.Files = true, it.PlainBytes, it.Files
		return rep
	}
	dr, err := crypto.Decrypt(hr, job.Identities)
	if err != nil {
		if errors.Is(err, crypto.ErrWrongIdentity) {
			return fail(err)
		}
		if ctx.Err() != nil || dl.failed() != nil {
			return fail(cause(err, nil))
		}
		if cerr := drainCheck(hr, checkStored); cerr != nil {
			return fail(cerr)
		}
		return fail(fmt.Errorf("decrypt: %w", err))
	}
	// age has read its header and nonce (and a little more) by now: a
	// restore refuses a swapped object before it writes a file.
	if job.To != "" && hr.ph != nil && hr.n >= hr.plimit {
		if err := checkPrefix(it, obs().prefix); err != nil {
			return fail(err)
		}
	}
	zr, err = archive.Decompress(dr)
	if err != nil {
		return fail(fmt.Errorf("decompress: %w", err))
	}
	defer zr.Close()
	dec := &errRecorder{r: zr}
	// The manifest's plain_bytes caps the file content written: an object
	// that expands beyond it (a decompression bomb) stops at once.
	opt := archive.ExtractOptions{CapBytes: true, MaxBytes: it.PlainBytes, Progress: func(n int64) { job.Progress.Read(it.Name, n) }}
	// Every item is written into a fresh hidden folder beside its place
	// and moved into place only once every file hash, the age
	// authentication and the stored object's hash have all passed: a
	// swapped or damaged object never leaves files that look restored,
	// and with --force never touches an earlier restore. Nothing under
	// --to is followed through a link (see archive.Install).
	partial := ""
	if job.To != "" {
		rep.Path = ItemDir(job.To, it.Name)
		if fi, err := os.Lstat(rep.Path); err == nil {
			if fi.Mode()&os.ModeSymlink != 0 {
				return fail(fmt.Errorf("restore into %s: it is a symlink, and a restore never writes through one (remove it, or restore elsewhere)", rep.Path))
			}
			if !fi.IsDir() {
				return fail(fmt.Errorf("restore into %s: it is a file, not a folder (move it away first)", rep.Path))
			}
		}
		partial = filepath.Join(job.To, partialPrefix+it.Name)
		if err := os.RemoveAll(partial); err != nil {
			return fail(fmt.Errorf("clear %s: %w", partial, err))
		}
		opt.Dir = partial
		defer func() {
			// Kept only when moving into place failed half-way: it then
			// holds the restored files that did not move yet.
			if partial != "" {
				os.RemoveAll(partial)
			}
		}()
	}
	st, err := archive.Extract(ctx, dec, opt)
	if err != nil {
		return fail(cause(err, dec))
	}
	// Read to the very end: the last age chunk authenticates the stream,
	// and the stored hash covers every byte.
	if _, err := io.Copy(io.Discard, dec); err != nil {
		return fail(cause(err, dec))
	}
	if _, err := io.Copy(io.Discard, dr); err != nil {
		return fail(cause(err, &errRecorder{err: err}))
	}
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return fail(cause(err, nil))
	}
	o := obs()
	o.decoded, o.files, o.plainBytes = true, st.Files, st.Bytes
	if err := checkItem(it, o); err != nil {
		return fail(err)
	}
	if partial != "" {
		if err := archive.Install(partial, rep.Path); err != nil {
			var ie *archive.InstallError
			if errors.As(err, &ie) && ie.Moved {
				err = fmt.Errorf("%w (part of the item is in place; the rest is in %s)", err, partial)
				partial = ""
			}
			return fail(err)
		}
		partial = ""
	}
	rep.OK, rep.Files, rep.PlainBytes, rep.Warnings = true, st.Files, st.Bytes, st.Warnings
	return rep
}

// partialPrefix names an item folder still being restored.
const partialPrefix = ".lyncbackup-partial-"

// drainCheck reads the rest of the stored object and checks its hash, so
// that a corrupted object is reported as such rather than as a decode error.
func drainCheck(hr *hashReader, check func() error) error {
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return nil
	}
	return check()
}
