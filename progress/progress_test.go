package progress

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newClock() *clock { return &clock{t: time.Date(2026, 11, 29, 2, 30, 0, 0, time.UTC)} }

func TestFinishedItemIsFrozen(t *testing.T) {
	c := newClock()
	m := NewModel(c.now)
	m.Start("userdata", -1)
	c.advance(2 * time.Second)
	m.Read("userdata", 8<<20)
	m.Stored("userdata", 4<<20)
	m.Done("userdata", nil)
	before, _ := m.Item("userdata")
	c.advance(time.Minute)
	m.Read("userdata", 1<<20) // late events do not move a finished item
	m.Stored("userdata", 1<<20)
	after, _ := m.Item("userdata")
	if after.Elapsed != 2*time.Second || after.Rate != before.Rate || after.Stored != 4<<20 || after.Read != 8<<20 {
		t.Fatalf("finished item moved: before %+v after %+v", before, after)
	}
	if after.Rate != float64(2<<20) {
		t.Errorf("rate %v, want 2 MiB/s of stored bytes", after.Rate)
	}
	line := RenderItem(after, 100)
	for _, want := range []string{"userdata", "done", "8.0 MiB → 4.0 MiB", "2.0 MiB/s", "in 2s"} {
		if !strings.Contains(line, want) {
			t.Errorf("line %q lacks %q", line, want)
		}
	}
}

func TestRateAndETA(t *testing.T) {
	c := newClock()
	m := NewModel(c.now)
	m.Plan(2, 400)
	m.Start("a", 100)
	m.Start("b", 300)
	c.advance(time.Second)
	m.Read("a", 25)
	m.Read("b", 75)
	s, _ := m.Item("a")
	if s.Rate != 25 || s.ETA != 3*time.Second || s.Percent != 25 {
		t.Errorf("item a: rate %v eta %v percent %v", s.Rate, s.ETA, s.Percent)
	}
	o := m.Overall()
	if o.Bytes != 100 || o.Percent != 25 || o.Rate != 100 || o.ETA != 3*time.Second || o.ItemsTotal != 2 || o.ItemsDone != 0 {
		t.Errorf("overall %+v", o)
	}
	m.Read("a", 75)
	m.Done("a", nil)
	o = m.Overall()
	if o.ItemsDone != 1 || o.Bytes != 175 {
		t.Errorf("after a: %+v", o)
	}
	if got := OverallFigures(o); !strings.Contains(got, "1/2 items") || !strings.Contains(got, "ETA") {
		t.Errorf("overall figures %q", got)
	}
	m.Done("b", errors.New("boom"))
	if o = m.Overall(); o.ItemsFailed != 1 || o.ETA != 0 || o.Percent != 100 {
		t.Errorf("at the end: %+v", o)
	}
	// No rate yet: no ETA rather than a wrong one.
	m2 := NewModel(c.now)
	m2.Start("x", 10)
	if s, _ := m2.Item("x"); s.ETA != -1 {
		t.Errorf("ETA without a rate: %v", s.ETA)
	}
}

func TestUnknownTotalHasNoPercent(t *testing.T) {
	c := newClock()
	m := NewModel(c.now)
	m.Start("sql", -1)
	c.advance(time.Second)
	m.Stored("sql", 10)
	s, _ := m.Item("sql")
	if s.Percent != -1 || s.ETA != -1 {
		t.Fatalf("percent %v eta %v for an unknown total", s.Percent, s.ETA)
	}
	if o := m.Overall(); o.Percent != -1 || o.ItemsTotal != -1 || !strings.Contains(OverallFigures(o), "0/1 items done") {
		t.Errorf("overall %+v %q", o, OverallFigures(o))
	}
	// Sized while it packs: percent and ETA appear.
	m.SetTotal("sql", 100)
	m.Read("sql", 50)
	if s, _ := m.Item("sql"); s.Percent != 50 || s.ETA != time.Second {
		t.Errorf("after SetTotal: %+v", s)
	}
}

