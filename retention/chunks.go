package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/upload"
)

// sweepChunks deletes, per host in scope, the chunks no remaining set names,
// and extends the locks of the chunks kept sets use (docs/FORMAT.md, "Prune
// and concurrent backups"). It runs after the forgotten sets are deleted.
func (a *Applier) sweepChunks(ctx context.Context, inStore func(Decision) time.Time, ds []Decision, byKey map[string]*catalog.Set, locker upload.Locker, rep *Report, log *slog.Logger) {
	var hosts []string
	seen := map[string]bool{}
	for _, d := range ds {
		if !seen[d.Host] {
			seen[d.Host] = true
			hosts = append(hosts, d.Host)
		}
	}
	opts := a.ChunkOptions
	if opts.Now == nil && a.Now != nil {
		opts.Now = a.Now
	}
	for _, host := range hosts {
		if ctx.Err() != nil {
			return
		}
		has, err := chunk.HasChunks(ctx, a.Store, host)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		if !has {
			continue
		}
		var mark *chunk.Marker
		var stale []upload.ObjectInfo
		sweep := true
		if !a.DryRun {
			mark, stale, err = chunk.BeginSweep(ctx, a.Store, host, opts)
			if errors.Is(err, chunk.ErrBackupRunning) {
				// No chunk is deleted; their locks are still extended
				// below (that deletes nothing, so it needs no marker):
				// a prune that always meets a backup must not let the
				// chunks of kept sets fall out of their lock.
				note := fmt.Sprintf("chunks of %s not swept: %v; the next prune collects them", host, err)
				rep.Notes = append(rep.Notes, note)
				log.Info("chunk sweep skipped", "host", host, "why", err.Error())
				sweep, err = false, nil
			}
			if err != nil {
				rep.Errors = append(rep.Errors, err.Error())
				continue
			}
		}
		// List again (after the marker: a backup that committed before
		// its marker went away is in this listing), taking each
		// manifest's chunks as it is read rather than every set's
		// entries at once. A dry run deleted nothing: the sets the policy
		// keeps are what remains.
		refs := chunk.NewReferences(host)
		need := map[string]time.Time{} // each chunk locked as long as the longest-kept set using it
		hold := map[string]bool{}      // the chunks of kept sets under legal hold
		var mu sync.Mutex
		keep := map[string]Decision{}
		for _, d := range ds {
			if d.Host == host && d.Keep {
				keep[d.ID] = d
			}
		}
		each := func(m *catalog.Manifest) {
			d, kept := keep[m.SetID]
			if m.Host != host || (a.DryRun && !kept) {
				return
			}
			refs.Add(m)
			if locker == nil || !kept {
				return
			}
			u := inStore(d)
			if u.IsZero() || !a.locksChunks(d, byKey[host+"/"+m.SetID]) {
				u = time.Time{}
			}
			held, err := a.stillHeld(ctx, locker, m, byKey[host+"/"+m.SetID])
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				rep.Errors = append(rep.Errors, err.Error())
			}
			if u.IsZero() && !held {
				return
			}
			for _, it := range m.Items {
				for _, c := range it.Chunks {
					if u.After(need[c.Key]) {
						need[c.Key] = u
					}
					if held {
						hold[c.Key] = true
					}
				}
			}
		}
		all, err := (&catalog.Catalog{Store: a.Store, NoChunks: true, Each: each, Host: host}).List(ctx)
		if err != nil {
			if mark != nil {
				mark.Release(ctx)
			}
			rep.Errors = append(rep.Errors, err.Error())
			continue
		}
		var sets []catalog.Set
		for _, s := range all {
			if _, kept := keep[s.ID]; s.Host == host && (!a.DryRun || kept) {
				sets = append(sets, s)
			}
		}
		damaged := chunk.Damaged(host, sets)
		switch {
		case !sweep:
			a.extendChunkLocks(ctx, host, need, hold, locker, rep)
		case damaged != nil:
			// Nothing unsafe happened and the sets were pruned; the chunks
			// stay until the damaged manifest is repaired or deleted, and
			// those of the readable kept sets keep their locks.
			rep.Notes = append(rep.Notes, damaged.Error())
			a.extendChunkLocks(ctx, host, need, hold, locker, rep)
		default:
			var live func() error // a dry run deletes nothing and has no marker
			if mark != nil {
				live = mark.Healthy
			}
			a.sweepHost(ctx, host, refs.Keys(), need, hold, stale, live, locker, rep, log)
		}
		if mark != nil {
			if err := mark.Release(ctx); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("delete prune marker %s: %v", mark.Key, err))
			}
		}
	}
}

func (a *Applier) sweepHost(ctx context.Context, host string, ref map[string]bool, need map[string]time.Time, hold map[string]bool, stale []upload.ObjectInfo, live func() error, locker upload.Locker, rep *Report, log *slog.Logger) {
	res, err := chunk.Sweep(ctx, a.Store, host, ref, stale, a.DryRun, a.Parallel, live)
	for _, o := range res.Deleted {
		rep.Actions = append(rep.Actions, Action{Op: "delete", Key: o.Key, Set: host + "/chunks", Done: !a.DryRun})
		rep.FreedBytes += o.Size
	}
	rep.ChunksDeleted += len(res.Deleted)
	rep.ChunksFailed += res.Failed
	if l := res.Locked; l.Count > 0 {
		if rep.ChunksLocked == nil {
			rep.ChunksLocked = &chunk.Locked{}
		}
		rep.ChunksLocked.Merge(l)
		log.Info("chunks no set uses left under lock", "host", host, "chunks", l.Count, "bytes", l.Bytes,
			"first_until", timeAttr(l.FirstUntil), "last_until", timeAttr(l.LastUntil), "legal_hold", l.LegalHold, "until_unknown", l.UntilUnknown)
	}
	for _, e := range res.Errors {
		rep.Errors = append(rep.Errors, e.Error())
	}
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		return
	}
	if len(res.Deleted) > 0 && !a.DryRun {
		log.Info("deleted chunks", "host", host, "chunks", len(res.Deleted), "locked", res.Locked.Count)
	}
	a.extendListed(ctx, host, need, hold, res.Remaining, locker, rep)
}

