package retention

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// staleJanitor answers every stale-upload sweep with n and err, recording the
// prefix and the cut-off it was asked for.
type staleJanitor struct {
	upload.Store
	n      int
	err    error
	prefix string
	cutoff time.Time
}

func (j *staleJanitor) AbortStale(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	j.prefix, j.cutoff = prefix, olderThan
	return j.n, j.err
}

func (j *staleJanitor) Unwrap() upload.Store { return j.Store }

// TestSweepStale: a backup's sweep asks for its own host's uploads older
// than retention.grace (24 h when unset), says in the log how many it
// aborted (nothing when none), and logs a failure as a warning.
func TestSweepStale(t *testing.T) {
	ctx := context.Background()
	ls, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	grace12h, err := config.ParseDuration("12h")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		r     config.Retention
		n     int
		err   error
		grace time.Duration
		log   string // "" = nothing logged
	}{
		{"none stale", config.Retention{}, 0, nil, DefaultGrace, ""},
		{"three aborted", config.Retention{}, 3, nil, DefaultGrace, `level=INFO msg="aborted unfinished uploads left by earlier runs" count=3 older_than=24h0m0s`},
		{"grace given", config.Retention{Grace: grace12h}, 1, nil, 12 * time.Hour, `level=INFO msg="aborted unfinished uploads left by earlier runs" count=1 older_than=12h0m0s`},
		{"sweep failed", config.Retention{}, 2, errors.New("listing refused"), DefaultGrace, `level=WARN msg="could not abort unfinished uploads left by earlier runs" err="listing refused"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			j := &staleJanitor{Store: ls, n: tc.n, err: tc.err}
			var buf bytes.Buffer
			lg := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey {
					return slog.Attr{}
				}
				return a
			}}))
			before := time.Now()
			got := SweepStale(ctx, tc.r, j, "fe01", lg)
			if got != tc.n {
				t.Errorf("returned %d, want %d", got, tc.n)
			}
			if j.prefix != "fe01/" {
				t.Errorf("prefix %q, want fe01/", j.prefix)
			}
			if want := before.Add(-tc.grace); j.cutoff.Before(want.Add(-time.Minute)) || j.cutoff.After(time.Now().Add(-tc.grace)) {
				t.Errorf("cut-off %v, want about %v", j.cutoff, want)
			}
			if got := strings.TrimSpace(buf.String()); got != tc.log {
				t.Errorf("log:\n got %s\nwant %s", got, tc.log)
			}
		})
	}
}
