package retention

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
)

// lastWriteWins is a lockStore whose ExtendLock on one chunk meets a
// backup's extension of it: the backup (extending a chunk it reuses to its
// new set's lock plus the slack) writes between prune's read of the lock
// and prune's write, and prune's write lands last, accepted whatever its
// date, as Azure accepts any date on an unlocked immutability policy.
type lastWriteWins struct {
	*lockStore
	key    string
	backup time.Time // the backup's write
}

func (r *lastWriteWins) ExtendLock(ctx context.Context, key string, need, until time.Time) error {
	if key != r.key {
		return r.lockStore.ExtendLock(ctx, key, need, until)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.until[key].Before(need) { // prune's read: too short
		r.until[key] = r.backup // the backup's extension lands
		r.until[key] = until    // then prune's
	}
	return nil
}

// Prune extends the lock of a chunk an older kept set needs while a backup
// reuses the same chunk: prune's write, landing last on a store that
// accepts an earlier date, must not leave the chunk locked shorter than
// the backup's set needs (its lock: at most the store's present plus the
// lock days).
func TestPruneChunkExtensionCoversRunningBackup(t *testing.T) {
	base, _ := localStore(t)
	now := time.Now().UTC()
	ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
	key := catalog.ChunkKey("h", strings.Repeat("a", 64))
	id := craftChunked(t, base, "h", now.AddDate(0, 0, -1), StatusComplete, "a")
	m, err := (&catalog.Catalog{Store: base}).LoadManifest(context.Background(), "h", id)
	if err != nil {
		t.Fatal(err)
	}
	m.Lock = &catalog.Lock{Mode: "GOVERNANCE", RetainUntil: now.Add(time.Hour)}
	if err := (&catalog.Catalog{Store: base}).Commit(context.Background(), m, upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ls.until[key] = now.Add(time.Hour) // the last set using it was locked until then
	const days = 30
	backupNeeds := now.AddDate(0, 0, days) // a backup starting now: its lock
	st := &lastWriteWins{lockStore: ls, key: key, backup: backupNeeds.Add(upload.ExtendSlack(days))}
	a := &Applier{Store: st, Policy: Policy{Daily: 7, Location: time.UTC}, Now: func() time.Time { return now }, ExtendLocks: true, LockDays: days}
	rep, err := a.Run(context.Background())
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("prune: %v %v", err, rep.Errors)
	}
	if rep.LocksExtended == 0 {
		t.Fatalf("prune extended no lock (keep until %v)", decisionFor(t, rep.Decisions, id).KeepUntil)
	}
	if got := ls.until[key]; got.Before(backupNeeds) {
		t.Errorf("chunk locked until %v after prune's extension landed last; the running backup's set needs %v", got, backupNeeds)
	}
}
