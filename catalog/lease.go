package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/upload"
)

// LeaseName is the object a running backup writes first into its set folder
// and rewrites while it runs: it tells every other process (prune, another
// backup's retention, a chunk sweep) that the set is still being written.
const LeaseName = "lease.json"

// LeaseKey is where the backup of host with set id keeps its lease.
func LeaseKey(host, id string) string { return SetPrefix(host, id) + LeaseName }

// ClockSkew is the difference between two machines' clocks (or a machine's
// and the store's) this package tolerates when it compares times written by
// one with the clock of another.
const ClockSkew = 5 * time.Minute

// MaxLeaseTTL bounds the lease lifetime a backup asks for: a killed run's
// lease goes stale within this, whatever the grace period.
const MaxLeaseTTL = 10 * time.Minute

// Lease is the content of a lease object (clear-text JSON, no secrets).
type Lease struct {
	Host  string    `json:"host"`
	SetID string    `json:"set_id"`
	PID   int       `json:"pid"`
	Start time.Time `json:"start"`
	// Refreshed is when the holder last rewrote the lease; TTL is how long
	// after that the lease stays live without another refresh (the holder
	// refreshes every TTL/4).
	Refreshed time.Time `json:"refreshed"`
	TTL       Duration  `json:"ttl"`
	Tool      string    `json:"tool"`
	// Machine is the name of the machine running the backup (the host in
	// the key is the backed-up server; usually the same).
	Machine string `json:"machine,omitempty"`
}

// Duration marshals as a Go duration string ("2m30s").
type Duration time.Duration

func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// LeaseInfo is a lease as found in the store: its content (when readable)
// and the store's modification time of the object.
type LeaseInfo struct {
	Key     string
	Lease   Lease
	ModTime time.Time
	// Err is set when the object exists but could not be read or parsed;
	// such a lease counts as live until its ModTime is MaxLeaseTTL old.
	Err error
	// StoreNow is the store's time (StoreNow) taken before ModTime was
	// read: the lease's age is StoreNow - ModTime, both in the store's
	// clock. Zero when the store could not tell its time: the lease then
	// counts as live (unless its holder is known gone).
	StoreNow time.Time
	// ClockErr, with StoreNow zero, is why the store could not tell its
	// time (upload.ErrReadOnly: a folder this account cannot write).
	ClockErr error
}

// Expires is the latest moment, in the store's clock, the lease may still
// be live: TTL after the store's modification time of the object, plus an
// allowance of another TTL, at most ClockSkew, for a slow refresh. An
// unreadable lease counts with MaxLeaseTTL, and so does one that asks for
// more (a lease is read from the store: it must not keep a dead backup's
// set "running" for a year). The lease's own times (refreshed, start) are
// the holder's clock and never decide: a prune whose clock was 40 minutes
// ahead took a running backup's lease for expired, and one 40 minutes
// behind held a dead one 40 minutes longer.
func (l LeaseInfo) Expires() time.Time {
	ttl := time.Duration(l.Lease.TTL)
	if l.Err != nil || ttl <= 0 || ttl > MaxLeaseTTL {
		ttl = MaxLeaseTTL
	}
	return l.ModTime.Add(ttl + min(ttl, ClockSkew))
}

// Started is when the lease's backup began: the earlier of the lease's
// start and its set id's time (known even when the lease is unreadable),
// both in the clock of the machine running the backup.
func (l LeaseInfo) Started() time.Time {
	t := l.ModTime
	if parts := strings.Split(l.Key, "/"); len(parts) == 3 {
		if st, err := ParseSetID(parts[1]); err == nil {
			t = st
		}
	}
	if l.Err == nil && !l.Lease.Start.IsZero() && l.Lease.Start.Before(t) {
		t = l.Lease.Start
	}
	return t
}

// StartedInStore is Started in the store's clock, as far as the lease
// tells: when the holder's clock was ahead of the store's at its last
// refresh (refreshed later than the store's ModTime), Started moved back by
// that much; never later than Started (an earlier start spares more of the
// backup's uploads).
func (l LeaseInfo) StartedInStore() time.Time {
	t := l.Started()
	if l.Err == nil && !l.Lease.Refreshed.IsZero() {
		if ahead := l.Lease.Refreshed.Sub(l.ModTime); ahead > 0 {
			t = t.Add(-ahead)
		}
	}
	return t
}

