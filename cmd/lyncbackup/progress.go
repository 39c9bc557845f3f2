package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"

	"github.com/lyncbackup/lyncbackup/pipeline"
)

func init() { newProgress = makeProgress }

// progressInterval is how often a run without a terminal logs where each
// item stands. LYNCBACKUP_PROGRESS_INTERVAL (a Go duration) overrides it;
// the tests use that to see the periodic lines without waiting.
var progressInterval = 20 * time.Second

func setProgressMode(a *app) func(string) error {
	return func(s string) error {
		switch s {
		case "never", "auto", "always":
			a.g.progress = s
			return nil
		}
		return fmt.Errorf("must be never, auto or always, not %q", s)
	}
}

// makeProgress picks the display: live bars on an interactive terminal
// (or --progress=always), else plain log lines at progressInterval plus one
// line per item start and end; nothing with --quiet.
func makeProgress(a *app, lg *slog.Logger) (pipeline.Progress, func()) {
	itemDurations.reset()
	if a.g.quiet {
		return quietProgress{}, func() {}
	}
	closeLog := func() {}
	if lg == nil {
		l, c, err := a.logger(nil)
		if err != nil {
			l, c = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{ReplaceAttr: secrets.ReplaceAttr})), func() {}
		}
		lg, closeLog = l, c
	}
	mode := a.g.progress
	if mode == "" {
		mode = "auto"
	}
	con, _ := a.stderr.(*console)
	bars := mode == "always" || (mode == "auto" && con != nil && isTerminal(con.raw))
	if mode == "never" {
		bars = false
	}
	if bars && con != nil {
		bp := newBarProgress(con)
		return bp, func() { bp.stop(); closeLog() }
	}
	iv := progressInterval
	if s := os.Getenv("LYNCBACKUP_PROGRESS_INTERVAL"); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			iv = d
		}
	}
	lp := newLogProgress(lg, iv)
	return lp, func() { lp.stop(); closeLog() }
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// itemDurations keeps how long each item of the last run took (for the
// e-mail report), whatever the display.
var itemDurations = &durations{m: map[string]time.Duration{}}

type durations struct {
	mu    sync.Mutex
	m     map[string]time.Duration
	start map[string]time.Time
}

func (d *durations) reset() {
	d.mu.Lock()
	d.m, d.start = map[string]time.Duration{}, map[string]time.Time{}
	d.mu.Unlock()
}

func (d *durations) begin(name string) {
	d.mu.Lock()
	if d.start == nil {
		d.start = map[string]time.Time{}
	}
	d.start[name] = time.Now()
	d.mu.Unlock()
}

func (d *durations) end(name string) {
	d.mu.Lock()
	if t, ok := d.start[name]; ok {
		d.m[name] = time.Since(t)
	}
	d.mu.Unlock()
}

func (d *durations) get(name string) time.Duration {
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.m[name]
}

// quietProgress shows nothing and only times the items.
type quietProgress struct{}

func (quietProgress) ItemStart(name string, _ int64) { itemDurations.begin(name) }
func (quietProgress) Read(string, int64)             {}
func (quietProgress) Stored(string, int64)           {}
func (quietProgress) ItemDone(name string, _ error)  { itemDurations.end(name) }

// itemState is one item's counters, shared by both displays.
type itemState struct {
	name         string
	total        int64 // plaintext size if known, else -1
	start        time.Time
	read, stored atomic.Int64
	bar          *mpb.Bar
}

// rate is bytes per second of the quantity that measures progress: the
// plaintext when the total is known (restore, verify), else what was stored.
func (s *itemState) rate() float64 {
	el := time.Since(s.start).Seconds()
	if el <= 0 {
		return 0
	}
	if s.total > 0 {
		return float64(s.read.Load()) / el
	}
	return float64(s.stored.Load()) / el
}

// eta is the remaining time when the total is known, else -1.
func (s *itemState) eta() time.Duration {
	r := s.rate()
	if s.total <= 0 || r <= 0 {
		return -1
	}
	left := s.total - s.read.Load()
	if left < 0 {
		left = 0
	}
	return time.Duration(float64(left) / r * float64(time.Second)).Round(time.Second)
}

type tracker struct {
	mu    sync.Mutex
	items map[string]*itemState
}

func (t *tracker) get(name string) *itemState {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.items[name]
}

func (t *tracker) add(name string, total int64) *itemState {
	itemDurations.begin(name)
	s := &itemState{name: name, total: total, start: time.Now()}
	t.mu.Lock()
	t.items[name] = s
	t.mu.Unlock()
	return s
}

func (t *tracker) remove(name string) *itemState {
	itemDurations.end(name)
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.items[name]
	delete(t.items, name)
	return s
}

