package retention

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/internal/parallel"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Applier carries a policy out on a store.
type Applier struct {
	Store  upload.Store
	Policy Policy
	// DryRun decides and reports but changes nothing.
	DryRun bool
	// Host, when set, limits pruning to that host's sets.
	Host string
	// ExtendLocks extends the lock of every kept set even when its manifest
	// records none (the config turns object lock / immutability on). Sets
	// whose manifest records a lock are extended either way.
	ExtendLocks bool
	// LockDays is the configured lock (object_lock.days /
	// immutability.days; 0: none or unknown): a lock that has to be
	// extended is extended to the date needed plus upload.ExtendSlack of
	// it, so that it need not be extended again at every prune.
	LockDays int
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
	Log *slog.Logger
	// Parallel store calls (0: 8).
	Parallel int
	// ChunkOptions tune the markers the chunk sweep writes (tests).
	ChunkOptions chunk.Options
}

// Action is one change made (or, in a dry run, planned) on the store.
type Action struct {
	Op    string    `json:"op"` // delete, extend_lock, legal_hold, abort_uploads
	Key   string    `json:"key,omitempty"`
	Set   string    `json:"set,omitempty"` // host/id
	Until time.Time `json:"until,omitzero"`
	Count int       `json:"count,omitempty"`
	Done  bool      `json:"done"`
	Error string    `json:"error,omitempty"`
}

// Report is what a prune decided and did.
type Report struct {
	Destination string `json:"destination"`
	Policy      string `json:"policy"`
	DryRun      bool   `json:"dry_run"`
	Empty       bool   `json:"empty_policy,omitempty"`
	Note        string `json:"note,omitempty"`
	// Host is the host the prune was limited to (--host), and OtherHosts
	// the hosts whose sets the destination holds when that host has none
	// (a mistyped --host pruned nothing).
	Host       string   `json:"host,omitempty"`
	OtherHosts []string `json:"other_hosts,omitempty"`
	// Hint: with no set at all, where the sets seem to be (a destination
	// URL one folder off; catalog.Misplaced).
	Hint      string     `json:"hint,omitempty"`
	Decisions []Decision `json:"decisions"`
	Actions   []Action   `json:"actions"`
	Errors    []string   `json:"errors"`
	Kept      int        `json:"kept"`
	// Deleted counts the sets wholly deleted (dry run: to be deleted);
	// DeletedSets names them (host/id). A set whose delete failed is not
	// among them: DeleteFailed says what became of it.
	Deleted     int      `json:"deleted"`
	DeletedSets []string `json:"deleted_sets"`
	// DeleteFailed are the sets the policy let go that are not (wholly)
	// deleted, each with the cause.
	DeleteFailed []SetFailure `json:"delete_failed"`
	// FreedBytes counts the objects deleted (or, dry run, to be deleted):
	// of a failed delete, only those that went.
	FreedBytes    int64 `json:"freed_bytes"`
	LocksExtended int   `json:"locks_extended"`
	// HoldsPlaced counts the chunks of sets under legal hold that had none
	// and got one (sets written under hold before 2026-12-01).
	HoldsPlaced    int `json:"holds_placed,omitempty"`
	UploadsAborted int `json:"uploads_aborted"`
	// ChunksDeleted counts chunks no remaining set uses (deleted, or to be);
	// ChunksFailed those whose delete failed (left for the next prune).
	ChunksDeleted int `json:"chunks_deleted"`
	ChunksFailed  int `json:"chunks_delete_failed,omitempty"`
	// ChunksLocked are the chunks no remaining set uses that the store
	// refused to delete for a lock not yet ended (nil: none; a dry run:
	// those it would refuse): why storage did not shrink, and from when a
	// prune can delete them.
	ChunksLocked *chunk.Locked `json:"chunks_locked,omitempty"`
	// Notes say what was left for a later prune and why.
	Notes []string `json:"notes,omitempty"`
}

// SetFailure is a set whose delete failed: Partly when some of its objects
// went (the manifest first: the set is left incomplete, no longer
// restorable, and the next prune collects it), else it is untouched.
type SetFailure struct {
	Set            string `json:"set"` // host/id
	Error          string `json:"error"`
	Partly         bool   `json:"partly_deleted"`
	ObjectsDeleted int    `json:"objects_deleted"`
	ObjectsLeft    int    `json:"objects_left"`
}

// ErrPartlyFailed is returned (wrapped) when some actions failed; the report
// says which.
var ErrPartlyFailed = errors.New("prune did not complete")

