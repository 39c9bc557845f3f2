package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/parallel"
	"github.com/lyncbackup/lyncbackup/upload"
	"golang.org/x/sync/semaphore"
)

// Catalog reads and commits sets in a store.
type Catalog struct {
	Store upload.Store
	// NoChunks makes List keep no chunk entries (Item.Chunks is nil, all
	// else as read and checked): enough to list sets and to choose one,
	// whose manifest LoadManifest then reads whole. A chunked manifest
	// holds ~330 bytes per ~1.3 MB chunk, and a listing holds every set's.
	NoChunks bool
	// Each, when set, is given every manifest List reads, whole, before
	// NoChunks drops its chunk entries (from several goroutines at once).
	Each func(*Manifest)
	// Host, when set, makes List read only that host's folder: a backup
	// learning its host's chunks, a prune sweeping one host's chunks (they
	// read every host's manifests, hosts × sets of them per prune).
	Host string
}

// Set is one set folder as found in the store.
type Set struct {
	Host string
	ID   string
	Time time.Time
	// Manifest is nil for an incomplete set (no manifest: never restorable).
	Manifest *Manifest
	// ManifestErr is set when a manifest exists but cannot be trusted.
	ManifestErr error
	// Objects are every object of the set folder, the lease included.
	Objects []upload.ObjectInfo
	// Lease is the set's lease object when it has one and no manifest: a
	// backup that is running, or was killed, or failed before it could
	// release it. Whether it is still live is Lease.Live(), judged in the
	// store's clock as List found it.
	Lease *LeaseInfo
}

// InProgress reports whether the set is uncommitted and its writer's lease
// is live: a backup is still writing it, or may be (LeaseUnknown).
func (s Set) InProgress() bool {
	return s.Manifest == nil && s.ManifestErr == nil && s.Lease != nil && s.Lease.Live()
}

// LeaseUnknown reports whether the set is InProgress only because the
// store could not tell its time (LeaseInfo.Unknown): unfinished, and
// whether a backup still writes it is not known. It is spared as a
// running one is, but not said to be running.
func (s Set) LeaseUnknown() bool {
	return s.InProgress() && s.Lease.Unknown()
}

// Complete reports whether the set was committed: its manifest was found
// and parsed. A partial set (committed with failed items) counts too, see
// Status; nothing here says the set's objects are still intact (verify
// reads them).
func (s Set) Complete() bool { return s.Manifest != nil }

// Status is "complete", "partial" (committed with failures), "incomplete"
// (no manifest), "archived" (the manifest is in an archive tier: see
// Archived) or "damaged" (unreadable manifest).
func (s Set) Status() string {
	switch {
	case s.Manifest != nil:
		return s.Manifest.Status
	case s.Archived():
		return StatusArchived
	case s.ManifestErr != nil:
		return "damaged"
	}
	return "incomplete"
}

// StatusArchived is the status of a set whose manifest is in an archive
// tier (Set.Archived).
const StatusArchived = "archived"

// Archived reports whether the set's manifest exists but cannot be read
// now because it is in an archive tier (S3 GLACIER / DEEP_ARCHIVE,
// INTELLIGENT_TIERING's archive tiers, Azure Archive): a set written
// before lyncbackup kept manifests online, with such a storage class or
// tier. It is not damaged: restore SET --thaw brings the manifest back.
// Until then nothing can say which items and chunks the set holds.
func (s Set) Archived() bool {
	return s.Manifest == nil && errors.Is(s.ManifestErr, upload.ErrArchived)
}

// ThawHint says, for an archived set, how to bring its manifest back;
// "" for any other set.
func (s Set) ThawHint() string {
	if !s.Archived() {
		return ""
	}
	return fmt.Sprintf("its manifest is in an archive tier (written before lyncbackup kept manifests online): run restore %s --thaw to bring it back, then list again", s.ID)
}

