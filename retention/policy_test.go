package retention

import (
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

func mustLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load time zone %s: %v", name, err)
	}
	return loc
}

var idSeq int

func set(host string, t time.Time, status string) SetMeta {
	idSeq++
	return SetMeta{Host: host, ID: fmt.Sprintf("%s-%06x", t.UTC().Format("20060102T150405Z"), idSeq&0xffffff), Time: t.UTC(), Status: status, LastWrite: t.Add(5 * time.Minute)}
}

func keptTimes(ds []Decision, loc *time.Location) []string {
	var out []string
	for _, d := range ds {
		if d.Keep {
			out = append(out, d.Time.In(loc).Format("2006-01-02 15:04"))
		}
	}
	return out
}

func decisionFor(t *testing.T, ds []Decision, id string) Decision {
	t.Helper()
	for _, d := range ds {
		if d.ID == id {
			return d
		}
	}
	t.Fatalf("no decision for %s", id)
	return Decision{}
}

// restic's documentation, "Removing snapshots according to a policy":
// one backup every Sunday for 12 weeks, forget --keep-daily 4 keeps the last
// four Sundays and removes the other eight.
func TestResticDocSundays(t *testing.T) {
	var sets []SetMeta
	start := time.Date(2019, 9, 1, 11, 0, 0, 0, time.UTC)
	for i := range 12 {
		sets = append(sets, set("mopped", start.AddDate(0, 0, 7*i), StatusComplete))
	}
	now := time.Date(2019, 11, 20, 0, 0, 0, 0, time.UTC)
	ds := Apply(Policy{Daily: 4, Location: time.UTC}, sets, now)
	want := []string{"2019-10-27 11:00", "2019-11-03 11:00", "2019-11-10 11:00", "2019-11-17 11:00"}
	if got := keptTimes(ds, time.UTC); !reflect.DeepEqual(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
	if r := decisionFor(t, ds, sets[8].ID).Reasons; !reflect.DeepEqual(r, []string{"daily 4/4"}) {
		t.Errorf("oldest kept daily reasons %v, want daily 4/4", r)
	}
	if r := decisionFor(t, ds, sets[11].ID).Reasons; !reflect.DeepEqual(r, []string{"daily 1/4", "newest"}) {
		t.Errorf("newest reasons %v", r)
	}
}

// restic's documentation: one backup a day for 100 years with
// --keep-daily 7 --keep-weekly 5 --keep-monthly 12 --keep-yearly 75 keeps 7
// dailies, 4 more weeklies, 11 or 12 more monthlies and 74 or 75 yearlies.
// Worked by hand for a last backup on Sunday 2025-06-15: dailies Jun 9-15;
// weeklies add the Sundays Jun 8, Jun 1, May 25, May 18; monthlies add the
// last days of Jul 2024 .. May 2025 (11); yearlies add Dec 31 of 2023 back to
// 1951 (73: 2025 and 2024 are already kept): 95 in all.
func TestResticDocHundredYears(t *testing.T) {
	var sets []SetMeta
	end := time.Date(2025, 6, 15, 11, 0, 0, 0, time.UTC)
	for d := time.Date(1925, 6, 16, 11, 0, 0, 0, time.UTC); !d.After(end); d = d.AddDate(0, 0, 1) {
		sets = append(sets, set("h", d, StatusComplete))
	}
	ds := Apply(Policy{Daily: 7, Weekly: 5, Monthly: 12, Yearly: 75, Location: time.UTC}, sets, end.Add(time.Hour))
	kept := keptTimes(ds, time.UTC)
	if len(kept) != 95 {
		t.Fatalf("kept %d sets, want 95: %v", len(kept), kept)
	}
	for _, want := range []string{"2025-06-09 11:00", "2025-06-08 11:00", "2025-05-18 11:00", "2025-05-31 11:00",
		"2024-07-31 11:00", "2023-12-31 11:00", "1951-12-31 11:00"} {
		if !slices.Contains(kept, want) {
			t.Errorf("%s not kept", want)
		}
	}
	for _, gone := range []string{"2025-06-07 11:00", "2025-05-11 11:00", "2024-06-30 11:00", "1950-12-31 11:00"} {
		if slices.Contains(kept, gone) {
			t.Errorf("%s kept, want deleted", gone)
		}
	}
}

// While a rule has periods left over, the oldest set is kept too (restic
// 0.17's "oldest" rule), so a young deployment keeps its first backup.
func TestOldestKeptWhilePeriodsLeft(t *testing.T) {
	base := time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC)
	sets := []SetMeta{
		set("h", base.Add(1*time.Hour), StatusComplete),
		set("h", base.Add(2*time.Hour), StatusComplete),
		set("h", base.AddDate(0, 0, 1).Add(time.Hour), StatusComplete),
	}
	ds := Apply(Policy{Daily: 7, Location: time.UTC}, sets, base.AddDate(0, 0, 3))
	for _, d := range ds {
		if !d.Keep {
			t.Errorf("%s deleted (%v); with 2 of 7 daily periods the oldest stays", d.ID, d.Reasons)
		}
	}
	if r := ds[0].Reasons; !reflect.DeepEqual(r, []string{"oldest daily (2/7 periods)"}) {
		t.Errorf("oldest reasons %v", r)
	}
	// With the periods filled, the oldest goes like any other.
	ds = Apply(Policy{Daily: 2, Location: time.UTC}, sets, base.AddDate(0, 0, 3))
	if ds[0].Keep {
		t.Errorf("oldest kept with every daily period used: %v", ds[0].Reasons)
	}
}

