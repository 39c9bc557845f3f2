package catalog

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/upload"
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

// readOnlyClock is a store that cannot tell its time because this
// account cannot write it (a folder mounted read-only: local.Store.Now
// reads the time off a file it writes).
type readOnlyClock struct{ upload.Store }

func (readOnlyClock) Now(ctx context.Context) (time.Time, error) {
	return time.Time{}, fmt.Errorf("learn the time of the folder: %w (no file can be written in it: read-only file system)", upload.ErrReadOnly)
}

// On a destination that cannot tell its time every lease counts as live
// (a running backup is never taken for dead), so a backup that crashed
// 30 hours ago on another machine was listed as "a backup is still
// writing it". It is still spared (InProgress), but LeaseUnknown says its
// state is not known, and the lease's words say why: the destination is
// read-only here. Where the store tells its time, a live lease is not
// unknown.
func TestLeaseUnknownOnAReadOnlyStore(t *testing.T) {
	ctx := context.Background()
	base := newStore(t)
	at := time.Now().Add(-30 * time.Hour)
	id := NewSetID(at)
	put(t, base, ItemKey("fe01", id, "certs"), "half")
	put(t, base, LeaseKey("fe01", id), `{"host":"fe01","set_id":"`+id+`","pid":4242,"machine":"othermachine","start":"`+
		at.Format(time.RFC3339Nano)+`","refreshed":"`+at.Format(time.RFC3339Nano)+`","ttl":"10m"}`)
	sets, err := (&Catalog{Store: readOnlyClock{base}}).List(ctx)
	if err != nil || len(sets) != 1 || sets[0].Lease == nil {
		t.Fatalf("%+v %v", sets, err)
	}
	s := sets[0]
	if !s.InProgress() || !s.LeaseUnknown() {
		t.Errorf("InProgress %v, LeaseUnknown %v; want both (spared, state unknown)", s.InProgress(), s.LeaseUnknown())
	}
	if d := s.Lease.Describe(); !strings.Contains(d, "the destination is read-only here, so its time cannot be learned") || !strings.Contains(d, "ago by this machine's clock") {
		t.Errorf("Describe: %s", d)
	}
	if r := skipReason(s); !strings.HasPrefix(r, "incomplete: unfinished, and whether a backup is still writing it is unknown (") {
		t.Errorf("skip reason: %s", r)
	}

	// The same lease just refreshed, on a store that tells its time: running.
	put(t, base, LeaseKey("fe01", id), `{"host":"fe01","set_id":"`+id+`","pid":4242,"machine":"othermachine","ttl":"10m"}`)
	sets, _ = (&Catalog{Store: base}).List(ctx)
	if len(sets) != 1 || !sets[0].InProgress() || sets[0].LeaseUnknown() {
		t.Errorf("a live lease on a writable store: InProgress %v, LeaseUnknown %v; want running", sets[0].InProgress(), sets[0].LeaseUnknown())
	}
}
