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
	"strings"
	"sync"

	"filippo.io/age"
	"github.com/klauspost/compress/zstd"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/internal/oserr"
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
	To    string
	Force bool
	// NamedAs, for a restore, is what the command named the set by when
	// not by its id ("latest", a prefix; "": by the id): a refusal that
	// says to restore other items then names the set by its id.
	NamedAs  string
	Parallel int // items at once (0: 2)
	Progress Progress
	// Checks remembers the chunks checked in this run (nil: one per Read).
	Checks *chunk.Checks
	// Verified, for a verify with Identities over several sets (verify
	// all), remembers the chunked items this run verified whole (nil:
	// none): see VerifiedItems.
	Verified *VerifiedItems
	// Include, for a restore, chooses the entries written by the item's
	// name and their names in it (nil: all); every file is still checked
	// against the index. An item of which nothing is chosen is not put in
	// place, and its report's Files, Folders and Links are 0.
	Include func(item, name string) bool
	// Entry, when set, is called with every folder, file and link of an
	// item as it is read (archive.ExtractOptions.Entry), from the item's
	// goroutine: items run Parallel at once.
	Entry func(item string, e archive.Entry)
	// Damaged, when set, is told of every chunk found damaged (its size,
	// SHA-256 or age header not the manifest's, or age refusing its
	// bytes), from the item's goroutine, and returns what the item's
	// error says next (DamagedRemedy: how the damage gets repaired).
	Damaged func(d *chunk.DamagedError) string
	// Warn, when set, is told what a restore goes on without (with
	// Force, a record of the restore folder it cannot read or write).
	Warn func(msg string)
}

// DamagedRemedy is what an item's error says about a damaged chunk when
// nothing recorded it: how to get it stored again.
func DamagedRemedy(host, key string) string {
	return "delete the object " + key + " and the next backup of " + host + " stores the chunk again" +
		" (where the store refuses the delete for a lock: S3 object lock takes a delete without a version id, which leaves a delete marker;" +
		" under Azure immutability or a legal hold, move the chunk key file <staging>/" + host + ".chunkkey on the backup host aside, and the next backup stores every chunk anew)"
}

// damagedItem names what a damaged chunk costs and its remedy.
func damagedItem(job ReadJob, it catalog.Item, err error) error {
	var de *chunk.DamagedError
	if !errors.As(err, &de) {
		return err
	}
	remedy := ""
	if job.Damaged != nil {
		remedy = job.Damaged(de)
	}
	if remedy == "" {
		remedy = DamagedRemedy(job.Manifest.Host, de.Key)
	}
	return fmt.Errorf("%w; every set naming this chunk cannot restore %s: %s", err, it.Name, remedy)
}

// ItemReport is the outcome for one item.
type ItemReport struct {
	Name  string `json:"name"`
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	Files int64  `json:"files"`
	// Folders and Links, for a restore and a verify that decoded the
	// item: the folders and links it holds (with Include, those chosen).
	Folders     int64    `json:"folders,omitempty"`
	Links       int64    `json:"links,omitempty"`
	PlainBytes  int64    `json:"plain_bytes"`
	StoredBytes int64    `json:"stored_bytes"`
	Warnings    []string `json:"warnings,omitempty"`
	Path        string   `json:"path,omitempty"`
	// InPlace: a restore moved the item into place (false when Include
	// chose nothing of it, and for a verify).
	InPlace bool `json:"-"`
	// installing: a restore began to move the item into place (the
	// item folder may hold part of it, InPlace or not).
	installing bool
	// Top, for a restore with Include: the first names at the top of the
	// item, to say what there is when nothing matched.
	Top []string `json:"-"`
}

// ItemDir is where an item lands under a restore folder.
func ItemDir(to, item string) string { return filepath.Join(to, item) }

// statRestoreDir is os.Stat (tests put the errors of a share whose server
// is away in its place: Wine gives none).
var statRestoreDir = os.Stat