// Periods come from the local calendar date in the policy's zone: a 23 h
// or 25 h DST day is one day, never zero or two.
func TestDSTDays(t *testing.T) {
	for _, tc := range []struct {
		zone   string
		spring time.Time
		autumn time.Time
	}{
		{"Europe/Berlin", time.Date(2024, 3, 31, 0, 0, 0, 0, time.UTC), time.Date(2024, 10, 27, 0, 0, 0, 0, time.UTC)},
		{"America/New_York", time.Date(2024, 3, 10, 0, 0, 0, 0, time.UTC), time.Date(2024, 11, 3, 0, 0, 0, 0, time.UTC)},
	} {
		loc := mustLoc(t, tc.zone)
		for _, day := range []time.Time{tc.spring, tc.autumn} {
			t.Run(tc.zone+"/"+day.Format("2006-01-02"), func(t *testing.T) {
				var sets []SetMeta
				first := time.Date(day.Year(), day.Month(), day.Day()-5, 0, 0, 0, 0, loc)
				for i := range 11 {
					d := first.AddDate(0, 0, i)
					for _, hm := range [][2]int{{0, 15}, {1, 30}, {2, 30}, {12, 0}, {23, 45}} {
						sets = append(sets, set("h", time.Date(d.Year(), d.Month(), d.Day(), hm[0], hm[1], 0, 0, loc), StatusComplete))
					}
				}
				now := first.AddDate(0, 0, 11).Add(time.Hour)
				ds := Apply(Policy{Daily: 8, Location: loc}, sets, now)
				kept := keptTimes(ds, loc)
				var want []string
				for i := 3; i < 11; i++ {
					d := first.AddDate(0, 0, i)
					want = append(want, time.Date(d.Year(), d.Month(), d.Day(), 23, 45, 0, 0, loc).Format("2006-01-02 15:04"))
				}
				if !reflect.DeepEqual(kept, want) {
					t.Fatalf("kept %v\nwant %v (the last set of each of 8 local days)", kept, want)
				}
			})
		}
	}
}

// The same instants fall into different days and years in different zones.
func TestTimeZoneDecidesPeriods(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	// 23:30 and 00:30 Berlin around new year: UTC sees both in 2020.
	a := set("h", time.Date(2020, 12, 31, 23, 30, 0, 0, berlin), StatusComplete)
	b := set("h", time.Date(2021, 1, 1, 0, 30, 0, 0, berlin), StatusComplete)
	c := set("h", time.Date(2021, 1, 1, 12, 0, 0, 0, berlin), StatusComplete)
	now := time.Date(2021, 1, 2, 0, 0, 0, 0, time.UTC)
	sets := []SetMeta{a, b, c}
	in := func(ds []Decision, s SetMeta) bool { return decisionFor(t, ds, s.ID).Keep }
	ds := Apply(Policy{Yearly: 5, Location: berlin}, sets, now)
	if !in(ds, a) || in(ds, b) || !in(ds, c) {
		t.Errorf("Berlin yearly: kept a=%v b=%v c=%v, want a and c", in(ds, a), in(ds, b), in(ds, c))
	}
	ds = Apply(Policy{Yearly: 5, Location: time.UTC}, sets, now)
	// UTC: a and b are 2020 (b is the newest of 2020), c is 2021.
	if in(ds, a) && !strings.Contains(strings.Join(decisionFor(t, ds, a.ID).Reasons, ","), "oldest") || !in(ds, b) || !in(ds, c) {
		t.Errorf("UTC yearly: %v", ds)
	}
}

// ISO weeks: 2020-12-31 (Thu) and 2021-01-03 (Sun) are both week 53 of 2020.
func TestISOWeeksAcrossYearEnd(t *testing.T) {
	loc := time.UTC
	at := func(y int, m time.Month, d int) SetMeta {
		return set("h", time.Date(y, m, d, 10, 0, 0, 0, loc), StatusComplete)
	}
	s := []SetMeta{at(2020, 12, 20), at(2020, 12, 27), at(2020, 12, 28), at(2020, 12, 31), at(2021, 1, 3), at(2021, 1, 4)}
	ds := Apply(Policy{Weekly: 3, Location: loc}, s, time.Date(2021, 1, 5, 0, 0, 0, 0, loc))
	got := keptTimes(ds, loc)
	want := []string{"2020-12-27 10:00", "2021-01-03 10:00", "2021-01-04 10:00"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("kept %v, want %v", got, want)
	}
}

