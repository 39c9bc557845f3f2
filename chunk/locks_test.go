package chunk

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// lockingStore adds upload.Locker to a store: locks in a map, every
// ExtendLock call recorded, a shortening refused (as S3 refuses one in
// governance mode without the bypass), failures on demand.
type lockingStore struct {
	upload.Store
	mu        sync.Mutex
	until     map[string]time.Time
	extended  []string
	infoErr   map[string]error
	extendErr error
	// held are the keys SetLegalHold was called for, in call order.
	held    []string
	holdErr error
}

func (l *lockingStore) SetLegalHold(ctx context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held = append(l.held, key)
	return l.holdErr
}

func (l *lockingStore) LockInfo(ctx context.Context, key string) (time.Time, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if err := l.infoErr[key]; err != nil {
		return time.Time{}, false, err
	}
	return l.until[key], false, nil
}

func (l *lockingStore) ExtendLock(ctx context.Context, key string, need, until time.Time) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.extended = append(l.extended, key)
	if l.extendErr != nil {
		return l.extendErr
	}
	if !l.until[key].Before(need) {
		return nil
	}
	if until.Before(l.until[key]) {
		return errors.New("would shorten the lock")
	}
	l.until[key] = until
	return nil
}

// TestExtendLocks: a chunk is extended only when its lock, as listed or
// else as the store reports it, ends before the date needed; a dry run
// extends nothing but names what it would; a lock that cannot be read is
// an error naming the chunk.
func TestExtendLocks(t *testing.T) {
	now := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	need := now.AddDate(0, 0, 30)
	for _, dry := range []bool{false, true} {
		l := &lockingStore{until: map[string]time.Time{
			"longer":  need.AddDate(0, 0, 1), // unknown to the listing, long enough in the store
			"shorter": now,
			"equal":   need,
		}, infoErr: map[string]error{"unreadable": errors.New("access denied")}}
		wants := map[string]time.Time{"longer": need, "shorter": need, "equal": need, "listed": need, "unreadable": need, "gone": need}
		listed := map[string]upload.ObjectInfo{
			"longer": {Key: "longer"}, "shorter": {Key: "shorter"}, "equal": {Key: "equal"}, "unreadable": {Key: "unreadable"},
			"listed": {Key: "listed", RetainUntil: need.AddDate(1, 0, 0)}, // the listing says it is long enough: not asked
		}
		done, _, errs := Protect(context.Background(), l, wants, nil, listed, 0, time.Time{}, dry, 4)
		slices.Sort(done)
		if !slices.Equal(done, []string{"shorter"}) {
			t.Errorf("dry run %v: extended %v, want [shorter]", dry, done)
		}
		if len(errs) != 1 || !strings.Contains(errs[0].Error(), "extend lock of unreadable: access denied") {
			t.Errorf("dry run %v: errors %v", dry, errs)
		}
		switch {
		case dry && len(l.extended) != 0:
			t.Errorf("a dry run extended %v", l.extended)
		case !dry && (!slices.Equal(l.extended, []string{"shorter"}) || !l.until["shorter"].Equal(need)):
			t.Errorf("extended %v, shorter until %v", l.extended, l.until["shorter"])
		}
		if !l.until["longer"].Equal(need.AddDate(0, 0, 1)) {
			t.Errorf("the longer lock became %v", l.until["longer"])
		}
	}
}

