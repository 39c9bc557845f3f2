package retention

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// craft stores a set with two items at time at (committed with status, or
// left incomplete when status is "incomplete").
func craft(t *testing.T, st upload.Store, host string, at time.Time, status string) string {
	t.Helper()
	ctx := context.Background()
	at = at.Truncate(time.Second)
	id := catalog.NewSetID(at)
	m := &catalog.Manifest{Format: catalog.FormatVersion, Tool: "test", Host: host, SetID: id, Start: at.UTC(), End: at.UTC(), Status: status}
	for _, name := range []string{"config", "filestore"} {
		data := []byte(fmt.Sprintf("%s %s %s", host, id, name))
		key := catalog.ItemKey(host, id, name)
		if _, err := st.Put(ctx, key, bytes.NewReader(data), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		m.Items = append(m.Items, catalog.Item{Name: name, Kind: "path", Key: key, StoredBytes: int64(len(data)), SHA256: hex.EncodeToString(sum[:])})
	}
	if status == StatusIncomplete {
		return id
	}
	if status == StatusPartial {
		m.Failures = []catalog.Failure{{Exporter: "sql", Kind: "sql", Error: "boom"}}
	}
	if err := (&catalog.Catalog{Store: st}).Commit(ctx, m, upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	return id
}

func localStore(t *testing.T) (*local.Store, string) {
	dir := t.TempDir()
	st, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

func statuses(t *testing.T, st upload.Store) map[string]string {
	t.Helper()
	sets, err := (&catalog.Catalog{Store: st}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, s := range sets {
		out[s.ID] = s.Status()
	}
	return out
}

// recorder logs every Delete and can fail the ones matching failDelete.
type recorder struct {
	upload.Store
	mu         sync.Mutex
	deletes    []string
	failDelete func(key string) bool
}

func (r *recorder) Delete(ctx context.Context, key string) error {
	r.mu.Lock()
	r.deletes = append(r.deletes, key)
	fail := r.failDelete != nil && r.failDelete(key)
	r.mu.Unlock()
	if fail {
		return errors.New("injected crash")
	}
	return r.Store.Delete(ctx, key)
}

func (r *recorder) AbortStale(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	return r.Store.(upload.Janitor).AbortStale(ctx, prefix, olderThan)
}

func TestApplierLocal(t *testing.T) {
	st, dir := localStore(t)
	loc := time.UTC
	// Object mtimes are real, so the test's clock is too.
	now := time.Now().UTC()
	var ids []string
	for d := 1; d <= 10; d++ {
		ids = append(ids, craft(t, st, "fe01", now.AddDate(0, 0, d-11), StatusComplete))
	}
	other := craft(t, st, "fe02", now.AddDate(-1, 0, 0), StatusComplete)
	garbage := craft(t, st, "fe01", now.AddDate(0, 0, -30), StatusIncomplete)
	backdate(t, dir, now.AddDate(0, 0, -30))
	// A temp file of a Put that crashed, old enough to be stale.
	tmp := filepath.Join(dir, "fe01", "x.lbtmp-0123")
	os.WriteFile(tmp, []byte("x"), 0o644)
	old := now.Add(-48 * time.Hour)
	os.Chtimes(tmp, old, old)

	rec := &recorder{Store: st}
	a := &Applier{Store: rec, Policy: Policy{Daily: 3, Location: loc}, Now: func() time.Time { return now }, DryRun: true}
	rep, err := a.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.deletes) != 0 {
		t.Fatalf("dry run deleted %v", rec.deletes)
	}
	if rep.Kept != 4 || rep.Deleted != 8 {
		t.Fatalf("dry run: kept %d deleted %d, want 4 and 8: %+v", rep.Kept, rep.Deleted, rep.Decisions)
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal("dry run removed a temp file")
	}

	a.DryRun = false
	rep, err = a.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := statuses(t, st)
	for i, id := range ids {
		_, present := got[id]
		if want := i >= 7; present != want {
			t.Errorf("set %d (%s): present %v, want %v", i, id, present, want)
		}
	}
	if _, ok := got[other]; !ok {
		t.Error("fe02's only set was deleted")
	}
	if _, ok := got[garbage]; ok {
		t.Error("incomplete set past grace not collected")
	}
	if _, err := os.Stat(tmp); err == nil || rep.UploadsAborted != 1 {
		t.Errorf("stale temp file not removed (aborted %d)", rep.UploadsAborted)
	}
	// The manifest goes before any object of its set.
	seen := map[string]bool{}
	for _, k := range rec.deletes {
		set := k[:strings.LastIndex(k, "/")]
		if strings.HasSuffix(k, "/"+catalog.ManifestName) {
			if seen[set] {
				t.Errorf("manifest %s deleted after an object of its set", k)
			}
		} else {
			seen[set] = true
		}
	}
	if len(rec.deletes) != 7*3+2 {
		t.Errorf("%d deletes, want 23 (7 sets x 3 objects, 2 garbage objects): %v", len(rec.deletes), rec.deletes)
	}
	// Nothing left to do.
	rep, err = a.Run(context.Background())
	if err != nil || rep.Deleted != 0 {
		t.Errorf("second prune: deleted %d, err %v", rep.Deleted, err)
	}
}

// A crash between the manifest delete and the object deletes leaves an
// incomplete set (never a manifest naming missing objects), and the next
// prune collects it.
func TestApplierCrashBetweenManifestAndObjects(t *testing.T) {
	st, dir := localStore(t)
	loc := time.UTC
	now := time.Now().UTC()
	victim := craft(t, st, "h", now.AddDate(0, 0, -29), StatusComplete)
	keep := craft(t, st, "h", now.AddDate(0, 0, -1), StatusComplete)
	backdate(t, dir, now.AddDate(0, 0, -29))
	rec := &recorder{Store: st, failDelete: func(k string) bool { return strings.HasSuffix(k, catalog.ObjectSuffix) }}
	a := &Applier{Store: rec, Policy: Policy{Last: 1, Location: loc}, Now: func() time.Time { return now }}
	rep, err := a.Run(context.Background())
	if !errors.Is(err, ErrPartlyFailed) || len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "incomplete") {
		t.Fatalf("err %v, errors %v", err, rep.Errors)
	}
	if got := statuses(t, st); got[victim] != StatusIncomplete || got[keep] != StatusComplete {
		t.Fatalf("after the crash: %v", got)
	}
	if _, err := catalog.Resolve(mustList(t, st), "h", victim); err == nil {
		t.Fatal("the half-deleted set still resolves as restorable")
	}
	rec.failDelete = nil
	rep, err = a.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := statuses(t, st); len(got) != 1 || got[keep] != StatusComplete {
		t.Fatalf("after the next prune: %v (%+v)", got, rep.Decisions)
	}
}

// A failed manifest delete leaves the whole set alone.
func TestApplierManifestDeleteFails(t *testing.T) {
	st, _ := localStore(t)
	now := time.Now()
	victim := craft(t, st, "h", now.AddDate(0, 0, -20), StatusComplete)
	craft(t, st, "h", now.AddDate(0, 0, -1), StatusComplete)
	rec := &recorder{Store: st, failDelete: func(k string) bool { return strings.HasSuffix(k, catalog.ManifestName) }}
	a := &Applier{Store: rec, Policy: Policy{Last: 1}, Now: func() time.Time { return now }}
	if _, err := a.Run(context.Background()); err == nil {
		t.Fatal("no error")
	}
	if len(rec.deletes) != 1 || statuses(t, st)[victim] != StatusComplete {
		t.Fatalf("deletes %v, status %v", rec.deletes, statuses(t, st)[victim])
	}
}

func mustList(t *testing.T, st upload.Store) []catalog.Set {
	sets, err := (&catalog.Catalog{Store: st}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

// lockStore adds an in-memory object lock to a store, enforced on Delete,
// and does not report locks in List (so the applier must ask LockInfo).
type lockStore struct {
	upload.Store
	mu    sync.Mutex
	until map[string]time.Time
	hold  map[string]bool
	calls int
	now   time.Time
	// undated: a refused delete does not tell the lock (plain ErrLocked).
	undated bool
}

func (l *lockStore) LockInfo(ctx context.Context, key string) (time.Time, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls++
	if _, err := l.Store.Stat(ctx, key); err != nil {
		return time.Time{}, false, err
	}
	return l.until[key], l.hold[key], nil
}

func (l *lockStore) ExtendLock(ctx context.Context, key string, need, until time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.until[key].Before(need) && until.After(l.until[key]) {
		l.until[key] = until
	}
	return nil
}

func (l *lockStore) SetLegalHold(ctx context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.hold[key] = true
	return nil
}

// DeleteLock tells the lock Delete would refuse for, as S3 does
// (upload.DeleteLocker): a dry run counts those chunks as locked.
func (l *lockStore) DeleteLock(ctx context.Context, key string) (*upload.LockedError, error) {
	err := l.Delete(context.WithValue(ctx, dryDelete{}, true), key)
	if le := (*upload.LockedError)(nil); errors.As(err, &le) {
		return le, nil
	}
	if errors.Is(err, upload.ErrLocked) {
		return &upload.LockedError{Err: err}, nil
	}
	return nil, nil
}

// dryDelete, set in a context, makes lockStore.Delete delete nothing.
type dryDelete struct{}

func (l *lockStore) Delete(ctx context.Context, key string) error {
	l.mu.Lock()
	until, hold, now := l.until[key], l.hold[key], l.now
	l.mu.Unlock()
	if hold || until.After(now) {
		// As the S3 and Azure stores answer: the lock told, when known.
		err := fmt.Errorf("delete %s: %w", key, upload.ErrLocked)
		if l.undated {
			return err
		}
		if !until.After(now) {
			until = time.Time{}
		}
		return &upload.LockedError{RetainUntil: until, LegalHold: hold, Err: err}
	}
	if ctx.Value(dryDelete{}) != nil {
		return nil
	}
	return l.Store.Delete(ctx, key)
}

func (l *lockStore) List(ctx context.Context, prefix string, fn func(upload.ObjectInfo) error) error {
	return l.Store.List(ctx, prefix, fn)
}

func TestApplierLocks(t *testing.T) {
	base, _ := localStore(t)
	loc := time.UTC
	now := time.Now().UTC()
	ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
	var ids []string
	for d := 1; d <= 6; d++ {
		// An hour later than whole days ago, so "time + 3 days" is still ahead.
		// ids[4] is partial (counted): a kept partial set is locked as a
		// complete one is.
		status := StatusComplete
		if d == 5 {
			status = StatusPartial
		}
		ids = append(ids, craft(t, base, "h", now.AddDate(0, 0, d-7).Add(time.Hour), status))
	}
	// ids[0]: one object locked for a year; ids[1]: legal hold on the manifest;
	// ids[5] (newest): an existing lock longer than the policy asks.
	lockedObj := catalog.ItemKey("h", ids[0], "filestore")
	ls.until[lockedObj] = now.AddDate(1, 0, 0)
	ls.hold[catalog.ManifestKey("h", ids[1])] = true
	long := now.AddDate(5, 0, 0)
	for _, n := range []string{"config", "filestore"} {
		ls.until[catalog.ItemKey("h", ids[5], n)] = long
	}
	a := &Applier{Store: ls, Policy: Policy{Daily: 3, CountPartial: true, Location: loc}, Now: func() time.Time { return now }, ExtendLocks: true, LockDays: 30}
	rep, err := a.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	got := statuses(t, base)
	for i, id := range ids {
		_, present := got[id]
		want := i == 0 || i == 1 || i >= 3
		if present != want {
			t.Errorf("set %d: present %v, want %v (%v)", i, present, want, decisionFor(t, rep.Decisions, id).Reasons)
		}
	}
	if r := decisionFor(t, rep.Decisions, ids[0]).Reasons; !slices.Contains(r, "locked until "+now.AddDate(1, 0, 0).Format("2006-01-02 15:04")) {
		t.Errorf("locked set reasons %v", r)
	}
	if r := decisionFor(t, rep.Decisions, ids[1]).Reasons; !slices.Contains(r, "legal hold") {
		t.Errorf("held set reasons %v", r)
	}
	// Kept dailies are locked until their time + 3 days and the slack
	// (30 lock days: 3 days and an hour), every object including the
	// manifest; the longer lock is never shortened.
	slack := 3*24*time.Hour + time.Hour
	for i := 3; i <= 4; i++ {
		want := setTime(t, ids[i]).AddDate(0, 0, 3).Add(slack)
		for _, k := range []string{catalog.ManifestKey("h", ids[i]), catalog.ItemKey("h", ids[i], "config"), catalog.ItemKey("h", ids[i], "filestore")} {
			if !ls.until[k].Equal(want) {
				t.Errorf("%s locked until %v, want %v", k, ls.until[k], want)
			}
		}
	}
	if got := ls.until[catalog.ItemKey("h", ids[5], "config")]; !got.Equal(long) {
		t.Errorf("a longer lock was shortened to %v", got)
	}
	if !ls.until[catalog.ManifestKey("h", ids[5])].Equal(setTime(t, ids[5]).AddDate(0, 0, 3).Add(slack)) {
		t.Errorf("newest manifest lock %v", ls.until[catalog.ManifestKey("h", ids[5])])
	}
	if rep.LocksExtended != 7 {
		t.Errorf("%d locks extended, want 7 (3+3 objects of two dailies, the newest's manifest)", rep.LocksExtended)
	}
	// Locked sets past their policy are not extended: they were not kept
	// by a rule, only by the lock.
	if !ls.until[catalog.ItemKey("h", ids[0], "config")].IsZero() {
		t.Errorf("a set kept only by its lock got a lock extension")
	}
}

// TestApplierLocksOnlyLockedSetsWithoutExtendLocks: without ExtendLocks
// (a prune with --from and no config, or a config without object_lock /
// immutability) a kept set that already has a lock still gets it extended
// to its keep date; a kept set without one gets none.
func TestApplierLocksOnlyLockedSetsWithoutExtendLocks(t *testing.T) {
	base, dir := localStore(t)
	now := time.Now().UTC()
	ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
	var ids []string
	for d := 1; d <= 3; d++ {
		ids = append(ids, craft(t, base, "h", now.AddDate(0, 0, d-4).Add(time.Hour), StatusComplete))
	}
	// ids[2] (the newest) was stored with a lock for a day past its set
	// time: its manifest records it (listings do not report locks).
	short := setTime(t, ids[2]).AddDate(0, 0, 1)
	for _, n := range []string{"config", "filestore"} {
		ls.until[catalog.ItemKey("h", ids[2], n)] = short
	}
	mpath := filepath.Join(dir, filepath.FromSlash(catalog.ManifestKey("h", ids[2])))
	var m catalog.Manifest
	if b, err := os.ReadFile(mpath); err != nil || json.Unmarshal(b, &m) != nil {
		t.Fatal(err)
	}
	m.Lock = &catalog.Lock{Mode: "GOVERNANCE", RetainUntil: short}
	b, _ := json.Marshal(&m)
	if err := os.WriteFile(mpath, b, 0o644); err != nil {
		t.Fatal(err)
	}
	ls.until[catalog.ManifestKey("h", ids[2])] = short
	a := &Applier{Store: ls, Policy: Policy{Daily: 3, Location: time.UTC}, Now: func() time.Time { return now }}
	rep, err := a.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := setTime(t, ids[2]).AddDate(0, 0, 3).Add(upload.ExtendSlack(0)) // no config: 1 day of slack
	for _, k := range []string{catalog.ManifestKey("h", ids[2]), catalog.ItemKey("h", ids[2], "config"), catalog.ItemKey("h", ids[2], "filestore")} {
		if !ls.until[k].Equal(want) {
			t.Errorf("locked set: %s locked until %v, want %v", k, ls.until[k], want)
		}
	}
	for _, id := range ids[:2] {
		for _, k := range []string{catalog.ManifestKey("h", id), catalog.ItemKey("h", id, "config")} {
			if !ls.until[k].IsZero() {
				t.Errorf("a set without a lock got one: %s until %v", k, ls.until[k])
			}
		}
	}
	if rep.LocksExtended != 3 {
		t.Errorf("%d locks extended, want 3", rep.LocksExtended)
	}
}

// craftChunked commits a chunked set at time at naming the chunks ids (each
// stored once, as a backup stores it), with its chunk list.
func craftChunked(t *testing.T, st upload.Store, host string, at time.Time, status string, ids ...string) string {
	t.Helper()
	ctx := context.Background()
	at = at.Truncate(time.Second)
	set := catalog.NewSetID(at)
	var list strings.Builder
	var cs []catalog.Chunk
	for _, id := range ids {
		id = strings.Repeat(id, 64/len(id))
		key := catalog.ChunkKey(host, id)
		if _, err := st.Stat(ctx, key); err != nil {
			if _, err := st.Put(ctx, key, strings.NewReader(id), upload.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		sum := sha256.Sum256([]byte(id))
		cs = append(cs, catalog.Chunk{Key: key, PlainBytes: 64, StoredBytes: 64, SHA256: hex.EncodeToString(sum[:])})
		list.WriteString(key + "\n")
	}
	key := catalog.SetPrefix(host, set) + "sql" + catalog.ChunksSuffix
	if _, err := st.Put(ctx, key, strings.NewReader(list.String()), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(list.String()))
	m := &catalog.Manifest{Format: catalog.FormatVersion, Tool: "test", Host: host, SetID: set, Start: at.UTC(), End: at.UTC(), Status: status,
		Items: []catalog.Item{{Name: "sql", Kind: "path", Key: key, PlainBytes: int64(64 * len(ids)), StoredBytes: int64(64 * len(ids)), SHA256: hex.EncodeToString(sum[:]),
			Layout: catalog.LayoutChunked, Chunks: cs}}}
	if status == StatusPartial {
		m.Failures = []catalog.Failure{{Exporter: "cs", Kind: "cmdlet", Error: "boom"}}
	}
	if err := (&catalog.Catalog{Store: st}).Commit(ctx, m, upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	return set
}

// TestApplierChunkLocks: prune locks each chunk until the latest keep date
// of the kept sets that name it, partial sets (counted) included, and
// leaves alone the chunk only a forgotten set named (it is swept).
func TestApplierChunkLocks(t *testing.T) {
	base, _ := localStore(t)
	now := time.Now().UTC()
	ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
	day := func(d int) time.Time { return now.AddDate(0, 0, d).Add(time.Hour) }
	craftChunked(t, base, "h", day(-4), StatusComplete, "a", "b")           // forgotten
	partial := craftChunked(t, base, "h", day(-2), StatusPartial, "b", "c") // c only here
	newest := craftChunked(t, base, "h", day(-1), StatusComplete, "b", "d")
	a := &Applier{Store: ls, Policy: Policy{Daily: 2, CountPartial: true, Location: time.UTC}, Now: func() time.Time { return now }, ExtendLocks: true}
	rep, err := a.Run(context.Background())
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("run: %v %v", err, rep.Errors)
	}
	key := func(id string) string { return catalog.ChunkKey("h", strings.Repeat(id, 64)) }
	slack := upload.ExtendSlack(0)
	pu, nu := setTime(t, partial).AddDate(0, 0, 2).Add(slack), setTime(t, newest).AddDate(0, 0, 2).Add(slack)
	for id, want := range map[string]time.Time{"b": nu, "c": pu, "d": nu} {
		if got := ls.until[key(id)]; !got.Equal(want) {
			t.Errorf("chunk %s locked until %v, want %v", id, got, want)
		}
	}
	if _, err := base.Stat(context.Background(), key("a")); !errors.Is(err, upload.ErrNotFound) {
		t.Errorf("the forgotten set's own chunk: stat err %v, want it deleted", err)
	}
	if !ls.until[key("a")].IsZero() {
		t.Errorf("the forgotten set's chunk got a lock")
	}
}

// Backups stopped 20 days ago (object_lock days: 10 at upload): the sets
// daily 7 keeps stay kept, and prune extends their locks past now (all but
// the 7th, which the next backup's prune may delete). It extended none,
// the newest included: everything kept was deletable with the credentials.
func TestKeptSetsLockedWhenBackupsStop(t *testing.T) {
	base, _ := localStore(t)
	now := time.Now().UTC()
	ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
	var ids []string
	for d := 26; d >= 20; d-- {
		id := craft(t, base, "h", now.AddDate(0, 0, -d), StatusComplete)
		ids = append(ids, id)
		for _, k := range []string{catalog.ManifestKey("h", id), catalog.ItemKey("h", id, "config"), catalog.ItemKey("h", id, "filestore")} {
			ls.until[k] = setTime(t, id).AddDate(0, 0, 10)
		}
	}
	a := &Applier{Store: ls, Policy: Policy{Daily: 7, Location: time.UTC}, Now: func() time.Time { return now }, ExtendLocks: true}
	rep, err := a.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for i, id := range ids {
		d := decisionFor(t, rep.Decisions, id)
		if !d.Keep {
			t.Errorf("%s deleted", id)
		}
		if k := catalog.ManifestKey("h", id); i > 0 && !ls.until[k].After(now) {
			t.Errorf("kept set %s (%v) locked only until %s: deletable", id, d.Reasons, ls.until[k].Format(time.DateOnly))
		}
	}
}

// manifestGets counts the manifests read.
type manifestGets struct {
	upload.Store
	n atomic.Int64
}

func (m *manifestGets) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if strings.HasSuffix(key, "/manifest.json") {
		m.n.Add(1)
	}
	return m.Store.Get(ctx, key, off, n)
}

// Each host's chunk sweep reads that host's manifests, not every host's:
// 4 hosts of 3 sets took 60 manifest reads for 12 sets (12 for the
// decisions, then all 12 again per host).
func TestSweepReadsOnlyItsHostsManifests(t *testing.T) {
	base, _ := localStore(t)
	now := time.Now().UTC()
	for _, h := range []string{"h1", "h2", "h3", "h4"} {
		for d := 1; d <= 3; d++ {
			craftChunked(t, base, h, now.AddDate(0, 0, -d), StatusComplete, "a", "b")
		}
	}
	mg := &manifestGets{Store: base}
	a := &Applier{Store: mg, Policy: Policy{Daily: 30, Location: time.UTC}, Now: func() time.Time { return now }}
	if _, err := a.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := mg.n.Load(); n != 24 {
		t.Errorf("%d manifest reads for 12 sets of 4 hosts, want 24 (each once to decide, once to sweep)", n)
	}
}

// A prune that does not sweep a host's chunks (a backup of it is running,
// or one of its manifests is damaged) still extends the locks of the
// chunks its kept sets use: the sets' own locks were extended, and a
// schedule that always meets a backup let the chunks of monthly sets fall
// out of their lock after object_lock.days.
func TestChunkLocksExtendedWithoutSweep(t *testing.T) {
	for _, why := range []string{"backup running", "damaged manifest"} {
		t.Run(why, func(t *testing.T) {
			base, _ := localStore(t)
			now := time.Now().UTC()
			ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
			craftChunked(t, base, "h", now.AddDate(0, 0, -4).Add(time.Hour), StatusComplete, "a") // forgotten
			kept := craftChunked(t, base, "h", now.AddDate(0, 0, -1).Add(time.Hour), StatusComplete, "b")
			switch why {
			case "backup running":
				mark, err := chunk.BeginBackup(context.Background(), base, "h", "20991231T000000Z-abcdef", chunk.Options{NoRefresh: true})
				if err != nil {
					t.Fatal(err)
				}
				defer mark.Release(context.Background())
			case "damaged manifest":
				id := catalog.NewSetID(now.AddDate(0, 0, -2).Add(time.Hour))
				base.Put(context.Background(), catalog.ManifestKey("h", id), strings.NewReader("{not json"), upload.PutOptions{})
			}
			a := &Applier{Store: ls, Policy: Policy{Daily: 30, Location: time.UTC}, Now: func() time.Time { return now }, ExtendLocks: true}
			rep, err := a.Run(context.Background())
			if err != nil || len(rep.Errors) > 0 {
				t.Fatalf("run: %v %v", err, rep.Errors)
			}
			key := func(id string) string { return catalog.ChunkKey("h", strings.Repeat(id, 64)) }
			want := setTime(t, kept).AddDate(0, 0, 30).Add(upload.ExtendSlack(0))
			if got := ls.until[key("b")]; !got.Equal(want) {
				t.Errorf("the kept set's chunk locked until %v, want %v (its manifest: %v)", got, want, ls.until[catalog.ManifestKey("h", kept)])
			}
			if _, err := base.Stat(context.Background(), key("a")); err != nil {
				t.Errorf("a chunk was deleted without a sweep: %v", err)
			}
			if len(rep.Notes) == 0 {
				t.Error("no note says why the chunks were not swept")
			}
		})
	}
}

// The Store interface is the only way in: a wrapper around a store that
// fails to list makes Run fail with one error and touch nothing.
func TestApplierListFails(t *testing.T) {
	st, _ := localStore(t)
	a := &Applier{Store: failList{st}, Policy: Policy{Last: 1}}
	if _, err := a.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "list") {
		t.Fatalf("err = %v", err)
	}
}

type failList struct{ upload.Store }

func (failList) List(context.Context, string, func(upload.ObjectInfo) error) error {
	return io.ErrUnexpectedEOF
}

// backdate sets every file's mtime under dir (crafted sets look written then).
func backdate(t *testing.T, dir string, at time.Time) {
	t.Helper()
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chtimes(p, at, at)
		}
		return nil
	})
}

func setTime(t *testing.T, id string) time.Time {
	t.Helper()
	at, err := catalog.ParseSetID(id)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// An incomplete set whose lease is live is kept whatever its age; the
// stale-upload cutoff never passes the start of a running backup.
func TestRunningBackupSpared(t *testing.T) {
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	old := now.Add(-48 * time.Hour)
	sets := []SetMeta{
		{Host: "h", ID: catalog.NewSetID(old), Time: old, Status: StatusIncomplete, LastWrite: old, Running: "lease of pid 7"},
		{Host: "h", ID: catalog.NewSetID(old.Add(time.Hour)), Time: old.Add(time.Hour), Status: StatusIncomplete, LastWrite: old.Add(time.Hour)},
		{Host: "h", ID: catalog.NewSetID(now.Add(-time.Hour)), Time: now.Add(-time.Hour), Status: StatusComplete},
	}
	ds := Apply(Policy{Last: 1, Grace: time.Second}, sets, now)
	if !ds[0].Keep || !strings.Contains(strings.Join(ds[0].Reasons, ","), "in progress (lease of pid 7)") {
		t.Errorf("running set: %+v", ds[0])
	}
	if ds[1].Keep {
		t.Errorf("abandoned set kept: %+v", ds[1])
	}
	start := now.Add(-30 * time.Hour)
	live := []catalog.LeaseInfo{{Key: catalog.LeaseKey("h", catalog.NewSetID(start)), ModTime: now, Lease: catalog.Lease{Start: start, Refreshed: now, TTL: catalog.Duration(time.Minute)}}}
	if got := StaleCutoff(now, 24*time.Hour, live); !got.Equal(start.Add(-catalog.ClockSkew)) {
		t.Errorf("cutoff with a running backup %v, want %v", got, start.Add(-catalog.ClockSkew))
	}
	if got := StaleCutoff(now, 24*time.Hour, nil); !got.Equal(now.Add(-24 * time.Hour)) {
		t.Errorf("cutoff %v", got)
	}
}

// TestReportSummary: the one line prune prints and mails names only what
// happened.
func TestReportSummary(t *testing.T) {
	for _, c := range []struct {
		r    Report
		want string
	}{
		{Report{Kept: 3}, "3 set(s) kept, deleted 0"},
		{Report{Kept: 3, DryRun: true, Deleted: 1, FreedBytes: 10}, "3 set(s) kept, would delete 1 (10 bytes)"},
		{Report{Kept: 2, Deleted: 1, FreedBytes: 10, LocksExtended: 4, ChunksDeleted: 5, UploadsAborted: 1},
			"2 set(s) kept, deleted 1 (10 bytes), 4 lock(s) extended, 5 chunk(s) no set uses deleted, 1 stale upload(s) aborted"},
		{Report{Kept: 2, DryRun: true, ChunksDeleted: 5}, "2 set(s) kept, would delete 0, 5 chunk(s) no set uses to delete"},
	} {
		if got := c.r.Summary(); got != c.want {
			t.Errorf("%q, want %q", got, c.want)
		}
	}
}

// --host takes a host without case, as restore and verify do: --host
// FE01 prunes the sets of fe01 (it found none, did nothing and said so).
func TestApplierHostWithoutCase(t *testing.T) {
	st, _ := localStore(t)
	now := time.Now().UTC()
	for d := 1; d <= 4; d++ {
		craft(t, st, "fe01", now.AddDate(0, 0, -d), StatusComplete)
	}
	craft(t, st, "fe02", now.AddDate(0, 0, -5), StatusComplete)
	a := &Applier{Store: st, Policy: Policy{Last: 1, Location: time.UTC}, Now: func() time.Time { return now }, Host: "FE01", DryRun: true}
	rep, err := a.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if rep.Host != "fe01" || rep.Kept != 1 || rep.Deleted != 3 || len(rep.OtherHosts) != 0 {
		t.Fatalf("host %q, kept %d, deleted %d, other hosts %v", rep.Host, rep.Kept, rep.Deleted, rep.OtherHosts)
	}
}

// A prune that runs every night after a backup reusing the same chunks
// extends a chunk's lock to what the kept sets need plus the slack (30
// lock days: 3 days), so once every 4 nights, not every night: each
// night's newest set is kept a day longer than the last night's. Every
// night the chunks stay locked at least as long as the sets using them
// are kept. keep_daily 40: the keep dates outlast what a backup could
// need (store time + 30 days + slack, which prune never writes below).
func TestPruneExtendsLocksWithSlack(t *testing.T) {
	base, _ := localStore(t)
	ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}}
	start := time.Now().UTC().Truncate(24 * time.Hour).Add(2 * time.Hour)
	key := catalog.ChunkKey("h", strings.Repeat("a", 64))
	var changed []int
	for n := range 8 {
		night := start.AddDate(0, 0, n)
		craftChunked(t, base, "h", night, StatusComplete, "a", "b")
		before := ls.until[key]
		ls.now = night.Add(time.Hour)
		a := &Applier{Store: ls, Policy: Policy{Daily: 40, Location: time.UTC}, Now: func() time.Time { return night.Add(time.Hour) }, ExtendLocks: true, LockDays: 30}
		rep, err := a.Run(context.Background())
		if err != nil || len(rep.Errors) > 0 {
			t.Fatalf("night %d: %v %v", n, err, rep.Errors)
		}
		if !ls.until[key].Equal(before) {
			changed = append(changed, n)
		}
		for _, d := range rep.Decisions {
			if d.Keep && ls.until[key].Before(d.KeepUntil) {
				t.Errorf("night %d: the chunk is locked until %v, before set %s's keep date %v", n, ls.until[key], d.ID, d.KeepUntil)
			}
		}
	}
	if want := []int{0, 4}; !slices.Equal(changed, want) {
		t.Errorf("nights that extended the chunk's lock: %v, want %v (a 3-day slack)", changed, want)
	}
}

