package progress

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/vbauerster/cupwriter"
	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
)

// Display is what a run reports its progress to (it satisfies
// pipeline.Progress and its optional Plan / SetTotal).
type Display interface {
	ItemStart(name string, total int64)
	Read(name string, n int64)
	Stored(name string, n int64)
	ItemDone(name string, err error)
	Plan(items int, bytes int64)
	SetTotal(name string, total int64)
	// Stop ends the display: bars are finished (interrupted items say
	// so) and the periodic log lines stop.
	Stop()
}

// Quiet shows nothing.
type Quiet struct{ *Model }

// NewQuiet returns a display that only keeps the model.
func NewQuiet() Quiet { return Quiet{NewModel(nil)} }

func (q Quiet) ItemStart(name string, total int64) { q.Start(name, total) }
func (q Quiet) ItemDone(name string, err error)    { q.Done(name, err) }
func (q Quiet) Stop()                              {}

// Log writes plain slog lines: one when an item starts, one when it ends
// (with numbers: bytes, seconds, bytes per second) and, every interval,
// one per running item and one for the run. No escape codes: fit for a log
// file, a scheduled task's output or CI.
type Log struct {
	*Model
	log  *slog.Logger
	done chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

// NewLog starts the periodic lines (every interval) on lg.
func NewLog(lg *slog.Logger, every time.Duration) *Log {
	p := &Log{Model: NewModel(nil), log: lg, done: make(chan struct{})}
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
				p.tick()
			}
		}
	}()
	return p
}

func (p *Log) tick() {
	act := p.Active()
	for _, s := range act {
		p.log.Info("progress", itemAttrs(s)...)
	}
	if len(act) == 0 {
		return
	}
	o := p.Overall()
	args := []any{"items_done", o.ItemsDone, "items_started", o.ItemsStarted, "bytes", o.Bytes, "stored_bytes", o.Stored,
		"bytes_per_second", int64(o.Rate), "seconds", seconds(o.Elapsed)}
	if o.ItemsTotal >= 0 {
		args = append(args, "items_total", o.ItemsTotal)
	}
	if o.Percent >= 0 {
		args = append(args, "total_bytes", o.TotalBytes, "percent", roundPct(o.Percent))
	}
	if o.ETA >= 0 {
		args = append(args, "eta_seconds", int64(o.ETA.Seconds()))
	}
	p.log.Info("progress total", args...)
}

func itemAttrs(s Snapshot) []any {
	args := []any{"item", s.Name, "read_bytes", s.Read, "stored_bytes", s.Stored, "seconds", seconds(s.Elapsed),
		"bytes_per_second", int64(s.Rate)}
	if s.Total >= 0 {
		args = append(args, "total_bytes", s.Total)
	}
	if !s.Done && s.Percent >= 0 {
		args = append(args, "percent", roundPct(s.Percent))
	}
	if !s.Done && s.ETA >= 0 {
		args = append(args, "eta_seconds", int64(s.ETA.Seconds()))
	}
	return args
}

func seconds(d time.Duration) float64 { return float64(d.Milliseconds()) / 1000 }
func roundPct(p float64) float64      { return float64(int(p*10)) / 10 }

// Stop ends the periodic lines.
func (p *Log) Stop() {
	p.once.Do(func() { close(p.done); p.wg.Wait() })
}

func (p *Log) ItemStart(name string, total int64) {
	p.Start(name, total)
	if total >= 0 {
		p.log.Info("item started", "item", name, "total_bytes", total)
	} else {
		p.log.Info("item started", "item", name)
	}
}

func (p *Log) ItemDone(name string, err error) {
	p.Done(name, err)
	s, ok := p.Item(name)
	if !ok {
		return
	}
	args := itemAttrs(s)
	switch {
	case errors.Is(err, context.Canceled):
		p.log.Warn("item interrupted", args...)
	case err != nil:
		p.log.Error("item failed", append(args, "err", err)...)
	default:
		p.log.Info("item done", args...)
	}
}

// Bars draws a line for the run (items done / total, %, ETA) and one per
// item on a terminal. A finished item's line is frozen: done, its size,
// rate and duration.
type Bars struct {
	*Model
	p     *mpb.Progress
	mu    sync.Mutex
	bars  map[string]*mpb.Bar
	total *mpb.Bar
	once  sync.Once
}

// NewBars draws on w; termFd is the terminal's descriptor (for its width)
// or -1. Redraw codes are always written: call it only for a terminal (or
// --progress=always).
func NewBars(w io.Writer, termFd int) *Bars {
	cw := cupwriter.New(w, true)
	if termFd >= 0 {
		cw.SetTermFd(termFd)
	}
	b := &Bars{Model: NewModel(nil), bars: map[string]*mpb.Bar{}}
	b.p = mpb.New(mpb.WithConsoleWriter(cw), mpb.WithRefreshRate(200*time.Millisecond), mpb.WithAutoRefresh(), mpb.WithWidth(80))
	b.total, _ = b.p.Add(0, lineFiller(func(width int) string { return RenderOverall(b.Overall(), width) }))
	return b
}

// Writer is where log lines go while bars are drawn (above the bars).
func (b *Bars) Writer() io.Writer { return b.p }

// lineFiller draws a whole line from render, in the width mpb gives.
func lineFiller(render func(width int) string) mpb.BarFiller {
	return mpb.BarFillerFunc(func(w io.Writer, st decor.Statistics) error {
		_, err := io.WriteString(w, render(st.AvailableWidth))
		return err
	})
}

func (b *Bars) ItemStart(name string, total int64) {
	b.Start(name, total)
	bar, _ := b.p.Add(0, lineFiller(func(width int) string {
		s, _ := b.Item(name)
		return RenderItem(s, width)
	}))
	b.mu.Lock()
	b.bars[name] = bar
	b.mu.Unlock()
}

func (b *Bars) ItemDone(name string, err error) {
	b.Done(name, err)
	b.mu.Lock()
	bar := b.bars[name]
	delete(b.bars, name)
	b.mu.Unlock()
	if bar != nil {
		// Complete (not abort) either way: the line stays, frozen.
		bar.SetTotal(-1, true)
	}
}

// Stop marks items still running as interrupted, finishes every line and
// waits for the last frame.
func (b *Bars) Stop() {
	b.once.Do(func() {
		b.mu.Lock()
		left := b.bars
		b.bars = map[string]*mpb.Bar{}
		b.mu.Unlock()
		for name, bar := range left {
			b.Done(name, context.Canceled)
			bar.SetTotal(-1, true)
		}
		if b.total != nil {
			b.total.SetTotal(-1, true)
		}
		b.p.Wait()
	})
}