// CheckRestoreDir refuses, unless force, to restore an item whose folder
// under dir (dir/<item>) exists and is not empty: a restore writes only
// there (through a partial folder beside it), so the rest of dir is left
// as it is, and an interrupted restore is finished with --item for the
// items it did not put in place, without --force. id and namedAs are as
// FinishHint's: the refusal's "--item for the other items" names the set
// by its id when the command did not (latest may be another set by then).
func CheckRestoreDir(dir string, items []string, force bool, id, namedAs string) error {
	fi, err := statRestoreDir(dir)
	if err != nil {
		// A file where a folder of the path should be: Linux says "not a
		// directory", Windows that the path does not exist.
		if f := fileInTheWay(dir); f != "" {
			return fmt.Errorf("restore folder %s: %s is a file, not a folder", dir, f)
		}
	}
	switch {
	case oserr.NetPathDown(err):
		// Go counts it as not existing: the folder may well be there,
		// and a restore into it would go past this check.
		return fmt.Errorf("restore folder %s: %s", dir, oserr.ServerAway)
	case oserr.Missing(err):
		return nil
	case err != nil:
		return fmt.Errorf("restore folder %s: %v", dir, err)
	case !fi.IsDir():
		return fmt.Errorf("restore folder %s: not a folder", dir)
	case force:
		return nil
	}
	var there []string
	for _, it := range items {
		p := ItemDir(dir, it)
		if _, err := os.Lstat(p); errors.Is(err, os.ErrNotExist) {
			continue
		}
		if ents, err := os.ReadDir(p); err == nil && len(ents) == 0 {
			continue // an empty folder: nothing to overwrite
		}
		there = append(there, it)
	}
	if len(there) > 0 {
		other := "--item for the other items"
		if notByID(id, namedAs) {
			other += " of set " + id + " (by that id, not " + namedAs + ")"
		}
		return fmt.Errorf("restore folder %s is not empty: it holds %s already (use --force to restore over it, or %s)", dir, strings.Join(there, ", "), other)
	}
	return nil
}

// checkItemMounts refuses, before anything is read and with or without
// --force, to restore an item whose folder under dir (dir/<item>) is on
// another filesystem than dir: a filesystem mounted there (on Windows a
// volume mounted into the folder). An item is written into its partial
// folder beside its place (dir/.lyncbackup-partial-<item>, on dir's
// filesystem) and moved in by a rename, which cannot cross filesystems:
// the restore would write the whole item where there may be no room for
// it, and then fail on the move. The partial folder is not put inside the
// item folder instead: a restore refuses an item folder that holds
// anything (without --force), and a killed restore would leave it there.
func checkItemMounts(dir string, items []string) error {
	var mounts, names []string
	for _, it := range items {
		p := ItemDir(dir, it)
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode()&os.ModeSymlink != 0 || !fi.IsDir() {
			continue // absent, or refused later for what it is
		}
		if otherFilesystem(dir, p) {
			mounts, names = append(mounts, p), append(names, it)
		}
	}
	if len(mounts) == 0 {
		return nil
	}
	what, partial, lands := mounts[0]+" is a mount point", filepath.Join(dir, partialPrefix+names[0]), "in "+names[0]+" inside it"
	if len(mounts) > 1 {
		what, partial, lands = strings.Join(mounts, ", ")+" are mount points", filepath.Join(dir, partialPrefix+"<item>"), "in a folder of its name inside it"
	}
	return fmt.Errorf("restore folder %s: %s (another %s than %s): an item is written beside its folder, in %s, and then renamed into it, which cannot cross %ss; restore with --to a folder on that %s (the item lands %s), or into %s without the mount",
		dir, what, fsWord, dir, partial, fsWord, fsWord, lands, dir)
}

// fileInTheWay returns the nearest existing ancestor of dir (dir
// excluded) when it is not a folder, else "".
func fileInTheWay(dir string) string {
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil {
			if fi.IsDir() {
				return ""
			}
			return p
		}
		if filepath.Dir(p) == p {
			return ""
		}
	}
}

func selectItems(m *catalog.Manifest, names []string) ([]catalog.Item, error) {
	if len(names) == 0 {
		return m.Items, nil
	}
	var out []catalog.Item
	seen := map[string]bool{}
	for _, n := range names {
		it, ok := m.Item(n)
		if !ok {
			it, ok = itemWithoutCase(m, n)
		}
		if !ok {
			var all []string
			for _, i := range m.Items {
				all = append(all, i.Name)
			}
			return nil, fmt.Errorf("set %s has no item %q (items: %v)", m.SetID, n, all)
		}
		// An item named twice is read once: two readers of one item
		// wrote into the same partial folder and both failed.
		if seen[it.Name] {
			continue
		}
		seen[it.Name] = true
		out = append(out, it)
	}
	return out, nil
}

