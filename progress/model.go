// Package progress is the progress model of a backup, restore or verify
// run (per-item and overall counters, rates, ETA, frozen once an item
// ends) and its two displays: live bars on a terminal (mpb) and plain log
// lines for log files, scheduled tasks and CI. The pure parts (Model,
// Render*, FitName) carry no terminal and are unit-tested.
package progress

import (
	"sort"
	"sync"
	"time"
)

// Model holds the counters of one run. It is safe for concurrent use.
type Model struct {
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time

	mu        sync.Mutex
	start     time.Time
	items     map[string]*item
	order     []*item
	planItems int   // items the run will handle, -1 when unknown
	planBytes int64 // bytes the run will handle, -1 when unknown
	doneItems int
	failed    int
}

type item struct {
	name       string
	total      int64 // progress-measure size if known, else -1
	start, end time.Time
	read       int64
	stored     int64
	done       bool
	err        error
}

// NewModel returns an empty model with unknown totals.
func NewModel(now func() time.Time) *Model {
	if now == nil {
		now = time.Now
	}
	return &Model{Now: now, start: now(), items: map[string]*item{}, planItems: -1, planBytes: -1}
}

// Plan sets what the whole run will handle (restore, verify: from the
// manifest); -1 for what is not known.
func (m *Model) Plan(items int, bytes int64) {
	m.mu.Lock()
	m.planItems, m.planBytes = items, bytes
	m.mu.Unlock()
}

// Start announces an item; total is its size in the measure of progress
// (-1 when unknown).
func (m *Model) Start(name string, total int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := &item{name: name, total: total, start: m.Now()}
	if old, ok := m.items[name]; ok && !old.done {
		*old = *it
		return
	}
	m.items[name] = it
	m.order = append(m.order, it)
}

// SetTotal gives an item its size once it is known (a tree sized while it packs).
func (m *Model) SetTotal(name string, total int64) {
	m.mu.Lock()
	if it := m.items[name]; it != nil && !it.done {
		it.total = total
	}
	m.mu.Unlock()
}

// Read counts plaintext bytes of an item.
func (m *Model) Read(name string, n int64) {
	m.mu.Lock()
	if it := m.items[name]; it != nil && !it.done {
		it.read += n
	}
	m.mu.Unlock()
}

// Stored counts stored (encrypted) bytes of an item.
func (m *Model) Stored(name string, n int64) {
	m.mu.Lock()
	if it := m.items[name]; it != nil && !it.done {
		it.stored += n
	}
	m.mu.Unlock()
}

// Done ends an item: its figures are frozen from here on.
func (m *Model) Done(name string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[name]
	if it == nil || it.done {
		return
	}
	it.done, it.err, it.end = true, err, m.Now()
	m.doneItems++
	if err != nil {
		m.failed++
	}
}

// measure is the quantity that tracks progress: the plaintext read when
// the total is known (restore, verify, a sized tree; a verify without a key
// counts stored bytes as both), else what was stored.
func (it *item) measure() int64 {
	if it.total >= 0 {
		return it.read
	}
	return it.stored
}

// Snapshot is an item's state at one moment.
type Snapshot struct {
	Name          string
	Total         int64 // -1 when unknown
	Read, Stored  int64
	Elapsed       time.Duration // frozen at the end for a finished item
	Done          bool
	Err           error
	Rate          float64       // bytes per second of the progress measure
	ETA           time.Duration // -1 when unknown
	Percent       float64       // -1 when unknown
	ProgressBytes int64
}

func (m *Model) snap(it *item, now time.Time) Snapshot {
	s := Snapshot{Name: it.name, Total: it.total, Read: it.read, Stored: it.stored, Done: it.done, Err: it.err, ETA: -1, Percent: -1}
	end := now
	if it.done {
		end = it.end
	}
	s.Elapsed = end.Sub(it.start)
	s.ProgressBytes = it.measure()
	s.Rate = rate(s.ProgressBytes, s.Elapsed)
	if it.total > 0 {
		s.Percent = min(100, 100*float64(s.ProgressBytes)/float64(it.total))
		if !it.done {
			s.ETA = eta(it.total-s.ProgressBytes, s.Rate)
		}
	} else if it.total == 0 && it.done {
		s.Percent = 100
	}
	if it.done {
		s.ETA = 0
	}
	return s
}

func rate(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// eta is the time left for left bytes at r bytes per second, rounded to
// the second; -1 when the rate is not known yet.
func eta(left int64, r float64) time.Duration {
	if r <= 0 {
		return -1
	}
	if left < 0 {
		left = 0
	}
	return time.Duration(float64(left) / r * float64(time.Second)).Round(time.Second)
}

// Item returns one item's snapshot (ok false if it was never started).
func (m *Model) Item(name string) (Snapshot, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	it := m.items[name]
	if it == nil {
		return Snapshot{}, false
	}
	return m.snap(it, m.Now()), true
}

// Items returns every item started so far, in start order.
func (m *Model) Items() []Snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.Now()
	out := make([]Snapshot, 0, len(m.order))
	for _, it := range m.order {
		out = append(out, m.snap(it, now))
	}
	return out
}

// Active returns the items still running, by name.
func (m *Model) Active() []Snapshot {
	var out []Snapshot
	for _, s := range m.Items() {
		if !s.Done {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Overall is the whole run at one moment.
type Overall struct {
	ItemsDone, ItemsFailed int
	ItemsStarted           int
	ItemsTotal             int   // -1 when unknown
	Bytes                  int64 // progress bytes so far
	TotalBytes             int64 // -1 when unknown
	Stored                 int64
	Elapsed                time.Duration
	Rate                   float64
	Percent                float64       // -1 when unknown
	ETA                    time.Duration // -1 when unknown
}

// Overall sums the items. The total is the planned one (restore, verify)
// or, when every item is started and sized, their sum.
func (m *Model) Overall() Overall {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.Now()
	o := Overall{ItemsDone: m.doneItems, ItemsFailed: m.failed, ItemsStarted: len(m.order), ItemsTotal: m.planItems,
		TotalBytes: m.planBytes, Elapsed: now.Sub(m.start), Percent: -1, ETA: -1}
	for _, it := range m.order {
		o.Bytes += it.measure()
		o.Stored += it.stored
	}
	o.Rate = rate(o.Bytes, o.Elapsed)
	if o.TotalBytes > 0 {
		o.Percent = min(100, 100*float64(o.Bytes)/float64(o.TotalBytes))
		o.ETA = eta(o.TotalBytes-o.Bytes, o.Rate)
	}
	if o.ItemsTotal >= 0 && o.ItemsDone >= o.ItemsTotal {
		o.ETA, o.Percent = 0, 100
	}
	return o
}