// heldSet marks a crafted set as written under legal hold: its manifest
// records lock.legal_hold and, unless lifted, its manifest object is held.
func heldSet(t *testing.T, base upload.Store, ls *lockStore, host, id string, lifted bool) {
	t.Helper()
	c := &catalog.Catalog{Store: base}
	m, err := c.LoadManifest(context.Background(), host, id)
	if err != nil {
		t.Fatal(err)
	}
	m.Lock = &catalog.Lock{Mode: "GOVERNANCE", RetainUntil: m.Start.AddDate(0, 0, 1), LegalHold: true}
	if err := c.Commit(context.Background(), m, upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	ls.hold[catalog.ManifestKey(host, id)] = !lifted
}

// A set written under legal hold before reused chunks were held names
// chunks without a hold; prune, reading the manifests for its sweep, puts
// a hold on each such chunk of a kept set still under hold (asking the
// store first: a chunk held already gets no hold written), in a dry run
// names them without writing, and leaves alone the chunks of a set whose
// holds an operator lifted. The old prune held none.
func TestPruneHoldsChunksOfHeldSets(t *testing.T) {
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry run %v", dry), func(t *testing.T) {
			base, _ := localStore(t)
			now := time.Now().UTC()
			ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
			key := func(id string) string { return catalog.ChunkKey("h", strings.Repeat(id, 64)) }
			day := func(d int) time.Time { return now.AddDate(0, 0, d).Add(time.Hour) }
			craftChunked(t, base, "h", day(-3), StatusComplete, "a", "b")         // unheld, older
			held := craftChunked(t, base, "h", day(-2), StatusComplete, "a", "c") // held; reused a without a hold
			heldSet(t, base, ls, "h", held, false)
			ls.hold[key("c")] = true // uploaded with the hold
			released := craftChunked(t, base, "h", day(-1), StatusComplete, "b", "d")
			heldSet(t, base, ls, "h", released, true)
			sets := &holdCounter{lockStore: ls}
			a := &Applier{Store: sets, Policy: Policy{Daily: 7, Location: time.UTC}, Now: func() time.Time { return now }, DryRun: dry}
			rep, err := a.Run(context.Background())
			if err != nil || len(rep.Errors) > 0 {
				t.Fatalf("prune: %v %v", err, rep.Errors)
			}
			var named []string
			for _, act := range rep.Actions {
				if act.Op == "legal_hold" {
					named = append(named, act.Key)
				}
			}
			if !slices.Equal(named, []string{key("a")}) {
				t.Errorf("legal_hold actions %v, want only %s", named, key("a"))
			}
			switch {
			case dry && (len(sets.set) != 0 || rep.HoldsPlaced != 0):
				t.Errorf("a dry run set holds on %v (%d)", sets.set, rep.HoldsPlaced)
			case !dry && (!slices.Equal(sets.set, []string{key("a")}) || rep.HoldsPlaced != 1):
				t.Errorf("holds set on %v (%d placed), want only %s", sets.set, rep.HoldsPlaced, key("a"))
			}
		})
	}
}