func TestKeepUntil(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	s := set("h", time.Date(2024, 3, 30, 12, 0, 0, 0, berlin), StatusComplete)
	now := time.Date(2024, 4, 2, 0, 0, 0, 0, berlin)
	ds := Apply(Policy{Daily: 1, Location: berlin}, []SetMeta{s, set("h", time.Date(2024, 3, 29, 9, 0, 0, 0, berlin), StatusComplete)}, now)
	d := decisionFor(t, ds, s.ID)
	// One calendar day later across the spring DST change is 23 h, not 24 h.
	if want := time.Date(2024, 3, 31, 12, 0, 0, 0, berlin); !d.KeepUntil.Equal(want) {
		t.Errorf("daily 1: keep until %v, want %v", d.KeepUntil, want)
	}
	ds = Apply(Policy{Daily: 3, Monthly: 12, Within: Span{Days: 400, Text: "400d"}, MinAge: Span{Days: 30, Text: "30d"}, Location: berlin}, []SetMeta{s}, now)
	d = decisionFor(t, ds, s.ID)
	// The max over the rules: within 400 days.
	if want := time.Date(2025, 5, 4, 12, 0, 0, 0, berlin); !d.KeepUntil.Equal(want) {
		t.Errorf("keep until %v, want %v (reasons %v)", d.KeepUntil, want, d.Reasons)
	}
	ds = Apply(Policy{Monthly: 12, Location: berlin}, []SetMeta{s}, now)
	if want := time.Date(2025, 3, 30, 12, 0, 0, 0, berlin); !ds[0].KeepUntil.Equal(want) {
		t.Errorf("monthly 12: keep until %v, want %v", ds[0].KeepUntil, want)
	}
}

func TestSafetyNets(t *testing.T) {
	loc := time.UTC
	now := time.Date(2025, 1, 10, 12, 0, 0, 0, loc)
	day := func(d int, st string) SetMeta { return set("h", time.Date(2025, 1, d, 3, 0, 0, 0, loc), st) }
	old := day(1, StatusComplete)
	lockedSet := day(2, StatusComplete)
	lockedSet.RetainUntil = now.AddDate(1, 0, 0)
	expired := day(3, StatusComplete)
	expired.RetainUntil = now.Add(-time.Hour)
	hold := day(4, StatusComplete)
	hold.LegalHold = true
	damaged := day(5, StatusDamaged)
	archived := day(5, StatusArchived) // its manifest in an archive tier
	unknown := day(5, "status of a later version")
	garbage := day(6, StatusIncomplete)
	newestComplete := day(7, StatusComplete)
	partialNewer := day(8, StatusPartial)
	recentWrite := day(8, StatusIncomplete) // started long ago, still writing
	recentWrite.LastWrite = now.Add(-time.Hour)
	young := set("h", now.Add(-2*time.Hour), StatusIncomplete)
	future := set("h", now.Add(48*time.Hour), StatusComplete)
	minAged := day(9, StatusPartial)
	sets := []SetMeta{old, lockedSet, expired, hold, damaged, archived, unknown, garbage, newestComplete, partialNewer, recentWrite, young, future, minAged}
	// keep_last 1 of the complete sets would keep only the newest complete
	// (the future one does not count).
	ds := Apply(Policy{Last: 1, MinAge: Span{Days: 2, Text: "2d"}, Location: loc}, sets, now)
	want := map[string]string{
		old.ID:            "",
		lockedSet.ID:      "locked until 2026-01-10 12:00",
		expired.ID:        "",
		hold.ID:           "legal hold",
		damaged.ID:        "manifest unreadable: left alone",
		archived.ID:       "manifest in an archive tier: left alone (restore " + archived.ID + " --thaw brings it back)",
		unknown.ID:        "status status of a later version: left alone",
		garbage.ID:        "",
		newestComplete.ID: "newest",
		partialNewer.ID:   "partial kept until a newer complete set",
		recentWrite.ID:    "in progress",
		young.ID:          "in progress",
		future.ID:         "dated in the future",
		minAged.ID:        "min_age 2d",
	}
	for _, d := range ds {
		w := want[d.ID]
		if w == "" {
			if d.Keep {
				t.Errorf("%s (%s) kept: %v", d.ID, d.Status, d.Reasons)
			}
			if len(d.Reasons) == 0 {
				t.Errorf("%s deleted without a reason", d.ID)
			}
			continue
		}
		if !d.Keep || !slices.Contains(d.Reasons, w) {
			t.Errorf("%s (%s): keep=%v reasons %v, want kept for %q", d.ID, d.Status, d.Keep, d.Reasons, w)
		}
	}
	if r := decisionFor(t, ds, garbage.ID).Reasons; !strings.Contains(r[0], "garbage") {
		t.Errorf("garbage reasons %v", r)
	}
	if err := CheckNotAll(ds); err != nil {
		t.Error(err)
	}
}

