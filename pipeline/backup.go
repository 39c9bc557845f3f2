package pipeline

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/faultpoint"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Version is the tool version written into manifests (set by cmd).
var Version = "dev"

// BackupJob is everything a backup run needs.
type BackupJob struct {
	Host        string
	Store       upload.Store
	Exporters   []exporters.Exporter
	Discovery   exporters.Discovery
	Recipients  []crypto.Recipient
	Compression string
	// ZstdConcurrency per item (0: automatic).
	ZstdConcurrency int
	// Parallel items packed and uploaded at once (0: 2).
	Parallel int
	// Staging is the work folder; the run makes its own subfolder inside.
	Staging     string
	KeepStaging bool
	// Avoid are more folders no path exporter packs (a local destination);
	// the staging folder is always one.
	Avoid []string
	// Lock, when set, is applied to every object (retain until set time + days).
	LockMode  string
	LockDays  int
	LegalHold bool
	// LockZone is the time zone the lock's days are counted in: the
	// retention policy's (retention.timezone), whose min_age counts its
	// days there (nil: UTC; upload.LockUntil).
	LockZone *time.Location
	Progress Progress
	Log      *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	// LeaseTTL is how long the run's lease stays live without a refresh
	// (it is refreshed every LeaseTTL/4); 0 means catalog.MaxLeaseTTL. Use
	// catalog.LeaseTTL(grace).
	LeaseTTL time.Duration
	// Format is FormatChunked or FormatArchive ("" means archive).
	Format string
	// ChunkKey names and cuts chunks (required for FormatChunked).
	ChunkKey *chunk.Key
	// ChunkOptions tune the markers that keep prune off this run's chunks.
	ChunkOptions chunk.Options
	// ChunkParallel chunks stored at once (0: chunk.Writer's default, 8).
	ChunkParallel int
	// DamagedFile is where a verify or restore on this host recorded
	// damaged chunks (chunk.DamagedFile; "" for none); the store's own
	// records (chunk.DamagedPrefix) are read too. Those chunks are stored
	// again when the run needs them, and their records cleared once the
	// set is committed.
	DamagedFile string
	// KeyFile is the chunk key's file, for messages.
	KeyFile string
}

// Formats a backup can write (docs/FORMAT.md).
const (
	FormatChunked = "chunked"
	FormatArchive = "archive"
)

// BackupResult is what a run did.
type BackupResult struct {
	Manifest *catalog.Manifest // nil when nothing was committed
	// Partial is true when some exporters or items failed but others were committed.
	Partial bool
	// Durations is how long each item took to pack and upload, by item
	// name, failed items included (for the report and the metrics).
	Durations map[string]time.Duration
	// Chunk counters of a chunked run; KnownChunks is how many chunks of
	// the host the destination held when it started.
	NewChunks, ReusedChunks, UploadedBytes, KnownChunks int64
}

// ErrNothingStored is returned when every exporter failed (as a
// *NothingStoredError when there were failures).
var ErrNothingStored = errors.New("nothing was backed up")

// NothingStoredError is a run in which every exporter or item failed: no
// set, and every failure for the report (the JSON document, the metrics
// and the mail listed none of them on the worst night).
type NothingStoredError struct {
	Failures []catalog.Failure
}

func (e *NothingStoredError) Error() string {
	msg := fmt.Sprintf("%v: %s", ErrNothingStored, e.Failures[0].Error)
	if n := len(e.Failures) - 1; n > 0 {
		msg += fmt.Sprintf(" (and %d more failure(s))", n)
	}
	return msg
}

func (e *NothingStoredError) Is(target error) bool { return target == ErrNothingStored }

