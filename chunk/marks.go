package chunk

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Markers tell backups and prunes of one host about each other (see
// docs/FORMAT.md, "Prune and concurrent backups"). Each side writes its own
// marker before it lists the other side's, so that for any interleaving at
// least one of them sees the other.
const (
	// RefreshEvery is how often a running backup or prune rewrites its marker.
	RefreshEvery = 5 * time.Minute
	// StaleAfter is how long a marker may go unrewritten before it counts
	// as left by a crashed run.
	StaleAfter = 30 * time.Minute
	// PruneWait is how long a backup waits for a running prune to finish.
	PruneWait = 2 * time.Hour
)

// LockPrefix is the folder of a host's markers.
func LockPrefix(host string) string { return host + "/chunk-locks/" }

const (
	backupMark = "backup-"
	pruneMark  = "prune-"
)

// Marker is a running run's marker object, rewritten in the background.
type Marker struct {
	st   upload.Store
	Key  string
	body []byte
	now  func() time.Time

	mu     sync.Mutex
	lastOK time.Time
	// gap is the first interval between two successful writes long enough
	// for another run to have taken the marker for stale (0: none yet).
	gap      time.Duration
	stop     chan struct{}
	finished chan struct{}
}

// Clock and waiting, replaceable by tests.
type Options struct {
	Now func() time.Time
	// Wait is called between two looks at the other side's markers; nil
	// waits with a growing delay (5 s … 1 min). It returns ctx's error if
	// the run is cancelled.
	Wait func(ctx context.Context, attempt int) error
	// MaxWait bounds how long a backup waits for a prune (0: PruneWait).
	MaxWait time.Duration
	// NoRefresh turns the background rewriting off (tests).
	NoRefresh bool
}

func (o Options) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func defaultWait(ctx context.Context, attempt int) error {
	d := min(time.Duration(attempt+1)*5*time.Second, time.Minute)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func startMarker(ctx context.Context, st upload.Store, key, kind string, o Options) (*Marker, error) {
	hn, _ := os.Hostname()
	body, _ := json.Marshal(map[string]any{"kind": kind, "machine": hn, "pid": os.Getpid(), "started": o.now().UTC()})
	m := &Marker{st: st, Key: key, body: body, now: o.now, stop: make(chan struct{}), finished: make(chan struct{})}
	if err := m.write(ctx); err != nil {
		return nil, fmt.Errorf("write marker %s: %w", key, err)
	}
	if o.NoRefresh {
		close(m.finished)
		return m, nil
	}
	go func() {
		defer close(m.finished)
		t := time.NewTicker(RefreshEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				m.write(ctx) // a failure shows in Healthy
			case <-m.stop:
				return
			case <-ctx.Done():
				return
			}
		}
	}()
	return m, nil
}

// staleMargin is how long before StaleAfter a run stops trusting its own
// marker. The other side judges in the store's clock (see markers), this
// run by its own wall clock: the two measure the same intervals, but the
// store stamps a write when it takes it, which may be a slow request
// after this run began it.
const staleMargin = 5 * time.Minute

// wall is t without its monotonic reading: intervals are then measured on
// the wall clock, which goes on through a suspended VM or a sleeping
// laptop, as the other side's clock and the store's do (Go's monotonic
// clock stops there, and a two-hour sleep looked like no gap at all).
func wall(t time.Time) time.Time { return t.Round(0) }

func (m *Marker) write(ctx context.Context) error {
	t := wall(m.now())
	_, err := m.st.Put(ctx, m.Key, bytes.NewReader(m.body), upload.PutOptions{ContentType: "application/json", Online: true})
	if err == nil {
		m.mu.Lock()
		if d := t.Sub(m.lastOK); !m.lastOK.IsZero() && m.gap == 0 && d > StaleAfter-staleMargin {
			m.gap = d
		}
		m.lastOK = t
		m.mu.Unlock()
	}
	return err
}

// Healthy reports whether the marker has been rewritten often enough, all
// along, that no other run can have taken it for stale (with a 5-minute
// margin). Once it has not been, the run stays unhealthy even after the
// marker is written again: a prune that took it for crashed meanwhile may
// be deleting the chunks it relies on (a process stopped for 40 minutes
// resumes, its ticker fires at once, and the fresh marker hid the gap).
func (m *Marker) Healthy() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gap > 0 {
		return fmt.Errorf("marker %s went unwritten for %s (the run was paused, or the store unreachable): another run may have taken this one for crashed; run it again", m.Key, m.gap.Round(time.Second))
	}
	if age := wall(m.now()).Sub(m.lastOK); age > StaleAfter-staleMargin {
		return fmt.Errorf("marker %s was last written %s ago (the run was paused, or the store unreachable): another run may have taken this one for crashed; run it again", m.Key, age.Round(time.Second))
	}
	return nil
}

// Release stops the rewriting and deletes the marker.
func (m *Marker) Release(ctx context.Context) error {
	select {
	case <-m.stop:
	default:
		close(m.stop)
	}
	<-m.finished
	return m.st.Delete(context.WithoutCancel(ctx), m.Key)
}

