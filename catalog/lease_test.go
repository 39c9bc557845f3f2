package catalog

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
)

// liveAt is l.Live() with the store's time now.
func liveAt(l LeaseInfo, now time.Time) bool {
	l.StoreNow = now
	return l.Live()
}

func TestLeaseLiveness(t *testing.T) {
	t0 := time.Date(2026, 11, 29, 2, 0, 0, 0, time.UTC)
	key := LeaseKey("fe01", NewSetID(t0))
	l := LeaseInfo{Key: key, ModTime: t0, Lease: Lease{Refreshed: t0, TTL: Duration(5 * time.Second), Start: t0}}
	// TTL plus a skew allowance of one more TTL (short leases).
	if !liveAt(l, t0.Add(9*time.Second)) || liveAt(l, t0.Add(10*time.Second)) {
		t.Errorf("5s lease: expires %v", l.Expires())
	}
	// Only the store's clock counts: a refresh time the holder dated later
	// (its clock ahead) keeps it no longer, nor an earlier one shorter.
	l.Lease.Refreshed = t0.Add(time.Hour)
	if liveAt(l, t0.Add(10*time.Second)) {
		t.Error("the holder's later refresh time kept the lease live")
	}
	l.Lease.Refreshed = t0.Add(-time.Hour)
	if !liveAt(l, t0.Add(9*time.Second)) {
		t.Error("the holder's earlier refresh time made the lease expire")
	}
	// A store that cannot tell its time: live.
	if !liveAt(l, time.Time{}) {
		t.Error("a lease judged without the store's time is not live")
	}
	// A long lease gets at most ClockSkew of allowance.
	long := LeaseInfo{Key: key, ModTime: t0, Lease: Lease{Refreshed: t0, TTL: Duration(MaxLeaseTTL)}}
	if got := long.Expires(); !got.Equal(t0.Add(MaxLeaseTTL + ClockSkew)) {
		t.Errorf("10m lease expires %v", got)
	}
	// An unreadable lease is live for MaxLeaseTTL after it was written.
	bad := LeaseInfo{Key: key, ModTime: t0, Err: errors.New("garbled")}
	if !liveAt(bad, t0.Add(MaxLeaseTTL)) || liveAt(bad, t0.Add(MaxLeaseTTL+ClockSkew)) {
		t.Errorf("unreadable lease expires %v", bad.Expires())
	}
	if got := bad.Started(); !got.Equal(t0) {
		t.Errorf("unreadable lease started %v, want the set id's time", got)
	}
	// A lease without a TTL (written by another version) counts with MaxLeaseTTL.
	if noTTL := (LeaseInfo{Key: key, ModTime: t0, Lease: Lease{Refreshed: t0, Start: t0}}); !liveAt(noTTL, t0.Add(MaxLeaseTTL-time.Second)) {
		t.Errorf("a lease without a TTL expires %v", noTTL.Expires())
	}
	// A lease refreshed for hours: its object is new, its backup is not.
	bad.ModTime = t0.Add(2 * time.Hour)
	if got := bad.Started(); !got.Equal(t0) {
		t.Errorf("unreadable lease written again at %v started %v, want the set id's time %v", bad.ModTime, got, t0)
	}
	// Started is the earlier of the lease's start and its set id's time.
	early := LeaseInfo{Key: key, ModTime: t0.Add(2 * time.Hour), Lease: Lease{Refreshed: t0.Add(2 * time.Hour), TTL: Duration(time.Minute), Start: t0.Add(-time.Minute)}}
	if got := early.Started(); !got.Equal(t0.Add(-time.Minute)) {
		t.Errorf("lease started %v before its set id: Started %v", early.Lease.Start, got)
	}
	early.Lease.Start = t0.Add(time.Minute)
	if got := early.Started(); !got.Equal(t0) {
		t.Errorf("lease started %v after its set id: Started %v, want %v", early.Lease.Start, got, t0)
	}
	// The start in the store's clock: moved back by how far the holder's
	// clock was ahead of the store's at its last refresh, never forward.
	ahead := LeaseInfo{Key: key, ModTime: t0.Add(-time.Hour), Lease: Lease{Refreshed: t0, TTL: Duration(time.Minute), Start: t0.Add(-time.Minute)}}
	if got := ahead.StartedInStore(); !got.Equal(t0.Add(-time.Hour - time.Minute)) {
		t.Errorf("holder an hour ahead of the store: started in the store's clock %v", got)
	}
	ahead.ModTime = t0.Add(time.Hour)
	if got := ahead.StartedInStore(); !got.Equal(t0.Add(-time.Minute)) {
		t.Errorf("holder an hour behind the store: started in the store's clock %v", got)
	}
	for grace, want := range map[time.Duration]time.Duration{0: MaxLeaseTTL, time.Second: MinLeaseTTL, time.Minute: time.Minute, 24 * time.Hour: MaxLeaseTTL} {
		if got := LeaseTTL(grace); got != want {
			t.Errorf("LeaseTTL(%v) = %v, want %v", grace, got, want)
		}
	}
	// Written on this machine: a process that has ended holds nothing, even
	// within the TTL; a running one (this test) does.
	here, _ := os.Hostname()
	ended := exec.Command(os.Args[0], "-test.run=^$")
	if err := ended.Run(); err != nil {
		t.Fatal(err)
	}
	fresh := LeaseInfo{Key: key, ModTime: time.Now(), StoreNow: time.Now(), Lease: Lease{Refreshed: time.Now(), TTL: Duration(time.Minute), PID: ended.Process.Pid, Machine: here}}
	if fresh.Live() {
		t.Error("the lease of an ended process on this machine is live")
	}
	fresh.Lease.PID = os.Getpid()
	if !fresh.Live() {
		t.Error("the lease of a running process on this machine is not live")
	}
	fresh.Lease.PID, fresh.Lease.Machine = ended.Process.Pid, "elsewhere"
	if !fresh.Live() {
		t.Error("the lease of another machine's process is not live within its TTL")
	}
	if !IsLeaseKey(key) || IsLeaseKey("fe01/"+NewSetID(t0)+"/lease.json.tar.zst.age") || IsLeaseKey("fe01/x/lease.json") {
		t.Error("IsLeaseKey")
	}
}