// Backup runs the exporters and streams every item to the store, then
// commits the manifest. Items that fail are recorded as failures: if some
// items were stored the set is committed as partial.
func Backup(ctx context.Context, job BackupJob) (BackupResult, error) {
	job = job.withDefaults()
	start := job.Now().UTC()
	setID := catalog.NewSetID(start)
	m, putOpts := newManifest(job, setID, start, lockFrom(ctx, job, start))
	runDir, cleanup, err := stageRun(job, setID)
	if err != nil {
		return BackupResult{}, err
	}
	defer cleanup()

	// The lease is the set's first object: from now on every other process
	// sees that this set is being written, however long the run takes.
	lease, err := catalog.Acquire(ctx, job.Store, job.Host, setID, start, job.LeaseTTL, m.Tool, job.Log)
	if err != nil {
		return BackupResult{}, err
	}
	defer releaseLease(ctx, lease, job.Log)
	faultpoint.Reach(ctx, "lease-written", setID)

	store := func(ctx context.Context, it exporters.Item) (catalog.Item, error) {
		return storeItem(ctx, job, setID, it, putOpts, runDir)
	}
	commitCheck := func() error { return nil }
	var cw *chunk.Writer
	var cr *chunkedRun
	if job.Format == FormatChunked {
		cr, err = beginChunked(ctx, job, setID, putOpts)
		if err != nil {
			return BackupResult{}, err
		}
		defer cr.end(ctx, job.Log)
		cw = cr.w
		store = func(ctx context.Context, it exporters.Item) (catalog.Item, error) {
			return storeChunkedItem(ctx, job, cw, setID, it, putOpts, runDir)
		}
		// Commit only while the marker is fresh: a run whose marker went
		// stale may have had its chunks swept.
		commitCheck = cr.mark.Healthy
	}

	out, err := runItems(ctx, job, exporters.Env{Staging: runDir, Log: job.Log, Avoid: append([]string{job.Staging}, job.Avoid...)}, store)
	if err != nil {
		return BackupResult{}, err
	}
	if err := ctx.Err(); err != nil {
		return BackupResult{}, fmt.Errorf("backup %w (set %s left incomplete)", ErrInterrupted, setID)
	}
	if err := seal(m, out, job.Now().UTC()); err != nil {
		return BackupResult{}, err
	}
	if err := commit(ctx, job.Store, m, commitCheck, putOpts); err != nil {
		return BackupResult{}, err
	}
	if cr != nil {
		cr.clearDamaged(ctx, job)
	}
	res := BackupResult{Manifest: m, Partial: len(out.failures) > 0, Durations: out.durations}
	if cw != nil {
		res.NewChunks, res.ReusedChunks, res.UploadedBytes = cw.NewChunks.Load(), cw.ReusedChunks.Load(), cw.UploadedBytes.Load()
		res.KnownChunks = int64(len(cw.Known))
	}
	return res, nil
}

// withDefaults fills in the job's clock, progress, log and parallelism.
func (job BackupJob) withDefaults() BackupJob {
	if job.Now == nil {
		job.Now = time.Now
	}
	if job.Progress == nil {
		job.Progress = NoProgress{}
	}
	if job.Log == nil {
		job.Log = slog.New(slog.DiscardHandler)
	}
	if job.Parallel <= 0 {
		job.Parallel = 2
	}
	return job
}

// lockFrom is the time a new set's lock counts its days from: the set's
// start, or the store's present time (upload.Clock) when that is later.
// The store enforces the lock in its own clock: a machine whose clock was
// three days behind the store's locked its sets for N-3 days of the
// store's. A machine ahead of the store locks for a little longer than N
// days. A store that cannot tell its time: the start (this machine's
// clock), with a warning.
func lockFrom(ctx context.Context, job BackupJob, start time.Time) time.Time {
	if job.LockDays <= 0 {
		return start
	}
	now, err := catalog.StoreNow(ctx, job.Store)
	if err != nil {
		job.Log.Warn("the store did not tell its time: the set's lock is counted from this machine's clock", "err", err)
		return start
	}
	if now.After(start) {
		return now.UTC()
	}
	return start
}

