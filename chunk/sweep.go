package chunk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/internal/parallel"
	"github.com/lyncbackup/lyncbackup/upload"
)

// errFound stops a listing at its first object.
var errFound = errors.New("found")

// HasChunks reports whether host has any chunk object (one short listing).
func HasChunks(ctx context.Context, st upload.Store, host string) (bool, error) {
	err := st.List(ctx, catalog.ChunkPrefix(host), func(upload.ObjectInfo) error { return errFound })
	if errors.Is(err, errFound) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("list chunks of %s: %w", host, err)
	}
	return false, nil
}

// Damaged is the error that stops a sweep of host's chunks when one of its
// sets has a manifest that cannot be read (nil when none has), damaged or
// in an archive tier: it may name any chunk. Sets without a manifest (incomplete) name nothing that must
// be kept: running backups are protected by their markers, not by their
// objects.
func Damaged(host string, sets []catalog.Set) error {
	for _, s := range sets {
		if s.Host == host && s.Archived() {
			return fmt.Errorf("set %s/%s has its manifest in an archive tier, and it may name any chunk: chunks of %s are not swept until it is back (restore %s --thaw)", s.Host, s.ID, host, s.ID)
		}
		if s.Host == host && s.ManifestErr != nil {
			return fmt.Errorf("set %s/%s has a damaged manifest, which may name any chunk: chunks of %s are not swept until it is repaired or deleted (%v)", s.Host, s.ID, host, s.ManifestErr)
		}
	}
	return nil
}

// References collects the chunk keys that a host's manifests name, one
// manifest at a time (catalog.Catalog.Each hands them over as a listing
// reads them): it keeps each key once, not every set's chunk entries. Add
// is safe for concurrent use.
type References struct {
	host string
	mu   sync.Mutex
	keys map[string]bool
}

// NewReferences starts an empty collection for host.
func NewReferences(host string) *References {
	return &References{host: host, keys: map[string]bool{}}
}

// Add records the chunks m names (nothing when m is another host's).
func (r *References) Add(m *catalog.Manifest) {
	if m.Host != r.host {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, it := range m.Items {
		for _, c := range it.Chunks {
			if !r.keys[c.Key] {
				r.keys[strings.Clone(c.Key)] = true
			}
		}
	}
}

// Keys are the chunk keys recorded so far.
func (r *References) Keys() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keys
}

// SweepResult is what a sweep did (or, dry run, would do).
type SweepResult struct {
	Deleted []upload.ObjectInfo
	// Locked are the unreferenced chunks still under lock (left for a
	// later sweep; a dry run: those the store would refuse to delete).
	Locked Locked
	// Remaining are the chunk objects left, by key.
	Remaining map[string]upload.ObjectInfo
	Errors    []error
	// Failed counts the chunks whose delete failed (in Errors; not Locked).
	Failed int
}

// Locked sums up the unreferenced chunks a sweep could not delete because
// the store refused for a lock (object lock, immutability, legal hold): a
// sweep after their lock ends deletes them. A dry run counts those the
// store would refuse (predict). Stored in prune's --json.
type Locked struct {
	Count int   `json:"count"`
	Bytes int64 `json:"bytes"`
	// FirstUntil and LastUntil are the earliest and the latest end of
	// their locks (in the store's clock) among those not under legal hold
	// whose end is known: the first of them can be deleted from
	// FirstUntil, all of them from LastUntil.
	FirstUntil time.Time `json:"first_until,omitzero"`
	LastUntil  time.Time `json:"last_until,omitzero"`
	// LegalHold counts those under legal hold (they go only once it is
	// lifted); UntilUnknown those whose lock the store did not tell.
	LegalHold    int `json:"legal_hold,omitempty"`
	UntilUnknown int `json:"until_unknown,omitempty"`
}

// Add counts o, whose delete err refused for a lock: the lock is the one
// the error tells (upload.LockedError), else the one o was listed with.
func (l *Locked) Add(o upload.ObjectInfo, err error) {
	until, hold := o.RetainUntil, o.LegalHold
	if le := (*upload.LockedError)(nil); errors.As(err, &le) {
		until, hold = le.RetainUntil, le.LegalHold
	}
	l.Count++
	l.Bytes += o.Size
	switch {
	case hold:
		l.LegalHold++
	case until.IsZero():
		l.UntilUnknown++
	default:
		l.addUntil(until)
	}
}

