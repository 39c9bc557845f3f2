package chunk

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
)

// The store's clock, not this machine's, decides whether a marker is stale
// (docs/FORMAT.md, "Prune and concurrent backups"). A prune whose clock was
// 40 minutes ahead of the store's (the file server of an SMB share) took a
// running backup's fresh marker for stale and swept the chunk the backup
// was about to commit, and a backup took a running prune's for stale; with
// the clock 40 minutes behind, a crashed run's marker stayed live for 70
// minutes. A marker unwritten for StaleAfter in the store's clock is stale
// whatever the process's clock says.
func TestMarkerStalenessInStoreClock(t *testing.T) {
	for _, skew := range []time.Duration{-40 * time.Minute, 40 * time.Minute} {
		t.Run("store "+skew.String(), func(t *testing.T) {
			w := newWorld(t)
			w.clock.Advance(skew)
			in, x := w.setup()
			ctx := context.Background()
			// A backup that reuses X; meanwhile A is forgotten and a prune runs.
			err := w.backup("20261126T010000Z-bbbbbb", in, noRefresh(), func() {
				if err := w.st.Delete(ctx, catalog.ManifestKey(host, "20261125T010000Z-aaaaaa")); err != nil {
					t.Fatal(err)
				}
				if _, err := w.sweep(noRefresh()); !errors.Is(err, ErrBackupRunning) {
					t.Errorf("prune beside a running backup: %v, want ErrBackupRunning", err)
				}
			})
			if err != nil {
				t.Fatalf("the backup: %v", err)
			}
			if _, err := w.st.Stat(ctx, x.Key); err != nil {
				t.Errorf("the running backup's chunk X: %v", err)
			}
			w.intact()

			// A running prune makes a backup wait; dead (31 minutes without a
			// write in the store's clock) it does not.
			pm, _, err := BeginSweep(ctx, w.st, host, noRefresh())
			if err != nil {
				t.Fatal(err)
			}
			defer pm.Release(ctx)
			o := noRefresh()
			o.Wait = func(context.Context, int) error { return errWouldWait }
			if _, err := BeginBackup(ctx, w.st, host, "20261126T020000Z-cccccc", o); !errors.Is(err, errWouldWait) {
				t.Errorf("backup beside a running prune: %v, want it to wait", err)
			}
			w.clock.Advance(StaleAfter + time.Minute)
			bm, err := BeginBackup(ctx, w.st, host, "20261126T020000Z-dddddd", o)
			if err != nil {
				t.Fatalf("backup beside a prune marker unwritten for %s: %v", StaleAfter+time.Minute, err)
			}
			// That backup crashes: its marker, unwritten for 31 minutes in
			// the store's clock, no longer stops a prune.
			w.clock.Advance(StaleAfter + time.Minute)
			if _, err := w.sweep(noRefresh()); err != nil {
				t.Errorf("prune beside a backup marker unwritten for %s: %v", StaleAfter+time.Minute, err)
			}
			if _, err := w.st.Stat(ctx, bm.Key); err == nil {
				t.Errorf("the stale marker %s was not deleted", bm.Key)
			}
		})
	}
}