// A held lease is in the store, listed live, makes its set InProgress, and
// is gone after Release.
func TestLeaseHolder(t *testing.T) {
	ls, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	st := uploadtest.NewClockStore(ls, 0)
	ctx := context.Background()
	now := time.Now()
	id := NewSetID(now)
	h, err := Acquire(ctx, st, "fe01", id, now, time.Minute, "lyncbackup test", nil)
	if err != nil {
		t.Fatal(err)
	}
	cat := Catalog{Store: st}
	live, err := cat.LiveLeases(ctx, "", st.Time())
	if err != nil || len(live) != 1 || live[0].Lease.SetID != id || live[0].Lease.PID == 0 || live[0].Err != nil {
		t.Fatalf("live leases %+v, %v", live, err)
	}
	sets, err := cat.List(ctx)
	if err != nil || len(sets) != 1 || !sets[0].InProgress() || sets[0].Status() != "incomplete" {
		t.Fatalf("sets %+v, %v", sets, err)
	}
	// Three minutes pass for the store, not for this process (whose
	// holder refreshes every 15 s).
	st.Advance(3 * time.Minute)
	if sets, _ := cat.List(ctx); len(sets) != 1 || sets[0].InProgress() {
		t.Error("still in progress after TTL + skew in the store's clock")
	}
	if err := h.Release(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, LeaseKey("fe01", id)); !errors.Is(err, upload.ErrNotFound) {
		t.Errorf("lease after release: %v", err)
	}
}

// "latest" passing over a newer set whose backup is still running says so,
// naming the lease; a dead one is "no manifest" as before.
func TestSkipReasonRunning(t *testing.T) {
	now := time.Now()
	lease := func(refreshed time.Time) *LeaseInfo {
		return &LeaseInfo{Lease: Lease{PID: 4242, Machine: "other-machine", Refreshed: refreshed, TTL: Duration(time.Minute)}, ModTime: refreshed, StoreNow: now}
	}
	live := Set{Host: "fe01", ID: "x", Lease: lease(now.Add(-2 * time.Second))}
	if got := skipReason(live); !strings.Contains(got, "a backup is still writing it (lease of pid 4242 on other-machine") {
		t.Errorf("live lease: %q", got)
	}
	dead := Set{Host: "fe01", ID: "x", Lease: lease(now.Add(-time.Hour))}
	if got := skipReason(dead); !strings.Contains(got, "no manifest") {
		t.Errorf("dead lease: %q", got)
	}
}

// A lease read from the store holds its set for at most MaxLeaseTTL past
// its last refresh: a lease asking for 100 years kept a dead backup's set
// "running" (and prune away from it) that long. A lease dated far ahead
// holds it no longer: only the store's clock counts.
func TestLeaseBoundsFromTheStore(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct{ name, refreshed, ttl string }{
		{"ttl of a century", "2026-01-01T00:00:00Z", "876000h"},
		{"dated a century ahead", "2126-01-01T00:00:00Z", "10m"},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := uploadtest.NewClockStore(newStore(t), 0)
			cat := &Catalog{Store: st}
			id := "20260101T000000Z-0000aa"
			put(t, st, ItemKey("fe01", id, "certs"), "half")
			put(t, st, LeaseKey("fe01", id), `{"host":"fe01","set_id":"`+id+`","pid":4242,"machine":"othermachine","refreshed":"`+c.refreshed+`","ttl":"`+c.ttl+`"}`)
			sets, err := cat.List(ctx)
			if err != nil || len(sets) != 1 || sets[0].Lease == nil {
				t.Fatalf("%+v %v", sets, err)
			}
			if !sets[0].InProgress() {
				t.Error("a lease just written is not live")
			}
			st.Advance(MaxLeaseTTL + ClockSkew + time.Minute)
			if sets, _ := cat.List(ctx); len(sets) != 1 || sets[0].InProgress() {
				t.Errorf("still running at %v (store): expires %v", st.Time(), sets[0].Lease.Expires())
			}
			if live, _ := cat.LiveLeases(ctx, "", st.Time()); len(live) > 0 {
				t.Errorf("%d live leases", len(live))
			}
		})
	}
}