func (t *tracker) active() []*itemState {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]*itemState, 0, len(t.items))
	for _, s := range t.items {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// logProgress writes plain slog lines: no escape codes, fit for a log file,
// a scheduled task's output or CI.
type logProgress struct {
	tracker
	log  *slog.Logger
	done chan struct{}
	wg   sync.WaitGroup
}

func newLogProgress(lg *slog.Logger, every time.Duration) *logProgress {
	p := &logProgress{tracker: tracker{items: map[string]*itemState{}}, log: lg, done: make(chan struct{})}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-p.done:
				return
			case <-t.C:
				for _, s := range p.active() {
					args := []any{"item", s.name, "read", humanBytes(s.read.Load()), "stored", humanBytes(s.stored.Load()),
						"rate", humanBytes(int64(s.rate())) + "/s", "elapsed", time.Since(s.start).Round(time.Second).String()}
					if s.total > 0 {
						args = append(args, "percent", fmt.Sprintf("%.0f", 100*float64(s.read.Load())/float64(s.total)))
						if e := s.eta(); e >= 0 {
							args = append(args, "eta", e.String())
						}
					}
					p.log.Info("progress", args...)
				}
			}
		}
	}()
	return p
}

func (p *logProgress) stop() { close(p.done); p.wg.Wait() }

func (p *logProgress) ItemStart(name string, total int64) {
	p.add(name, total)
	if total >= 0 {
		p.log.Info("item started", "item", name, "size", humanBytes(total))
	} else {
		p.log.Info("item started", "item", name)
	}
}

func (p *logProgress) Read(name string, n int64) {
	if s := p.get(name); s != nil {
		s.read.Add(n)
	}
}

func (p *logProgress) Stored(name string, n int64) {
	if s := p.get(name); s != nil {
		s.stored.Add(n)
	}
}

func (p *logProgress) ItemDone(name string, err error) {
	s := p.remove(name)
	if s == nil {
		return
	}
	args := []any{"item", name, "read", humanBytes(s.read.Load()), "stored", humanBytes(s.stored.Load()),
		"duration", time.Since(s.start).Round(time.Millisecond).String(), "rate", humanBytes(int64(s.rate())) + "/s"}
	if err != nil {
		p.log.Error("item failed", append(args, "err", err)...)
		return
	}
	p.log.Info("item done", args...)
}

// barProgress draws one live mpb bar per item on the terminal.
type barProgress struct {
	tracker
	con *console
	p   *mpb.Progress
}

func newBarProgress(con *console) *barProgress {
	bp := &barProgress{tracker: tracker{items: map[string]*itemState{}}, con: con}
	// The bars are written through the redacting writer, so tell the
	// console writer which descriptor is the terminal (for its size and
	// for redrawing in place); --progress=always forces the redraw codes.
	cw := cupwriter.New(con.out, true)
	if f, ok := con.raw.(*os.File); ok {
		cw.SetTermFd(int(f.Fd()))
	}
	bp.p = mpb.New(mpb.WithConsoleWriter(cw), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh())
	// Log lines go above the bars while they are drawn.
	con.setDetour(bp.p)
	return bp
}

func (bp *barProgress) ItemStart(name string, total int64) {
	s := bp.add(name, total)
	info := decor.Any(func(decor.Statistics) string { return barText(s) }, decor.WCSyncSpaceR)
	label := decor.Name(name, decor.WCSyncSpaceR)
	if total > 0 {
		s.bar = bp.p.AddBar(total,
			mpb.PrependDecorators(label, decor.Percentage(decor.WCSyncSpace)),
			mpb.AppendDecorators(info))
	} else {
		// Unknown size (a backup streams what the exporters produce):
		// a spinner with the counters.
		s.bar = bp.p.New(0, mpb.SpinnerStyle(),
			mpb.PrependDecorators(label),
			mpb.AppendDecorators(info))
	}
}

func barText(s *itemState) string {
	txt := fmt.Sprintf("read %s  stored %s  %s/s", humanBytes(s.read.Load()), humanBytes(s.stored.Load()), humanBytes(int64(s.rate())))
	if e := s.eta(); e >= 0 {
		txt += "  ETA " + e.String()
	}
	return txt
}

func (bp *barProgress) Read(name string, n int64) {
	if s := bp.get(name); s != nil {
		s.read.Add(n)
		if s.total > 0 && s.bar != nil {
			s.bar.IncrInt64(n)
		}
	}
}

func (bp *barProgress) Stored(name string, n int64) {
	if s := bp.get(name); s != nil {
		s.stored.Add(n)
	}
}

func (bp *barProgress) ItemDone(name string, err error) {
	s := bp.remove(name)
	if s == nil || s.bar == nil {
		return
	}
	if err != nil {
		s.bar.Abort(false)
		return
	}
	s.bar.SetTotal(-1, true)
}

func (bp *barProgress) stop() {
	for _, s := range bp.active() {
		if s.bar != nil {
			s.bar.Abort(false)
		}
	}
	bp.p.Wait()
	bp.con.setDetour(nil)
}