// Live reports whether the lease's holder may still be writing: the lease
// has not expired in the store's clock (StoreNow; unknown: not expired),
// and, when it was written on this machine, its process still exists (as
// restic decides about its locks: a backup killed here is known dead at
// once; one on another machine only by its lease's age).
func (l LeaseInfo) Live() bool {
	if !l.StoreNow.IsZero() && !l.StoreNow.Before(l.Expires()) {
		return false
	}
	return !l.holderGone()
}

// ProcessGone reports whether no process with pid exists on this machine
// (the rule leases use; the chunk room's markers use it too).
func ProcessGone(pid int) bool { return processGone(pid) }

func (l LeaseInfo) holderGone() bool {
	if l.Err != nil || l.Lease.Machine == "" || l.Lease.PID <= 0 {
		return false
	}
	here, err := os.Hostname()
	if err != nil || here != l.Lease.Machine || l.Lease.PID == os.Getpid() {
		return false
	}
	return processGone(l.Lease.PID)
}

// Unknown reports whether the lease counts as live only because the
// store could not tell its time: whether its backup is still writing is
// not known (on a read-only folder, a crashed backup's lease stays so).
func (l LeaseInfo) Unknown() bool {
	return l.StoreNow.IsZero() && l.Live()
}

// Describe is one human phrase about the lease ("pid 4242 on fe01,
// refreshed 3s ago"), its age in the store's clock; when the store could
// not tell its time, the time it was written and its age in this
// machine's clock, said as such, and why the store's is unknown.
func (l LeaseInfo) Describe() string {
	why := "the store did not tell its time"
	if errors.Is(l.ClockErr, upload.ErrReadOnly) {
		why = upload.ErrReadOnly.Error() + ", so its time cannot be learned"
	}
	ago := fmt.Sprintf("at %s, %s ago by this machine's clock (%s)", l.ModTime.UTC().Format(time.RFC3339), max(time.Since(l.ModTime), 0).Round(time.Second), why)
	if !l.StoreNow.IsZero() {
		ago = max(l.StoreNow.Sub(l.ModTime), 0).Round(time.Second).String() + " ago"
	}
	if l.Err != nil {
		return fmt.Sprintf("unreadable lease (%v), written %s", l.Err, ago)
	}
	if l.holderGone() {
		return fmt.Sprintf("lease of pid %d on %s, which has ended", l.Lease.PID, l.Lease.Machine)
	}
	who := fmt.Sprintf("pid %d", l.Lease.PID)
	if l.Lease.Machine != "" {
		who += " on " + l.Lease.Machine
	}
	return fmt.Sprintf("lease of %s, refreshed %s", who, ago)
}

// StoreNow is the store's present time (upload.Clock), which a lease's
// ModTime is compared with; an error when the store cannot tell (then
// every lease counts as live: a running backup is never taken for dead).
func StoreNow(ctx context.Context, st upload.Store) (time.Time, error) {
	c, ok := upload.As[upload.Clock](st)
	if !ok {
		return time.Time{}, fmt.Errorf("%s cannot tell its time", st)
	}
	t, err := c.Now(ctx)
	if err != nil {
		return time.Time{}, err
	}
	return t, nil
}

// ReadLease fetches and parses the lease object described by o. now is
// the store's time (StoreNow, taken before this call; zero: unknown). The
// object's ModTime is asked again (o may come from a listing older than
// now): a lease refreshed since counts from its refresh.
func ReadLease(ctx context.Context, st upload.Store, o upload.ObjectInfo, now time.Time) LeaseInfo {
	li := LeaseInfo{Key: o.Key, ModTime: o.ModTime, StoreNow: now}
	if fresh, err := st.Stat(ctx, o.Key); err == nil && fresh.ModTime.After(li.ModTime) {
		li.ModTime = fresh.ModTime
	}
	rc, err := st.Get(ctx, o.Key, 0, -1)
	if err != nil {
		li.Err = err
		return li
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 64<<10))
	if err != nil {
		li.Err = err
		return li
	}
	if err := json.Unmarshal(b, &li.Lease); err != nil {
		li.Err = fmt.Errorf("parse %s: %w", o.Key, err)
	}
	return li
}

// IsLeaseKey reports whether key is a set's lease object.
func IsLeaseKey(key string) bool {
	parts := strings.Split(key, "/")
	return len(parts) == 3 && parts[2] == LeaseName && ValidName(parts[0]) && validSetID(parts[1])
}