// newManifest starts the manifest of a run, and the options every object
// of the set is stored with (its lock, when the job asks for one: N days
// from lockFrom, rounded up to the whole second, upload.LockUntil).
func newManifest(job BackupJob, setID string, start, lockFrom time.Time) (*catalog.Manifest, upload.PutOptions) {
	m := &catalog.Manifest{
		Format: catalog.FormatArchive, Tool: "lyncbackup " + Version, Host: job.Host, SetID: setID,
		Start: start, Compression: job.Compression, Discovery: map[string]any(job.Discovery),
	}
	for _, r := range job.Recipients {
		m.Recipients = append(m.Recipients, r.Text)
	}
	var putOpts upload.PutOptions
	if job.LockDays > 0 {
		putOpts.RetainUntil = upload.LockUntil(lockFrom, job.LockDays, job.LockZone)
		putOpts.LegalHold = job.LegalHold
		m.Lock = &catalog.Lock{Mode: job.LockMode, RetainUntil: putOpts.RetainUntil, LegalHold: job.LegalHold}
	}
	return m, putOpts
}

// stageRun makes the run's own folder in the staging folder, once dead
// runs' folders are gone, and marks it as this process's. cleanup releases
// it and removes it, or with KeepStaging keeps it.
func stageRun(job BackupJob, setID string) (runDir string, cleanup func(), err error) {
	if err := os.MkdirAll(job.Staging, 0o700); err != nil {
		return "", nil, fmt.Errorf("create staging folder %s: %w", job.Staging, err)
	}
	removeDeadRuns(job.Staging, job.Log)
	runDir, err = os.MkdirTemp(job.Staging, "run-"+setID+"-")
	if err != nil {
		return "", nil, fmt.Errorf("create staging folder: %w", err)
	}
	owner, err := ownRun(runDir)
	if err != nil {
		os.RemoveAll(runDir)
		return "", nil, fmt.Errorf("create staging folder: %w", err)
	}
	return runDir, func() {
		// A folder kept on purpose is marked so that no later run takes it
		// for a dead run's. The owner is released before the folder is
		// removed (Windows cannot remove an open file).
		if job.KeepStaging {
			os.WriteFile(filepath.Join(runDir, keptName), []byte("backup --keep-staging\n"), 0o600)
		}
		owner.release()
		if !job.KeepStaging {
			os.RemoveAll(runDir)
		}
	}, nil
}

// releaseLease deletes the run's lease, on every path: a failed run's set
// is then an ordinary incomplete set that prune collects after the grace
// period.
func releaseLease(ctx context.Context, lease *catalog.Holder, log *slog.Logger) {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := lease.Release(rctx); err != nil {
		log.Warn("could not delete the backup's lease (prune deletes it with the set)", "err", err)
	}
}

// chunkedRun is what a chunked run holds while it stores items.
type chunkedRun struct {
	mark *chunk.Marker
	w    *chunk.Writer
	// damaged: the recorded damaged chunks this run stores again when it
	// needs them; spent: records that no longer match any chunk.
	damaged, spent map[chunk.Damage]bool
}

// clearDamaged, once the set is committed, clears the records of the
// damaged chunks the run stored again, and the spent ones. A failure only
// warns: a record left no longer matches the newest manifest's entry.
func (c *chunkedRun) clearDamaged(ctx context.Context, job BackupJob) {
	done := map[chunk.Damage]bool{}
	for d := range c.spent {
		done[d] = true
	}
	for _, k := range c.w.Rewritten() {
		for d := range c.damaged {
			if d.Key == k {
				done[d] = true
				job.Log.Info("damaged chunk stored again", "chunk", k)
			}
		}
	}
	if err := chunk.ClearDamaged(ctx, job.Store, job.DamagedFile, job.Host, done); err != nil {
		job.Log.Warn("could not clear the records of damaged chunks stored again (they are ignored from now on)", "err", err)
	}
}