// Started is when the set's backup began: the committed start time
// (nanoseconds) when the manifest has one within the id's second, else the
// id's time (whole seconds). Retention orders sets by it.
func (s Set) Started() time.Time {
	if s.Manifest != nil && s.Manifest.Start.UTC().Truncate(time.Second).Equal(s.Time) {
		return s.Manifest.Start.UTC()
	}
	return s.Time
}

// Size sums the stored objects.
func (s Set) Size() int64 {
	var n int64
	for _, o := range s.Objects {
		n += o.Size
	}
	return n
}

// Commit writes the manifest: the last write of a set.
func (c *Catalog) Commit(ctx context.Context, m *Manifest, opts upload.PutOptions) error {
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	// A manifest no reader takes would commit a set nothing can restore.
	if len(data) > manifestLimit {
		return fmt.Errorf("commit set %s: its manifest would be %d bytes, over the %d a restore reads (%d chunks): a set this large needs format: archive", m.SetID, len(data), manifestLimit, m.chunkCount())
	}
	opts.ContentType = "application/json"
	opts.Online = true // read first by every listing, restore and thaw
	if _, err := c.Store.Put(ctx, ManifestKey(m.Host, m.SetID), bytes.NewReader(data), opts); err != nil {
		return fmt.Errorf("commit set %s: %w", m.SetID, err)
	}
	return nil
}

// LoadManifest reads and checks one set's manifest.
func (c *Catalog) LoadManifest(ctx context.Context, host, id string) (*Manifest, error) {
	rc, err := c.Store.Get(ctx, ManifestKey(host, id), 0, -1)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	m, err := ParseManifest(rc)
	if err != nil {
		return nil, fmt.Errorf("set %s/%s: %w", host, id, err)
	}
	if m.Host != host || m.SetID != id {
		return nil, fmt.Errorf("set %s/%s: manifest names %s/%s (moved or swapped)", host, id, m.Host, m.SetID)
	}
	return m, nil
}

// List returns every set in the store, oldest first (by host, then time).
// Objects that are not in a set folder are ignored.
func (c *Catalog) List(ctx context.Context) ([]Set, error) {
	var sets []Set
	var err error
	if f, ok := upload.As[upload.Folderer](c.Store); ok {
		sets, err = c.setsByFolder(ctx, f)
	} else {
		sets, err = c.setsFlat(ctx)
	}
	if err != nil {
		return nil, fmt.Errorf("list sets in %s: %w", c.Store, err)
	}
	sort.Slice(sets, func(i, j int) bool {
		if sets[i].Host != sets[j].Host {
			return sets[i].Host < sets[j].Host
		}
		return sets[i].ID < sets[j].ID
	})
	// Read the manifests: up to 8 at once, and at most manifestsInFlight
	// bytes of them (a big chunked manifest, read and decoded, holds about
	// twice its size), so small ones are read concurrently for a remote
	// store's latency and big ones one or two at a time (decoding them is
	// CPU-bound). Successive sets of a host name mostly the same chunks:
	// kept chunk keys and hashes are interned (a host of 34 sets of ~46 GiB
	// held ~640 MiB of manifests with a copy per set).
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	bytesSem := semaphore.NewWeighted(manifestsInFlight)
	in := &interner{m: map[string]string{}}
	// The store's time, asked once, before the first lease is read (its
	// age is judged in the store's clock; unknown: every lease is live).
	storeNow := sync.OnceValues(func() (time.Time, error) {
		return StoreNow(ctx, c.Store)
	})
	for i := range sets {
		s := &sets[i]
		has := false
		var size int64
		var lease *upload.ObjectInfo
		for j, o := range s.Objects {
			if strings.HasSuffix(o.Key, "/"+ManifestName) {
				has, size = true, o.Size
			}
			if strings.HasSuffix(o.Key, "/"+LeaseName) {
				lease = &s.Objects[j]
			}
		}
		if !has && lease != nil {
			// Only an uncommitted set's lease matters (a committed set's is
			// a leftover of a run that died between commit and release).
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				now, clockErr := storeNow()
				li := ReadLease(ctx, c.Store, *lease, now)
				li.ClockErr = clockErr
				s.Lease = &li
			}()
			continue
		}
		if !has {
			continue
		}
		weight := min(max(size, 1), manifestsInFlight)
		if bytesSem.Acquire(ctx, weight) != nil {
			break // ctx ended: reported below
		}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			defer bytesSem.Release(weight)
			m, err := c.LoadManifest(ctx, s.Host, s.ID)
			if err != nil {
				if errors.Is(err, upload.ErrNotFound) {
					return
				}
				s.ManifestErr = err
				return
			}
			if c.Each != nil {
				c.Each(m)
			}
			if c.NoChunks {
				for i := range m.Items {
					m.Items[i].Chunks = nil
				}
			} else {
				in.chunks(m)
			}
			s.Manifest = m
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	// A set id has whole seconds: two backups of a host started within one
	// second are ordered by their committed start times (nanoseconds), not
	// by the ids' random suffixes, so "latest" is the one started last. One
	// key per set (host, start, id): a comparison that called two sets
	// equal whenever one had no manifest was no order, and a set without
	// one between two others of the same second could leave them reversed.
	// A set without a readable manifest may have started at any moment of
	// its second: it counts as the last of them, so that a damaged or
	// unfinished set is never hidden behind a complete one of its second
	// (latest skips it, and says so).
	key := func(s *Set) time.Time {
		if s.Manifest == nil {
			return s.Time.Add(time.Second - time.Nanosecond)
		}
		return s.Started()
	}
	sort.SliceStable(sets, func(i, j int) bool {
		a, b := &sets[i], &sets[j]
		if a.Host != b.Host {
			return a.Host < b.Host
		}
		if ta, tb := key(a), key(b); !ta.Equal(tb) {
			return ta.Before(tb)
		}
		return a.ID < b.ID
	})
	return sets, nil
}