func TestPartialSets(t *testing.T) {
	loc := time.UTC
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, loc)
	c1 := set("h", time.Date(2025, 2, 1, 3, 0, 0, 0, loc), StatusComplete)
	p1 := set("h", time.Date(2025, 2, 2, 3, 0, 0, 0, loc), StatusPartial)
	c2 := set("h", time.Date(2025, 2, 3, 3, 0, 0, 0, loc), StatusComplete)
	p2 := set("h", time.Date(2025, 2, 4, 3, 0, 0, 0, loc), StatusPartial)
	sets := []SetMeta{c1, p1, c2, p2}
	ds := Apply(Policy{Daily: 10, Location: loc}, sets, now)
	if d := decisionFor(t, ds, p1.ID); d.Keep {
		t.Errorf("superseded partial kept: %v", d.Reasons)
	}
	if d := decisionFor(t, ds, p2.ID); !d.Keep || !slices.Contains(d.Reasons, "partial kept until a newer complete set") {
		t.Errorf("newest partial: %v %v", d.Keep, d.Reasons)
	}
	// Without count_partial, partials do not take daily periods: both
	// completes are dailies (2 of 10 periods; c1 by "daily 2/10").
	if d := decisionFor(t, ds, c1.ID); !slices.Contains(d.Reasons, "daily 2/10") {
		t.Errorf("c1 reasons %v", d.Reasons)
	}
	ds = Apply(Policy{Daily: 2, CountPartial: true, Location: loc}, sets, now)
	got := map[string]bool{}
	for _, d := range ds {
		got[d.ID] = d.Keep
	}
	// count_partial: the two newest days are p2 and c2; c2 is also the
	// newest complete; p1 and c1 go.
	if !got[p2.ID] || !got[c2.ID] || got[p1.ID] || got[c1.ID] {
		t.Errorf("count_partial kept %v", ds)
	}
}

func TestEmptyPolicyDeletesNothing(t *testing.T) {
	loc := time.UTC
	now := time.Date(2025, 3, 1, 0, 0, 0, 0, loc)
	sets := []SetMeta{
		set("h", time.Date(2020, 1, 1, 0, 0, 0, 0, loc), StatusComplete),
		set("h", time.Date(2021, 1, 1, 0, 0, 0, 0, loc), StatusIncomplete),
		set("h", time.Date(2022, 1, 1, 0, 0, 0, 0, loc), StatusComplete),
	}
	p := Policy{MinAge: Span{Days: 30}, Location: loc}
	if !p.Empty() {
		t.Fatal("min_age alone is not a keep rule: the policy should be empty")
	}
	for _, d := range Apply(p, sets, now) {
		if !d.Keep {
			t.Errorf("empty policy deletes %s: %v", d.ID, d.Reasons)
		}
	}
}

func TestCheckNotAll(t *testing.T) {
	ds := []Decision{
		{Host: "a", ID: "1", Status: StatusComplete, Keep: false},
		{Host: "a", ID: "2", Status: StatusPartial, Keep: false},
		{Host: "a", ID: "3", Status: StatusIncomplete, Keep: true},
		{Host: "b", ID: "1", Status: StatusComplete, Keep: true},
		{Host: "c", ID: "1", Status: StatusIncomplete, Keep: false},
	}
	err := CheckNotAll(ds)
	if err == nil || !strings.Contains(err.Error(), "every set of host a") || strings.Contains(err.Error(), "b") {
		t.Fatalf("CheckNotAll = %v, want a refusal naming host a only", err)
	}
	ds[1].Keep = true
	if err := CheckNotAll(ds); err != nil {
		t.Fatalf("CheckNotAll = %v with one kept set", err)
	}
}

