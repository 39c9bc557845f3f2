// Package retention decides which backup sets to keep (a pure function of
// the policy, the sets and the clock) and then carries the decision out on a
// store: deletes (manifest first), lock extension, and garbage collection of
// sets that never finished.
package retention

import (
	"fmt"
	"sort"
	"strings"
	"time"
	// Time zones by name on Windows too (it has no zoneinfo files).
	_ "time/tzdata"
)

// Span is a calendar duration ("90d", "1y2m"): calendar units are stepped in
// the policy's time zone so that months and DST days come out right.
type Span struct {
	Years, Months, Days int
	Clock               time.Duration
	// Text is how the user wrote it, for reasons ("within 90d").
	Text string
}

// IsZero reports an unset span.
func (s Span) IsZero() bool { return s.Years == 0 && s.Months == 0 && s.Days == 0 && s.Clock == 0 }

// after returns t plus the span, calendar units stepped in t's location.
func (s Span) after(t time.Time) time.Time {
	return t.AddDate(s.Years, s.Months, s.Days).Add(s.Clock)
}

// before returns t minus the span.
func (s Span) before(t time.Time) time.Time {
	return t.AddDate(-s.Years, -s.Months, -s.Days).Add(-s.Clock)
}

func (s Span) String() string {
	if s.Text != "" {
		return s.Text
	}
	var b strings.Builder
	for _, p := range []struct {
		n int
		u string
	}{{s.Years, "y"}, {s.Months, "m"}, {s.Days, "d"}} {
		if p.n != 0 {
			fmt.Fprintf(&b, "%d%s", p.n, p.u)
		}
	}
	if s.Clock != 0 || b.Len() == 0 {
		b.WriteString(s.Clock.String())
	}
	return b.String()
}

// Policy is what the admin asked for.
type Policy struct {
	// Keep the newest set of each of the last N periods that have a set
	// (Last: the N newest sets). Zero: rule off.
	Last, Hourly, Daily, Weekly, Monthly, Yearly int
	// Within keeps every set newer than the host's newest set minus Within
	// (restic's --keep-within: relative to the newest set, not to now, so a
	// host that stopped backing up does not lose its history by waiting).
	Within Span
	// MinAge: nothing younger than this is ever deleted (a compliance floor).
	MinAge Span
	// Location is the time zone periods are computed in (nil: time.Local).
	Location *time.Location
	// CountPartial lets partial sets fill the period buckets.
	CountPartial bool
	// Grace is how long an incomplete set (no manifest) may be still being
	// written; older ones are garbage. Zero: DefaultGrace.
	Grace time.Duration
}

// DefaultGrace is the grace period for incomplete sets.
const DefaultGrace = 24 * time.Hour

// Empty reports a policy with no keep rule: it deletes nothing.
func (p Policy) Empty() bool {
	return p.Last == 0 && p.Hourly == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 && p.Yearly == 0 && p.Within.IsZero()
}

func (p Policy) loc() *time.Location {
	if p.Location == nil {
		return time.Local
	}
	return p.Location
}

func (p Policy) grace() time.Duration {
	if p.Grace <= 0 {
		return DefaultGrace
	}
	return p.Grace
}

// String renders the policy for humans ("daily 14, weekly 8, min_age 30d, in Europe/Berlin").
func (p Policy) String() string {
	var parts []string
	for _, r := range []struct {
		n    int
		name string
	}{{p.Last, "last"}, {p.Hourly, "hourly"}, {p.Daily, "daily"}, {p.Weekly, "weekly"}, {p.Monthly, "monthly"}, {p.Yearly, "yearly"}} {
		if r.n > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", r.name, r.n))
		}
	}
	if !p.Within.IsZero() {
		parts = append(parts, "within "+p.Within.String())
	}
	if !p.MinAge.IsZero() {
		parts = append(parts, "min_age "+p.MinAge.String())
	}
	if len(parts) == 0 {
		parts = append(parts, "empty")
	}
	return strings.Join(parts, ", ") + " (periods in " + ZoneName(p.loc()) + ")"
}

// Set statuses as SetMeta carries them (those of catalog.Set.Status).
const (
	StatusComplete   = "complete"
	StatusPartial    = "partial"
	StatusIncomplete = "incomplete"
	StatusDamaged    = "damaged"
	// StatusArchived: the manifest is in an archive tier (a set written
	// before manifests were kept online). Like a damaged one, nothing
	// says what the set is: it is left alone.
	StatusArchived = "archived"
)