// extendChunkLocks extends the locks of host's chunks that kept sets need,
// and holds those of held sets, without sweeping (a backup is running, or
// a manifest is damaged).
func (a *Applier) extendChunkLocks(ctx context.Context, host string, need map[string]time.Time, hold map[string]bool, locker upload.Locker, rep *Report) {
	if locker == nil || (len(need) == 0 && len(hold) == 0) {
		return
	}
	listed, err := chunk.List(ctx, a.Store, host)
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		return
	}
	a.extendListed(ctx, host, need, hold, listed, locker, rep)
}

func (a *Applier) extendListed(ctx context.Context, host string, need map[string]time.Time, hold map[string]bool, listed map[string]upload.ObjectInfo, locker upload.Locker, rep *Report) {
	if locker == nil {
		return
	}
	slack := upload.ExtendSlack(a.LockDays)
	floor := a.backupFloor(ctx)
	done, held, errs := chunk.Protect(ctx, locker, need, hold, listed, slack, floor, a.DryRun, a.Parallel)
	for _, k := range done {
		rep.Actions = append(rep.Actions, Action{Op: "extend_lock", Key: k, Set: host + "/chunks", Until: chunk.ExtendTo(need[k], slack, floor), Done: !a.DryRun})
		if !a.DryRun {
			rep.LocksExtended++
		}
	}
	for _, k := range held {
		rep.Actions = append(rep.Actions, Action{Op: "legal_hold", Key: k, Set: host + "/chunks", Done: !a.DryRun})
		if !a.DryRun {
			rep.HoldsPlaced++
		}
	}
	for _, e := range errs {
		rep.Errors = append(rep.Errors, e.Error())
	}
}

// backupFloor is the date below which prune never sets a chunk's lock:
// what a backup of the same configuration running now could need (its
// lock is at most the store's present plus the lock days) plus the slack
// it extends with. A backup running while prune extends (the sweep skipped
// for it; or started once a paused prune's marker went stale) extends
// the chunks it reuses to its lock plus the slack, and the two
// extensions race: each reads the lock, then writes its own date, and
// the later write wins where the store accepts an earlier date (Azure's
// unlocked immutability policy) or fails where it refuses one (S3
// GOVERNANCE: a spurious "extend lock" error). Writing at least this
// date, prune's write, landing last, still covers the backup's set. The
// store's present is asked here, just before the extensions, not at the
// start of the prune (a backup starting in between locks from a later
// present); zero with no lock days (the backup locks nothing).
func (a *Applier) backupFloor(ctx context.Context) time.Time {
	if a.LockDays <= 0 {
		return time.Time{}
	}
	now, err := catalog.StoreNow(ctx, a.Store)
	if err != nil {
		now = a.clock()
	}
	return upload.LockUntil(now, a.LockDays, a.Policy.loc()).Add(upload.ExtendSlack(a.LockDays))
}

// locksChunks reports whether the chunks of a set the policy keeps, with
// a keep date still ahead, get their locks extended to it: a committed
// set with a lock already (or ExtendLocks).
func (a *Applier) locksChunks(d Decision, s *catalog.Set) bool {
	if d.Status != StatusComplete && d.Status != StatusPartial {
		return false
	}
	return a.ExtendLocks || (s != nil && hasLock(s))
}

// stillHeld reports whether a kept set was written under legal hold (its
// manifest's lock.legal_hold) and is held still: its manifest object is
// under a hold, as the listing reports it (Azure) or else as the store
// tells (one LockInfo; S3's listing never tells). Its chunks then get a
// hold where they lack one: a set written under hold before 2026-12-01 held
// only the chunks it uploaded, not those it reused from older sets. A set
// whose holds an operator lifted is released: its chunks are not held
// again. A hold it cannot read (the credential lacks
// s3:GetObjectLegalHold, the store failed) is an error naming the
// manifest: the set's chunks are then not checked, and the report must
// not let that pass for a set released (a manifest gone since the listing
// is no error: the set is being deleted).
func (a *Applier) stillHeld(ctx context.Context, l upload.Locker, m *catalog.Manifest, s *catalog.Set) (bool, error) {
	if m.Lock == nil || !m.Lock.LegalHold {
		return false, nil
	}
	key := catalog.ManifestKey(m.Host, m.SetID)
	if s != nil {
		for _, o := range s.Objects {
			if o.Key == key && o.LegalHold {
				return true, nil
			}
		}
	}
	_, held, err := l.LockInfo(ctx, key)
	if err != nil && !errors.Is(err, upload.ErrNotFound) {
		return false, fmt.Errorf("read the legal hold of %s (set %s/%s written under legal hold; its chunks were not checked for holds): %w", key, m.Host, m.SetID, err)
	}
	return err == nil && held, nil
}

// timeAttr is t for a log record: RFC 3339 UTC, "" when zero.
func timeAttr(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
