package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"filippo.io/age"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/internal/faultpoint"
	"github.com/lyncbackup/lyncbackup/upload"
)

// VerifyAllJob is a verify of every committed set of one host, oldest
// first, each as a verify of that set alone (Read without To) checks it.
type VerifyAllJob struct {
	Store upload.Store
	// Sets are the store's sets as catalog.List gives them (NoChunks will
	// do: each set's manifest is read whole when its turn comes).
	Sets []catalog.Set
	Host string
	// Items limits each set to its own items of these names (as --item
	// matches them: case aside); a set holding none of them is left out.
	Items []string
	// Identities decrypt (nil: the stored objects are checked only).
	Identities []age.Identity
	Parallel   int
	// Progress, when set, gives each set's display and its stop.
	Progress func() (Progress, func())
	// Lacking is told of a set left out since it holds none of Items;
	// Deleted of one a prune deleted while the run was on its way to it;
	// Verified of every set verified, with its item reports and, when it
	// failed, why ("verify HOST/ID: …"). Each may be nil.
	Lacking  func(s catalog.Set)
	Deleted  func(s catalog.Set)
	Verified func(s catalog.Set, reports []ItemReport, err error)
	// Damaged is ReadJob.Damaged.
	Damaged func(d *chunk.DamagedError) string
}

// VerifyAllResult is what a verify of all sets did.
type VerifyAllResult struct {
	Sets    int      // verified, the failed ones included
	Failed  []string // ids of the sets that failed
	Deleted []string // ids of the sets deleted while the run was on its way
}

// VerifyAll checks every committed set of job.Host, oldest first. A host's
// sets share most of their chunks: without identities each chunk object is
// read once for the whole run (chunk.Checks); with them an item whose entry
// is identical to one verified whole earlier in the run is not decrypted
// again (VerifiedItems), while a changed item is read whole. A damaged
// manifest is a failed set, and so is an archived one (ArchivedSetError);
// an incomplete set (no manifest: running, or never finished) is not a
// backup and is left out. A set whose manifest is gone when its read
// failed was deleted by a prune meanwhile: it is left out, not failed.
// The error names every set that failed, or says there was none to
// verify; an interrupted run returns ErrInterrupted at once.
func VerifyAll(ctx context.Context, job VerifyAllJob) (VerifyAllResult, error) {
	var res VerifyAllResult
	cat := catalog.Catalog{Store: job.Store, NoChunks: true}
	checks, verified := &chunk.Checks{}, &VerifiedItems{}
	lacking := 0
	for _, s := range job.Sets {
		if s.Host != job.Host || (s.Manifest == nil && s.ManifestErr == nil) {
			continue
		}
		items := job.Items
		if len(items) > 0 && s.Manifest != nil {
			// Each set's own items of those names (sets made before an
			// exporter was added hold none of them, and are left out).
			if items = itemsOf(s.Manifest, job.Items); len(items) == 0 {
				if job.Lacking != nil {
					job.Lacking(s)
				}
				lacking++
				continue
			}
		}
		faultpoint.Reach(ctx, "verify-set", s.ID)
		res.Sets++
		var reports []ItemReport
		err := s.ManifestErr
		if err == nil {
			s.Manifest, err = cat.LoadManifest(ctx, s.Host, s.ID) // with its chunk entries
		}
		// The manifest's error (not an item's: an item object in an
		// archive tier is Read's to name).
		err = ArchivedSet(s.Host, s.ID, err)
		if err == nil {
			var prog Progress
			stop := func() {}
			if job.Progress != nil {
				prog, stop = job.Progress()
			}
			rj := ReadJob{Store: job.Store, Manifest: s.Manifest, Items: items, Parallel: job.Parallel, Identities: job.Identities, Checks: checks, Verified: verified, Progress: prog, Damaged: job.Damaged}
			reports, err = Read(ctx, rj)
			stop()
		}
		if ctx.Err() != nil {
			return VerifyAllResult{}, ErrInterrupted
		}
		if err != nil && s.ManifestErr == nil {
			// A prune (after another backup, say) may delete an old set
			// while this run is on its way to it: the set is gone, not
			// damaged. Its manifest goes first.
			if _, serr := job.Store.Stat(ctx, catalog.ManifestKey(s.Host, s.ID)); errors.Is(serr, upload.ErrNotFound) {
				res.Sets--
				res.Deleted = append(res.Deleted, s.ID)
				if job.Deleted != nil {
					job.Deleted(s)
				}
				continue
			}
		}
		if err != nil {
			err = fmt.Errorf("verify %s/%s: %w", s.Host, s.ID, err)
			res.Failed = append(res.Failed, s.ID)
		}
		if job.Verified != nil {
			job.Verified(s, reports, err)
		}
	}
	switch {
	case res.Sets == 0 && lacking > 0:
		return res, fmt.Errorf("no set of %s holds the item(s) %s", job.Host, strings.Join(job.Items, ", "))
	case res.Sets == 0:
		return res, fmt.Errorf("host %s has no committed set to verify", job.Host)
	case len(res.Failed) > 0:
		return res, fmt.Errorf("verify all: %d of %d sets of %s failed: %s", len(res.Failed), res.Sets, job.Host, strings.Join(res.Failed, ", "))
	}
	return res, nil
}

// ArchivedSetError is the error of a set whose manifest cannot be read
// because it is in an archive tier (catalog.Set.Archived): what it is and
// the command that brings it back, as list says it, instead of the store's
// raw error. It is a set verify cannot read, as a damaged one: a failure.
type ArchivedSetError struct {
	Host, ID string
	Err      error
}

func (e *ArchivedSetError) Error() string {
	return fmt.Sprintf("set %s/%s is archived: its manifest is in an archive tier (written before lyncbackup kept manifests online) and nothing in it can be verified until it is thawed: run restore %s --thaw, then verify it again", e.Host, e.ID, e.ID)
}

func (e *ArchivedSetError) Unwrap() error { return e.Err }

// ArchivedSet is err, the error of reading set host/id's manifest, or,
// when it says the manifest is in an archive tier, an ArchivedSetError.
func ArchivedSet(host, id string, err error) error {
	if !errors.Is(err, upload.ErrArchived) {
		return err
	}
	return &ArchivedSetError{Host: host, ID: id, Err: err}
}

// itemsOf is the names, of those given, that m holds (a name matches an
// item whose name differs only in case, as --item does).
func itemsOf(m *catalog.Manifest, names []string) []string {
	var out []string
	for _, n := range names {
		for _, it := range m.Items {
			if strings.EqualFold(it.Name, n) {
				out = append(out, n)
				break
			}
		}
	}
	return out
}
