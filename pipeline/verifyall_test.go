package pipeline

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/upload"
)

// verifyAllRun is a VerifyAll over the store's sets as listed now, with
// every callback written down in order.
func verifyAllRun(t *testing.T, ctx context.Context, f *fixture, job VerifyAllJob) (VerifyAllResult, error, []string) {
	t.Helper()
	sets, err := (&catalog.Catalog{Store: f.store, NoChunks: true}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var events []string
	job.Store, job.Sets = f.store, sets
	job.Lacking = func(s catalog.Set) { events = append(events, "lacking "+s.ID) }
	job.Deleted = func(s catalog.Set) { events = append(events, "deleted "+s.ID) }
	job.Verified = func(s catalog.Set, reports []ItemReport, err error) {
		if err != nil {
			events = append(events, "failed "+s.ID+": "+err.Error())
			return
		}
		if s.Manifest == nil || len(s.Manifest.Items) == 0 || s.Manifest.Items[0].Chunks == nil && s.Manifest.Items[0].Layout == catalog.LayoutChunked {
			t.Errorf("set %s reported without its whole manifest", s.ID)
		}
		events = append(events, fmt.Sprintf("verified %s: %d items", s.ID, len(reports)))
	}
	res, err := VerifyAll(ctx, job)
	return res, err, events
}

// TestVerifyAll: every committed set of the host, oldest first; another
// host's sets and an incomplete set are not its; a damaged manifest is a
// failed set named in the error; a set whose manifest went while the run
// was on its way is left out as deleted; --item leaves out the sets
// holding none of the items; an interruption stops the run.
func TestVerifyAll(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("data ", 5000)})
	for _, host := range []string{"fe01", "fe01", "fe02", "fe01"} {
		job := inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked)
		job.Host = host
		if _, err := Backup(ctx, job); err != nil {
			t.Fatal(err)
		}
	}
	// fe01's sets, oldest first (sets of one second: by id).
	var ids []string
	listed, _ := (&catalog.Catalog{Store: f.store, NoChunks: true}).List(ctx)
	for _, s := range listed {
		if s.Host == "fe01" {
			ids = append(ids, s.ID)
		}
	}
	if len(ids) != 3 {
		t.Fatalf("fe01's sets: %v", ids)
	}
	// An incomplete set (no manifest): not a backup, left out.
	if _, err := f.store.Put(ctx, "fe01/20200101T000000Z-0001/alpha.tar.zst.age", strings.NewReader("x"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}

	res, err, events := verifyAllRun(t, ctx, f, VerifyAllJob{Host: "fe01", Identities: f.ids})
	want := []string{"verified " + ids[0] + ": 1 items", "verified " + ids[1] + ": 1 items", "verified " + ids[2] + ": 1 items"}
	if err != nil || res.Sets != 3 || len(res.Failed) != 0 || strings.Join(events, "\n") != strings.Join(want, "\n") {
		t.Fatalf("all good: %+v, %v\n%s", res, err, strings.Join(events, "\n"))
	}

	_, err, events = verifyAllRun(t, ctx, f, VerifyAllJob{Host: "fe01", Items: []string{"bravo"}})
	if err == nil || err.Error() != "no set of fe01 holds the item(s) bravo" || len(events) != 3 || events[0] != "lacking "+ids[0] {
		t.Errorf("--item none hold: %v\n%s", err, strings.Join(events, "\n"))
	}
	if _, err, _ := verifyAllRun(t, ctx, f, VerifyAllJob{Host: "fe03"}); err == nil || err.Error() != "host fe03 has no committed set to verify" {
		t.Errorf("no sets: %v", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err, _ := verifyAllRun(t, cctx, f, VerifyAllJob{Host: "fe01"}); !errors.Is(err, ErrInterrupted) {
		t.Errorf("interrupted: %v", err)
	}

	// The middle set's manifest damaged, the newest's deleted after the
	// listing (by a prune while the run was on its way).
	if _, err := f.store.Put(ctx, catalog.ManifestKey("fe01", ids[1]), strings.NewReader(`{"format": 1`), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	sets, _ := (&catalog.Catalog{Store: f.store, NoChunks: true}).List(ctx)
	if err := f.store.Delete(ctx, catalog.ManifestKey("fe01", ids[2])); err != nil {
		t.Fatal(err)
	}
	var events2 []string
	res, err = VerifyAll(ctx, VerifyAllJob{Store: f.store, Sets: sets, Host: "fe01",
		Deleted: func(s catalog.Set) { events2 = append(events2, "deleted "+s.ID) },
		Verified: func(s catalog.Set, reports []ItemReport, err error) {
			events2 = append(events2, fmt.Sprintf("%s: %v", s.ID, err))
		}})
	if err == nil || err.Error() != "verify all: 1 of 2 sets of fe01 failed: "+ids[1] {
		t.Errorf("damaged and deleted: %v", err)
	}
	// (The damaged set has no start time of its own: its place in the
	// order is its id's second.)
	got := map[string]bool{}
	for _, e := range events2 {
		if strings.HasPrefix(e, ids[1]+": verify fe01/"+ids[1]+": ") {
			e = "failed"
		}
		got[e] = true
	}
	if res.Sets != 2 || strings.Join(res.Failed, ",") != ids[1] || strings.Join(res.Deleted, ",") != ids[2] || len(events2) != 3 ||
		!got[ids[0]+": <nil>"] || !got["failed"] || !got["deleted "+ids[2]] {
		t.Errorf("%+v\n%s", res, strings.Join(events2, "\n"))
	}
}