func validSetID(id string) bool { _, err := ParseSetID(id); return err == nil }

// LiveLeases lists the leases in the store that are live: the backups
// still running (or killed less than their TTL ago), judged in the store's
// clock, now (StoreNow, taken before this call; zero: unknown, every lease
// counts as live). Whatever sweeps shared data (chunks) must spare what
// these backups wrote. prefix limits the search ("" for every host,
// "host/" for one).
func (c *Catalog) LiveLeases(ctx context.Context, prefix string, now time.Time) ([]LeaseInfo, error) {
	var objs []upload.ObjectInfo
	err := c.Store.List(ctx, prefix, func(o upload.ObjectInfo) error {
		if IsLeaseKey(o.Key) {
			objs = append(objs, o)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("list leases in %s: %w", c.Store, err)
	}
	var live []LeaseInfo
	for _, o := range objs {
		// A lease released while we listed (not found) counts as live: its
		// backup may just have committed, after the caller read the manifests.
		li := ReadLease(ctx, c.Store, o, now)
		if li.Live() {
			live = append(live, li)
		}
	}
	return live, ctx.Err()
}

// MinLeaseTTL keeps a lease live through a slow refresh (a loaded store, a
// busy machine) even when the grace period is set very short.
const MinLeaseTTL = 5 * time.Second

// LeaseTTL is the lifetime a backup asks for its lease given the grace
// period of incomplete sets: the grace itself, within [MinLeaseTTL,
// MaxLeaseTTL].
func LeaseTTL(grace time.Duration) time.Duration {
	if grace <= 0 {
		return MaxLeaseTTL
	}
	return min(max(grace, MinLeaseTTL), MaxLeaseTTL)
}

// Holder keeps one lease alive: Acquire writes it, a goroutine rewrites it
// every TTL/4, Release stops that and deletes it.
type Holder struct {
	store upload.Store
	key   string
	lease Lease
	log   *slog.Logger

	mu      sync.Mutex
	stop    chan struct{}
	done    chan struct{}
	lastErr error
}

// Acquire writes the lease of a backup of host with set id (before any item
// object) and keeps refreshing it until Release. ttl <= 0 means MaxLeaseTTL.
// Its refresh times are the real clock's, whatever clock start came from.
func Acquire(ctx context.Context, st upload.Store, host, id string, start time.Time, ttl time.Duration, tool string, log *slog.Logger) (*Holder, error) {
	if ttl <= 0 {
		ttl = MaxLeaseTTL
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	machine, _ := os.Hostname()
	h := &Holder{store: st, key: LeaseKey(host, id), log: log,
		lease: Lease{Host: host, SetID: id, PID: os.Getpid(), Start: start.UTC(), TTL: Duration(ttl), Tool: tool, Machine: machine},
		stop:  make(chan struct{}), done: make(chan struct{})}
	if err := h.write(ctx); err != nil {
		return nil, fmt.Errorf("write the lease of set %s: %w", id, err)
	}
	go h.loop(ttl / 4)
	return h, nil
}

// Key is the lease object's key.
func (h *Holder) Key() string { return h.key }

func (h *Holder) write(ctx context.Context) error {
	h.lease.Refreshed = time.Now().UTC()
	b, err := json.MarshalIndent(h.lease, "", "  ")
	if err != nil {
		return err
	}
	_, err = h.store.Put(ctx, h.key, bytes.NewReader(append(b, '\n')), upload.PutOptions{ContentType: "application/json", Online: true})
	return err
}

func (h *Holder) loop(every time.Duration) {
	defer close(h.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		// A refresh may not outlive the lease it refreshes.
		ctx, cancel := context.WithTimeout(context.Background(), 4*every)
		err := h.write(ctx)
		cancel()
		h.mu.Lock()
		h.lastErr = err
		h.mu.Unlock()
		if err != nil {
			h.log.Warn("could not refresh the backup's lease (prune may take the set for abandoned; the backup checks its objects before it commits)", "key", h.key, "err", err)
		}
	}
}

// Release stops refreshing and deletes the lease.
func (h *Holder) Release(ctx context.Context) error {
	h.mu.Lock()
	select {
	case <-h.stop:
		h.mu.Unlock()
		return nil
	default:
		close(h.stop)
	}
	h.mu.Unlock()
	<-h.done
	if err := h.store.Delete(ctx, h.key); err != nil {
		return fmt.Errorf("release lease %s: %w", h.key, err)
	}
	return nil
}