// setOf returns the host and set id of a key in a set folder.
func setOf(key string) (host, id string, t time.Time, ok bool) {
	parts := strings.SplitN(key, "/", 3)
	if len(parts) != 3 || !ValidName(parts[0]) {
		return "", "", t, false
	}
	t, err := ParseSetID(parts[1])
	if err != nil {
		return "", "", t, false
	}
	return parts[0], parts[1], t, true
}

// setsFlat finds the sets in one listing of the whole store.
func (c *Catalog) setsFlat(ctx context.Context) ([]Set, error) {
	byKey := map[string]*Set{}
	var order []string
	prefix := ""
	if c.Host != "" {
		prefix = c.Host + "/"
	}
	err := c.Store.List(ctx, prefix, func(o upload.ObjectInfo) error {
		host, id, t, ok := setOf(o.Key)
		if !ok {
			return nil
		}
		k := host + "/" + id
		s := byKey[k]
		if s == nil {
			s = &Set{Host: host, ID: id, Time: t}
			byKey[k] = s
			order = append(order, k)
		}
		s.Objects = append(s.Objects, o)
		return nil
	})
	if err != nil {
		return nil, err
	}
	sets := make([]Set, 0, len(order))
	for _, k := range order {
		sets = append(sets, *byKey[k])
	}
	return sets, nil
}