// beginChunked writes the run's backup marker, then learns which chunks
// the host already has.
func beginChunked(ctx context.Context, job BackupJob, setID string, putOpts upload.PutOptions) (*chunkedRun, error) {
	if job.ChunkKey == nil {
		return nil, errors.New("chunked backup without a chunk key")
	}
	// The marker first: from here on a prune leaves this host's chunks
	// alone, or this run waits for the prune to end before it looks at
	// which chunks exist.
	mark, err := chunk.BeginBackup(ctx, job.Store, job.Host, setID, job.ChunkOptions)
	if err != nil {
		return nil, err
	}
	damaged, err := chunk.LoadDamaged(ctx, job.Store, job.DamagedFile, job.Host)
	if err != nil {
		mark.Release(ctx)
		return nil, err
	}
	known, unread, d, err := knownChunks(ctx, job.Store, job.Host, damaged)
	if err != nil {
		mark.Release(ctx)
		return nil, err
	}
	spent := d.Spent
	for dm, err := range d.Unconfirmed {
		job.Log.Warn("a chunk recorded as damaged could not be read again to confirm it: it is reused as it is this time", "chunk", dm.Key, "err", err)
	}
	rewrite := map[string]bool{}
	for dm := range damaged {
		if _, unsure := d.Unconfirmed[dm]; !spent[dm] && !unsure {
			rewrite[dm.Key] = true
			job.Log.Warn("a verify or restore found this chunk damaged, and it still is: it is stored again if this run needs it", "chunk", dm.Key)
		}
	}
	if len(unread) > 0 {
		spent = nil // the record may match an entry of the set not read
	}
	for _, s := range unread {
		job.Log.Warn("a committed manifest of this host could not be read: the chunks it may name are reused as they are, never stored again over",
			"set", s.ID, "err", s.ManifestErr)
	}
	w := &chunk.Writer{Store: job.Store, Host: job.Host, Key: job.ChunkKey, Recipients: job.Recipients,
		Compression: job.Compression, Opts: putOpts, LockSlack: upload.ExtendSlack(job.LockDays), Known: known, Parallel: job.ChunkParallel, Live: mark.Healthy,
		KeepOrphans: len(unread) > 0, Rewrite: rewrite, KeyFile: job.KeyFile}
	return &chunkedRun{mark: mark, w: w, damaged: damaged, spent: spent}, nil
}

// end logs the run's chunk counters and releases its marker.
func (c *chunkedRun) end(ctx context.Context, log *slog.Logger) {
	log.Info("chunks", "new", c.w.NewChunks.Load(), "reused", c.w.ReusedChunks.Load(), "uploaded", c.w.UploadedBytes.Load())
	c.mark.Release(ctx)
}

// itemStore stores one exported item (storeItem, storeChunkedItem).
type itemStore func(context.Context, exporters.Item) (catalog.Item, error)

type itemResult struct {
	item catalog.Item
	err  error
	took time.Duration
}

// runOutcome is what the exporters and the item workers of a run did.
type runOutcome struct {
	items     []catalog.Item // stored, in the order they were done
	failures  []catalog.Failure
	durations map[string]time.Duration // by item, failed items included
}

// runItems runs the exporters one after another (they share the Lync
// server); their items are stored by job.Parallel workers while the next
// export runs. It fails only when two stored items have the same name.
func runItems(ctx context.Context, job BackupJob, env exporters.Env, store itemStore) (runOutcome, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := runOutcome{durations: map[string]time.Duration{}}
	var fmu sync.Mutex
	addFailure := func(f catalog.Failure) {
		fmu.Lock()
		out.failures = append(out.failures, f)
		fmu.Unlock()
	}
	items := make(chan exporters.Item)
	go exportAll(ctx, job, env, items, addFailure)
	results := make(chan itemResult)
	var wg sync.WaitGroup
	for range job.Parallel {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range items {
				results <- storeOne(ctx, job.Log, store, it)
			}
		}()
	}
	go func() { wg.Wait(); close(results) }()
	seen := map[string]string{} // folded name → as stored
	for r := range results {
		out.durations[r.item.Name] = r.took
		if r.err != nil {
			addFailure(catalog.Failure{Exporter: r.item.Name, Kind: r.item.Kind, Error: r.err.Error()})
			continue
		}
		if first, ok := seen[strings.ToLower(r.item.Name)]; ok {
			// Stop the exports and the items in work, and wait for them:
			// a worker left sending its result would never end.
			cancel()
			for range results {
			}
			if first != r.item.Name {
				// One name on Windows and SMB: one object in a local store
				// there, and one folder for both items in a restore.
				return out, fmt.Errorf("two items are named %q and %q, which differ only in case (one folder on Windows and SMB shares)", first, r.item.Name)
			}
			return out, fmt.Errorf("two items are named %q", r.item.Name)
		}
		seen[strings.ToLower(r.item.Name)] = r.item.Name
		out.items = append(out.items, r.item)
	}
	return out, nil
}