// SetMeta is what the policy needs to know about one set.
type SetMeta struct {
	Host   string
	ID     string
	Time   time.Time
	Status string
	// LastWrite is the newest object's modification time, in the store's
	// clock (zero: unknown); an incomplete set written to within the grace
	// period of the store's present time is in progress.
	LastWrite time.Time
	// RetainUntil is the latest lock / immutability expiry of its objects
	// (the store's clock enforces it), LegalHold whether any object is
	// under legal hold.
	RetainUntil time.Time
	LegalHold   bool
	// Running, when not empty, says that a backup still holds a live lease
	// on this uncommitted set (and whose): it is being written, whatever
	// the age of its objects.
	Running string
	// RunningUnknown: Running's lease counts as live only because the
	// store could not tell its time (catalog.Set.LeaseUnknown): the set is
	// kept, but not said to be in progress.
	RunningUnknown bool
}

func (s SetMeta) committed() bool { return s.Status == StatusComplete || s.Status == StatusPartial }

// Decision is the verdict on one set.
type Decision struct {
	Host   string    `json:"host"`
	ID     string    `json:"set_id"`
	Time   time.Time `json:"time"`
	Status string    `json:"status"`
	Keep   bool      `json:"keep"`
	// Reasons say which rules keep it ("daily 3/14", "min_age 30d",
	// "locked until 2027-01-01", "newest") or why it goes.
	Reasons []string `json:"reasons"`
	// KeepUntil is the latest date a rule that keeps the set expects to
	// keep it until (zero: no rule predicts one); locks are extended to it.
	KeepUntil time.Time `json:"keep_until,omitzero"`
	// Outcome is what the prune did with the set (Outcome*): the decision
	// carried out, or a delete that failed. Empty in a dry run (nothing
	// ran) and from Apply (which decides only).
	Outcome string `json:"outcome,omitempty"`
}

// A Decision's Outcome.
const (
	OutcomeKept    = "kept"
	OutcomeDeleted = "deleted"
	// OutcomeLeftWhole: the delete failed before anything of the set
	// went; the set is as it was (SetFailure without Partly).
	OutcomeLeftWhole = "left_whole"
	// OutcomePartlyDeleted: the manifest and some objects went, the rest
	// did not: the set is incomplete, the next prune collects it.
	OutcomePartlyDeleted = "partly_deleted"
	// OutcomeNotTried: the prune stopped (interrupted, or it refused the
	// plan) before it tried to delete the set.
	OutcomeNotTried = "not_tried"
)

// Action is the decision and what became of it, in words: "keep",
// "delete", "delete failed (left whole)", "delete failed (partly
// deleted)", "delete not tried". A dry run's delete is "delete".
func (d Decision) Action() string {
	switch {
	case d.Keep:
		return "keep"
	case d.Outcome == OutcomeLeftWhole:
		return "delete failed (left whole)"
	case d.Outcome == OutcomePartlyDeleted:
		return "delete failed (partly deleted)"
	case d.Outcome == OutcomeNotTried:
		return "delete not tried"
	}
	return "delete"
}

// Apply decides, for every set, keep or delete. It is pure: the same
// policy, sets (in any order) and now always give the same decisions,
// returned sorted by host, then time (oldest first), then id. It is
// ApplyInStore with the store's clock taken to be this machine's.
func Apply(p Policy, sets []SetMeta, now time.Time) []Decision {
	return ApplyInStore(p, sets, now, now)
}

// ApplyInStore is Apply with the store's present time (upload.Clock)
// beside this machine's: the times the store wrote (an object's LastWrite,
// a lock's RetainUntil) are judged against storeNow, never against now. A
// prune host 40 minutes ahead of the store collected an unfinished set 40
// minutes before its grace had passed in the store's clock, and took a
// lock with 40 minutes left for expired. The set times (the ids, in the
// clock of the machine that backed up) and the policy's calendar are
// judged against now.
func ApplyInStore(p Policy, sets []SetMeta, now, storeNow time.Time) []Decision {
	sorted := append([]SetMeta(nil), sets...)
	sort.Slice(sorted, func(i, j int) bool { return less(sorted[i], sorted[j]) })
	out := make([]Decision, 0, len(sorted))
	for i := 0; i < len(sorted); {
		j := i
		for j < len(sorted) && sorted[j].Host == sorted[i].Host {
			j++
		}
		out = append(out, applyHost(p, sorted[i:j], now, storeNow)...)
		i = j
	}
	return out
}

func less(a, b SetMeta) bool {
	if a.Host != b.Host {
		return a.Host < b.Host
	}
	if !a.Time.Equal(b.Time) {
		return a.Time.Before(b.Time)
	}
	if a.ID != b.ID {
		return a.ID < b.ID
	}
	return a.Status < b.Status
}

// rule is one period bucket rule.
type rule struct {
	name  string
	count int
	key   func(t time.Time) int // period of a local time
	// until is the set's time plus count periods.
	until func(t time.Time, n int) time.Time
	// start is the beginning of the period holding a local time.
	start func(t time.Time) time.Time
}

func midnight(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, t.Location())
}

