package retention

import (
	"context"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
)

// extendCounter counts the lock writes (ExtendLock calls that move a lock)
// and keeps dates in whole seconds, as stores do (Azure's
// x-ms-immutability-policy-until-date is RFC 1123; S3 keeps at most
// milliseconds).
type extendCounter struct {
	*lockStore
	writes []string
}

func (e *extendCounter) ExtendLock(ctx context.Context, key string, need, until time.Time) error {
	e.lockStore.mu.Lock()
	if e.lockStore.until[key].Before(need) && until.After(e.lockStore.until[key]) {
		e.writes = append(e.writes, key)
	}
	e.lockStore.mu.Unlock()
	return e.lockStore.ExtendLock(ctx, key, need, until.Truncate(time.Second))
}

// A set backed up with lock days N equal to min_age (README: "make N at
// least min_age") is locked, every object and every chunk it uploaded,
// until its start + N days as the backup dates it (upload.LockUntil) and
// the store keeps it: the first prune finds nothing to extend. The old
// backup's date had the start's nanoseconds, which the store cuts off: each
// lock ended up to 1 s before the keep date, and the first prune extended
// every object of every new set (+ the slack).
func TestFirstPruneLeavesNewSetsLocks(t *testing.T) {
	base, _ := localStore(t)
	now := time.Now().UTC()
	ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
	start := now.Add(-2 * time.Hour).Truncate(time.Second).Add(700 * time.Millisecond) // a backup's start has nanoseconds
	id := craftChunked(t, base, "h", start, StatusComplete, "a", "b", "c")
	c := &catalog.Catalog{Store: base}
	m, err := c.LoadManifest(context.Background(), "h", id)
	if err != nil {
		t.Fatal(err)
	}
	m.Start, m.End = start, start.Add(time.Minute)
	lock := upload.LockUntil(start, 30, time.UTC) // pipeline.newManifest
	m.Lock = &catalog.Lock{Mode: "GOVERNANCE", RetainUntil: lock}
	if err := c.Commit(context.Background(), m, upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var keys []string
	if err := base.List(context.Background(), "h/", func(o upload.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		ls.until[k] = lock.Truncate(time.Second) // as the store keeps it
	}
	st := &extendCounter{lockStore: ls}
	a := &Applier{Store: st, Policy: Policy{Last: 1, MinAge: Span{Days: 30, Text: "30d"}, Location: time.UTC},
		Now: func() time.Time { return now }, ExtendLocks: true, LockDays: 30}
	rep, err := a.Run(context.Background())
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("prune: %v %v", err, rep.Errors)
	}
	if len(st.writes) > 0 {
		t.Errorf("keep until %v, uploaded lock %v (stored %v): the first prune wrote %d lock extensions of %d objects: %v",
			decisionFor(t, rep.Decisions, id).KeepUntil, lock, lock.Truncate(time.Second), len(st.writes), len(keys), st.writes)
	}
}

// README asks "make N at least min_age" so that the lock a set is uploaded
// with covers min_age. min_age counts its days in the policy's time zone;
// the lock counted N days in UTC, and across the end of summer time a
// 30-day min_age ended an hour after the 30-day lock. The lock's days are
// counted in the policy's zone (upload.LockUntil, the backup's LockZone).
func TestLockOfMinAgeDaysCoversMinAgeAcrossDST(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	for _, start := range []time.Time{
		time.Date(2026, 10, 10, 1, 0, 0, 0, time.UTC), // summer time ends on 25 October
		time.Date(2027, 3, 10, 1, 0, 0, 0, time.UTC),  // and starts on 28 March
	} {
		lock := upload.LockUntil(start, 30, berlin)
		s := SetMeta{Host: "h", ID: catalog.NewSetID(start), Time: start, Status: StatusComplete}
		ds := Apply(Policy{Last: 1, MinAge: Span{Days: 30, Text: "30d"}, Location: berlin}, []SetMeta{s}, start.Add(time.Hour))
		if ds[0].KeepUntil.After(lock) {
			t.Errorf("set of %v: min_age keeps it until %v; its lock (N = 30 days) ends %v: %v unlocked within min_age unless a prune extends it",
				start, ds[0].KeepUntil.UTC(), lock, ds[0].KeepUntil.Sub(lock))
		}
	}
}