// exportAll runs the exporters one after another and sends their items,
// until ctx ends; a failed exporter is recorded, and the items it did
// produce along with its error are still sent.
func exportAll(ctx context.Context, job BackupJob, env exporters.Env, items chan<- exporters.Item, addFailure func(catalog.Failure)) {
	defer close(items)
	for _, ex := range job.Exporters {
		if ctx.Err() != nil {
			return
		}
		job.Log.Info("export", "exporter", ex.Name(), "kind", ex.Kind())
		its, err := ex.Export(ctx, env)
		if err != nil {
			job.Log.Error("exporter failed", "exporter", ex.Name(), "err", err)
			addFailure(catalog.Failure{Exporter: ex.Name(), Kind: ex.Kind(), Error: err.Error()})
		}
		for i, it := range its {
			select {
			case items <- it:
			case <-ctx.Done():
				// The items no worker took are cleaned up here: a SQL
				// backup's .bak in the SQL server's share (tens of GB,
				// outside staging) was left there for good.
				for _, left := range its[i:] {
					if left.Cleanup != nil {
						if err := left.Cleanup(); err != nil {
							job.Log.Warn("cleanup after item", "item", left.Name, "err", err)
						}
					}
				}
				return
			}
		}
	}
}

// storeOne stores one item, times it, and runs the item's cleanup.
func storeOne(ctx context.Context, log *slog.Logger, store itemStore, it exporters.Item) itemResult {
	t0 := time.Now()
	ci, err := store(ctx, it)
	took := time.Since(t0)
	if err == nil {
		faultpoint.Reach(ctx, "item-stored", it.Name)
	}
	if it.Cleanup != nil {
		if cerr := it.Cleanup(); cerr != nil {
			log.Warn("cleanup after item", "item", it.Name, "err", cerr)
		}
	}
	return itemResult{item: ci, err: err, took: took}
}

// seal completes the manifest of a run: its items in name order, its
// failures, its status (partial when anything failed), its end and format.
// A run that stored nothing has no set: ErrNothingStored.
func seal(m *catalog.Manifest, out runOutcome, end time.Time) error {
	if len(out.items) == 0 {
		if len(out.failures) > 0 {
			return &NothingStoredError{Failures: out.failures}
		}
		return ErrNothingStored
	}
	m.Items = out.items
	sortItems(m.Items)
	m.Failures = out.failures
	m.Status = catalog.StatusComplete
	if len(out.failures) > 0 {
		m.Status = catalog.StatusPartial
	}
	m.End = end
	if m.End.Before(m.Start) {
		m.End = m.Start
	}
	if m.HasChunks() {
		m.Format = catalog.FormatVersion
	}
	return nil
}

// commit writes the manifest once the set is checked: a chunked run's
// marker must still be fresh (commitCheck) and every object the manifest
// names must be in the store at the size written (checkStored).
func commit(ctx context.Context, st upload.Store, m *catalog.Manifest, commitCheck func() error, putOpts upload.PutOptions) error {
	faultpoint.Reach(ctx, "before-check", m.SetID)
	if err := commitCheck(); err != nil {
		return fmt.Errorf("set %s not committed: %w", m.SetID, err)
	}
	if err := checkStored(ctx, st, m); err != nil {
		return err
	}
	faultpoint.Reach(ctx, "before-commit", m.SetID)
	cat := catalog.Catalog{Store: st}
	return cat.Commit(ctx, m, putOpts)
}