// timeline makes several backups a day for three years with gaps, for
// several hosts, in loc, with some partial, incomplete, damaged and locked
// sets. It returns the sets and a "now" shortly after the last one.
func timeline(seed uint64, loc *time.Location) ([]SetMeta, time.Time) {
	r := rand.New(rand.NewPCG(seed, 7))
	var sets []SetMeta
	end := time.Date(2025, 11, 2+r.IntN(10), 0, 0, 0, 0, loc) // spans 3 DST changes a year and 3 year ends
	start := end.AddDate(-3, 0, 0)
	var last time.Time
	for _, host := range []string{"fe01", "fe02", "sql01"}[:1+r.IntN(3)] {
		for d := start; d.Before(end); d = d.AddDate(0, 0, 1) {
			if r.IntN(100) < 8 { // a missed day
				continue
			}
			if r.IntN(400) == 0 { // an outage of up to 6 weeks
				d = d.AddDate(0, 0, r.IntN(42))
			}
			for range 1 + r.IntN(4) {
				// Hours 0-3 and 23 hit DST gaps/overlaps and day ends.
				h := []int{0, 1, 2, 3, 12, 18, 23}[r.IntN(7)]
				t := time.Date(d.Year(), d.Month(), d.Day(), h, r.IntN(60), r.IntN(60), 0, loc)
				st := StatusComplete
				switch x := r.IntN(100); {
				case x < 8:
					st = StatusPartial
				case x < 12:
					st = StatusIncomplete
				case x < 13:
					st = StatusDamaged
				case x < 14:
					st = StatusArchived
				}
				s := set(host, t, st)
				switch x := r.IntN(100); {
				case x < 3:
					s.RetainUntil = t.AddDate(0, 0, r.IntN(1200))
				case x < 4:
					s.LegalHold = true
				}
				sets = append(sets, s)
				if t.After(last) {
					last = t
				}
			}
		}
		if r.IntN(2) == 0 { // the host's last run was partial
			t := end.Add(time.Duration(r.IntN(600)) * time.Minute)
			sets = append(sets, set(host, t, StatusPartial))
			if t.After(last) {
				last = t
			}
		}
	}
	return sets, last.Add(time.Duration(r.IntN(72*60)) * time.Minute)
}

func randomPolicy(r *rand.Rand, loc *time.Location) Policy {
	n := func(max int) int {
		if r.IntN(3) == 0 {
			return 0
		}
		return 1 + r.IntN(max)
	}
	p := Policy{Last: n(10), Hourly: n(48), Daily: n(30), Weekly: n(12), Monthly: n(24), Yearly: n(5), Location: loc, CountPartial: r.IntN(3) == 0}
	if r.IntN(3) == 0 {
		p.Within = Span{Months: r.IntN(4), Days: r.IntN(40), Clock: time.Duration(r.IntN(48)) * time.Hour}
	}
	if r.IntN(2) == 0 {
		p.MinAge = Span{Months: r.IntN(3), Days: r.IntN(90), Clock: time.Duration(r.IntN(48)) * time.Hour}
		if r.IntN(4) == 0 {
			p.MinAge = Span{Years: 1}
		}
	}
	if r.IntN(4) == 0 {
		p.Grace = time.Duration(1+r.IntN(72)) * time.Hour
	}
	return p
}

// periodOf names the period of a local time for a bucket rule, computed
// apart from the production key functions (calendar text, and weeks by
// the date of their Monday), so that a wrong key cannot agree with itself.
func periodOf(rule string, t time.Time) string {
	switch rule {
	case "hourly":
		return t.Format("2006-01-02T15")
	case "daily":
		return t.Format("2006-01-02")
	case "weekly":
		day := time.Date(t.Year(), t.Month(), t.Day(), 12, 0, 0, 0, time.UTC)
		return day.AddDate(0, 0, -(int(day.Weekday())+6)%7).Format("2006-01-02")
	case "monthly":
		return t.Format("2006-01")
	case "yearly":
		return t.Format("2006")
	}
	panic("no period for rule " + rule)
}

func TestPeriodOfIsoWeeks(t *testing.T) {
	for _, c := range []struct{ day, monday string }{
		{"2024-12-30", "2024-12-30"}, {"2025-01-05", "2024-12-30"}, {"2021-01-03", "2020-12-28"}, {"2026-11-29", "2026-11-23"},
	} {
		d, _ := time.Parse("2006-01-02", c.day)
		if got := periodOf("weekly", d); got != c.monday {
			t.Errorf("%s: week of %s, want %s", c.day, got, c.monday)
		}
	}
}

// oracle computes, independently of Apply, which sets one bucket rule keeps:
// the newest counted set of each of the N newest periods, plus the oldest
// counted set while fewer than N periods exist.
func oracle(p Policy, r rule, sets []SetMeta, now time.Time) map[string]bool {
	var counted []SetMeta
	for _, s := range sets {
		if !s.Time.After(now) && (s.Status == StatusComplete || (p.CountPartial && s.Status == StatusPartial)) {
			counted = append(counted, s)
		}
	}
	sort.Slice(counted, func(i, j int) bool { return less(counted[j], counted[i]) }) // newest first
	newestOf := map[string]SetMeta{}
	var periods []string
	for i, s := range counted {
		k := fmt.Sprint(i) // "last": every set is its own period
		if r.name != "last" {
			k = periodOf(r.name, s.Time.In(p.loc()))
		}
		if _, ok := newestOf[k]; !ok {
			newestOf[k] = s
			periods = append(periods, k)
		}
	}
	out := map[string]bool{}
	for i, k := range periods {
		if i < r.count {
			out[newestOf[k].ID] = true
		}
	}
	if len(periods) < r.count && len(counted) > 0 {
		out[counted[len(counted)-1].ID] = true
	}
	return out
}