// holdCounter records SetLegalHold calls.
type holdCounter struct {
	*lockStore
	set []string
}

func (h *holdCounter) SetLegalHold(ctx context.Context, key string) error {
	h.lockStore.mu.Lock()
	h.set = append(h.set, key)
	h.lockStore.mu.Unlock()
	return h.lockStore.SetLegalHold(ctx, key)
}

// A delete that fails is not counted as done: the report (summary line,
// --json fields) says which sets really went, which did not and why, which
// are left partly deleted, and only the bytes really freed.
func TestApplierCountsOnlyDeletesDone(t *testing.T) {
	st, _ := localStore(t)
	now := time.Now()
	whole := craft(t, st, "h", now.AddDate(0, 0, -30), StatusComplete)  // manifest delete refused
	partly := craft(t, st, "h", now.AddDate(0, 0, -29), StatusComplete) // one object's delete refused
	gone := craft(t, st, "h", now.AddDate(0, 0, -28), StatusComplete)   // deleted
	craft(t, st, "h", now.AddDate(0, 0, -2), StatusComplete)
	craft(t, st, "h", now.AddDate(0, 0, -1), StatusComplete)
	sizes := map[string]int64{}
	var objects map[string]int
	objects = map[string]int{}
	for _, s := range mustList(t, st) {
		sizes[s.ID] = s.Size()
		objects[s.ID] = len(s.Objects)
	}
	var refusedObj int64
	for _, s := range mustList(t, st) {
		for _, o := range s.Objects {
			if o.Key == catalog.ItemKey("h", partly, "filestore") {
				refusedObj = o.Size
			}
		}
	}
	rec := &recorder{Store: st, failDelete: func(k string) bool {
		return k == catalog.ManifestKey("h", whole) || k == catalog.ItemKey("h", partly, "filestore")
	}}
	a := &Applier{Store: rec, Policy: Policy{Last: 2}, Now: func() time.Time { return now }}
	rep, err := a.Run(context.Background())
	if !errors.Is(err, ErrPartlyFailed) {
		t.Errorf("err %v", err)
	}
	if rep.Kept != 2 || rep.Deleted != 1 || !slices.Equal(rep.DeletedSets, []string{"h/" + gone}) {
		t.Errorf("kept %d, deleted %d %v; want 2, 1 [h/%s]", rep.Kept, rep.Deleted, rep.DeletedSets, gone)
	}
	if want := sizes[gone] + sizes[partly] - refusedObj; rep.FreedBytes != want {
		t.Errorf("freed %d bytes, want %d (the deleted set, and what of the partly deleted one went)", rep.FreedBytes, want)
	}
	want := []SetFailure{
		{Set: "h/" + whole, Error: "injected crash", ObjectsLeft: objects[whole]},
		{Set: "h/" + partly, Error: "injected crash", Partly: true, ObjectsDeleted: objects[partly] - 1, ObjectsLeft: 1},
	}
	if !slices.Equal(rep.DeleteFailed, want) {
		t.Errorf("delete failed %+v, want %+v", rep.DeleteFailed, want)
	}
	sum := rep.Summary()
	wantSum := fmt.Sprintf("2 set(s) kept, deleted 1 (%d bytes), delete failed for 2 set(s): h/%s (left whole), h/%s (partly deleted, 1 object(s) left)", rep.FreedBytes, whole, partly)
	if sum != wantSum {
		t.Errorf("summary\n%q, want\n%q", sum, wantSum)
	}
	for _, e := range rep.Errors {
		if !strings.Contains(e, "injected crash") {
			t.Errorf("error without its cause: %q", e)
		}
	}
	doc, _ := json.Marshal(rep)
	var back struct {
		Deleted      int          `json:"deleted"`
		DeletedSets  []string     `json:"deleted_sets"`
		DeleteFailed []SetFailure `json:"delete_failed"`
		FreedBytes   int64        `json:"freed_bytes"`
	}
	if err := json.Unmarshal(doc, &back); err != nil {
		t.Fatal(err)
	}
	if back.Deleted != 1 || len(back.DeletedSets) != 1 || !slices.Equal(back.DeleteFailed, want) || back.FreedBytes != rep.FreedBytes {
		t.Errorf("--json document: %s", doc)
	}
	// Each decision says what became of its set, in the table's words too.
	for id, want := range map[string][2]string{whole: {OutcomeLeftWhole, "delete failed (left whole)"},
		partly: {OutcomePartlyDeleted, "delete failed (partly deleted)"}, gone: {OutcomeDeleted, "delete"}} {
		if d := decisionFor(t, rep.Decisions, id); d.Outcome != want[0] || d.Action() != want[1] {
			t.Errorf("set %s: outcome %q, action %q; want %q, %q", id, d.Outcome, d.Action(), want[0], want[1])
		}
	}
	for _, d := range rep.Decisions {
		if d.Keep && (d.Outcome != OutcomeKept || d.Action() != "keep") {
			t.Errorf("kept set %s: outcome %q, action %q", d.ID, d.Outcome, d.Action())
		}
	}

	// The dry run still says what it would do.
	st2, _ := localStore(t)
	craft(t, st2, "h", now.AddDate(0, 0, -30), StatusComplete)
	craft(t, st2, "h", now.AddDate(0, 0, -1), StatusComplete)
	a = &Applier{Store: st2, Policy: Policy{Last: 1}, Now: func() time.Time { return now }, DryRun: true}
	rep, err = a.Run(context.Background())
	if err != nil || rep.Deleted != 1 || rep.FreedBytes == 0 || len(rep.DeleteFailed) != 0 || !strings.HasPrefix(rep.Summary(), "1 set(s) kept, would delete 1 (") {
		t.Errorf("dry run: %q, err %v", rep.Summary(), err)
	}
	// Nothing ran: no outcome, and the table says the decision.
	for _, d := range rep.Decisions {
		if want := map[bool]string{true: "keep", false: "delete"}[d.Keep]; d.Outcome != "" || d.Action() != want {
			t.Errorf("dry run: set %s: outcome %q, action %q; want none, %q", d.ID, d.Outcome, d.Action(), want)
		}
	}
}