// checkStored lists the set's folder and refuses to commit a manifest that
// would name an object that is gone or not the size written: whatever
// removed it (a prune that took the run for dead, a person), the set would
// not restore, and an incomplete set is honest where a damaged one is not.
func checkStored(ctx context.Context, st upload.Store, m *catalog.Manifest) error {
	found := map[string]int64{}
	err := st.List(ctx, catalog.SetPrefix(m.Host, m.SetID), func(o upload.ObjectInfo) error {
		found[o.Key] = o.Size
		return nil
	})
	if err != nil {
		return fmt.Errorf("check the stored objects of set %s before commit: %w", m.SetID, err)
	}
	chunks := map[string]int64{}
	if m.HasChunks() {
		// One listing of the host's chunks: every chunk the manifest names
		// must be there, whatever removed one (the markers keep prunes
		// off; a person or another tool may not).
		err := st.List(ctx, catalog.ChunkPrefix(m.Host), func(o upload.ObjectInfo) error {
			chunks[o.Key] = o.Size
			return nil
		})
		if err != nil {
			return fmt.Errorf("check the chunks of set %s before commit: %w", m.SetID, err)
		}
	}
	for _, it := range m.Items {
		want := it.StoredBytes
		if it.Chunked() {
			want = int64(len(catalog.ChunkList(it.Chunks)))
			for _, c := range it.Chunks {
				if size, ok := chunks[c.Key]; !ok || size != c.StoredBytes {
					return fmt.Errorf("chunk %s of item %s is missing or not the size recorded before the commit (deleted or changed by another process?): set %s not committed", c.Key, it.Name, m.SetID)
				}
			}
		}
		size, ok := found[it.Key]
		switch {
		case !ok:
			return fmt.Errorf("object %s of item %s vanished before the commit (deleted by a prune or another process?): set %s not committed", it.Key, it.Name, m.SetID)
		case size != want:
			return fmt.Errorf("object %s of item %s is %d bytes, %d were written (changed by another process?): set %s not committed", it.Key, it.Name, size, want, m.SetID)
		}
	}
	return nil
}

func sortItems(items []catalog.Item) {
	for i := 1; i < len(items); i++ {
		for j := i; j > 0 && items[j].Name < items[j-1].Name; j-- {
			items[j], items[j-1] = items[j-1], items[j]
		}
	}
}

// A restore downloads ahead of the decoder by up to pipeChunks*pipeChunkSize
// bytes per item (see openObject).
const (
	pipeChunks    = 3
	pipeChunkSize = 1 << 20
)

// storeItem streams one item: tar → zstd → age → (hash) → store.Put.
func storeItem(ctx context.Context, job BackupJob, setID string, it exporters.Item, opts upload.PutOptions, runDir string) (catalog.Item, error) {
	key := catalog.ItemKey(job.Host, setID, it.Name)
	ci := catalog.Item{Name: it.Name, Kind: it.Kind, Key: key, Meta: it.Meta}
	return storeStream(ctx, job, it, ci, runDir, &archiveSink{job: job, key: key, opts: opts, name: it.Name})
}

// itemSink is what storing an item does in one format (archiveSink,
// chunkSink); storeStream does the rest.
type itemSink interface {
	// pack writes the item's tar stream, which tar produces, to w through
	// the format's own layers; it runs in the packer's goroutine.
	pack(w io.Writer, tar func(io.Writer) error) error
	// send stores what comes out of the pipe, while pack runs.
	send(ctx context.Context, r io.Reader) error
	// finish runs once pack and send both ended without error: the
	// format's last checks and objects, and its fields of ci. It returns
	// the format's attributes of the item's log line.
	finish(ctx context.Context, ci *catalog.Item) ([]any, error)
}