// Run lists the sets, decides, and (unless DryRun) deletes and extends locks.
// The report is returned even with an error.
func (a *Applier) Run(ctx context.Context) (*Report, error) {
	now := a.clock
	log := a.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	t0 := now()
	rep := &Report{Destination: a.Store.String(), Policy: a.Policy.String(), DryRun: a.DryRun,
		Decisions: []Decision{}, Actions: []Action{}, Errors: []string{}, DeletedSets: []string{}, DeleteFailed: []SetFailure{}}
	// The policy needs the sets, not their chunk entries: the chunk sweep
	// reads those manifest by manifest, keeping each chunk once.
	cat := catalog.Catalog{Store: a.Store, NoChunks: true}
	all, err := cat.List(ctx)
	if err != nil {
		return rep, err
	}
	// The store's present time, which what the store wrote (objects'
	// times, locks) is judged against, and lock dates are set in (asked
	// once the store answered a listing: a store that cannot be reached
	// is that error alone, not also a warning about its clock).
	st0, err := a.storeNow(ctx, log)
	if err != nil {
		return rep, err
	}
	host := a.Host
	if host != "" {
		// --host fe01 for the sets of FE01, as restore and verify take it.
		host, _ = catalog.ResolveHost(all, host)
	}
	var sets []catalog.Set
	for _, s := range all {
		if host == "" || s.Host == host {
			sets = append(sets, s)
		}
	}
	rep.Host = host
	if host != "" && len(sets) == 0 {
		rep.OtherHosts = catalog.Hosts(all)
	}
	if len(all) == 0 {
		rep.Hint = catalog.Misplaced(ctx, a.Store)
	}
	metas := make([]SetMeta, len(sets))
	byKey := map[string]*catalog.Set{}
	for i := range sets {
		metas[i] = meta(sets[i])
		byKey[sets[i].Host+"/"+sets[i].ID] = &sets[i]
	}
	locker, _ := upload.As[upload.Locker](a.Store)

	ds := ApplyInStore(a.Policy, metas, t0, st0)
	if locker != nil {
		// List may not report locks: ask for every object of every set the
		// policy would delete, then decide again. Locks only ever add keeps
		// and never move a period bucket, so the second pass is exact.
		asked := false
		for _, d := range ds {
			if d.Keep {
				continue
			}
			asked = true
			if err := a.fillLocks(ctx, locker, byKey[d.Host+"/"+d.ID]); err != nil {
				return rep, err
			}
		}
		if asked {
			for i := range sets {
				metas[i] = meta(sets[i])
			}
			ds = ApplyInStore(a.Policy, metas, t0, st0)
		}
	}
	rep.Decisions = ds
	if !a.DryRun {
		// Whatever return follows: each set's decision with what became of it.
		defer rep.setOutcomes()
	}
	if rep.Empty = a.Policy.Empty(); rep.Empty {
		rep.Note = "the retention policy is empty (no keep_* or keep_within): nothing is deleted"
	}
	if err := CheckNotAll(ds); err != nil {
		return rep, err
	}
	for _, d := range ds {
		if d.Keep {
			rep.Kept++
		}
	}

	// Deletes: the manifest first (the set stops being restorable as a
	// whole), then its objects. A crash in between leaves an incomplete set,
	// which the next prune collects, never a manifest naming missing objects.
	for _, d := range ds {
		if d.Keep {
			continue
		}
		s := byKey[d.Host+"/"+d.ID]
		a.deleteSet(ctx, s, rep, log)
		if ctx.Err() != nil {
			break
		}
	}

	// A keep date is in this machine's clock (the policy's calendar); the
	// store enforces a lock in its own. A lock must last until the policy,
	// judged here, lets the set go: with the store's clock ahead of this
	// one, the date is moved on by the difference (behind: left as it is,
	// the lock then a little longer than needed). Zero: no lock is needed
	// (no keep date, or one already past in the store's clock, which
	// stores refuse).
	inStore := func(d Decision) time.Time {
		if d.KeepUntil.IsZero() {
			return time.Time{}
		}
		u := d.KeepUntil.Add(max(st0.Sub(t0), 0)).UTC()
		if !u.After(st0) {
			return time.Time{}
		}
		return u
	}
	// Chunks no remaining set uses; locks of the chunks kept sets use.
	if ctx.Err() == nil && !rep.Empty {
		a.sweepChunks(ctx, inStore, ds, byKey, locker, rep, log)
	}

	// Lock extension of what is kept.
	if locker != nil && ctx.Err() == nil {
		for _, d := range ds {
			// A date already past needs no lock (and stores refuse one).
			if !d.Keep || inStore(d).IsZero() || (d.Status != StatusComplete && d.Status != StatusPartial) {
				continue
			}
			s := byKey[d.Host+"/"+d.ID]
			if !a.ExtendLocks && !hasLock(s) {
				continue
			}
			a.extendSet(ctx, locker, s, inStore(d), rep, log)
		}
	}

	// Stale unfinished uploads (S3 multipart, Azure blocks, temp files),
	// sparing those of backups still running.
	if j, ok := upload.As[upload.Janitor](a.Store); ok && !rep.Empty && ctx.Err() == nil {
		prefix := ""
		if host != "" {
			prefix = host + "/"
		}
		cutoff := StaleCutoff(st0, a.Policy.grace(), liveLeases(sets))
		act := Action{Op: "abort_uploads", Until: cutoff.UTC()}
		if !a.DryRun {
			n, err := j.AbortStale(ctx, prefix, cutoff)
			act.Count, act.Done = n, err == nil
			rep.UploadsAborted = n
			if err != nil {
				act.Error = err.Error()
				rep.Errors = append(rep.Errors, "abort stale uploads: "+err.Error())
			}
		}
		rep.Actions = append(rep.Actions, act)
	}
	if err := ctx.Err(); err != nil {
		return rep, fmt.Errorf("prune interrupted: %w", err)
	}
	if len(rep.Errors) > 0 {
		return rep, fmt.Errorf("%w: %d error(s), first: %s", ErrPartlyFailed, len(rep.Errors), rep.Errors[0])
	}
	return rep, nil
}