// cancelAfter cancels the run once its first delete is done.
type cancelAfter struct {
	upload.Store
	cancel context.CancelFunc
}

func (c *cancelAfter) Delete(ctx context.Context, key string) error {
	err := c.Store.Delete(ctx, key)
	c.cancel()
	return err
}

// A prune interrupted before it tried to delete a set says so for that
// set ("delete not tried"), not "delete".
func TestApplierOutcomeNotTried(t *testing.T) {
	st, _ := localStore(t)
	now := time.Now()
	first := craft(t, st, "h", now.AddDate(0, 0, -3), StatusComplete)
	second := craft(t, st, "h", now.AddDate(0, 0, -2), StatusComplete)
	craft(t, st, "h", now.AddDate(0, 0, -1), StatusComplete)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := &Applier{Store: &cancelAfter{Store: st, cancel: cancel}, Policy: Policy{Last: 1}, Now: func() time.Time { return now }, Parallel: 1}
	rep, err := a.Run(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err %v, want it interrupted", err)
	}
	if d := decisionFor(t, rep.Decisions, first); d.Outcome != OutcomePartlyDeleted {
		t.Errorf("the set being deleted: outcome %q, want %q", d.Outcome, OutcomePartlyDeleted)
	}
	if d := decisionFor(t, rep.Decisions, second); d.Outcome != OutcomeNotTried || d.Action() != "delete not tried" {
		t.Errorf("the set after the interruption: outcome %q, action %q", d.Outcome, d.Action())
	}
}