func TestLongNameIsShortenedNotTheFigures(t *testing.T) {
	c := newClock()
	m := NewModel(c.now)
	name := "filestore-fs01.contoso.com-lyncshare-1-WebServices-1-DataConf-really-long"
	m.Start(name, 1<<30)
	c.advance(10 * time.Second)
	m.Read(name, 300<<20)
	s, _ := m.Item(name)
	fig := ItemFigures(s)
	for _, width := range []int{80, 60, 200} {
		line := RenderItem(s, width)
		if n := utf8.RuneCountInString(line); n > width && width >= 80 {
			t.Errorf("width %d: line is %d runes: %q", width, n, line)
		}
		if !strings.HasSuffix(line, fig) {
			t.Errorf("width %d: figures cut: %q (want suffix %q)", width, line, fig)
		}
		if width < 200 && !strings.Contains(line, "…") {
			t.Errorf("width %d: name not shortened: %q", width, line)
		}
		if !strings.HasPrefix(line, "files") || !strings.Contains(line, "long  ") {
			t.Errorf("width %d: name lost its start or end: %q", width, line)
		}
	}
	if line := RenderItem(s, 200); !strings.Contains(line, name) || !strings.Contains(line, "[") {
		t.Errorf("wide line lacks the full name or the bar: %q", line)
	}
}

func TestFitName(t *testing.T) {
	for _, c := range []struct {
		in    string
		width int
		want  string
	}{
		{"short", 10, "short"},
		{"abcdefghij", 10, "abcdefghij"},
		{"abcdefghijk", 10, "abcd…ghijk"},
		{"abc", 1, "…"},
		{"abc", 0, ""},
	} {
		if got := FitName(c.in, c.width); got != c.want || utf8.RuneCountInString(got) > c.width {
			t.Errorf("FitName(%q, %d) = %q, want %q", c.in, c.width, got, c.want)
		}
	}
}

func TestInterruptedItemSaysSo(t *testing.T) {
	c := newClock()
	m := NewModel(c.now)
	m.Start("a", -1)
	c.advance(3 * time.Second)
	m.Done("a", context.Canceled)
	s, _ := m.Item("a")
	if got := ItemFigures(s); got != "interrupted after 3s" {
		t.Fatalf("figures %q", got)
	}
}

func TestLogLinesCarryNumbers(t *testing.T) {
	var buf bytes.Buffer
	p := NewLog(slog.New(slog.NewJSONHandler(&buf, nil)), time.Hour)
	p.ItemStart("a", -1)
	p.Read("a", 1000)
	p.Stored("a", 500)
	p.ItemDone("a", nil)
	p.Stop()
	var done map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("not JSON: %q", line)
		}
		if m["msg"] == "item done" {
			done = m
		}
	}
	if done == nil {
		t.Fatalf("no item done line:\n%s", buf.String())
	}
	for key, want := range map[string]float64{"read_bytes": 1000, "stored_bytes": 500} {
		if v, ok := done[key].(float64); !ok || v != want {
			t.Errorf("%s = %#v, want the number %v", key, done[key], want)
		}
	}
	for _, key := range []string{"seconds", "bytes_per_second"} {
		if _, ok := done[key].(float64); !ok {
			t.Errorf("%s = %#v, want a number", key, done[key])
		}
	}
}

