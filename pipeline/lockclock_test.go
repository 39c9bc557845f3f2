package pipeline

import (
	"context"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
)

// lockRecorder records the lock every object is written with, and every
// lock extension, over a store with a clock of its own.
type lockRecorder struct {
	*uploadtest.ClockStore
	mu    sync.Mutex
	until map[string]time.Time // the latest lock asked for, by key
}

func (l *lockRecorder) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	l.note(key, o.RetainUntil)
	return l.ClockStore.Put(ctx, key, r, o)
}

func (l *lockRecorder) note(key string, until time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if until.After(l.until[key]) || until.IsZero() {
		l.until[key] = until
	}
}

func (l *lockRecorder) LockInfo(ctx context.Context, key string) (time.Time, bool, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.until[key], false, nil
}

func (l *lockRecorder) ExtendLock(ctx context.Context, key string, need, until time.Time) error {
	l.note(key, until)
	return nil
}

func (l *lockRecorder) SetLegalHold(ctx context.Context, key string) error { return nil }

// A set's lock is N days from the store's present time when the machine's
// clock is behind the store's: the store enforces the lock in its clock.
// The backing-up machine is three days behind: the old backup locked every
// object (and extended every reused chunk) until its start + 30 days, 27
// days of the store's.
func TestLockCountedInStoreClock(t *testing.T) {
	for _, format := range []string{FormatArchive, FormatChunked} {
		t.Run(format, func(t *testing.T) {
			f := newFixture(t)
			st := &lockRecorder{ClockStore: uploadtest.NewClockStore(f.store, 0), until: map[string]time.Time{}}
			src := f.tree(t, "src", map[string]string{"a.txt": "lync lync lync", "b/c.txt": "sfb"})
			for run := range 2 { // the second run reuses the first's chunks
				job := inFormat(t, f.job(exporters.NewPath("files", src)), format)
				job.Store, job.LockMode, job.LockDays = st, "GOVERNANCE", 30
				job.Now = func() time.Time { return time.Now().Add(-72 * time.Hour) }
				want := st.Time().AddDate(0, 0, 30)
				st.mu.Lock()
				clear(st.until)
				st.mu.Unlock()
				res, err := Backup(context.Background(), job)
				if err != nil {
					t.Fatal(err)
				}
				if got := res.Manifest.Lock.RetainUntil; got.Before(want) {
					t.Errorf("run %d: the manifest records a lock until %v, before the store's now + 30 days, %v", run, got, want)
				} else if got.Nanosecond() != 0 {
					t.Errorf("run %d: the manifest records a lock until %v, not a whole second (the store keeps whole seconds: its lock would end before this date)", run, got)
				}
				n := 0
				for k, u := range st.until {
					if u.IsZero() {
						continue // the lease
					}
					n++
					if u.Before(want) {
						t.Errorf("run %d: %s locked until %v, before the store's now + 30 days, %v", run, k, u, want)
					}
				}
				if n < 2 {
					t.Fatalf("run %d: %d objects locked: %v", run, n, st.until)
				}
			}
		})
	}
}