// TestWriterExtendsReusedChunkLocks: a backup that reuses a chunk whose
// lock ends before the new set's extends it; one whose lock is long
// enough is left alone; a failed extension fails the item, naming the
// chunk.
func TestWriterExtendsReusedChunkLocks(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in, first, l, known := committedSet(t, w, 3)
	until := time.Now().UTC().AddDate(0, 0, 30).Truncate(time.Second)
	// The first chunk's listed lock is long enough already.
	k0 := first.Chunks[0].Key
	kn := known[k0]
	kn.RetainUntil = until.AddDate(0, 0, 1)
	known[k0] = kn
	wr := &Writer{Store: l, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest", Known: known,
		Opts: upload.PutOptions{RetainUntil: until}}
	second, err := wr.Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if int(wr.ReusedChunks.Load()) != len(second.Chunks) || wr.NewChunks.Load() != 0 {
		t.Fatalf("reused %d, new %d of %d chunks", wr.ReusedChunks.Load(), wr.NewChunks.Load(), len(second.Chunks))
	}
	slices.Sort(l.extended)
	var want []string
	for _, c := range first.Chunks[1:] {
		want = append(want, c.Key)
	}
	slices.Sort(want)
	if !slices.Equal(slices.Compact(l.extended), slices.Compact(want)) {
		t.Errorf("extended %v, want every chunk but %s: %v", l.extended, k0, want)
	}
	l.extended, l.extendErr = nil, errors.New("AccessDenied")
	l.until = map[string]time.Time{}
	wr = &Writer{Store: l, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest", Known: known,
		Opts: upload.PutOptions{RetainUntil: until.AddDate(0, 0, 5)}}
	if _, err := wr.Write(ctx, bytes.NewReader(in), nil); err == nil || !strings.Contains(err.Error(), "extend the lock of reused chunk ") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("a failed extension: %v", err)
	}
}

// TestWriterHoldsReusedChunks: a backup asked for a legal hold places one
// on every chunk it reuses, once per chunk however often the stream
// repeats it, except one the listing shows held already; without the hold
// asked for it places none; a hold that fails fails the item, naming the
// chunk. The old writer only extended a reused chunk's retention: a set
// under legal hold could be destroyed by deleting the chunks it shared
// with older sets.
func TestWriterHoldsReusedChunks(t *testing.T) {
	w := newWorld(t)
	ctx := context.Background()
	in, first, l, known := committedSet(t, w, 4)
	k0 := first.Chunks[0].Key
	kn := known[k0]
	kn.LegalHold = true // as an Azure listing reports it
	known[k0] = kn
	until := time.Now().UTC().AddDate(0, 0, 30)
	twice := append(append([]byte(nil), in...), in...)
	for _, hold := range []bool{false, true} {
		l.held = nil
		wr := &Writer{Store: l, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest", Known: known,
			Opts: upload.PutOptions{RetainUntil: until, LegalHold: hold}}
		if _, err := wr.Write(ctx, bytes.NewReader(twice), nil); err != nil {
			t.Fatal(err)
		}
		if !hold {
			if len(l.held) != 0 {
				t.Errorf("without legal_hold: held %v", l.held)
			}
			continue
		}
		var want []string
		for _, c := range first.Chunks[1:] {
			want = append(want, c.Key)
		}
		slices.Sort(want)
		want = slices.Compact(want)
		got := slices.Clone(l.held)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("held %d chunks %v, want each reused chunk but the listed-held %s once: %v", len(got), got, k0, want)
		}
	}
	l.holdErr = errors.New("AccessDenied")
	wr := &Writer{Store: l, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest", Known: known,
		Opts: upload.PutOptions{RetainUntil: until, LegalHold: true}}
	if _, err := wr.Write(ctx, bytes.NewReader(in), nil); err == nil || !strings.Contains(err.Error(), "set a legal hold on reused chunk ") || !strings.Contains(err.Error(), "AccessDenied") {
		t.Errorf("a failed hold: %v", err)
	}
}

// committedSet commits a set of 6 MiB of data (seed) in w and discovers
// its chunks through a lockingStore, as the next backup does.
func committedSet(t *testing.T, w *world, seed uint64) ([]byte, ItemStats, *lockingStore, map[string]Known) {
	t.Helper()
	ctx := context.Background()
	in := data(6<<20, seed)
	first, err := w.writer(nil).Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.commit("20261125T010000Z-aaaaaa", first.Chunks)
	l := &lockingStore{Store: w.st, until: map[string]time.Time{}}
	known, err := Discover(ctx, l, host, w.manifests())
	if err != nil {
		t.Fatal(err)
	}
	return in, first, l, known
}