// TestRenderExact: the exact text of sizes, durations, bars and lines at
// their boundaries (a line's layout is what an operator reads at 3 a.m.).
func TestRenderExact(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1.0 KiB", 1536: "1.5 KiB",
		1<<20 - 1: "1024.0 KiB", 1 << 20: "1.0 MiB", 3 << 30: "3.0 GiB", 5 << 40: "5.0 TiB"} {
		if got := HumanBytes(n); got != want {
			t.Errorf("HumanBytes(%d) = %q, want %q", n, got, want)
		}
	}
	for d, want := range map[time.Duration]string{-time.Second: "?", 0: "0s", 1234 * time.Microsecond: "1ms",
		999 * time.Millisecond: "999ms", time.Second: "1s", 1234 * time.Millisecond: "1.2s",
		59*time.Second + 940*time.Millisecond: "59.9s", time.Minute: "1m0s", 61*time.Second + 600*time.Millisecond: "1m2s",
		time.Hour + 2*time.Minute + 3400*time.Millisecond: "1h2m3s"} {
		if got := HumanDuration(d); got != want {
			t.Errorf("HumanDuration(%v) = %q, want %q", d, got, want)
		}
	}
	for _, c := range []struct {
		width int
		pct   float64
		want  string
	}{
		{2, 50, ""}, {3, 0, "[>]"}, {3, 100, "[=]"}, {12, 0, "[>         ]"}, {12, 50, "[=====>    ]"},
		{12, 99, "[=========>]"}, {12, 100, "[==========]"}, {12, -5, "[>         ]"}, {12, 150, "[==========]"},
	} {
		if got := barCells(c.width, c.pct); got != c.want {
			t.Errorf("barCells(%d, %v) = %q, want %q", c.width, c.pct, got, c.want)
		}
	}
	if got := FitName("abcdefg", 6); got != "ab…efg" {
		t.Errorf("FitName = %q", got)
	}
	// Figures, name and bar: the bar takes what is left, 10 to 40 cells.
	fig := "50%  1.0 MiB/2.0 MiB  1.0 MiB/s"
	for _, c := range []struct {
		width int
		want  string
	}{
		{80, "sql  [===================>                  ]  " + fig},
		{len(fig) + 5 + 12, "sql  [====>   ]  " + fig},                                          // a 10-cell bar just fits
		{len(fig) + 5 + 11, "sql  " + fig},                                                      // 9 cells: no bar
		{len(fig) + 2 + 12, "sql  " + fig},                                                      // no room: the name stays whole
		{10, "sql  " + fig},                                                                     // narrower than the figures
		{200, "sql  [" + strings.Repeat("=", 19) + ">" + strings.Repeat(" ", 18) + "]  " + fig}, // at most 40 cells
	} {
		if got := layout("sql", fig, 50, true, c.width); got != c.want {
			t.Errorf("layout width %d:\n got %q\nwant %q", c.width, got, c.want)
		}
	}
	long := "userdata-pool01.contoso.com-and-more"
	if got := layout(long, fig, 50, false, len(fig)+2+20); got != "userdata-…m-and-more  "+fig {
		t.Errorf("shortened to the room: %q", got)
	}
	if got := layout(long, fig, 50, false, len(fig)+2+5); got != "userd…d-more  "+fig {
		t.Errorf("shortened to minName: %q", got)
	}
	o := Overall{ItemsDone: 1, ItemsTotal: 3, ItemsFailed: 1, Percent: 50, Bytes: 1 << 20, TotalBytes: 2 << 20, Rate: 1 << 20, ETA: time.Second, Elapsed: 1400 * time.Millisecond}
	if got := OverallFigures(o); got != "1/3 items (1 failed)   50%  1.0 MiB/2.0 MiB  1.0 MiB/s  ETA 1s  1s" {
		t.Errorf("overall %q", got)
	}
	// 0% is a known percentage: figures and bar as for any other, not the
	// "read … stored …" of an unknown total.
	s0 := Snapshot{Name: "sql", Total: 100, Percent: 0, ETA: 0}
	if got := ItemFigures(s0); got != "  0%  0 B/100 B  0 B/s  ETA 0s" {
		t.Errorf("item at 0%%: %q", got)
	}
	if got := RenderOverall(Overall{ItemsTotal: 1, Percent: 0, TotalBytes: 100}, 80); !strings.Contains(got, "[>") {
		t.Errorf("overall at 0%% has no bar: %q", got)
	}
	if got := roundPct(33.339); got != 33.3 {
		t.Errorf("roundPct(33.339) = %v", got)
	}
	o = Overall{ItemsDone: 2, ItemsTotal: -1, ItemsStarted: 3, Percent: -1, Bytes: 10}
	if got := OverallFigures(o); got != "2/3 items done  10 B  0 B/s  0s" {
		t.Errorf("overall without totals %q", got)
	}
}
