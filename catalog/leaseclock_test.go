package catalog

import (
	"context"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
)

// A lease's expiry is judged in the store's clock, never this machine's
// (README, "The lease"). The process running the test is the machine
// reading the leases (a prune, list); the store's clock, and the backup
// machine's with it, is 40 minutes behind or ahead of it. With the reader
// 40 minutes ahead, a lease just written looked expired (prune then
// aborted the running backup's uploads, list called its set incomplete);
// 40 minutes behind, a lease unwritten for 16 store minutes (TTL 10 min +
// 5 min allowance) stayed live 40 minutes longer.
func TestLeaseJudgedInStoreClock(t *testing.T) {
	for _, skew := range []time.Duration{-40 * time.Minute, 40 * time.Minute} {
		t.Run("store "+skew.String(), func(t *testing.T) {
			ctx := context.Background()
			st := uploadtest.NewClockStore(newStore(t), skew)
			cat := &Catalog{Store: st}
			at := st.Time()
			id := NewSetID(at.Add(-30 * time.Hour))
			put(t, st, ItemKey("fe01", id, "certs"), "half")
			// Written by a backup on another machine whose clock is the store's.
			put(t, st, LeaseKey("fe01", id), `{"host":"fe01","set_id":"`+id+`","pid":4242,"machine":"othermachine","start":"`+
				at.Add(-30*time.Hour).Format(time.RFC3339Nano)+`","refreshed":"`+at.Format(time.RFC3339Nano)+`","ttl":"10m"}`)
			sets, err := cat.List(ctx)
			if err != nil || len(sets) != 1 || sets[0].Lease == nil {
				t.Fatalf("%+v %v", sets, err)
			}
			if !sets[0].InProgress() {
				t.Errorf("a lease refreshed just now (store %v) is not live: expires %v", at, sets[0].Lease.Expires())
			}
			now, err := StoreNow(ctx, st)
			if err != nil {
				t.Fatal(err)
			}
			if live, err := cat.LiveLeases(ctx, "", now); err != nil || len(live) != 1 {
				t.Errorf("live leases %d, %v; want 1", len(live), err)
			}
			st.Advance(16 * time.Minute)
			if sets, _ := cat.List(ctx); len(sets) != 1 || sets[0].InProgress() {
				t.Errorf("a lease unwritten for 16 minutes in the store's clock is live: %s", sets[0].Lease.Describe())
			}
			now, _ = StoreNow(ctx, st)
			if live, _ := cat.LiveLeases(ctx, "", now); len(live) != 0 {
				t.Errorf("%d live leases, want 0", len(live))
			}
		})
	}
}