// storeStream stores one item in the format of sink. The item's tar stream
// (archive.Write of its roots) is packed through sink.pack into a pipe, in
// a goroutine of its own, while sink.send stores the other end:
//   - a pack that fails closes the pipe with its error, so the store's
//     read fails and its upload is aborted (nothing stays under the key);
//   - a store that fails, or returns before the end of the stream, closes
//     the read side and cancels the pack, so the packer is never left
//     blocked; the packer's own error (an unreadable file) is reported
//     when it has one, else the store's;
//   - the run's context reaches both sides, so a cancelled run stops the
//     pack and the upload alike.
//
// The item is returned, and only then counted as stored, once both sides
// ended cleanly and sink.finish's checks passed; every failure is the
// item's, named after it.
func storeStream(ctx context.Context, job BackupJob, it exporters.Item, ci catalog.Item, runDir string, sink itemSink) (catalog.Item, error) {
	if !catalog.ValidName(it.Name) {
		return ci, fmt.Errorf("item name %q is not valid", it.Name)
	}
	job.Progress.ItemStart(it.Name, -1)
	fail := func(err error) (catalog.Item, error) {
		err = fmt.Errorf("item %s: %w", it.Name, err)
		job.Progress.ItemDone(it.Name, err)
		return ci, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sizeItem(ctx, job.Progress, it)
	roots := make([]archive.Root, len(it.Roots))
	for i, r := range it.Roots {
		roots[i] = archive.Root{Path: r.Path, Name: r.Name}
	}
	var st archive.Stats
	tar := func(w io.Writer) (err error) {
		st, err = archive.Write(ctx, w, roots, archive.Options{
			Skip: it.Skip, Tolerant: it.Tolerant, TempDir: runDir,
			Progress: func(n int64) { job.Progress.Read(it.Name, n) },
		})
		return err
	}
	// A plain io.Pipe: the stores buffer their parts themselves (S3, Azure),
	// and a buffered pipe here measured slower on S3 (one more copy).
	pr, pw := io.Pipe()
	prodErr := make(chan error, 1)
	go func() {
		err := sink.pack(pw, tar)
		pw.CloseWithError(err)
		prodErr <- err
	}()
	err := sink.send(ctx, pr)
	// A store that returns before the end of the stream must not leave the
	// packer blocked on the pipe.
	pr.CloseWithError(errStoreStopped)
	if err != nil {
		cancel()
		// The producer's own error (an unreadable file) explains more than
		// the store's "pipe closed".
		if perr := <-prodErr; perr != nil && !errors.Is(perr, context.Canceled) && !errors.Is(perr, io.ErrClosedPipe) && !errors.Is(perr, errStoreStopped) {
			err = perr
		}
		return fail(err)
	}
	if perr := <-prodErr; perr != nil {
		// Cannot happen with a correct store (it would have seen the error),
		// but never trust a store that ended before the data did.
		return fail(perr)
	}
	attrs, err := sink.finish(ctx, &ci)
	if err != nil {
		return fail(err)
	}
	ci.PlainBytes, ci.Files, ci.Warnings = st.Bytes, st.Files, append(slices.Clip(it.Warnings), st.Warnings...)
	attrs = append(append([]any{"item", it.Name, "files", st.Files, "bytes", st.Bytes}, attrs...), "warnings", len(st.Warnings))
	job.Log.Info("stored", attrs...)
	job.Progress.ItemDone(it.Name, nil)
	return ci, nil
}

// archiveSink stores an item as one object (format "archive"): the tar
// stream through zstd and age, hashed as the store consumes it.
type archiveSink struct {
	job  BackupJob
	key  string
	opts upload.PutOptions
	name string

	hc     *hashReader
	info   upload.ObjectInfo
	level  string // the zstd level used (auto chooses per item)
	prefix []byte // the age header and nonce
}

func (s *archiveSink) pack(w io.Writer, tar func(io.Writer) error) error {
	enc, err := crypto.Encrypt(w, s.job.Recipients)
	if err != nil {
		return err
	}
	s.prefix = enc.Prefix()
	zw, err := archive.Compress(enc, s.job.Compression, s.job.ZstdConcurrency)
	if err != nil {
		return err
	}
	if err := tar(zw); err != nil {
		zw.Close()
		return err
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("compress: %w", err)
	}
	s.level = zw.Level()
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encrypt: %w", err)
	}
	return nil
}

// send hashes exactly the bytes the store consumed.
func (s *archiveSink) send(ctx context.Context, r io.Reader) (err error) {
	s.hc = &hashReader{r: r, h: sha256.New(), prog: func(n int64) { s.job.Progress.Stored(s.name, n) }}
	s.info, err = s.job.Store.Put(ctx, s.key, s.hc, s.opts)
	return err
}