func TestPropertiesOnTimelines(t *testing.T) {
	zones := []string{"Europe/Berlin", "America/New_York"}
	for _, zone := range zones {
		loc := mustLoc(t, zone)
		for seed := range uint64(4) {
			sets, now := timeline(seed, loc)
			r := rand.New(rand.NewPCG(seed, 99))
			policies := []Policy{
				{Daily: 14, Weekly: 8, Monthly: 12, Yearly: 7, MinAge: Span{Days: 30, Text: "30d"}, Location: loc},
				{Last: 3, Hourly: 24, Within: Span{Days: 10}, Location: loc},
				{Daily: 7, Monthly: 3, CountPartial: true, Location: loc},
				// Only the safety net keeps the newest complete set when a
				// partial one is newer and counts.
				{Last: 1, CountPartial: true, Location: loc},
			}
			for range 5 {
				policies = append(policies, randomPolicy(r, loc))
			}
			for pi, p := range policies {
				t.Run(fmt.Sprintf("%s/seed%d/policy%d", zone, seed, pi), func(t *testing.T) {
					checkProperties(t, p, sets, now)
				})
			}
		}
	}
}

// spanBefore is t minus sp for the oracles, written apart from Span.before:
// calendar fields stepped in t's zone (time.Date normalises), then the
// clock part.
func spanBefore(sp Span, t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y-sp.Years, m-time.Month(sp.Months), d-sp.Days, h, mi, sec, t.Nanosecond(), t.Location()).Add(-sp.Clock)
}

// spanAfter is t plus sp for the oracles, the same way forward.
func spanAfter(sp Span, t time.Time) time.Time {
	y, m, d := t.Date()
	h, mi, sec := t.Clock()
	return time.Date(y+sp.Years, m+time.Month(sp.Months), d+sp.Days, h, mi, sec, t.Nanosecond(), t.Location()).Add(sp.Clock)
}

