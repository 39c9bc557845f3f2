package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
)

// waitStoreAged waits until what st held at since (this machine's clock;
// the test servers run on it) is older than age both in the store's clock,
// as prune reads it (catalog.StoreNow), and in this machine's. Prune judges
// a lease and an unfinished upload's start in the store's clock, an
// incomplete set's last write in this machine's.
//
// A fixed sleep is not enough: an S3 or Azure store tells its time as the
// Date of an answer, in whole seconds, truncated, and VersityGW's (fasthttp)
// is a string it refreshes once a second, so its Date lags the present by up
// to two seconds (more when the machine is loaded). An upload started at
// 12:00:00.01 (Initiated 12:00:00), with the refresh at .85 in each second,
// was still 2.5 s later, at 12:00:02.51, at Date 12:00:01: not past a 1 s
// grace, and prune left it.
func waitStoreAged(t *testing.T, st upload.Store, since time.Time, age time.Duration) {
	t.Helper()
	waitStorePast(t, st, since.Add(age))
}

// waitStorePast waits until the store's clock and this machine's are past
// until. The store's clock never goes back, so a prune run after this sees
// it past until too.
func waitStorePast(t *testing.T, st upload.Store, until time.Time) {
	t.Helper()
	deadline := time.Now().Add(time.Until(until) + 30*time.Second)
	for {
		now, err := catalog.StoreNow(context.Background(), st)
		if err != nil {
			t.Fatalf("the store's time: %v", err)
		}
		if now.After(until) && time.Now().After(until) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the store's clock (%v) did not pass %v within 30 s of it", now, until)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
