package retention

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
)

// cutoffs records the cut-off of every stale-upload sweep.
type cutoffs struct {
	upload.Store
	got []time.Time
}

func (c *cutoffs) AbortStale(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	c.got = append(c.got, olderThan)
	return 0, nil
}

func (c *cutoffs) Unwrap() upload.Store { return c.Store }

// A prune judges a backup's lease, and counts the stale-upload cut-off, in
// the store's clock (README, "The lease"): the prune machine's clock is 40
// minutes off the store's (and the backup machine's). 40 minutes ahead, it
// took the lease of a backup running for 30 hours for expired and aborted
// the uploads it began in its first 6.5 hours (grace 24 h); 40 minutes
// behind, a lease dead for 16 minutes of the store's still spared the dead
// backup's uploads from its start.
func TestPruneJudgesLeaseInStoreClock(t *testing.T) {
	for _, skew := range []time.Duration{-40 * time.Minute, 40 * time.Minute} {
		t.Run("store "+skew.String(), func(t *testing.T) {
			ctx := context.Background()
			ls, _ := localStore(t)
			clock := uploadtest.NewClockStore(ls, skew)
			st := &cutoffs{Store: clock}
			start := clock.Time().Add(-30 * time.Hour).Truncate(time.Second)
			craft(t, st, "fe01", clock.Time().Add(-time.Hour), StatusComplete)
			id := craft(t, st, "fe01", start, StatusIncomplete)
			lease := func() {
				at := clock.Time()
				data := `{"host":"fe01","set_id":"` + id + `","pid":4242,"machine":"othermachine","start":"` +
					start.Format(time.RFC3339Nano) + `","refreshed":"` + at.Format(time.RFC3339Nano) + `","ttl":"10m"}`
				if _, err := st.Put(ctx, catalog.LeaseKey("fe01", id), strings.NewReader(data), upload.PutOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			prune := func() (*Report, time.Time) {
				t.Helper()
				st.got = nil
				a := &Applier{Store: st, Policy: Policy{Last: 1, Location: time.UTC}}
				rep, err := a.Run(ctx)
				if err != nil || len(st.got) != 1 {
					t.Fatalf("prune: %v, %d sweeps", err, len(st.got))
				}
				return rep, st.got[0]
			}
			running := func(rep *Report) bool {
				for _, d := range rep.Decisions {
					if d.ID == id {
						return d.Keep && strings.Contains(strings.Join(d.Reasons, ","), "in progress (lease")
					}
				}
				t.Fatalf("no decision for %s", id)
				return false
			}

			lease()
			rep, cut := prune()
			if !running(rep) {
				t.Errorf("the running backup's set: %+v", rep.Decisions)
			}
			if want := start.Add(-catalog.ClockSkew); cut.After(want) {
				t.Errorf("cut-off %v (store now %v) is after the running backup's start less %v, %v: its uploads are aborted", cut, clock.Time(), catalog.ClockSkew, want)
			}

			// The backup dies: 16 minutes of the store's pass without a refresh.
			clock.Advance(16 * time.Minute)
			rep, cut = prune()
			if running(rep) {
				t.Errorf("a lease unwritten for 16 store minutes still counts as running: %+v", rep.Decisions)
			}
			if want := clock.Time().Add(-DefaultGrace); cut.Before(want.Add(-time.Minute)) || cut.After(want) {
				t.Errorf("cut-off %v, want grace before the store's time, %v", cut, want)
			}
		})
	}
}

// clockLocks is a lockStore over a ClockStore whose Delete enforces the
// locks in the store's clock, and which tells the store's time.
type clockLocks struct {
	*lockStore
	clock *uploadtest.ClockStore
}

func newClockLocks(t *testing.T, skew time.Duration) *clockLocks {
	ls, _ := localStore(t)
	clock := uploadtest.NewClockStore(ls, skew)
	return &clockLocks{lockStore: &lockStore{Store: clock, until: map[string]time.Time{}, hold: map[string]bool{}}, clock: clock}
}

func (c *clockLocks) Now(ctx context.Context) (time.Time, error) { return c.clock.Now(ctx) }

func (c *clockLocks) Delete(ctx context.Context, key string) error {
	c.lockStore.mu.Lock()
	c.lockStore.now = c.clock.Time()
	c.lockStore.mu.Unlock()
	return c.lockStore.Delete(ctx, key)
}

// An unfinished set no lease keeps is garbage once its newest object is
// older than the grace period in the store's clock, the clock that dated
// the object (README, "Retention"): the prune machine's clock is 40
// minutes off the store's. 40 minutes behind the store, the old prune took
// a set written 30 minutes ago (grace 1 h) for 70 minutes old and collected
// it; 40 minutes ahead, it still counted one written 70 minutes ago as 30
// minutes old and kept it.
func TestPruneJudgesGraceInStoreClock(t *testing.T) {
	for _, skew := range []time.Duration{-40 * time.Minute, 40 * time.Minute} {
		t.Run("store "+skew.String(), func(t *testing.T) {
			ctx := context.Background()
			st := newClockLocks(t, skew-30*time.Minute)
			// The backup ran on a machine in step with the store, and died.
			craft(t, st, "fe01", st.clock.Time().Add(-2*time.Hour), StatusComplete)
			id := craft(t, st, "fe01", st.clock.Time(), StatusIncomplete)
			st.clock.Advance(30 * time.Minute) // the store's clock is skew off this machine's now
			kept := func() bool {
				t.Helper()
				a := &Applier{Store: st, Policy: Policy{Last: 1, Grace: time.Hour, Location: time.UTC}}
				rep, err := a.Run(ctx)
				if err != nil {
					t.Fatal(err)
				}
				d := decisionFor(t, rep.Decisions, id)
				_, present := statuses(t, st)[id]
				if present != d.Keep {
					t.Fatalf("decision %+v, but present %v", d, present)
				}
				return d.Keep
			}
			if !kept() {
				t.Errorf("a set last written 30 minutes ago in the store's clock (grace 1h) was collected")
			}
			st.clock.Advance(40 * time.Minute)
			if kept() {
				t.Errorf("a set last written 70 minutes ago in the store's clock (grace 1h) was kept")
			}
		})
	}
}

// Locks are judged and dated in the store's clock, which enforces them.
// The prune machine is two days behind the store: the old prune locked a
// kept set until its keep date in this machine's clock, two days before
// the policy (judged here) lets it go, so for two days it stood unlocked.
// Two days ahead of the store: it took a lock with a day left for expired,
// decided to delete the set, and failed on the store's refusal.
func TestPruneJudgesLocksInStoreClock(t *testing.T) {
	ctx := context.Background()
	t.Run("store 48h ahead", func(t *testing.T) {
		skew := 48 * time.Hour
		st := newClockLocks(t, skew)
		now := time.Now().UTC()
		var ids []string
		for d := 3; d >= 1; d-- {
			ids = append(ids, craft(t, st, "fe01", now.AddDate(0, 0, -d).Add(time.Hour), StatusComplete))
		}
		a := &Applier{Store: st, Policy: Policy{Daily: 3, Location: time.UTC}, ExtendLocks: true}
		rep, err := a.Run(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range ids {
			d := decisionFor(t, rep.Decisions, id)
			want := d.KeepUntil.Add(skew)
			for _, k := range []string{catalog.ManifestKey("fe01", id), catalog.ItemKey("fe01", id, "config")} {
				if got := st.until[k]; got.Before(want.Add(-time.Minute)) {
					t.Errorf("%s locked until %v in the store's clock; the policy keeps it until %v here, %v in the store's clock", k, got, d.KeepUntil, want)
				}
			}
		}
	})
	t.Run("store 48h behind", func(t *testing.T) {
		st := newClockLocks(t, -48*time.Hour)
		now := time.Now().UTC()
		old := craft(t, st, "fe01", now.AddDate(0, 0, -10), StatusComplete)
		craft(t, st, "fe01", now.Add(-time.Hour), StatusComplete)
		until := st.clock.Time().Add(24 * time.Hour)
		for _, k := range []string{catalog.ManifestKey("fe01", old), catalog.ItemKey("fe01", old, "config"), catalog.ItemKey("fe01", old, "filestore")} {
			st.until[k] = until
		}
		a := &Applier{Store: st, Policy: Policy{Last: 1, Location: time.UTC}}
		rep, err := a.Run(ctx)
		if err != nil {
			t.Fatalf("prune: %v", err)
		}
		if d := decisionFor(t, rep.Decisions, old); !d.Keep || !strings.Contains(strings.Join(d.Reasons, ","), "locked until") {
			t.Errorf("a set locked for another day of the store's: %+v", d)
		}
	})
}

// readOnlyClock is a store this account can read but not write: its time
// cannot be learned (a folder's is read off a file written in it) and a
// delete fails.
type readOnlyClock struct{ upload.Store }

func (readOnlyClock) Now(ctx context.Context) (time.Time, error) {
	return time.Time{}, &readOnlyErr{}
}

func (readOnlyClock) Delete(ctx context.Context, key string) error {
	return errors.New("delete " + key + ": read-only file system")
}

type readOnlyErr struct{}

func (*readOnlyErr) Error() string {
	return "learn the time of the folder: the destination is read-only here (no file can be written in it: read-only file system)"
}
func (*readOnlyErr) Unwrap() error { return upload.ErrReadOnly }

// A prune of a destination this account cannot write tried every delete
// and failed each ("read-only file system", the decisions printed as if
// made), and kept a backup that crashed 30 hours ago "in progress". Now it
// stops before deciding anything (ErrReadOnlyDestination, nothing
// decided); a dry run still decides, and keeps the crashed set as
// unfinished of unknown state, not as in progress.
func TestPruneReadOnlyDestination(t *testing.T) {
	ctx := context.Background()
	ls, _ := localStore(t)
	st := readOnlyClock{ls}
	now := time.Now()
	craft(t, ls, "fe01", now.Add(-72*time.Hour), StatusComplete)
	craft(t, ls, "fe01", now.Add(-48*time.Hour), StatusComplete)
	id := craft(t, ls, "fe01", now.Add(-30*time.Hour), StatusIncomplete)
	at := now.Add(-30 * time.Hour).Format(time.RFC3339Nano)
	if _, err := ls.Put(ctx, catalog.LeaseKey("fe01", id), strings.NewReader(`{"host":"fe01","set_id":"`+id+`","pid":4242,"machine":"othermachine","start":"`+at+`","refreshed":"`+at+`","ttl":"10m"}`), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	rep, err := (&Applier{Store: st, Policy: Policy{Last: 1, Location: time.UTC}}).Run(ctx)
	if !errors.Is(err, ErrReadOnlyDestination) || !strings.Contains(err.Error(), "read-only for this account") || len(rep.Decisions) != 0 || len(rep.Actions) != 0 {
		t.Errorf("prune: %v, %d decisions, %d actions; want ErrReadOnlyDestination and nothing decided", err, len(rep.Decisions), len(rep.Actions))
	}
	rep, err = (&Applier{Store: st, Policy: Policy{Last: 1, Location: time.UTC}, DryRun: true}).Run(ctx)
	if err != nil {
		t.Fatalf("dry run: %v", err)
	}
	found := false
	for _, d := range rep.Decisions {
		if d.ID == id {
			found = true
			r := strings.Join(d.Reasons, ", ")
			if !d.Keep || !strings.HasPrefix(r, "unfinished; whether a backup is still writing it is unknown (lease of pid 4242") || !strings.Contains(r, "read-only here") {
				t.Errorf("the crashed set: keep %v, %s", d.Keep, r)
			}
		}
	}
	if !found {
		t.Errorf("no decision for %s: %+v", id, rep.Decisions)
	}
}