func rules(p Policy) []rule {
	return []rule{
		{"last", p.Last, nil, nil, nil},
		{"hourly", p.Hourly, func(t time.Time) int {
			return ((t.Year()*100+int(t.Month()))*100+t.Day())*100 + t.Hour()
		}, func(t time.Time, n int) time.Time { return t.Add(time.Duration(n) * time.Hour) },
			func(t time.Time) time.Time {
				return time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), 0, 0, 0, t.Location())
			}},
		// Days from the local calendar date, never from 24 h arithmetic:
		// a 23 h or 25 h DST day is still exactly one day.
		{"daily", p.Daily, func(t time.Time) int {
			return (t.Year()*100+int(t.Month()))*100 + t.Day()
		}, func(t time.Time, n int) time.Time { return t.AddDate(0, 0, n) }, midnight},
		{"weekly", p.Weekly, func(t time.Time) int {
			y, w := t.ISOWeek()
			return y*100 + w
		}, func(t time.Time, n int) time.Time { return t.AddDate(0, 0, 7*n) },
			func(t time.Time) time.Time { return midnight(t).AddDate(0, 0, -((int(t.Weekday()) + 6) % 7)) }},
		{"monthly", p.Monthly, func(t time.Time) int {
			return t.Year()*100 + int(t.Month())
		}, func(t time.Time, n int) time.Time { return t.AddDate(0, n, 0) },
			func(t time.Time) time.Time { return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, t.Location()) }},
		{"yearly", p.Yearly, func(t time.Time) int { return t.Year() },
			func(t time.Time, n int) time.Time { return t.AddDate(n, 0, 0) },
			func(t time.Time) time.Time { return time.Date(t.Year(), 1, 1, 0, 0, 0, 0, t.Location()) }},
	}
}

// keptUntil is how long a set the rule keeps is sure to stay kept: its
// time plus the rule's periods, and at least until the start of the period
// left periods after the current one. A set the rule keeps goes only once
// enough newer periods have sets, and they do not come faster than the
// calendar. With a backup every period the set's own date is the later
// one; once backups stop, the sets stay kept and that date passes: prune
// extended no lock, and the kept sets (the newest among them) became
// deletable by anyone with the credentials.
func keptUntil(r rule, t, now time.Time, left int) time.Time {
	until := r.until(t, r.count)
	if left <= 0 {
		return until
	}
	if f := r.until(r.start(now), left); f.After(until) {
		return f
	}
	return until
}