// meta turns a listed set into what the policy needs.
func meta(s catalog.Set) SetMeta {
	// The id has whole seconds; the manifest's start orders two sets begun
	// in the same second (the id's random suffix would order them by chance).
	m := SetMeta{Host: s.Host, ID: s.ID, Time: s.Started(), Status: s.Status()}
	if s.InProgress() {
		m.Running, m.RunningUnknown = s.Lease.Describe(), s.LeaseUnknown()
	}
	for _, o := range s.Objects {
		if o.ModTime.After(m.LastWrite) {
			m.LastWrite = o.ModTime
		}
		if o.RetainUntil.After(m.RetainUntil) {
			m.RetainUntil = o.RetainUntil
		}
		m.LegalHold = m.LegalHold || o.LegalHold
	}
	return m
}

// storeNow is the store's present time, which the stale-upload cut-off is
// counted back from (an upload's start is the store's time), an unfinished
// set's grace is judged in, and lock dates are set in; this machine's when
// the store cannot tell (every lease is then live, so no running backup's
// upload is taken for stale). A destination read-only for this account
// (upload.ErrReadOnly: a folder's time is read off a file written in it)
// is an error unless DryRun: prune could delete nothing there.
func (a *Applier) storeNow(ctx context.Context, log *slog.Logger) (time.Time, error) {
	t, err := catalog.StoreNow(ctx, a.Store)
	if err != nil {
		if errors.Is(err, upload.ErrReadOnly) && !a.DryRun {
			cause := err
			if pe := (*fs.PathError)(nil); errors.As(err, &pe) {
				cause = pe
			}
			return time.Time{}, fmt.Errorf("%w: %s is read-only for this account (%v), so prune can delete nothing there: run it where the destination can be written, or with --dry-run to see what it would do", ErrReadOnlyDestination, a.Store, cause)
		}
		log.Warn("the store did not tell its time: unfinished sets and uploads are aged, and locks dated, on this machine's clock", "err", err)
		return a.clock(), nil
	}
	return t, nil
}

// ErrReadOnlyDestination is returned (wrapped) by a prune (not a dry run)
// of a destination this account cannot write, before any decision.
var ErrReadOnlyDestination = errors.New("nothing pruned")

// clock is this machine's present (Now, in tests).
func (a *Applier) clock() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// StaleCutoff is the time, in the store's clock, before which an
// unfinished upload (S3 multipart, uncommitted Azure blocks, a temporary
// file) is abandoned: grace before now (the store's time), but never after
// the start of a backup still running (in the store's clock as far as its
// lease tells, less the clock skew allowed), since that backup may have
// begun any of its uploads since.
func StaleCutoff(now time.Time, grace time.Duration, live []catalog.LeaseInfo) time.Time {
	cutoff := now.Add(-grace)
	for _, l := range live {
		if c := l.StartedInStore().Add(-catalog.ClockSkew); c.Before(cutoff) {
			cutoff = c
		}
	}
	return cutoff
}

