package exporters

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// quickStarts makes startRetrying's waits short for one test and resets
// startFault after it.
func quickStarts(t *testing.T) {
	old := startWaits
	for i := range startWaits {
		startWaits[i] = time.Millisecond
	}
	t.Cleanup(func() { startWaits, startFault = old, nil })
}

// refuseStarts is a startFault that refuses attempts 1..n with err and
// records the last attempt in *attempts. A refused attempt really calls
// Start on its command first (with no path, so nothing runs): that command
// cannot be started again, and a retry that reused it would fail.
func refuseStarts(t *testing.T, attempts *int, n int, err error) func(int, *exec.Cmd) error {
	return func(a int, c *exec.Cmd) error {
		*attempts = a
		if a > n {
			return nil
		}
		path := c.Path
		c.Path = ""
		if serr := c.Start(); serr == nil {
			t.Error("a command without a path started")
		}
		c.Path = path
		return err
	}
}

// TestStartRetrying: a start that failed for a passing reason is tried
// again, up to three times; any other failure is final at once, and the
// last failure is what comes back.
func TestStartRetrying(t *testing.T) {
	quickStarts(t)
	if !transientStartError(transientStartSample) || transientStartError(finalStartSample) ||
		transientStartError(errors.New("exec: already started")) {
		t.Fatal("transientStartError misjudges the samples")
	}
	for _, tc := range []struct {
		name  string
		fails []error // the start's result per attempt; past the end it succeeds
		calls int
		err   error
	}{
		{"ok", nil, 1, nil},
		{"passing twice", []error{transientStartSample, transientStartSample}, 3, nil},
		{"passing thrice", []error{transientStartSample, transientStartSample, transientStartSample}, 3, transientStartSample},
		{"final", []error{finalStartSample}, 1, finalStartSample},
		{"passing then final", []error{transientStartSample, finalStartSample}, 2, finalStartSample},
	} {
		calls := 0
		err := startRetrying(context.Background(), func(int) error {
			calls++
			if calls <= len(tc.fails) {
				return tc.fails[calls-1]
			}
			return nil
		})
		if calls != tc.calls || err != tc.err {
			t.Errorf("%s: %d calls, error %v; want %d, %v", tc.name, calls, err, tc.calls, tc.err)
		}
	}
	// A cancelled context ends the wait; the failure is still returned.
	startWaits[0] = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := 0
	err := startRetrying(ctx, func(int) error { calls++; return transientStartSample })
	if calls != 1 || err != transientStartSample {
		t.Errorf("cancelled: %d calls, error %v", calls, err)
	}
}

// TestExporterSurvivesFailedStarts: through a real exporter and the
// PowerShell stand-in, a start refused twice for a passing reason still
// exports the item with one run of the cmdlet; a start refused for good
// fails the item at once with the system's reason. Each refused attempt
// really calls Start on its command (which then cannot be started again),
// so a retry that reused the command would fail.
func TestExporterSurvivesFailedStarts(t *testing.T) {
	quickStarts(t)
	var attempts int
	fault := func(n int, err error) func(int, *exec.Cmd) error { return refuseStarts(t, &attempts, n, err) }

	h := newHarness(t, "2015", fixture{})
	cfg := h.config("exporters: [{kind: lis}]\nlync: {powershell: $PS}\n")
	startFault = fault(2, transientStartSample)
	items, errs, _ := h.run(cfg)
	if len(errs) > 0 || len(items) != 1 || attempts != 3 {
		t.Fatalf("passing failures: items %v, errors %v, %d attempts", items, errs, attempts)
	}
	if n := len(h.calls()); n != 1 {
		t.Errorf("the stand-in ran %d times, want once", n)
	}

	h = newHarness(t, "2015", fixture{})
	cfg = h.config("exporters: [{kind: lis}]\nlync: {powershell: $PS}\n")
	startFault = fault(startAttempts, finalStartSample)
	_, errs, _ = h.run(cfg)
	err := errs["lis"]
	if err == nil || attempts != 1 || !strings.Contains(err.Error(), "Export-CsLisConfiguration: "+finalStartSample.Error()) {
		t.Fatalf("final failure: error %v after %d attempts", err, attempts)
	}
	if n := len(h.calls()); n != 0 {
		t.Errorf("the stand-in ran %d times, want never", n)
	}
}
