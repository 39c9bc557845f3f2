package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"golang.org/x/term"

	"github.com/lyncbackup/lyncbackup/progress"
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
func makeProgress(a *app, lg *slog.Logger) progress.Display {
	if lg == nil {
		lg = a.runLog()
	}
	if a.g.quiet {
		if a.logFile != nil {
			// Nothing on the console, but the log file records each item.
			return progress.NewLog(lg, progressInterval)
		}
		return progress.NewQuiet()
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
		fd := -1
		if f, ok := con.raw.(*os.File); ok {
			fd = int(f.Fd())
		}
		// Bars go through the redacting writer; log lines print above them.
		bp := progress.NewBars(con.out, fd)
		con.setDetour(bp.Writer())
		return &barsOnConsole{Bars: bp, con: con}
	}
	iv := progressInterval
	if s := os.Getenv("LYNCBACKUP_PROGRESS_INTERVAL"); s != "" {
		if d, err := time.ParseDuration(s); err == nil && d > 0 {
			iv = d
		}
	}
	return progress.NewLog(lg, iv)
}

// barsOnConsole gives stderr back to plain writes when the bars stop.
type barsOnConsole struct {
	*progress.Bars
	con *console
}

func (b *barsOnConsole) Stop() {
	b.Bars.Stop()
	b.con.setDetour(nil)
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