// AbortStale aborts the unfinished uploads under prefix older than grace,
// sparing those of the backups still running (see StaleCutoff), both judged
// in the store's clock. Stores without unfinished uploads return 0.
func AbortStale(ctx context.Context, st upload.Store, prefix string, grace time.Duration) (int, error) {
	j, ok := upload.As[upload.Janitor](st)
	if !ok {
		return 0, nil
	}
	// Unknown (zero): every lease is live, and the cut-off counts back from
	// this machine's clock.
	now, _ := catalog.StoreNow(ctx, st)
	cat := catalog.Catalog{Store: st}
	live, err := cat.LiveLeases(ctx, prefix, now)
	if err != nil {
		return 0, err
	}
	if now.IsZero() {
		now = time.Now()
	}
	return j.AbortStale(ctx, prefix, StaleCutoff(now, grace, live))
}

func liveLeases(sets []catalog.Set) []catalog.LeaseInfo {
	var live []catalog.LeaseInfo
	for _, s := range sets {
		if s.InProgress() {
			live = append(live, *s.Lease)
		}
	}
	return live
}

func hasLock(s *catalog.Set) bool {
	if s.Manifest != nil && s.Manifest.Lock != nil {
		return true
	}
	for _, o := range s.Objects {
		if !o.RetainUntil.IsZero() || o.LegalHold {
			return true
		}
	}
	return false
}

// each runs fn for every object of objs, a few at a time (Parallel, 0: 8),
// and returns the first error.
func (a *Applier) each(ctx context.Context, objs []upload.ObjectInfo, fn func(i int) error) error {
	return parallel.Each(ctx, len(objs), a.Parallel, fn)
}

// fillLocks asks the store for the lock of every object of s whose listing
// reported none.
func (a *Applier) fillLocks(ctx context.Context, l upload.Locker, s *catalog.Set) error {
	return a.each(ctx, s.Objects, func(i int) error {
		o := &s.Objects[i]
		if o.LegalHold || !o.RetainUntil.IsZero() {
			return nil
		}
		until, hold, err := l.LockInfo(ctx, o.Key)
		if err != nil {
			if errors.Is(err, upload.ErrNotFound) {
				return nil
			}
			return fmt.Errorf("read the lock of %s: %w", o.Key, err)
		}
		o.RetainUntil, o.LegalHold = until, hold
		return nil
	})
}

// deleteSet deletes s (dry run: plans it) and counts in rep what really
// went: a set is Deleted only when every object of it is; bytes are freed
// per object deleted; a set left whole or in part is in DeleteFailed.
func (a *Applier) deleteSet(ctx context.Context, s *catalog.Set, rep *Report, log *slog.Logger) {
	name := s.Host + "/" + s.ID
	manifestKey := catalog.ManifestKey(s.Host, s.ID)
	var objs []upload.ObjectInfo
	var manifest *upload.ObjectInfo
	for i, o := range s.Objects {
		if o.Key == manifestKey {
			manifest = &s.Objects[i]
		} else {
			objs = append(objs, o)
		}
	}
	if a.DryRun {
		if manifest != nil {
			rep.Actions = append(rep.Actions, Action{Op: "delete", Key: manifestKey, Set: name})
		}
		for _, o := range objs {
			rep.Actions = append(rep.Actions, Action{Op: "delete", Key: o.Key, Set: name})
		}
		rep.Deleted++
		rep.DeletedSets = append(rep.DeletedSets, name)
		rep.FreedBytes += s.Size()
		return
	}
	gone := 0
	if manifest != nil {
		act := Action{Op: "delete", Key: manifestKey, Set: name}
		if err := a.Store.Delete(ctx, manifestKey); err != nil {
			act.Error = err.Error()
			rep.Actions = append(rep.Actions, act)
			rep.Errors = append(rep.Errors, fmt.Sprintf("delete set %s: %v (the set is left whole)", name, err))
			rep.DeleteFailed = append(rep.DeleteFailed, SetFailure{Set: name, Error: err.Error(), ObjectsLeft: len(s.Objects)})
			// The manifest stays, so its objects must stay too.
			return
		}
		act.Done = true
		gone++
		rep.FreedBytes += manifest.Size
		log.Info("deleted manifest", "set", name)
		rep.Actions = append(rep.Actions, act)
	}
	acts := make([]Action, len(objs))
	a.each(ctx, objs, func(i int) error {
		acts[i] = Action{Op: "delete", Key: objs[i].Key, Set: name}
		if err := a.Store.Delete(ctx, objs[i].Key); err != nil {
			acts[i].Error = err.Error()
			return err
		}
		acts[i].Done = true
		return nil
	})
	firstErr := ""
	for i, act := range acts {
		if act.Done {
			gone++
			rep.FreedBytes += objs[i].Size
		} else if act.Error != "" && firstErr == "" {
			firstErr = act.Error
		}
		if act.Op == "" {
			continue // cancelled before it started
		}
		rep.Actions = append(rep.Actions, act)
	}
	if left := len(s.Objects) - gone; left > 0 {
		if firstErr == "" {
			firstErr = "interrupted"
			if err := ctx.Err(); err != nil {
				firstErr = "interrupted: " + err.Error()
			}
		}
		f := SetFailure{Set: name, Error: firstErr, Partly: gone > 0, ObjectsDeleted: gone, ObjectsLeft: left}
		rep.DeleteFailed = append(rep.DeleteFailed, f)
		if f.Partly {
			rep.Errors = append(rep.Errors, fmt.Sprintf("delete set %s: %s (partly deleted: %d of %d object(s) left; the set is now incomplete; the next prune collects it)", name, firstErr, left, len(s.Objects)))
		} else {
			rep.Errors = append(rep.Errors, fmt.Sprintf("delete set %s: %s (nothing of it deleted; the next prune tries again)", name, firstErr))
		}
		log.Warn("set not wholly deleted", "set", name, "objects_deleted", gone, "objects_left", left, "err", firstErr)
		return
	}
	rep.Deleted++
	rep.DeletedSets = append(rep.DeletedSets, name)
	log.Info("deleted set", "set", name, "objects", len(objs))
}