// A chunk whose delete fails is not counted as deleted nor its bytes freed:
// the summary says it was not deleted.
func TestApplierChunkDeleteFails(t *testing.T) {
	st, _ := localStore(t)
	now := time.Now().UTC()
	day := func(d int) time.Time { return now.AddDate(0, 0, d).Add(time.Hour) }
	old := craftChunked(t, st, "h", day(-3), StatusComplete, "a", "b", "c") // a and b only here
	craftChunked(t, st, "h", day(-1), StatusComplete, "c")
	key := func(id string) string { return catalog.ChunkKey("h", strings.Repeat(id, 64)) }
	sizeOf := func(k string) int64 {
		o, err := st.Stat(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		return o.Size
	}
	bSize := sizeOf(key("b"))
	sets, err := (&catalog.Catalog{Store: st, NoChunks: true}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var setSize int64
	for _, s := range sets {
		if s.ID == old {
			setSize = s.Size()
		}
	}
	rec := &recorder{Store: st, failDelete: func(k string) bool { return k == key("a") }}
	a := &Applier{Store: rec, Policy: Policy{Last: 1}, Now: func() time.Time { return now }}
	rep, err := a.Run(context.Background())
	if !errors.Is(err, ErrPartlyFailed) {
		t.Errorf("err %v", err)
	}
	if rep.ChunksDeleted != 1 || rep.ChunksFailed != 1 {
		t.Errorf("chunks deleted %d, failed %d; want 1 and 1", rep.ChunksDeleted, rep.ChunksFailed)
	}
	for _, act := range rep.Actions {
		if act.Op == "delete" && act.Key == key("a") && act.Done {
			t.Errorf("the chunk whose delete failed is reported done: %+v", act)
		}
	}
	if rep.Deleted != 1 || setSize == 0 || rep.FreedBytes != setSize+bSize {
		t.Errorf("deleted %d, freed %d bytes; want 1 and %d (the set's %d, chunk b's %d)", rep.Deleted, rep.FreedBytes, setSize+bSize, setSize, bSize)
	}
	if !strings.Contains(rep.Summary(), ", 1 chunk(s) no set uses deleted, 1 chunk(s) no set uses not deleted (delete failed)") {
		t.Errorf("summary %q", rep.Summary())
	}
	if !slices.ContainsFunc(rep.Errors, func(e string) bool { return strings.Contains(e, key("a")) && strings.Contains(e, "injected crash") }) {
		t.Errorf("errors %v", rep.Errors)
	}
}

// Chunks no set uses that the store refuses to delete for a lock are
// counted apart, with their bytes and from when they can go: the report
// (--json chunks_locked) and its line say why storage did not shrink.
// Before, only a log line counted them.
func TestApplierLockedChunksReported(t *testing.T) {
	base, _ := localStore(t)
	now := time.Now().UTC()
	day := func(d int) time.Time { return now.AddDate(0, 0, d).Add(time.Hour) }
	craftChunked(t, base, "h", day(-3), StatusComplete, "a", "b", "c", "e") // a, b, c, e only here
	craftChunked(t, base, "h", day(-1), StatusComplete, "d")
	key := func(id string) string { return catalog.ChunkKey("h", strings.Repeat(id, 64)) }
	ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
	ua, uc := now.AddDate(0, 0, 5).Truncate(time.Minute).Add(30*time.Second), now.AddDate(0, 0, 9).Truncate(time.Minute).Add(30*time.Second)
	ls.until[key("a")], ls.hold[key("b")], ls.until[key("c")] = ua, true, uc
	want := chunk.Locked{Count: 3, Bytes: 3 * 64, FirstUntil: ua, LastUntil: uc, LegalHold: 1}
	// The minute after the lock's end (ua, uc: at 30 s).
	after := func(u time.Time) string { return u.Add(30 * time.Second).Format("2006-01-02 15:04") }
	// A dry run says the same of them (before, it counted all four as
	// to delete, and said nothing of a lock).
	dry, err := (&Applier{Store: ls, Policy: Policy{Last: 1, Location: time.UTC}, Now: func() time.Time { return now }, DryRun: true}).Run(context.Background())
	if err != nil || len(dry.Errors) > 0 {
		t.Fatalf("dry run: %v %v", err, dry.Errors)
	}
	if dry.ChunksLocked == nil || *dry.ChunksLocked != want || dry.ChunksDeleted != 1 {
		t.Errorf("dry run: chunks locked %+v, %d to delete; want %+v, 1 (e)", dry.ChunksLocked, dry.ChunksDeleted, want)
	}
	if got, wantText := dry.LockedText(time.UTC), "3 chunk(s) no set uses (192 bytes) would not be deleted: still locked; a prune can delete 2 of them once their lock ends: the first after "+
		after(ua)+", the last after "+after(uc)+" (UTC); 1 under legal hold, until it is lifted"; got != wantText {
		t.Errorf("dry run line\n%q, want\n%q", got, wantText)
	}
	a := &Applier{Store: ls, Policy: Policy{Last: 1, Location: time.UTC}, Now: func() time.Time { return now }}
	rep, err := a.Run(context.Background())
	if err != nil || len(rep.Errors) > 0 {
		t.Fatalf("run: %v %v", err, rep.Errors)
	}
	if rep.ChunksLocked == nil || *rep.ChunksLocked != want {
		t.Fatalf("chunks locked %+v, want %+v", rep.ChunksLocked, want)
	}
	if rep.ChunksDeleted != 1 {
		t.Errorf("chunks deleted %d, want 1 (e)", rep.ChunksDeleted)
	}
	wantText := "3 chunk(s) no set uses (192 bytes) not deleted: still locked; a prune can delete 2 of them once their lock ends: the first after " +
		after(ua) + ", the last after " + after(uc) + " (UTC); 1 under legal hold, until it is lifted"
	if got := rep.LockedText(time.UTC); got != wantText {
		t.Errorf("line\n%q, want\n%q", got, wantText)
	}
	doc, _ := json.Marshal(rep)
	var back struct {
		Locked map[string]any `json:"chunks_locked"`
	}
	if err := json.Unmarshal(doc, &back); err != nil || back.Locked["count"] != 3.0 || back.Locked["bytes"] != 192.0 ||
		back.Locked["first_until"] != ua.Format(time.RFC3339) || back.Locked["last_until"] != uc.Format(time.RFC3339) || back.Locked["legal_hold"] != 1.0 {
		t.Errorf("--json chunks_locked: %v (%v)", back.Locked, err)
	}

	// A store that does not tell the lock of a refused delete, nor lists
	// it: counted, undated.
	base2, _ := localStore(t)
	craftChunked(t, base2, "h", day(-3), StatusComplete, "a")
	craftChunked(t, base2, "h", day(-1), StatusComplete, "d")
	ls2 := &lockStore{Store: base2, until: map[string]time.Time{key("a"): ua}, hold: map[string]bool{}, now: now, undated: true}
	rep, err = (&Applier{Store: ls2, Policy: Policy{Last: 1, Location: time.UTC}, Now: func() time.Time { return now }}).Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := (chunk.Locked{Count: 1, Bytes: 64, UntilUnknown: 1}); rep.ChunksLocked == nil || *rep.ChunksLocked != want {
		t.Errorf("undated: chunks locked %+v, want %+v", rep.ChunksLocked, want)
	}
	if got := rep.LockedText(time.UTC); got != "1 chunk(s) no set uses (64 bytes) not deleted: still locked; 1 whose lock the store did not date" {
		t.Errorf("undated: line %q", got)
	}

	// Nothing locked: no field, no line.
	rep = &Report{}
	if doc, _ := json.Marshal(rep); strings.Contains(string(doc), "chunks_locked") || rep.LockedText(time.UTC) != "" {
		t.Errorf("nothing locked: %s, %q", doc, rep.LockedText(time.UTC))
	}
}

// LockedText with one date for all.
func TestLockedTextOneDate(t *testing.T) {
	u := time.Date(2026, 12, 5, 13, 2, 30, 0, time.UTC) // can go after 13:03 UTC
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	r := &Report{ChunksLocked: &chunk.Locked{Count: 2, Bytes: 10, FirstUntil: u, LastUntil: u.Add(30 * time.Second)}}
	if got, want := r.LockedText(berlin), "2 chunk(s) no set uses (10 bytes) not deleted: still locked; a prune can delete them once their lock ends, after 2026-12-05 14:03 (Europe/Berlin)"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
}