func (l *Locked) addUntil(u time.Time) {
	if l.FirstUntil.IsZero() || u.Before(l.FirstUntil) {
		l.FirstUntil = u
	}
	if u.After(l.LastUntil) {
		l.LastUntil = u
	}
}

// Merge adds m's counts to l (the chunks of several hosts).
func (l *Locked) Merge(m Locked) {
	l.Count += m.Count
	l.Bytes += m.Bytes
	l.LegalHold += m.LegalHold
	l.UntilUnknown += m.UntilUnknown
	if !m.FirstUntil.IsZero() {
		l.addUntil(m.FirstUntil)
		l.addUntil(m.LastUntil)
	}
}

// List returns host's chunk objects by key.
func List(ctx context.Context, st upload.Store, host string) (map[string]upload.ObjectInfo, error) {
	out := map[string]upload.ObjectInfo{}
	err := st.List(ctx, catalog.ChunkPrefix(host), func(o upload.ObjectInfo) error {
		if _, ok := catalog.ParseChunkKey(host, o.Key); ok {
			out[o.Key] = o
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list chunks of %s: %w", host, err)
	}
	return out, nil
}

// Sweep lists host's chunks and deletes those not in referenced, plus the
// stale markers given. Call it between BeginSweep and the marker's Release.
// live (the prune marker's Healthy; nil: not asked) is asked before each
// delete: a prune paused past StaleAfter between its listing and its
// deletes (a laptop asleep) may have let a backup adopt a chunk it listed
// as unreferenced, and commit it; it deletes nothing more.
func Sweep(ctx context.Context, st upload.Store, host string, referenced map[string]bool, stale []upload.ObjectInfo, dryRun bool, limit int, live func() error) (SweepResult, error) {
	listed, err := List(ctx, st, host)
	if err != nil {
		return SweepResult{Remaining: map[string]upload.ObjectInfo{}}, err
	}
	// What is not referenced leaves Remaining for the candidates, in key
	// order; a delete that fails puts it back.
	res := SweepResult{Remaining: listed}
	var cand []upload.ObjectInfo
	for k, o := range listed {
		if !referenced[k] {
			cand = append(cand, o)
			delete(listed, k)
		}
	}
	slices.SortFunc(cand, func(a, b upload.ObjectInfo) int { return strings.Compare(a.Key, b.Key) })
	if dryRun {
		predict(ctx, st, cand, limit, &res)
		return res, ctx.Err()
	}
	var mu sync.Mutex
	var dead error
	objs := append(cand, stale...)
	parallel.Each(ctx, len(objs), limit, func(i int) error {
		o := objs[i]
		if live != nil {
			if err := live(); err != nil {
				mu.Lock()
				defer mu.Unlock()
				res.Remaining[o.Key] = o
				dead = err
				return nil
			}
		}
		err := st.Delete(ctx, o.Key)
		mu.Lock()
		defer mu.Unlock()
		switch {
		case err == nil:
			if _, ok := catalog.ParseChunkKey(host, o.Key); ok {
				res.Deleted = append(res.Deleted, o)
			}
		case errors.Is(err, upload.ErrLocked):
			if _, ok := catalog.ParseChunkKey(host, o.Key); ok {
				res.Locked.Add(o, err) // a stale marker is no chunk
			}
			res.Remaining[o.Key] = o
		default:
			res.Errors = append(res.Errors, fmt.Errorf("delete %s: %w", o.Key, err))
			if _, ok := catalog.ParseChunkKey(host, o.Key); ok {
				res.Failed++
			}
			res.Remaining[o.Key] = o
		}
		return nil
	})
	if dead != nil {
		return res, fmt.Errorf("chunk sweep of %s stopped: %w", host, dead)
	}
	return res, ctx.Err()
}

// predict sorts a dry run's candidates as the real run's deletes would
// end: a chunk whose delete the store would refuse for a lock counts as
// Locked, with the lock it would tell, the others as Deleted. The lock is
// the store's DeleteLock where it has one (S3: its listing tells no lock,
// and every version counts; Azure with version-level immutability, whose
// older versions the listing does not show; one read per candidate, limit
// at a time), else, or where it answers upload.ErrLockListed, the
// listing's, judged in the store's clock (Azure lists each blob's
// immutability and hold: no request per chunk; a folder has no lock). A
// lock that cannot be read is an error naming the chunk, which is then
// counted neither way.
func predict(ctx context.Context, st upload.Store, cand []upload.ObjectInfo, limit int, res *SweepResult) {
	locks := make([]*upload.LockedError, len(cand))
	errs := make([]error, len(cand))
	listed := make([]bool, len(cand))
	if dl, ok := upload.As[upload.DeleteLocker](st); ok {
		parallel.Each(ctx, len(cand), limit, func(i int) error {
			locks[i], errs[i] = dl.DeleteLock(ctx, cand[i].Key)
			if errors.Is(errs[i], upload.ErrLockListed) {
				locks[i], errs[i], listed[i] = nil, nil, true
			}
			return nil
		})
	} else {
		for i := range listed {
			listed[i] = true
		}
	}
	now := sync.OnceValue(func() time.Time {
		if t, err := catalog.StoreNow(ctx, st); err == nil {
			return t
		}
		return time.Now()
	})
	for i, o := range cand {
		if listed[i] && (o.LegalHold || !o.RetainUntil.IsZero()) && o.Locked(now()) {
			locks[i] = &upload.LockedError{RetainUntil: o.RetainUntil, LegalHold: o.LegalHold, Err: upload.ErrLocked}
			if !o.RetainUntil.After(now()) {
				locks[i].RetainUntil = time.Time{}
			}
		}
	}
	for i, o := range cand {
		switch {
		case errs[i] != nil:
			res.Errors = append(res.Errors, fmt.Errorf("read the lock of chunk %s: %w", o.Key, errs[i]))
			res.Remaining[o.Key] = o
		case locks[i] != nil:
			res.Locked.Add(o, locks[i])
			res.Remaining[o.Key] = o
		default:
			res.Deleted = append(res.Deleted, o)
		}
	}
}

// ExtendTo is the date a lock needed until need is extended to: need plus
// slack, or floor when that is later (zero: none).
func ExtendTo(need time.Time, slack time.Duration, floor time.Time) time.Time {
	if u := need.Add(slack); u.After(floor) {
		return u
	}
	return floor
}

// Protect makes every chunk in need locked at least until its time,
// asking the store only for chunks whose listed lock is shorter (or
// unknown), and places a legal hold on every chunk in hold (the chunks of
// sets written under legal hold) the store does not show held: the
// listing where it tells (Azure), else the read of the lock that the
// extension makes anyway (S3's LockInfo reads the hold too), else one
// LockInfo. A chunk held already costs no write. A lock extended goes to
// its time plus slack, or to floor when that is later (ExtendTo). It
// returns the keys extended and the keys given a hold (in a dry run: that
// would be).
func Protect(ctx context.Context, l upload.Locker, need map[string]time.Time, hold map[string]bool, listed map[string]upload.ObjectInfo, slack time.Duration, floor time.Time, dryRun bool, limit int) (extended, held []string, errs []error) {
	type job struct {
		key   string
		until time.Time // zero: no extension needed
		hold  bool
	}
	var todo []job
	seen := map[string]bool{}
	add := func(k string) {
		if seen[k] {
			return
		}
		seen[k] = true
		o, ok := listed[k]
		if !ok {
			return
		}
		j := job{key: k}
		if until := need[k]; !until.IsZero() && (o.RetainUntil.IsZero() || o.RetainUntil.Before(until)) {
			j.until = until
		}
		j.hold = hold[k] && !o.LegalHold
		if !j.until.IsZero() || j.hold {
			todo = append(todo, j)
		}
	}
	for k := range need {
		add(k)
	}
	for k := range hold {
		add(k)
	}
	var mu sync.Mutex
	parallel.Each(ctx, len(todo), limit, func(i int) error {
		j := todo[i]
		cur, isHeld, err := l.LockInfo(ctx, j.key)
		if err != nil && j.until.IsZero() {
			err = fmt.Errorf("read the legal hold of chunk %s of a held set: %w", j.key, err)
		}
		extend := err == nil && !j.until.IsZero() && cur.Before(j.until)
		if extend && !dryRun {
			err = l.ExtendLock(ctx, j.key, j.until, ExtendTo(j.until, slack, floor))
		}
		if err != nil && !j.until.IsZero() {
			err = fmt.Errorf("extend lock of %s: %w", j.key, err)
		}
		place := err == nil && j.hold && !isHeld
		if place && !dryRun {
			if err = l.SetLegalHold(ctx, j.key); err != nil {
				err = fmt.Errorf("set a legal hold on chunk %s of a held set: %w", j.key, err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if extend {
			extended = append(extended, j.key)
		}
		if place {
			held = append(held, j.key)
		}
		return nil
	})
	return extended, held, errs
}