// A chunk reused every night has its lock extended to the new set's lock
// plus the slack, which the store keeps in whole seconds. A nightly backup
// scheduled at 01:00 starts a few seconds earlier or later each night, so
// the date needed moves on by a day plus or minus seconds: README's "a
// chunk reused night after night is written about once every slack + 1
// nights" must hold whatever that jitter. With the slack whole days, any
// night starting later than the one that last extended wrote one night
// early (N = 10: 95 writes in 120 nights, not 60; N = 30: 34, not 30).
func TestExtendLocksSlackSurvivesStartJitter(t *testing.T) {
	for _, days := range []int{10, 30} {
		slack := upload.ExtendSlack(days)
		l := &lockingStore{until: map[string]time.Time{}}
		key := "h/chunks/aa/" + "aa"
		listed := map[string]upload.ObjectInfo{key: {Key: key}} // S3: the listing tells no lock
		base := time.Date(2026, 12, 1, 1, 0, 0, 0, time.UTC).AddDate(0, 0, days)
		rng := rand.New(rand.NewPCG(1, 2))
		const nights = 120
		writes := 0
		for k := range nights {
			jitter := time.Duration(rng.Int64N(int64(6*time.Second))) - 3*time.Second
			need := base.AddDate(0, 0, k).Add(jitter)
			before := l.until[key]
			if _, _, errs := Protect(context.Background(), l, map[string]time.Time{key: need}, nil, listed, slack, time.Time{}, false, 1); len(errs) > 0 {
				t.Fatal(errs)
			}
			if !l.until[key].Equal(before) {
				writes++
				l.until[key] = l.until[key].Truncate(time.Second) // as the store keeps it
			}
		}
		want := nights / (int(slack/(24*time.Hour)) + 1)
		t.Logf("N=%d, slack %v: %d lock writes in %d nights", days, slack, writes, nights)
		if writes > want {
			t.Errorf("N=%d, slack %v: %d lock writes in %d nights, README promises about %d (once every slack+1 nights)", days, slack, writes, nights, want)
		}
	}
}

// refusingStore refuses the delete of the keys in locked with the error given.
type refusingStore struct {
	upload.Store
	locked map[string]error
}

func (r *refusingStore) Delete(ctx context.Context, key string) error {
	if err := r.locked[key]; err != nil {
		return err
	}
	return r.Store.Delete(ctx, key)
}