func (a *Applier) extendSet(ctx context.Context, l upload.Locker, s *catalog.Set, need time.Time, rep *Report, log *slog.Logger) {
	name := s.Host + "/" + s.ID
	until := need.Add(upload.ExtendSlack(a.LockDays))
	acts := make([]Action, len(s.Objects))
	a.each(ctx, s.Objects, func(i int) error {
		o := s.Objects[i]
		if catalog.IsLeaseKey(o.Key) {
			return nil // a leftover lease is deleted with the set, never locked
		}
		if !o.RetainUntil.IsZero() && !o.RetainUntil.Before(need) {
			return nil // already long enough (known from the listing)
		}
		cur, _, err := l.LockInfo(ctx, o.Key)
		if err != nil && !errors.Is(err, upload.ErrNotFound) {
			acts[i] = Action{Op: "extend_lock", Key: o.Key, Set: name, Until: until, Error: err.Error()}
			return err
		}
		if err != nil || !cur.Before(need) {
			return nil
		}
		acts[i] = Action{Op: "extend_lock", Key: o.Key, Set: name, Until: until}
		if a.DryRun {
			return nil
		}
		if err := l.ExtendLock(ctx, o.Key, need, until); err != nil {
			acts[i].Error = err.Error()
			return err
		}
		acts[i].Done = true
		return nil
	})
	for _, act := range acts {
		if act.Op == "" {
			continue
		}
		if act.Error != "" {
			rep.Errors = append(rep.Errors, fmt.Sprintf("extend lock of %s: %s", act.Key, act.Error))
		} else if act.Done {
			rep.LocksExtended++
		}
		rep.Actions = append(rep.Actions, act)
	}
	if n := countDone(acts); n > 0 {
		log.Info("extended lock", "set", name, "objects", n, "until", until.Format(time.RFC3339))
	}
}

func countDone(acts []Action) int {
	n := 0
	for _, a := range acts {
		if a.Done {
			n++
		}
	}
	return n
}

// setOutcomes records in each decision what became of its set: kept,
// deleted (among DeletedSets), left whole or partly deleted (DeleteFailed),
// or not tried (the prune stopped before it).
func (r *Report) setOutcomes() {
	deleted := map[string]bool{}
	for _, s := range r.DeletedSets {
		deleted[s] = true
	}
	failed := map[string]SetFailure{}
	for _, f := range r.DeleteFailed {
		failed[f.Set] = f
	}
	for i := range r.Decisions {
		d := &r.Decisions[i]
		name := d.Host + "/" + d.ID
		f, bad := failed[name]
		switch {
		case d.Keep:
			d.Outcome = OutcomeKept
		case deleted[name]:
			d.Outcome = OutcomeDeleted
		case bad && f.Partly:
			d.Outcome = OutcomePartlyDeleted
		case bad:
			d.Outcome = OutcomeLeftWhole
		default:
			d.Outcome = OutcomeNotTried
		}
	}
}