func checkProperties(t *testing.T, p Policy, sets []SetMeta, now time.Time) {
	ds := Apply(p, sets, now)
	if len(ds) != len(sets) {
		t.Fatalf("%d decisions for %d sets", len(ds), len(sets))
	}
	byID := map[string]Decision{}
	for _, d := range ds {
		byID[d.ID] = d
	}

	// Same input, same answer; and the input order does not matter.
	if again := Apply(p, sets, now); !reflect.DeepEqual(again, ds) {
		t.Fatal("two runs on the same input differ")
	}
	shuffled := append([]SetMeta(nil), sets...)
	rand.New(rand.NewPCG(uint64(len(sets)), 1)).Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
	if again := Apply(p, shuffled, now); !reflect.DeepEqual(again, ds) {
		t.Fatal("a shuffled input gives another answer")
	}

	newest := map[string]SetMeta{}
	for _, s := range sets {
		if s.Status == StatusComplete && !s.Time.After(now) {
			if n, ok := newest[s.Host]; !ok || less(n, s) {
				newest[s.Host] = s
			}
		}
	}
	withinCut := map[string]time.Time{} // per host: keep_within reaches back to here from its newest committed set
	for _, s := range sets {
		if s.committed() && !s.Time.After(now) {
			if c := spanBefore(p.Within, s.Time.In(p.loc())); c.After(withinCut[s.Host]) {
				withinCut[s.Host] = c
			}
		}
	}
	deleted := 0
	for _, s := range sets {
		d := byID[s.ID]
		if len(d.Reasons) == 0 {
			t.Errorf("%s: keep=%v without a reason", s.ID, d.Keep)
		}
		if d.Keep {
			continue
		}
		deleted++
		switch {
		case newest[s.Host].ID == s.ID:
			t.Errorf("newest complete set %s of %s deleted", s.ID, s.Host)
		case !p.MinAge.IsZero() && s.Status != StatusIncomplete && spanAfter(p.MinAge, s.Time.In(p.loc())).After(now):
			t.Errorf("%s younger than min_age %v deleted", s.ID, p.MinAge)
		case !p.Within.IsZero() && s.committed() && !s.Time.After(now) && s.Time.After(withinCut[s.Host]):
			t.Errorf("%s within %v of its host's newest committed set deleted", s.ID, p.Within)
		case s.LegalHold || s.RetainUntil.After(now):
			t.Errorf("locked %s (until %v, hold %v) deleted", s.ID, s.RetainUntil, s.LegalHold)
		case s.Status == StatusDamaged || s.Status == StatusArchived:
			t.Errorf("%s %s deleted", s.Status, s.ID)
		case s.Status == StatusIncomplete && now.Sub(s.LastWrite) < p.grace():
			t.Errorf("in-progress %s deleted", s.ID)
		case s.Time.After(now) && (s.Status != StatusIncomplete || s.LastWrite.IsZero()):
			t.Errorf("future %s deleted", s.ID)
		case p.Empty():
			t.Errorf("empty policy deleted %s", s.ID)
		}
	}
	if !p.Empty() && deleted == 0 {
		t.Errorf("policy %v deleted nothing of %d sets: the timeline does not exercise it", p, len(sets))
	}
	if err := CheckNotAll(ds); err != nil {
		t.Error(err)
	}

	// Every bucket rule keeps exactly what the oracle says, per host; a
	// set kept by a rule is kept overall.
	hosts := map[string][]SetMeta{}
	for _, s := range sets {
		hosts[s.Host] = append(hosts[s.Host], s)
	}
	for _, r := range rules(p) {
		if r.count <= 0 {
			continue
		}
		single := Policy{Location: p.loc(), CountPartial: p.CountPartial, Grace: p.Grace}
		reflect.ValueOf(&single).Elem().FieldByName(strings.ToUpper(r.name[:1]) + r.name[1:]).SetInt(int64(r.count))
		sd := Apply(single, sets, now)
		for host, hs := range hosts {
			want := oracle(p, r, hs, now)
			for _, d := range sd {
				if d.Host != host {
					continue
				}
				byRule := false
				for _, reason := range d.Reasons {
					if strings.HasPrefix(reason, r.name+" ") || strings.HasPrefix(reason, "oldest "+r.name) {
						byRule = true
					}
				}
				if byRule != want[d.ID] {
					t.Errorf("rule %s %d, host %s: %s kept by rule=%v, oracle says %v", r.name, r.count, host, d.ID, byRule, want[d.ID])
				}
				if byRule && !byID[d.ID].Keep {
					t.Errorf("%s kept by %s alone but deleted by the whole policy", d.ID, r.name)
				}
				if byRule && !d.KeepUntil.After(d.Time) && r.name != "last" {
					t.Errorf("%s kept by %s until %v (not after its time)", d.ID, r.name, d.KeepUntil)
				}
			}
		}
	}

	// Hosts never count against each other.
	for host, hs := range hosts {
		alone := Apply(p, hs, now)
		var mine []Decision
		for _, d := range ds {
			if d.Host == host {
				mine = append(mine, d)
			}
		}
		if !reflect.DeepEqual(alone, mine) {
			t.Errorf("host %s decided differently alone than with the other hosts", host)
		}
	}
}

func BenchmarkApply(b *testing.B) {
	loc := mustLoc(b, "Europe/Berlin")
	sets, now := timeline(1, loc)
	p := Policy{Daily: 14, Weekly: 8, Monthly: 12, Yearly: 7, MinAge: Span{Days: 30}, Location: loc}
	b.ReportMetric(float64(len(sets)), "sets")
	for b.Loop() {
		Apply(p, sets, now)
	}
}