func (s *archiveSink) finish(_ context.Context, ci *catalog.Item) ([]any, error) {
	if s.info.Size != 0 && s.info.Size != s.hc.n {
		return nil, fmt.Errorf("store reports %d bytes, %d were sent", s.info.Size, s.hc.n)
	}
	ci.StoredBytes = s.hc.n
	ci.SHA256 = hex.EncodeToString(s.hc.h.Sum(nil))
	if len(s.prefix) > 0 {
		sum := sha256.Sum256(s.prefix)
		ci.AgePrefixSHA256, ci.AgePrefixBytes = hex.EncodeToString(sum[:]), int64(len(s.prefix))
	}
	ci.Compression = s.level
	return []any{"stored", s.hc.n, "zstd", s.level}, nil
}

// errStoreStopped is what the packer sees when the store gave up first; the
// store's own error is the one worth reporting then.
var errStoreStopped = errors.New("the store stopped reading")

// StagingDir returns the default staging folder under dir for a host.
func StagingDir(dir, host string) string { return filepath.Join(dir, host) }

// knownChunks reads the host's committed manifests and lists its chunks
// once. unread are the host's sets whose manifest exists but could not be
// read (damaged, archived, a read error): the chunks they name look like
// orphans to this run.
func knownChunks(ctx context.Context, st upload.Store, host string, damaged map[chunk.Damage]bool) (known map[string]chunk.Known, unread []catalog.Set, d *chunk.Discovery, err error) {
	// Each manifest's chunk entries go to the discovery as it is read, and
	// are not kept: a host's sets name mostly the same chunks.
	d = chunk.NewDiscovery(host)
	d.Damaged = damaged
	sets, err := (&catalog.Catalog{Store: st, NoChunks: true, Each: d.Add, Host: host}).List(ctx)
	if err != nil {
		return nil, nil, nil, err
	}

	for _, s := range sets {
		if s.Host == host && s.ManifestErr != nil {
			unread = append(unread, s)
		}
	}
	known, err = d.Known(ctx, st)
	return known, unread, d, err
}

// storeChunkedItem streams one item: tar → chunker → per new chunk zstd →
// age → store.Put, then the item's chunk list (docs/FORMAT.md).
func storeChunkedItem(ctx context.Context, job BackupJob, cw *chunk.Writer, setID string, it exporters.Item, opts upload.PutOptions, runDir string) (catalog.Item, error) {
	key := catalog.ChunksKey(job.Host, setID, it.Name)
	ci := catalog.Item{Name: it.Name, Kind: it.Kind, Key: key, Meta: it.Meta, Layout: catalog.LayoutChunked}
	return storeStream(ctx, job, it, ci, runDir, &chunkSink{job: job, cw: cw, key: key, opts: opts, name: it.Name})
}

// chunkSink stores an item as chunks (format "chunked"): the tar stream as
// it is to the chunk writer, then the item's chunk list object.
type chunkSink struct {
	job  BackupJob
	cw   *chunk.Writer
	key  string
	opts upload.PutOptions
	name string

	ws chunk.ItemStats
}

func (s *chunkSink) pack(w io.Writer, tar func(io.Writer) error) error { return tar(w) }

func (s *chunkSink) send(ctx context.Context, r io.Reader) (err error) {
	s.ws, err = s.cw.Write(ctx, r, func(n int64) { s.job.Progress.Stored(s.name, n) })
	return err
}

// finish writes the chunk list, once every chunk it names is stored.
func (s *chunkSink) finish(ctx context.Context, ci *catalog.Item) ([]any, error) {
	list := catalog.ChunkList(s.ws.Chunks)
	lopts := s.opts
	lopts.ContentType = "text/plain"
	info, err := s.job.Store.Put(ctx, s.key, bytes.NewReader(list), lopts)
	if err != nil {
		return nil, fmt.Errorf("upload chunk list: %w", err)
	}
	if info.Size != 0 && info.Size != int64(len(list)) {
		return nil, fmt.Errorf("upload chunk list: store reports %d bytes, %d were sent", info.Size, len(list))
	}
	sum := sha256.Sum256(list)
	ci.SHA256 = hex.EncodeToString(sum[:])
	ci.Chunks = s.ws.Chunks
	for _, c := range s.ws.Chunks {
		ci.StoredBytes += c.StoredBytes
	}
	ci.Compression = s.ws.Level
	return []any{"chunks", len(s.ws.Chunks), "zstd", s.ws.Level}, nil
}
