package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/upload"
)

// sweepChunks deletes, per host in scope, the chunks no remaining set names,
// and extends the locks of the chunks kept sets use (docs/FORMAT.md, "Prune
// and concurrent backups"). It runs after the forgotten sets are deleted.
func (a *Applier) sweepChunks(ctx context.Context, t0 time.Time, ds []Decision, byKey map[string]*catalog.Set, locker upload.Locker, rep *Report, log *slog.Logger) {
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
		var sets []catalog.Set
		var mark *chunk.Marker
		var stale []upload.ObjectInfo
		if a.DryRun {
			// Nothing was deleted: the sets the policy keeps are what remains.
			for _, d := range ds {
				if d.Host == host && d.Keep {
					sets = append(sets, *byKey[d.Host+"/"+d.ID])
				}
			}
		} else {
			mark, stale, err = chunk.BeginSweep(ctx, a.Store, host, opts)
			if errors.Is(err, chunk.ErrBackupRunning) {
				note := fmt.Sprintf("chunks of %s not swept: %v; the next prune collects them", host, err)
				rep.Notes = append(rep.Notes, note)
				log.Info("chunk sweep skipped", "host", host, "why", err.Error())
				continue
			}
			if err != nil {
				rep.Errors = append(rep.Errors, err.Error())
				continue
			}
			// List again after the marker: a backup that committed before
			// its marker went away is in this listing.
			all, err := (&catalog.Catalog{Store: a.Store}).List(ctx)
			if err != nil {
				mark.Release(ctx)
				rep.Errors = append(rep.Errors, err.Error())
				continue
			}
			for _, s := range all {
				if s.Host == host {
					sets = append(sets, s)
				}
			}
		}
		a.sweepHost(ctx, host, sets, stale, t0, ds, byKey, locker, rep, log)
		if mark != nil {
			if err := mark.Release(ctx); err != nil {
				rep.Errors = append(rep.Errors, fmt.Sprintf("delete prune marker %s: %v", mark.Key, err))
			}
		}
	}
}

func (a *Applier) sweepHost(ctx context.Context, host string, sets []catalog.Set, stale []upload.ObjectInfo, t0 time.Time, ds []Decision, byKey map[string]*catalog.Set, locker upload.Locker, rep *Report, log *slog.Logger) {
	ref, err := chunk.Referenced(host, sets)
	if err != nil {
		// Nothing unsafe happened and the sets were pruned; the chunks
		// stay until the damaged manifest is repaired or deleted.
		rep.Notes = append(rep.Notes, err.Error())
		return
	}
	res, err := chunk.Sweep(ctx, a.Store, host, ref, stale, a.DryRun, a.Parallel)
	for _, o := range res.Deleted {
		rep.Actions = append(rep.Actions, Action{Op: "delete", Key: o.Key, Set: host + "/chunks", Done: !a.DryRun})
		rep.FreedBytes += o.Size
	}
	rep.ChunksDeleted += len(res.Deleted)
	for _, e := range res.Errors {
		rep.Errors = append(rep.Errors, e.Error())
	}
	if err != nil {
		rep.Errors = append(rep.Errors, err.Error())
		return
	}
	if len(res.Deleted) > 0 && !a.DryRun {
		log.Info("deleted chunks", "host", host, "chunks", len(res.Deleted), "locked", res.Locked)
	}
	if locker == nil {
		return
	}
	// Each chunk stays locked as long as the longest-kept set that uses it.
	need := map[string]time.Time{}
	for _, d := range ds {
		if d.Host != host || !d.Keep || !d.KeepUntil.After(t0) || (d.Status != StatusComplete && d.Status != StatusPartial) {
			continue
		}
		s := byKey[d.Host+"/"+d.ID]
		if s.Manifest == nil || (!a.ExtendLocks && !hasLock(s)) {
			continue
		}
		for _, it := range s.Manifest.Items {
			for _, c := range it.Chunks {
				if u := d.KeepUntil.UTC(); u.After(need[c.Key]) {
					need[c.Key] = u
				}
			}
		}
	}
	done, errs := chunk.ExtendLocks(ctx, locker, need, res.Remaining, a.DryRun, a.Parallel)
	for _, k := range done {
		rep.Actions = append(rep.Actions, Action{Op: "extend_lock", Key: k, Set: host + "/chunks", Until: need[k], Done: !a.DryRun})
		if !a.DryRun {
			rep.LocksExtended++
		}
	}
	for _, e := range errs {
		rep.Errors = append(rep.Errors, e.Error())
	}
}