// setsByFolder finds the sets folder by folder: the hosts, each host's set
// folders, then the objects of each set (a few at a time), so that a
// host's chunks (thousands of objects per GiB) are never listed.
func (c *Catalog) setsByFolder(ctx context.Context, f upload.Folderer) ([]Set, error) {
	hosts := []string{c.Host}
	var err error
	if c.Host == "" {
		if hosts, err = f.Folders(ctx, ""); err != nil {
			return nil, err
		}
	}
	var sets []Set
	for _, h := range hosts {
		if !ValidName(h) {
			continue
		}
		ids, err := f.Folders(ctx, h+"/")
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			if t, err := ParseSetID(id); err == nil {
				sets = append(sets, Set{Host: h, ID: id, Time: t})
			}
		}
	}
	err = parallel.Each(ctx, len(sets), 0, func(i int) error {
		s := &sets[i]
		return c.Store.List(ctx, SetPrefix(s.Host, s.ID), func(o upload.ObjectInfo) error {
			if _, _, _, ok := setOf(o.Key); ok {
				s.Objects = append(s.Objects, o)
			}
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// A folder with no object in it (a prefix some tools create) holds no set.
	return slices.DeleteFunc(sets, func(s Set) bool { return len(s.Objects) == 0 }), nil
}

// Hosts lists the hosts that have at least one set.
func Hosts(sets []Set) []string {
	var hosts []string
	seen := map[string]bool{}
	for _, s := range sets {
		if !seen[s.Host] {
			seen[s.Host] = true
			hosts = append(hosts, s.Host)
		}
	}
	return hosts
}

// CompleteByHost counts the complete sets of each host (metrics.Run.Sets).
func CompleteByHost(sets []Set) map[string]int {
	n := map[string]int{}
	for _, s := range sets {
		if s.Status() == StatusComplete {
			n[s.Host]++
		}
	}
	return n
}

// Skipped is a set that "latest" passed over, and why.
type Skipped struct {
	SetID  string `json:"set_id"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}

// skipReason says why a set is not the newest complete one.
func skipReason(s Set) string {
	switch {
	case s.Archived():
		return "archived: " + s.ThawHint()
	case s.ManifestErr != nil:
		return "damaged manifest: " + strings.TrimPrefix(s.ManifestErr.Error(), "set "+s.Host+"/"+s.ID+": ")
	case s.LeaseUnknown():
		return "incomplete: unfinished, and whether a backup is still writing it is unknown (" + s.Lease.Describe() + ")"
	case s.Manifest == nil && s.InProgress():
		return "incomplete: a backup is still writing it (" + s.Lease.Describe() + ")"
	case s.Manifest == nil:
		return "incomplete: no manifest (a backup still running, or one that never finished)"
	case s.Manifest.Status == StatusPartial:
		n := len(s.Manifest.Failures)
		if n > 0 {
			return fmt.Sprintf("partial: %d exporter(s) failed, first: %s", n, s.Manifest.Failures[0].Error)
		}
		return "partial"
	}
	return s.Status()
}

// OtherHosts says, when host has no set at all, which hosts the sets are
// of (a mistyped --host, or a config whose host differs from the one that
// wrote the sets, would otherwise read as an empty destination); "" when
// host has sets.
func OtherHosts(sets []Set, host string) string {
	for _, s := range sets {
		if s.Host == host {
			return ""
		}
	}
	hosts := Hosts(sets)
	if len(hosts) == 0 {
		return " (the destination holds no backup sets)"
	}
	return fmt.Sprintf(" (the destination holds no set of %s; its sets are of %s)", host, strings.Join(hosts, ", "))
}

// Resolve finds a committed set by id (or "latest", or a unique id prefix)
// for host. An empty host is accepted when the store holds only one host.
func Resolve(sets []Set, host, spec string) (Set, error) {
	s, _, err := ResolveSkipping(sets, host, spec)
	return s, err
}

// ErrChooseHost: the command must be told which host's sets to use (a
// usage error: the --host flag is missing).
var ErrChooseHost = errors.New("choose one with --host")

// ResolveHost is the host whose sets a command uses: host when it has
// sets; else the one host whose name differs from it only in case (a host
// name is one name without case: --host fe01 for the sets of FE01); else
// host as given, for the caller to say it has none. With host "", the
// only host there is.
func ResolveHost(sets []Set, host string) (string, error) {
	hosts := Hosts(sets)
	if host == "" {
		switch len(hosts) {
		case 0:
			return "", errors.New("the destination holds no backup sets")
		case 1:
			return hosts[0], nil
		default:
			return "", fmt.Errorf("the destination holds sets of several hosts (%s): %w", strings.Join(hosts, ", "), ErrChooseHost)
		}
	}
	if slices.Contains(hosts, host) {
		return host, nil
	}
	var same []string
	for _, h := range hosts {
		if strings.EqualFold(h, host) {
			same = append(same, h)
		}
	}
	if len(same) == 1 {
		return same[0], nil
	}
	return host, nil
}

// ResolveSkipping is Resolve that also returns, for "latest", every newer
// set it passed over (newest first) with the reason: "latest" is the newest
// complete set, never a partial, archived, damaged or incomplete one. A set named by
// id may be partial (its items are whole and restorable).
func ResolveSkipping(sets []Set, host, spec string) (Set, []Skipped, error) {
	host, err := ResolveHost(sets, host)
	if err != nil {
		return Set{}, nil, err
	}
	var match []Set
	for _, s := range sets {
		if s.Host != host {
			continue
		}
		if spec == "" || spec == "latest" || s.ID == spec || strings.HasPrefix(s.ID, spec) {
			match = append(match, s)
		}
	}
	if spec == "" || spec == "latest" {
		var skipped []Skipped
		partial := "" // the newest partial set: one that restores by its id
		for i := len(match) - 1; i >= 0; i-- {
			s := match[i]
			if s.Manifest != nil && s.Manifest.Status == StatusComplete {
				return s, skipped, nil
			}
			if partial == "" && s.ManifestErr == nil && s.Manifest != nil && s.Manifest.Status == StatusPartial {
				partial = s.ID
			}
			skipped = append(skipped, Skipped{SetID: s.ID, Status: s.Status(), Reason: skipReason(s)})
		}
		if len(skipped) > 0 {
			// Only a partial set is of use by its id: a damaged,
			// archived or incomplete one fails named so too.
			use := ""
			switch {
			case partial == skipped[0].SetID:
				use = "; name it by id to use it anyway"
			case partial != "":
				use = "; the partial set " + partial + " can be used by naming its id"
			}
			return Set{}, skipped, fmt.Errorf("host %s has no complete backup set (newest: %s, %s%s)", host, skipped[0].SetID, skipped[0].Reason, use)
		}
		return Set{}, nil, fmt.Errorf("host %s has no complete backup set%s", host, OtherHosts(sets, host))
	}
	switch {
	case len(match) == 0:
		return Set{}, nil, fmt.Errorf("no set %q for host %s%s", spec, host, OtherHosts(sets, host))
	case len(match) > 1:
		return Set{}, nil, fmt.Errorf("set %q is ambiguous for host %s", spec, host)
	}
	s := match[0]
	if s.ManifestErr != nil {
		// The set too: restore --thaw can thaw a manifest that is in an
		// archive tier.
		return s, nil, s.ManifestErr
	}
	if !s.Complete() {
		return Set{}, nil, fmt.Errorf("set %s of host %s is incomplete (no manifest: the backup never finished) and cannot be restored", s.ID, host)
	}
	return s, nil, nil
}

// manifestsInFlight bounds the manifest bytes List reads at once.
const manifestsInFlight = 24 << 20

// interner keeps one copy of each chunk key and hash across the manifests
// of one List.
type interner struct {
	mu sync.Mutex
	m  map[string]string
}

func (in *interner) chunks(m *Manifest) {
	in.mu.Lock()
	defer in.mu.Unlock()
	one := func(s *string) {
		if v, ok := in.m[*s]; ok {
			*s = v
		} else if *s != "" {
			in.m[*s] = *s
		}
	}
	for i := range m.Items {
		for j := range m.Items[i].Chunks {
			c := &m.Items[i].Chunks[j]
			one(&c.Key)
			one(&c.SHA256)
			one(&c.AgePrefixSHA256)
		}
	}
}