// itemWithoutCase is the one item whose name is n but for case: names are
// unique without case (they are folders on Windows), and an admin there
// types --item CsConfig for csconfig. Sets of earlier versions may hold two
// such names: then none is chosen.
func itemWithoutCase(m *catalog.Manifest, n string) (catalog.Item, bool) {
	var found []catalog.Item
	for _, it := range m.Items {
		if strings.EqualFold(it.Name, n) {
			found = append(found, it)
		}
	}
	if len(found) != 1 {
		return catalog.Item{}, false
	}
	return found[0], true
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
	var rec *restoredFrom
	if job.To != "" {
		names := make([]string, len(items))
		for i, it := range items {
			names[i] = it.Name
		}
		// The folder itself first (a file in the way is named as such),
		// then the lock, then what the item folders hold: a restore
		// running there is named, not taken for a reason to use --force.
		if err := CheckRestoreDir(job.To, nil, true, "", ""); err != nil {
			return nil, err
		}
		unlock, err := lockRestoreDir(job.To)
		if err != nil {
			return nil, err
		}
		defer unlock()
		if err := checkItemMounts(job.To, names); err != nil {
			return nil, err
		}
		// The set the item folders in place came from first: the
		// same command run after a newer backup (latest) names both.
		rec, err = readRestoredFrom(job.To)
		if err != nil {
			if !job.Force {
				return nil, err
			}
			job.warn(err.Error() + "; --force restores without it, and it is not updated: it may not name the set of the items this restore writes")
			rec = nil
		}
		if !job.Force && rec != nil {
			if err := rec.check(job.Manifest, job.NamedAs); err != nil {
				return nil, err
			}
			if err := rec.checkOtherHosts(job.Manifest, names); err != nil {
				return nil, err
			}
		}
		if err := CheckRestoreDir(job.To, names, job.Force, job.Manifest.SetID, job.NamedAs); err != nil {
			return nil, err
		}
		if rec != nil {
			if err := rec.claim(job.Manifest, names); err != nil {
				if !job.Force {
					return nil, fmt.Errorf("restore folder %s: %w", job.To, err)
				}
				job.warn(fmt.Sprintf("restore folder %s: %v; --force restores without it: it may not name the set of the items this restore writes", job.To, err))
				rec = nil
			}
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
	if rec != nil {
		if err := rec.settle(job.Manifest, reports); err != nil {
			for i := range reports {
				if reports[i].InPlace {
					reports[i].Warnings = append(reports[i].Warnings, err.Error())
				}
			}
		}
	}
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

func (job ReadJob) warn(msg string) {
	if job.Warn != nil {
		job.Warn(msg)
	}
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
// everything it has observed, naming the object (as a chunk's errors do). Every file's own SHA-256 is checked by the
// archive reader against the archive's index.
func checkItem(it catalog.Item, o observed) error {
	if o.storedBytes != it.StoredBytes {
		return fmt.Errorf("stored object %s is %d bytes, the manifest says %d (truncated, extended or swapped)", it.Key, o.storedBytes, it.StoredBytes)
	}
	if o.sha256 != "" && o.sha256 != it.SHA256 {
		return fmt.Errorf("stored object %s: SHA-256 does not match the manifest (corrupted or swapped)", it.Key)
	}
	if err := checkPrefix(it, o.prefix); err != nil {
		return err
	}
	if o.decoded {
		return checkContents(it, o.files, o.plainBytes)
	}
	return nil
}

// checkContents holds the count and bytes of the files an item's archive
// held to the manifest's, for archive objects and chunked items alike.
func checkContents(it catalog.Item, files, plainBytes int64) error {
	holds, what := "the object holds", "object"
	if it.Chunked() {
		holds, what = "the chunks hold", "chunks"
	}
	if files != it.Files {
		return fmt.Errorf("%s %d files, the manifest says %d (manifest or %s altered)", holds, files, it.Files, what)
	}
	if plainBytes != it.PlainBytes {
		return fmt.Errorf("%s %d bytes of files, the manifest says %d (manifest or %s altered)", holds, plainBytes, it.PlainBytes, what)
	}
	return nil
}

// checkPrefix compares the SHA-256 of the object's age header and nonce
// with the manifest's, where the manifest records one.
func checkPrefix(it catalog.Item, got string) error {
	if it.AgePrefixBytes > 0 && got != it.AgePrefixSHA256 {
		return fmt.Errorf("stored object %s: age header does not match the manifest (swapped or corrupted)", it.Key)
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

// ErrInterrupted marks a backup, restore or verify stopped by a signal (Ctrl-C) or
// a cancelled context: it says nothing about the stored objects.
var ErrInterrupted = errors.New("interrupted")

// readItem restores or verifies one item, whatever its layout, and tells
// the progress when it starts and ends.
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
	if it.Chunked() {
		return readChunkedItem(ctx, job, it, rep, storedOnly)
	}
	return readObjectItem(ctx, job, it, rep, storedOnly)
}

// readObjectItem restores or verifies an item stored as one archive object:
// a verify without identity checks the stored bytes; otherwise the object
// is decrypted, decompressed and extracted (into nothing for a verify).
func readObjectItem(ctx context.Context, job ReadJob, it catalog.Item, rep ItemReport, storedOnly bool) ItemReport {
	fail := func(err error) ItemReport {
		rep.Error = err.Error()
		return rep
	}
	obj, err := openObject(ctx, job, it, storedOnly)
	if err != nil {
		return fail(err)
	}
	defer obj.close()
	if storedOnly {
		if err := obj.readStored(); err != nil {
			return fail(err)
		}
		rep.OK, rep.PlainBytes, rep.Files = true, it.PlainBytes, it.Files
		return rep
	}
	dr, dec, err := obj.decode(job)
	if err != nil {
		return fail(err)
	}
	st, err := extractItem(ctx, job, it, &rep, dec, func(err error) error { return obj.cause(err, dec) },
		func(st archive.ExtractStats) error { return obj.finish(dr, dec, st) })
	if err != nil {
		return fail(err)
	}
	rep.done(st, job.Include != nil)
	return rep
}

// done records a read item's figures: with Include, only what it chose
// (files, folders, links), which is what a restore wrote.
func (r *ItemReport) done(st archive.ExtractStats, include bool) {
	r.OK, r.Files, r.Folders, r.Links, r.PlainBytes, r.Warnings = true, st.Files, st.Dirs, st.Links, st.Bytes, st.Warnings
	if include {
		r.Files, r.Folders, r.Links, r.PlainBytes, r.Top = st.Written, st.ChosenDirs, st.ChosenLinks, st.WrittenBytes, st.Top
	}
}

// extractItem extracts an item's decoded stream r: into a fresh hidden
// folder beside its place for a restore (see prepareTarget), into nothing
// for a verify. check then reads what is left of the stream and holds the
// result to the manifest; only once it has passed does install move the
// item into place. cause names a failure of the extraction by where it
// happened. Archive objects and chunked items share it.
func extractItem(ctx context.Context, job ReadJob, it catalog.Item, rep *ItemReport, r io.Reader, cause func(error) error, check func(archive.ExtractStats) error) (st archive.ExtractStats, err error) {
	opt, partial, err := prepareTarget(job, it, rep)
	if err != nil {
		return archive.ExtractStats{}, err
	}
	defer func() {
		// Kept only when moving into place failed half-way: it then
		// holds the restored files that did not move yet. A clean-up
		// that fails is said: the next restore of the item has to
		// remove the folder first.
		if partial == "" {
			return
		}
		if cerr := archive.RemoveTree(partial); cerr != nil {
			if err != nil {
				err = fmt.Errorf("%w (and its partial folder could not be removed: %v)", err, cerr)
			} else {
				st.Warnings = append(st.Warnings, fmt.Sprintf("could not remove the partial folder %s: %v", partial, cerr))
			}
		}
	}()
	st, err = archive.Extract(ctx, r, opt)
	if err != nil {
		return st, cause(err)
	}
	if err := check(st); err != nil {
		return st, err
	}
	if job.Include != nil && st.Chosen == 0 {
		return st, nil // nothing chosen here: no item folder (the deferred cleanup removes the partial one)
	}
	if partial == "" {
		return st, nil // a verify
	}
	rep.installing = true
	if err := install(&partial, rep.Path, st.Parents); err != nil {
		return st, err
	}
	rep.InPlace = true
	return st, nil
}

// objectStream is an item's archive object being downloaded ahead of its
// reader, counted and hashed on its way (see openObject).
type objectStream struct {
	ctx context.Context
	it  catalog.Item
	rc  io.ReadCloser
	// dl records the download's own errors (network, store).
	dl     *errRecorder
	ra     *bufPipe
	raDone chan struct{}
	stop   func() bool // stops closing rc on ctx's end
	hr     *hashReader
	// zr decodes in a goroutine of its own that reads ahead from the
	// object: it is stopped before the rest of the object is drained.
	zr *zstd.Decoder
}

// openObject starts the download of an item's object ahead of its
// decoder (see bufPipe), so the network and the
// decrypt/decompress/write side work at once.
//
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
//
// Every file is checked against the archive's SHA-256 index, and its
// count and bytes against the manifest, whenever the object is decoded.
// checkItem holds the list; restore and verify share it.
func openObject(ctx context.Context, job ReadJob, it catalog.Item, storedOnly bool) (*objectStream, error) {
	rc, err := job.Store.Get(ctx, it.Key, 0, -1)
	if err != nil {
		return nil, getCause(ctx, err)
	}
	o := &objectStream{ctx: ctx, it: it, rc: rc, raDone: make(chan struct{})}
	// A Ctrl-C stops a download that waits on the network (or on a slow
	// share) at once: not every store's reader watches the context.
	o.stop = context.AfterFunc(ctx, func() { rc.Close() })
	// Each stage's errors are recorded where they happen: the download
	// (network, store), the decoder (age, zstd: the object itself) and,
	// inside the archive reader, the writes to the restore folder
	// (archive.WriteError). A failure is then reported by its real cause:
	// a full disk or a Ctrl-C is never called a damaged object.
	o.dl = &errRecorder{r: ctxReader{ctx, rc}}
	o.ra = newBufPipe(pipeChunks, pipeChunkSize)
	go func() {
		defer close(o.raDone)
		_, err := io.Copy(o.ra, o.dl)
		o.ra.CloseWrite(err)
	}()
	prog := func(n int64) { job.Progress.Stored(it.Name, n) }
	if storedOnly {
		prog = func(n int64) { job.Progress.Stored(it.Name, n); job.Progress.Read(it.Name, n) }
	}
	prefixOnly := job.To != "" && job.Identities != nil && it.AgePrefixBytes > 0
	o.hr = &hashReader{r: o.ra, prog: prog}
	if !prefixOnly {
		o.hr.h = sha256.New()
	}
	if it.AgePrefixBytes > 0 {
		o.hr.ph, o.hr.plimit = sha256.New(), it.AgePrefixBytes
	}
	return o, nil
}

// getCause names a failure to start an object's download.
func getCause(ctx context.Context, err error) error {
	if errors.Is(err, upload.ErrArchived) && upload.NamesThaw(err) { // S3's words say it
		return err
	}
	if errors.Is(err, upload.ErrArchived) {
		return fmt.Errorf("%w (run restore with --thaw to start bringing it back)", err)
	}
	if ctx.Err() != nil {
		return fmt.Errorf("%w before the download started", ErrInterrupted)
	}
	return fmt.Errorf("download: %w", err)
}

// close stops the decoder and the download and waits for the download's
// goroutine.
func (o *objectStream) close() {
	if o.zr != nil {
		o.zr.Close()
	}
	o.ra.CloseRead(nil)
	o.rc.Close()
	<-o.raDone
	o.stop()
	o.rc.Close()
}

// observed is what the object's bytes read so far show.
func (o *objectStream) observed() observed {
	hr := o.hr
	obs := observed{storedBytes: hr.n}
	if hr.ph != nil && hr.n >= hr.plimit {
		obs.prefix = hex.EncodeToString(hr.ph.Sum(nil))
	}
	if hr.h != nil {
		obs.sha256 = hex.EncodeToString(hr.h.Sum(nil))
	}
	return obs
}

func (o *objectStream) checkStored() error { return checkItem(o.it, o.observed()) }

// drain stops the decoder, then reads the rest of the object and checks it.
func (o *objectStream) drain() error {
	if o.zr != nil {
		o.zr.Close()
	}
	return drainCheck(o.hr, o.checkStored)
}

// readStored reads the whole object without decoding it and checks what
// the manifest says of its stored bytes (a verify without identity).
func (o *objectStream) readStored() error {
	if _, err := io.Copy(io.Discard, o.hr); err != nil {
		return o.cause(err, nil)
	}
	return o.checkStored()
}

// wrongIdentity names the set's recipients in a wrong-identity error, so
// that the admin can find the matching key: the set's public keys, never
// anything secret.
func wrongIdentity(job ReadJob, err error) error {
	if !errors.Is(err, crypto.ErrWrongIdentity) || job.Manifest == nil || len(job.Manifest.Recipients) == 0 {
		return err
	}
	rs := job.Manifest.Recipients
	more := ""
	if len(rs) > 3 {
		rs, more = rs[:3], fmt.Sprintf(" and %d more", len(rs)-3)
	}
	return fmt.Errorf("%w; the set is encrypted to %s%s", err, strings.Join(rs, ", "), more)
}

// decode decrypts and decompresses the object. It returns the decrypted
// stream and the decompressed one, whose errors dec records. A restore
// refuses a swapped object here, before any file is written.
func (o *objectStream) decode(job ReadJob) (dr io.Reader, dec *errRecorder, err error) {
	dr, err = crypto.Decrypt(o.hr, job.Identities)
	if err != nil {
		if errors.Is(err, crypto.ErrWrongIdentity) {
			return nil, nil, wrongIdentity(job, err)
		}
		if o.ctx.Err() != nil || o.dl.failed() != nil {
			return nil, nil, o.cause(err, nil)
		}
		if cerr := drainCheck(o.hr, o.checkStored); cerr != nil {
			return nil, nil, cerr
		}
		return nil, nil, fmt.Errorf("decrypt: %w", err)
	}
	// age has read its header and nonce (and a little more) by now: a
	// restore refuses a swapped object before it writes a file.
	if job.To != "" && o.hr.ph != nil && o.hr.n >= o.hr.plimit {
		if err := checkPrefix(o.it, o.observed().prefix); err != nil {
			return nil, nil, err
		}
	}
	o.zr, err = archive.Decompress(dr)
	if err != nil {
		return nil, nil, fmt.Errorf("decompress: %w", err)
	}
	return dr, &errRecorder{r: o.zr}, nil
}

// finish reads the object to its very end once the archive is extracted
// (the last age chunk authenticates the stream, and the stored hash covers
// every byte), then holds what was read and extracted to the manifest.
func (o *objectStream) finish(dr io.Reader, dec *errRecorder, st archive.ExtractStats) error {
	if _, err := io.Copy(io.Discard, dec); err != nil {
		return o.cause(err, dec)
	}
	if _, err := io.Copy(io.Discard, dr); err != nil {
		return o.cause(err, &errRecorder{err: err})
	}
	if _, err := io.Copy(io.Discard, o.hr); err != nil {
		return o.cause(err, nil)
	}
	obs := o.observed()
	obs.decoded, obs.files, obs.plainBytes = true, st.Files, st.Bytes
	return checkItem(o.it, obs)
}

// cause names a failure of reading the object by where it happened (see
// localCause); dec, when set, records the decoder's errors: a decoder that
// failed on the bytes themselves means a damaged object, and the stored
// size and hashes name how, when they can.
func (o *objectStream) cause(err error, dec *errRecorder) error {
	interrupted := func() string {
		return fmt.Sprintf(": %d of %d stored bytes read (nothing of this item was moved into place)", o.hr.n, o.it.StoredBytes)
	}
	if c := localCause(o.ctx, err, interrupted, o.dl.failed()); c != nil {
		return c
	}
	damaged := dec != nil && dec.failed() != nil
	if cerr := o.drain(); cerr != nil {
		return cerr
	}
	if damaged {
		return fmt.Errorf("decrypt/decompress: %w (object damaged or truncated)", err)
	}
	return err
}

// localCause names a failure of an item's read when its cause is not the
// stored bytes, in this order: a cancelled context (ErrInterrupted, then
// interrupted), a write to the restore folder, the download itself
// (download: the download's own error, nil for none), an entry refused for
// safety or for passing the manifest's size. It returns nil otherwise: the
// stored bytes failed, and the caller says how. Archive objects and chunked
// items share it, so a Ctrl-C or a full disk is never a damaged object.
// interrupted is called only when the context is done.
func localCause(ctx context.Context, err error, interrupted func() string, download error) error {
	var we *archive.WriteError
	var ue *archive.UnsafeError
	var le *archive.LimitError
	switch {
	case ctx.Err() != nil:
		return fmt.Errorf("%w%s", ErrInterrupted, interrupted())
	case errors.As(err, &we):
		return fmt.Errorf("restore folder: %w", we)
	case download != nil:
		return fmt.Errorf("download: %w", download)
	case errors.As(err, &ue), errors.As(err, &le):
		return err
	}
	return nil
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
