package retention

import (
	"context"
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