// TestSpanSteps: a span steps every one of its parts, calendar parts in
// the time's zone, with the results worked out by hand.
func TestSpanSteps(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	sp := Span{Years: 1, Months: 2, Days: 3, Clock: 4 * time.Hour}
	at := time.Date(2026, 3, 31, 10, 0, 0, 0, berlin)
	if got, want := sp.before(at), time.Date(2025, 1, 28, 6, 0, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("%v before %v = %v, want %v", sp, at, got, want)
	}
	if got, want := sp.after(at), time.Date(2027, 6, 3, 14, 0, 0, 0, berlin); !got.Equal(want) {
		t.Errorf("%v after %v = %v, want %v", sp, at, got, want)
	}
	// min_age in months and keep_within in years decide as written.
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, berlin)
	young := set("h", now.AddDate(0, -5, 0), StatusComplete)
	old := set("h", now.AddDate(0, -7, 0), StatusComplete)
	newest := set("h", now.Add(-time.Hour), StatusComplete)
	ds := Apply(Policy{Last: 1, MinAge: Span{Months: 6, Text: "6m"}, Location: berlin}, []SetMeta{old, young, newest}, now)
	if !decisionFor(t, ds, young.ID).Keep || decisionFor(t, ds, old.ID).Keep {
		t.Errorf("min_age 6m: %v", ds)
	}
	ancient := set("h", now.AddDate(-1, 0, -1), StatusComplete)
	ds = Apply(Policy{Last: 1, Within: Span{Years: 1, Text: "1y"}, Location: berlin}, []SetMeta{ancient, old, newest}, now)
	if !decisionFor(t, ds, old.ID).Keep || decisionFor(t, ds, ancient.ID).Keep {
		t.Errorf("keep_within 1y: %v", ds)
	}
	ds = Apply(Policy{Last: 1, MinAge: Span{Clock: 36 * time.Hour, Text: "36h"}, Location: berlin}, []SetMeta{set("h", now.Add(-30*time.Hour), StatusComplete), newest}, now)
	if !ds[0].Keep {
		t.Errorf("min_age 36h: %v", ds)
	}
	// At a month's end, min_age 1m keeps a set until one month after it:
	// on Mar 31, the set of Mar 2 (29 days old) until Apr 2. Counted back
	// from now, "one month before Mar 31" was Mar 3, and it went.
	monthEnd := time.Date(2026, 3, 31, 12, 0, 0, 0, berlin)
	mar2 := set("h", time.Date(2026, 3, 2, 12, 0, 0, 0, berlin), StatusComplete)
	ds = Apply(Policy{Last: 1, MinAge: Span{Months: 1, Text: "1m"}, Location: berlin}, []SetMeta{mar2, set("h", monthEnd.Add(-time.Hour), StatusComplete)}, monthEnd)
	if d := decisionFor(t, ds, mar2.ID); !d.Keep || !d.KeepUntil.Equal(time.Date(2026, 4, 2, 12, 0, 0, 0, berlin)) {
		t.Errorf("min_age 1m on Mar 31, the set of Mar 2: keep %v until %v %v", d.Keep, d.KeepUntil, d.Reasons)
	}
	// An unfinished run's leftovers past the grace go, whatever min_age
	// says: they are no set, and grace is what README gives for them.
	killed := set("h", now.Add(-72*time.Hour), StatusIncomplete)
	ds = Apply(Policy{Daily: 14, MinAge: Span{Days: 30, Text: "30d"}, Grace: 24 * time.Hour, Location: berlin}, []SetMeta{killed, newest}, now)
	if d := decisionFor(t, ds, killed.ID); d.Keep {
		t.Errorf("a killed run's set, 3 days old, grace 24h, kept: %v", d.Reasons)
	}
}

// Once backups stop, the sets a rule keeps stay kept, and their keep-until
// (set time + the rule's periods) passed: prune extended no lock and the
// kept sets, the newest among them, became deletable. A set the rule keeps
// as k-th of N is now kept until at least the start of the period N-k
// after the current one (N-k+1 when the current one has a set already),
// which is never later than its own date while a backup runs every period.
func TestKeepUntilWhenBackupsStop(t *testing.T) {
	berlin := mustLoc(t, "Europe/Berlin")
	now := time.Date(2026, 11, 29, 12, 0, 0, 0, berlin)
	var stopped []SetMeta
	for d := 26; d >= 20; d-- {
		stopped = append(stopped, set("h", time.Date(2026, 11, 29-d, 2, 0, 0, 0, berlin), StatusComplete))
	}
	ds := Apply(Policy{Daily: 7, Location: berlin}, stopped, now)
	for k := 1; k <= 7; k++ {
		s := stopped[7-k]
		d := decisionFor(t, ds, s.ID)
		want := s.Time.In(berlin).AddDate(0, 0, 7)
		if k < 7 {
			want = time.Date(2026, 11, 29+7-k, 0, 0, 0, 0, berlin)
		}
		if !d.Keep || !d.KeepUntil.Equal(want) {
			t.Errorf("daily %d/7 after backups stopped 20 days ago: keep %v until %v, want %v", k, d.Keep, d.KeepUntil, want)
		}
	}
	// A backup every day, today's included: each set's own date, as before.
	var daily []SetMeta
	for d := 6; d >= 0; d-- {
		daily = append(daily, set("h", time.Date(2026, 11, 29-d, 2, 0, 0, 0, berlin), StatusComplete))
	}
	for _, sm := range []struct {
		p    Policy
		step func(time.Time) time.Time
	}{
		{Policy{Daily: 7, Location: berlin}, func(t time.Time) time.Time { return t.AddDate(0, 0, 7) }},
		{Policy{Weekly: 4, Location: berlin}, func(t time.Time) time.Time { return t.AddDate(0, 0, 28) }},
	} {
		for _, d := range Apply(sm.p, daily, now) {
			if d.Keep && !d.KeepUntil.Equal(sm.step(d.Time.In(berlin))) {
				t.Errorf("%v, a backup every day: %s kept until %v, want its own date + the periods", sm.p, d.ID, d.KeepUntil)
			}
		}
	}
}

func TestGraceOf(t *testing.T) {
	if g := GraceOf(config.Retention{}); g != DefaultGrace {
		t.Errorf("no grace: %v, want %v", g, DefaultGrace)
	}
	d, _ := config.ParseDuration("2h")
	if g := GraceOf(config.Retention{Grace: d}); g != 2*time.Hour {
		t.Errorf("grace 2h: %v", g)
	}
}
