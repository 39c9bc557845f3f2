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

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
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
	par := job.Parallel
	if par <= 0 {
		par = 2
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

// hashReader hashes and counts what is read through it; with limit > 0 it
// hashes only the first limit bytes (and still counts them all).
type hashReader struct {
	r     io.Reader
	h     hash.Hash
	n     int64
	limit int64
	prog  func(int64)
}

func (hr *hashReader) Read(p []byte) (int, error) {
	n, err := hr.r.Read(p)
	switch {
	case hr.limit <= 0:
		hr.h.Write(p[:n])
	case hr.n < hr.limit:
		hr.h.Write(p[:min(int64(n), hr.limit-hr.n)])
	}
	hr.n += int64(n)
	if hr.prog != nil && n > 0 {
		hr.prog(int64(n))
	}
	return n, err
}

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
	rc, err := job.Store.Get(ctx, it.Key, 0, -1)
	if err != nil {
		if errors.Is(err, upload.ErrArchived) {
			return fail(fmt.Errorf("%w (run restore with --thaw to start bringing it back)", err))
		}
		return fail(fmt.Errorf("download: %w", err))
	}
	defer rc.Close()
	// Download ahead of the decoder (see bufPipe), so the network and the
	// decrypt/decompress/write side work at once.
	ra := newBufPipe(pipeChunks, pipeChunkSize)
	raDone := make(chan struct{})
	go func() {
		defer close(raDone)
		_, err := io.Copy(ra, rc)
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
	//   - a verify, and older manifests: the SHA-256 of the whole object.
	// Every file is checked against the archive's SHA-256 index either way.
	prefixOnly := job.To != "" && job.Identities != nil && it.AgePrefixBytes > 0
	hr := &hashReader{r: ra, h: sha256.New(), prog: prog}
	if prefixOnly {
		hr.limit = it.AgePrefixBytes
	}
	checkPrefix := func() error {
		if got := hex.EncodeToString(hr.h.Sum(nil)); got != it.AgePrefixSHA256 {
			return errors.New("stored object's age header does not match the manifest (swapped or corrupted)")
		}
		return nil
	}
	checkStored := func() error {
		if hr.n != it.StoredBytes {
			return fmt.Errorf("stored object is %d bytes, the manifest says %d (truncated, extended or swapped)", hr.n, it.StoredBytes)
		}
		if prefixOnly {
			return checkPrefix()
		}
		if got := hex.EncodeToString(hr.h.Sum(nil)); got != it.SHA256 {
			return errors.New("stored object's SHA-256 does not match the manifest (corrupted or swapped)")
		}
		return nil
	}
	if storedOnly {
		if _, err := io.Copy(io.Discard, hr); err != nil {
			return fail(fmt.Errorf("download: %w", err))
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
		if cerr := drainCheck(hr, checkStored); cerr != nil {
			return fail(cerr)
		}
		return fail(fmt.Errorf("decrypt: %w", err))
	}
	// age has read its header and nonce (and a little more) by now.
	if prefixOnly && hr.n >= hr.limit {
		if err := checkPrefix(); err != nil {
			return fail(err)
		}
	}
	zr, err := archive.Decompress(dr)
	if err != nil {
		return fail(fmt.Errorf("decompress: %w", err))
	}
	defer zr.Close()
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
	st, err := archive.Extract(ctx, zr, opt)
	if err != nil {
		// A damaged object usually shows first as an age or zstd error;
		// the stored hash names the cause better when it is available.
		if cerr := drainCheck(hr, checkStored); cerr != nil {
			return fail(cerr)
		}
		return fail(describeReadErr(err))
	}
	// Read to the very end: the last age chunk authenticates the stream,
	// and the stored hash covers every byte.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return fail(describeReadErr(err))
	}
	if _, err := io.Copy(io.Discard, dr); err != nil {
		return fail(describeReadErr(err))
	}
	if _, err := io.Copy(io.Discard, hr); err != nil {
		return fail(fmt.Errorf("download: %w", err))
	}
	if err := checkStored(); err != nil {
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

func describeReadErr(err error) error {
	var ue *archive.UnsafeError
	var le *archive.LimitError
	if errors.As(err, &ue) || errors.As(err, &le) {
		return err
	}
	return fmt.Errorf("decrypt/decompress: %w (object damaged or truncated)", err)
}