// Summary is one human line about the report.
func (r *Report) Summary() string {
	verb := "deleted"
	if r.DryRun {
		verb = "would delete"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d set(s) kept, %s %d", r.Kept, verb, r.Deleted)
	if r.FreedBytes > 0 {
		fmt.Fprintf(&b, " (%d bytes)", r.FreedBytes)
	}
	if len(r.DeleteFailed) > 0 {
		b.WriteString(", " + FailedSetsText(r.DeleteFailed))
	}
	if r.LocksExtended > 0 {
		fmt.Fprintf(&b, ", %d lock(s) extended", r.LocksExtended)
	}
	if r.HoldsPlaced > 0 {
		fmt.Fprintf(&b, ", %d chunk(s) of held sets given a legal hold", r.HoldsPlaced)
	}
	if r.ChunksDeleted > 0 {
		fmt.Fprintf(&b, ", %d chunk(s) no set uses %s", r.ChunksDeleted, map[bool]string{true: "to delete", false: "deleted"}[r.DryRun])
	}
	if r.ChunksFailed > 0 {
		fmt.Fprintf(&b, ", %d chunk(s) no set uses not deleted (delete failed)", r.ChunksFailed)
	}
	if r.UploadsAborted > 0 {
		fmt.Fprintf(&b, ", %d stale upload(s) aborted", r.UploadsAborted)
	}
	return b.String()
}

// LockedText is the line about the chunks no set uses left under lock
// (ChunksLocked), dates in loc; "" when there are none:
// "3 chunk(s) no set uses (1200 bytes) not deleted (dry run: would not be
// deleted): still locked; a prune can delete them once their lock ends:
// the first after 2026-12-05 14:03, the last after 2026-12-09 10:00
// (Europe/Berlin)".
func (r *Report) LockedText(loc *time.Location) string {
	l := r.ChunksLocked
	if l == nil || l.Count == 0 {
		return ""
	}
	if loc == nil {
		loc = LocalZone()
	}
	var b strings.Builder
	verb := "not deleted"
	if r.DryRun {
		verb = "would not be deleted"
	}
	fmt.Fprintf(&b, "%d chunk(s) no set uses (%d bytes) %s: still locked", l.Count, l.Bytes, verb)
	// A lock ending at 14:03:30 lets the chunk go after 14:04, not 14:03.
	at := func(t time.Time) string {
		if m := t.Truncate(time.Minute); m.Before(t) {
			t = m.Add(time.Minute)
		}
		return t.In(loc).Format("2006-01-02 15:04")
	}
	dated := l.Count - l.LegalHold - l.UntilUnknown
	if dated > 0 && !l.FirstUntil.IsZero() {
		them := "them"
		if dated < l.Count {
			them = fmt.Sprintf("%d of them", dated)
		}
		if at(l.FirstUntil) == at(l.LastUntil) {
			fmt.Fprintf(&b, "; a prune can delete %s once their lock ends, after %s (%s)", them, at(l.FirstUntil), ZoneName(loc))
		} else {
			fmt.Fprintf(&b, "; a prune can delete %s once their lock ends: the first after %s, the last after %s (%s)", them, at(l.FirstUntil), at(l.LastUntil), ZoneName(loc))
		}
	}
	if l.LegalHold > 0 {
		fmt.Fprintf(&b, "; %d under legal hold, until it is lifted", l.LegalHold)
	}
	if l.UntilUnknown > 0 {
		fmt.Fprintf(&b, "; %d whose lock the store did not date", l.UntilUnknown)
	}
	return b.String()
}

// FailedSetsText names the sets whose delete failed, for a summary line:
// "delete failed for 2 set(s): h/a (left whole), h/b (partly deleted, 3
// object(s) left)". The causes are in the report's errors.
func FailedSetsText(fs []SetFailure) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		if f.Partly {
			parts[i] = fmt.Sprintf("%s (partly deleted, %d object(s) left)", f.Set, f.ObjectsLeft)
		} else {
			parts[i] = f.Set + " (left whole)"
		}
	}
	return fmt.Sprintf("delete failed for %d set(s): %s", len(fs), strings.Join(parts, ", "))
}