// markers lists host's markers (one listing of LockPrefix(host), every
// kind) and splits them into live and stale, this run's own marker left
// out. Staleness is judged in the store's clock, never this machine's: own
// is this run's marker, written before the listing, and the store's
// modification time of it is "now". A marker is stale when that time is
// more than StaleAfter after its own modification time: the store itself
// has seen it go unrewritten for that long, whatever the two machines'
// clocks say (a prune whose clock is 40 minutes ahead took every running
// backup's marker for stale, and swept the chunks they were about to
// commit). The own marker's time is at most the store's present, so an
// error errs towards live: the other run is waited for, or its chunks kept.
func markers(ctx context.Context, st upload.Store, host, own string) (live, stale []upload.ObjectInfo, err error) {
	var others []upload.ObjectInfo
	var now time.Time
	found := false
	err = st.List(ctx, LockPrefix(host), func(o upload.ObjectInfo) error {
		if o.Key == own {
			now, found = o.ModTime, true
		} else {
			others = append(others, o)
		}
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("list markers of %s: %w", host, err)
	}
	if !found {
		// Written just before: a listing that does not show it yet.
		o, err := st.Stat(ctx, own)
		if err != nil {
			return nil, nil, fmt.Errorf("read back marker %s, which tells the store's time: %w", own, err)
		}
		now = o.ModTime
	}
	var fresh []upload.ObjectInfo
	for _, o := range others {
		if now.Sub(o.ModTime) > StaleAfter {
			stale = append(stale, o)
		} else {
			fresh = append(fresh, o)
		}
	}
	// A marker written on this machine by a process that no longer exists
	// is dead at once (restic's rule for its locks, and the leases').
	for _, o := range fresh {
		if holderGone(ctx, st, o.Key) {
			stale = append(stale, o)
		} else {
			live = append(live, o)
		}
	}
	return live, stale, nil
}

// ofKind are the markers of objs of one kind (backupMark, pruneMark).
func ofKind(host, kind string, objs []upload.ObjectInfo) []upload.ObjectInfo {
	var out []upload.ObjectInfo
	for _, o := range objs {
		if strings.HasPrefix(o.Key, LockPrefix(host)+kind) {
			out = append(out, o)
		}
	}
	return out
}

// holderGone reads a marker and reports whether its process is known to
// have ended (written on this machine, pid gone).
func holderGone(ctx context.Context, st upload.Store, key string) bool {
	rc, err := st.Get(ctx, key, 0, -1)
	if err != nil {
		return false
	}
	defer rc.Close()
	var b struct {
		Machine string `json:"machine"`
		PID     int    `json:"pid"`
	}
	if json.NewDecoder(io.LimitReader(rc, 4096)).Decode(&b) != nil || b.Machine == "" || b.PID <= 0 || b.PID == os.Getpid() {
		return false
	}
	here, err := os.Hostname()
	if err != nil || here != b.Machine {
		return false
	}
	return catalog.ProcessGone(b.PID)
}

// BeginBackup writes the marker of a chunked backup of host, then waits
// while a prune of host is running (one that started before the marker
// was written may not have seen it). Only after it returns may the backup
// list the chunks it reuses. The caller releases the marker after the
// manifest is committed, or after the run fails.
func BeginBackup(ctx context.Context, st upload.Store, host, setID string, o Options) (*Marker, error) {
	m, err := startMarker(ctx, st, LockPrefix(host)+backupMark+setID, "backup", o)
	if err != nil {
		return nil, err
	}
	wait := o.Wait
	if wait == nil {
		wait = defaultWait
	}
	maxWait := o.MaxWait
	if maxWait <= 0 {
		maxWait = PruneWait
	}
	// Two backups of one host at once could both upload a chunk new to
	// them, and the later write would change the object the earlier set's
	// manifest hashed: one backup per host at a time. Each wrote its marker
	// before this look, so at least one of two overlapping runs sees the
	// other and stops. The same listing shows the prune markers.
	t0 := o.now()
	for attempt := 0; ; attempt++ {
		all, _, err := markers(ctx, st, host, m.Key)
		if err != nil {
			m.Release(ctx)
			return nil, err
		}
		if others := ofKind(host, backupMark, all); attempt == 0 && len(others) > 0 {
			m.Release(ctx)
			return nil, fmt.Errorf("%w: host %s (marker %s, written %s); a crashed run's marker counts for %s",
				ErrOtherBackup, host, others[0].Key, others[0].ModTime.UTC().Format(time.RFC3339), StaleAfter)
		}
		live := ofKind(host, pruneMark, all)
		if len(live) == 0 {
			return m, nil
		}
		if o.now().Sub(t0) >= maxWait {
			m.Release(ctx)
			return nil, fmt.Errorf("a prune of host %s is running (marker %s, written %s) and did not finish within %s: run the backup again when it has",
				host, live[0].Key, live[0].ModTime.UTC().Format(time.RFC3339), maxWait)
		}
		if err := wait(ctx, attempt); err != nil {
			m.Release(ctx)
			return nil, err
		}
	}
}

// ErrOtherBackup is returned by BeginBackup while another backup of the
// host runs.
var ErrOtherBackup = errors.New("another backup of this host is running")

// ErrBackupRunning is returned by BeginSweep when a backup of the host runs.
var ErrBackupRunning = errors.New("a backup of this host is running")

// BeginSweep writes a prune marker for host, then looks for running
// backups. With one running it releases its marker and returns
// ErrBackupRunning (naming the backup): the chunks stay for the next prune.
// It also returns the stale markers (crashed runs) for the sweep to delete.
func BeginSweep(ctx context.Context, st upload.Store, host string, o Options) (*Marker, []upload.ObjectInfo, error) {
	var r [6]byte
	rand.Read(r[:])
	m, err := startMarker(ctx, st, LockPrefix(host)+pruneMark+o.now().UTC().Format("20060102T150405Z")+"-"+hex.EncodeToString(r[:]), "prune", o)
	if err != nil {
		return nil, nil, err
	}
	live, stale, err := markers(ctx, st, host, m.Key)
	if err != nil {
		m.Release(ctx)
		return nil, nil, err
	}
	if b := ofKind(host, backupMark, live); len(b) > 0 {
		m.Release(ctx)
		return nil, nil, fmt.Errorf("%w (%s)", ErrBackupRunning, strings.TrimPrefix(b[0].Key, LockPrefix(host)))
	}
	return m, stale, nil
}