// TestSweepCountsLockedChunks: the unreferenced chunks a sweep cannot
// delete for a lock are summed up with their bytes and the span of their
// locks' ends, as the refusal tells it, else as the listing did; a legal
// hold or an undated lock is counted apart, a locked stale marker not at
// all (it is no chunk).
func TestSweepCountsLockedChunks(t *testing.T) {
	ctx := context.Background()
	st, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	id := func(c string) string { return catalog.ChunkKey("h", strings.Repeat(c, 64)) }
	for _, c := range []string{"a", "b", "c", "d", "e"} {
		if _, err := st.Put(ctx, id(c), strings.NewReader(strings.Repeat(c, 10)), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	u1 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	u2 := u1.AddDate(0, 0, 3)
	locked := func(until time.Time, hold bool) error {
		return &upload.LockedError{RetainUntil: until, LegalHold: hold, Err: upload.ErrLocked}
	}
	marker := upload.ObjectInfo{Key: "h/chunks/prune-x.json", Size: 7}
	rs := &refusingStore{Store: st, locked: map[string]error{
		id("a"): locked(u2, false), id("b"): locked(u1, false), id("c"): locked(time.Time{}, true),
		id("d"): upload.ErrLocked, marker.Key: locked(u1, false),
	}}
	res, err := Sweep(ctx, rs, "h", map[string]bool{}, []upload.ObjectInfo{marker}, false, 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := Locked{Count: 4, Bytes: 40, FirstUntil: u1, LastUntil: u2, LegalHold: 1, UntilUnknown: 1}
	if res.Locked != want {
		t.Errorf("locked %+v, want %+v", res.Locked, want)
	}
	if len(res.Deleted) != 1 || res.Deleted[0].Key != id("e") {
		t.Errorf("deleted %v, want chunk e", res.Deleted)
	}

	// A refusal that tells nothing: the listing's lock (Azure lists it).
	var l Locked
	l.Add(upload.ObjectInfo{Size: 5, RetainUntil: u2}, upload.ErrLocked)
	l.Add(upload.ObjectInfo{Size: 5, LegalHold: true}, upload.ErrLocked)
	if want := (Locked{Count: 2, Bytes: 10, FirstUntil: u2, LastUntil: u2, LegalHold: 1}); l != want {
		t.Errorf("from the listing: %+v, want %+v", l, want)
	}
	// Two hosts' counts merged.
	l.Merge(res.Locked)
	if want := (Locked{Count: 6, Bytes: 50, FirstUntil: u1, LastUntil: u2, LegalHold: 2, UntilUnknown: 1}); l != want {
		t.Errorf("merged: %+v, want %+v", l, want)
	}
	var none Locked
	none.Merge(Locked{Count: 1, Bytes: 1, LegalHold: 1})
	if want := (Locked{Count: 1, Bytes: 1, LegalHold: 1}); none != want {
		t.Errorf("merged into none: %+v, want %+v", none, want)
	}
}

// tellingStore is a refusingStore that also tells, without deleting, the
// lock its Delete would refuse for (upload.DeleteLocker, as S3 does).
type tellingStore struct {
	*refusingStore
	mu    sync.Mutex
	asked []string
}

func (s *tellingStore) DeleteLock(ctx context.Context, key string) (*upload.LockedError, error) {
	s.mu.Lock()
	s.asked = append(s.asked, key)
	s.mu.Unlock()
	if le := (*upload.LockedError)(nil); errors.As(s.locked[key], &le) {
		return le, nil
	}
	if err := s.locked[key]; err != nil {
		return nil, err
	}
	return nil, nil
}

// listedLockStore lists the locks in until and hold, as Azure's listing
// does, and has a clock of its own (upload.Clock) ahead of this process's.
type listedLockStore struct {
	upload.Store
	until map[string]time.Time
	hold  map[string]bool
	now   time.Time
}

func (s *listedLockStore) List(ctx context.Context, prefix string, fn func(upload.ObjectInfo) error) error {
	return s.Store.List(ctx, prefix, func(o upload.ObjectInfo) error {
		o.RetainUntil, o.LegalHold = s.until[o.Key], s.hold[o.Key]
		return fn(o)
	})
}

func (s *listedLockStore) Now(context.Context) (time.Time, error) { return s.now, nil }

// listedTellsStore is a listedLockStore whose DeleteLock says the listing
// tells the lock (as Azure without versioning does).
type listedTellsStore struct {
	*listedLockStore
	asked int
}

func (s *listedTellsStore) DeleteLock(context.Context, string) (*upload.LockedError, error) {
	s.asked++
	return nil, upload.ErrLockListed
}

// TestSweepDryRunCountsLocked: a dry run predicts the real run: the
// unreferenced chunks whose delete the store would refuse for a lock are
// counted as locked (with the lock the store tells), not as to delete,
// and nothing is deleted. Where the store tells the lock a Delete would
// meet (S3's DeleteLock) it is asked for each candidate only; otherwise
// the listing's lock counts, judged in the store's clock (a lock ended
// there is no lock). Before, a dry run counted every unreferenced chunk
// as to delete.
func TestSweepDryRunCountsLocked(t *testing.T) {
	ctx := context.Background()
	id := func(c string) string { return catalog.ChunkKey("h", strings.Repeat(c, 64)) }
	fill := func(t *testing.T) upload.Store {
		st, err := local.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []string{"a", "b", "c", "d", "e", "f"} {
			if _, err := st.Put(ctx, id(c), strings.NewReader(strings.Repeat(c, 10)), upload.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		return st
	}
	ref := map[string]bool{id("f"): true}
	u1 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	u2 := u1.AddDate(0, 0, 3)
	locked := func(until time.Time, hold bool) error {
		return &upload.LockedError{RetainUntil: until, LegalHold: hold, Err: upload.ErrLocked}
	}
	check := func(t *testing.T, st upload.Store, res SweepResult, want Locked, deleted ...string) {
		t.Helper()
		if res.Locked != want {
			t.Errorf("locked %+v, want %+v", res.Locked, want)
		}
		var got []string
		for _, o := range res.Deleted {
			got = append(got, o.Key)
		}
		if !slices.Equal(got, deleted) {
			t.Errorf("to delete %v, want %v", got, deleted)
		}
		for _, c := range []string{"a", "b", "c", "d", "e", "f"} {
			if _, err := st.Stat(ctx, id(c)); err != nil {
				t.Errorf("dry run deleted chunk %s: %v", c, err)
			}
			if _, left := res.Remaining[id(c)]; left == slices.Contains(deleted, id(c)) {
				t.Errorf("chunk %s remaining: %v", c, left)
			}
		}
	}

	t.Run("store tells", func(t *testing.T) {
		st := fill(t)
		ts := &tellingStore{refusingStore: &refusingStore{Store: st, locked: map[string]error{
			id("a"): locked(u2, false), id("b"): locked(u1, false), id("c"): locked(time.Time{}, true),
		}}}
		res, err := Sweep(ctx, ts, "h", ref, nil, true, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st, res, Locked{Count: 3, Bytes: 30, FirstUntil: u1, LastUntil: u2, LegalHold: 1}, id("d"), id("e"))
		slices.Sort(ts.asked)
		if want := []string{id("a"), id("b"), id("c"), id("d"), id("e")}; !slices.Equal(ts.asked, want) {
			t.Errorf("asked the lock of %v, want the unreferenced chunks once each %v", ts.asked, want)
		}
		// The real run is refused for the same chunks, and says the same.
		real, err := Sweep(ctx, ts, "h", ref, nil, false, 2, nil)
		if err != nil || real.Locked != res.Locked || len(real.Deleted) != len(res.Deleted) {
			t.Errorf("real run: locked %+v, %d deleted (%v); the dry run said %+v, %d", real.Locked, len(real.Deleted), err, res.Locked, len(res.Deleted))
		}
	})

	t.Run("unreadable lock", func(t *testing.T) {
		st := fill(t)
		ts := &tellingStore{refusingStore: &refusingStore{Store: st, locked: map[string]error{id("a"): errors.New("access denied")}}}
		res, err := Sweep(ctx, ts, "h", ref, nil, true, 2, nil)
		if err != nil || len(res.Errors) != 1 || !strings.Contains(res.Errors[0].Error(), id("a")) || len(res.Deleted) != 4 || res.Locked.Count != 0 {
			t.Errorf("errors %v, %d to delete, locked %+v (%v): want one error naming chunk a, 4 to delete", res.Errors, len(res.Deleted), res.Locked, err)
		}
	})

	t.Run("listing tells", func(t *testing.T) {
		st := fill(t)
		storeNow := time.Now().Add(48 * time.Hour).UTC()
		ls := &listedLockStore{Store: st, now: storeNow,
			until: map[string]time.Time{
				id("a"): storeNow.Add(time.Hour),      // locked
				id("b"): storeNow.Add(-time.Hour),     // ahead of this machine, ended in the store's clock
				id("c"): storeNow.Add(-2 * time.Hour), // ended, but held
			},
			hold: map[string]bool{id("c"): true}}
		want := Locked{Count: 2, Bytes: 20, FirstUntil: storeNow.Add(time.Hour), LastUntil: storeNow.Add(time.Hour), LegalHold: 1}
		res, err := Sweep(ctx, ls, "h", ref, nil, true, 2, nil)
		if err != nil {
			t.Fatal(err)
		}
		check(t, st, res, want, id("b"), id("d"), id("e"))
		// A DeleteLock answering that the listing tells: the same.
		lt := &listedTellsStore{listedLockStore: ls}
		res, err = Sweep(ctx, lt, "h", ref, nil, true, 1, nil)
		if err != nil || len(res.Errors) > 0 {
			t.Fatal(err, res.Errors)
		}
		check(t, st, res, want, id("b"), id("d"), id("e"))
		if lt.asked != 5 {
			t.Errorf("DeleteLock asked %d times, want 5", lt.asked)
		}
	})
}
