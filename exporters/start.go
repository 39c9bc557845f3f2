package exporters

import (
	"context"
	"os/exec"
	"time"
)

// A program that failed to start did not run, so starting it again is
// safe. When the system refuses for a reason that passes (Windows out of
// desktop heap or commit under load, Linux out of processes, Wine's
// CreateProcess failing with "Internal error" under load), runTree starts
// it again after a short wait, up to startAttempts times, rather than fail
// the item. Any other failure (no such program, access denied) is final at
// once, and the last failure is what the caller reports.
const startAttempts = 3

// startWaits are the pauses before the second and third attempt.
var startWaits = [startAttempts - 1]time.Duration{250 * time.Millisecond, time.Second}

// startFault, when set (tests only), is called with each command
// before its start (attempts counted from 1); an error it returns stands
// for that attempt's failure, and startCmd does not start c.
var startFault func(attempt int, c *exec.Cmd) error

// startCmd starts c as the attempt-th try (see startFault).
func startCmd(attempt int, c *exec.Cmd) error {
	if startFault != nil {
		if err := startFault(attempt, c); err != nil {
			return err
		}
	}
	return c.Start()
}

// startRetrying calls start (with the attempt, counted from 1) until it
// succeeds, fails for a reason that transientStartError does not accept,
// has failed startAttempts times, or ctx ends during a wait. It returns
// the last failure.
func startRetrying(ctx context.Context, start func(attempt int) error) error {
	for attempt := 1; ; attempt++ {
		err := start(attempt)
		if err == nil || attempt == startAttempts || !transientStartError(err) {
			return err
		}
		t := time.NewTimer(startWaits[attempt-1])
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// startTree starts tc's command: the command itself at the first attempt,
// a fresh copy of it (cloneCmd) at each later one, after prepare has set
// what an attempt needs (Cancel, the reaper's pipe). It tries again as
// startRetrying says and returns the command that started, or the last
// failure.
func startTree(tc *treeCmd, prepare func(c *exec.Cmd)) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	err := startRetrying(tc.ctx, func(attempt int) error {
		if cmd == nil {
			cmd = tc.Cmd
		} else {
			cmd = cloneCmd(tc.ctx, tc.Cmd)
		}
		prepare(cmd)
		return startCmd(attempt, cmd)
	})
	tc.started = err == nil
	return cmd, err
}

// cloneCmd returns a command that has not been started, with what runTree's
// callers set on c. exec.Cmd cannot be started twice, even after a failed
// start. Cancel is left out: runTree sets it.
func cloneCmd(ctx context.Context, c *exec.Cmd) *exec.Cmd {
	n := exec.CommandContext(ctx, c.Path, c.Args[1:]...)
	n.Args = c.Args
	n.Env, n.Dir = c.Env, c.Dir
	n.Stdin, n.Stdout, n.Stderr = c.Stdin, c.Stdout, c.Stderr
	n.ExtraFiles = c.ExtraFiles
	n.SysProcAttr = c.SysProcAttr
	n.WaitDelay = c.WaitDelay
	return n
}