// applyHost decides for one host's sets, sorted oldest first.
func applyHost(p Policy, sets []SetMeta, now, storeNow time.Time) []Decision {
	loc := p.loc()
	ds := make([]Decision, len(sets))
	for i, s := range sets {
		ds[i] = Decision{Host: s.Host, ID: s.ID, Time: s.Time, Status: s.Status}
	}
	keep := func(i int, reason string, until time.Time) {
		ds[i].Keep = true
		ds[i].Reasons = append(ds[i].Reasons, reason)
		if until.After(ds[i].KeepUntil) {
			ds[i].KeepUntil = until
		}
	}

	// The newest complete set, and the newest committed set (the reference
	// for keep_within), ignoring sets dated in the future (clock skew).
	newestComplete, newestCommitted := -1, -1
	for i, s := range sets {
		if s.Time.After(now) {
			continue
		}
		if s.Status == StatusComplete {
			newestComplete = i
		}
		if s.committed() {
			newestCommitted = i
		}
	}

	// Period buckets, newest first, over the sets that count.
	counted := func(s SetMeta) bool {
		return !s.Time.After(now) && (s.Status == StatusComplete || (p.CountPartial && s.Status == StatusPartial))
	}
	var order []int
	for i := len(sets) - 1; i >= 0; i-- {
		if counted(sets[i]) {
			order = append(order, i)
		}
	}
	for _, r := range rules(p) {
		if r.count <= 0 {
			continue
		}
		last, used := -1, 0
		// Periods after the current one a set still needs to be pushed
		// out: the k-th of N goes when N-k+1 newer periods have sets, and
		// the current period is one of them unless it has a set already.
		nowHas := 0
		if r.key != nil && len(order) > 0 && r.key(sets[order[0]].Time.In(loc)) == r.key(now.In(loc)) {
			nowHas = 1
		}
		for n, i := range order {
			t := sets[i].Time.In(loc)
			val := n // keep_last: every set is its own period
			if r.key != nil {
				val = r.key(t)
			}
			var until time.Time
			if used < r.count && val != last {
				used++
				last = val
				if r.until != nil {
					until = keptUntil(r, t, now.In(loc), r.count-used+nowHas)
				}
				keep(i, fmt.Sprintf("%s %d/%d", r.name, used, r.count), until)
			} else if used < r.count && n == len(order)-1 {
				// As restic: while periods are left over, also keep the
				// oldest set, so the history reaches back as far as it can.
				if r.until != nil {
					until = keptUntil(r, t, now.In(loc), r.count-used-1+nowHas)
				}
				keep(i, fmt.Sprintf("oldest %s (%d/%d periods)", r.name, used, r.count), until)
			}
		}
	}

	for i, s := range sets {
		if !p.Within.IsZero() && newestCommitted >= 0 && s.committed() && !s.Time.After(now) &&
			s.Time.After(p.Within.before(sets[newestCommitted].Time.In(loc))) {
			keep(i, "within "+p.Within.String(), p.Within.after(s.Time.In(loc)))
		}
		if i == newestComplete {
			keep(i, "newest", time.Time{})
		}
		if s.Status == StatusPartial && !p.CountPartial && (newestComplete < 0 || newestComplete < i) {
			keep(i, "partial kept until a newer complete set", time.Time{})
		}
		// An unfinished set whose objects' times are known is judged by
		// them alone (below): its id is the clock of the machine that
		// backed up, which may be ahead of this one's.
		if s.Time.After(now) && (s.Status != StatusIncomplete || s.LastWrite.IsZero()) {
			keep(i, "dated in the future", time.Time{})
		}
		// min_age keeps a set until min_age after it has passed: counted
		// forward from the set (one month after Mar 2 is Apr 2), never
		// backward from now, where AddDate turns "one month before Mar 31"
		// into Mar 3 and let a 29-day-old set go. An unfinished run's
		// leftovers are not a set: grace alone decides for them.
		if !p.MinAge.IsZero() && s.Status != StatusIncomplete && p.MinAge.after(s.Time.In(loc)).After(now) {
			keep(i, "min_age "+p.MinAge.String(), p.MinAge.after(s.Time.In(loc)))
		}
		if s.LegalHold {
			keep(i, "legal hold", time.Time{})
		}
		if s.RetainUntil.After(storeNow) {
			keep(i, "locked until "+s.RetainUntil.In(loc).Format("2006-01-02 15:04"), time.Time{})
		}
		switch s.Status {
		case StatusDamaged:
			keep(i, "manifest unreadable: left alone", time.Time{})
		case StatusArchived:
			keep(i, "manifest in an archive tier: left alone (restore "+s.ID+" --thaw brings it back)", time.Time{})
		case StatusIncomplete:
			if s.Running != "" && s.RunningUnknown {
				keep(i, "unfinished; whether a backup is still writing it is unknown ("+s.Running+")", time.Time{})
				break
			}
			if s.Running != "" {
				keep(i, "in progress ("+s.Running+")", time.Time{})
				break
			}
			// The age of its newest object in the store's clock: both
			// times are the store's. Only a set whose objects' times are
			// unknown is aged by its id, in this machine's clock.
			age := now.Sub(s.Time)
			if !s.LastWrite.IsZero() {
				age = storeNow.Sub(s.LastWrite)
			}
			if age < p.grace() {
				keep(i, "in progress", time.Time{})
			}
		case StatusComplete, StatusPartial:
		default:
			// A status this policy does not know is no reason to delete.
			keep(i, "status "+s.Status+": left alone", time.Time{})
		}
	}

	if p.Empty() {
		// An empty policy deletes nothing at all, not even garbage: it is
		// almost certainly a forgotten config, not a wish.
		for i := range ds {
			if !ds[i].Keep {
				keep(i, "empty policy", time.Time{})
			}
		}
	}
	for i := range ds {
		if ds[i].Keep {
			continue
		}
		switch sets[i].Status {
		case StatusIncomplete:
			ds[i].Reasons = []string{"incomplete (no manifest) past the grace period: garbage"}
		case StatusPartial:
			if p.CountPartial {
				ds[i].Reasons = []string{"no rule keeps it"}
			} else {
				ds[i].Reasons = []string{"partial, superseded by a newer complete set"}
			}
		default:
			ds[i].Reasons = []string{"no rule keeps it"}
		}
	}
	return ds
}

// CheckNotAll refuses a plan that would delete every committed set of a
// host. Apply never produces one (the newest complete set is always kept);
// the applier checks again before it touches anything, so that a future
// change to the rules cannot wipe a host.
func CheckNotAll(ds []Decision) error {
	committed := map[string]int{}
	kept := map[string]int{}
	for _, d := range ds {
		if d.Status == StatusComplete || d.Status == StatusPartial {
			committed[d.Host]++
			if d.Keep {
				kept[d.Host]++
			}
		}
	}
	var hosts []string
	for h, n := range committed {
		if n > 0 && kept[h] == 0 {
			hosts = append(hosts, h)
		}
	}
	if len(hosts) > 0 {
		sort.Strings(hosts)
		return fmt.Errorf("refusing to prune: the policy would delete every set of host %s", strings.Join(hosts, ", "))
	}
	return nil
}
