package exporters

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

// StepResult is what became of one step of the plan in a run.
type StepResult struct {
	Step   int    `json:"step"`
	Title  string `json:"title"`
	Result string `json:"result"` // done, manual (left to the admin), skipped
}

// StepTimeout bounds one import step (user data of a large pool is slow).
const StepTimeout = 4 * time.Hour

// ImportsPowerShell returns the PowerShell a plan's steps run in
// (restore --run-imports): exe and module as given (--powershell,
// --module); else the program the config names (lync.powershell), else
// powershell.exe; and the module found for the set's product (or at the
// config's lync.module), else the one recorded at backup. cfg is nil
// when there is no config (a DR server restoring with --from).
func ImportsPowerShell(exe, module string, cfg *config.Config, info LyncInfo) (PowerShell, error) {
	ps := PowerShell{Exe: exe, Module: module}
	if ps.Exe == "" {
		ps.Exe = PowerShellExe(cfg)
	}
	if ps.Module == "" {
		var override string
		if cfg != nil && cfg.Lync != nil {
			override = cfg.Lync.Module
		}
		m, _, err := ModulePath(info.Product, override)
		switch {
		case err == nil:
			ps.Module = m
		case info.Module != "":
			ps.Module = info.Module
		default:
			return PowerShell{}, fmt.Errorf("cannot run the imports: %v (give --module PATH)", err)
		}
	}
	return ps, nil
}

// PlanRun runs a plan's steps from StartAt on, in order: a manual step is
// shown and left to the admin, a step to run is shown, its files checked
// under the restore folder, and its commands run in one PowerShell
// session. Unless Yes, each step is asked about first. The first failure
// (or a "quit") stops the run, saying the command that continues it.
type PlanRun struct {
	Plan    Plan
	PS      PowerShell
	StartAt int
	Yes     bool
	// Out takes the steps as they are shown and run.
	Out io.Writer
	// Ask asks prompt and returns the answer's first letter, lower case
	// ("" for an empty answer).
	Ask func(prompt string) (string, error)
	// Resume is the command that continues the run at step n;
	// RestoreFiles the command that restores the set's files first.
	Resume       func(n int) string
	RestoreFiles func() string
	// Timeout bounds each step (0: StepTimeout).
	Timeout time.Duration
	// Done is what became of each step this run got through, in order.
	Done []StepResult
}

// Run runs the steps and returns how many were run (not skipped or left
// to the admin). A StartAt outside the plan is a *PlanError.
func (r *PlanRun) Run(ctx context.Context) (int, error) {
	w := r.Out
	steps := r.Plan.Steps
	if r.StartAt < 1 || r.StartAt > len(steps) {
		return 0, &PlanError{fmt.Sprintf("--start-at %d: the plan has steps 1 to %d", r.StartAt, len(steps))}
	}
	ran := 0
	for i := r.StartAt - 1; i < len(steps); i++ {
		s := steps[i]
		n := i + 1
		if !s.Run {
			fmt.Fprintf(w, "step %d [manual] %s\n", n, s.Title)
			for _, c := range s.Commands {
				fmt.Fprintf(w, "      %s\n", c)
			}
			for _, note := range s.Notes {
				fmt.Fprintf(w, "      # %s\n", note)
			}
			if !r.Yes {
				ans, err := r.Ask(fmt.Sprintf("Step %d is yours: done? [y]es / [q]uit: ", n))
				if err != nil {
					return ran, err
				}
				if ans != "y" {
					return ran, fmt.Errorf("stopped before step %d (%s); continue with: %s", n, s.Title, r.Resume(n))
				}
			}
			r.Done = append(r.Done, StepResult{n, s.Title, "manual"})
			continue
		}
		for _, f := range s.Files {
			if _, err := os.Stat(f); err != nil {
				return ran, fmt.Errorf("step %d (%s) needs %s, which is not there: restore the set first (%s), then: %s", n, s.Title, f, r.RestoreFiles(), r.Resume(n))
			}
		}
		fmt.Fprintf(w, "step %d [run] %s\n", n, s.Title)
		for _, c := range s.Commands {
			fmt.Fprintf(w, "      %s\n", c)
		}
		if !r.Yes {
			ans, err := r.Ask(fmt.Sprintf("Run step %d? [y]es / [s]kip / [q]uit: ", n))
			if err != nil {
				return ran, err
			}
			switch ans {
			case "y":
			case "s":
				fmt.Fprintf(w, "step %d skipped\n", n)
				r.Done = append(r.Done, StepResult{n, s.Title, "skipped"})
				continue
			default:
				return ran, fmt.Errorf("stopped before step %d (%s); continue with: %s", n, s.Title, r.Resume(n))
			}
		}
		timeout := r.Timeout
		if timeout <= 0 {
			timeout = StepTimeout
		}
		ps := r.PS
		ps.TimeoutAdvice = fmt.Sprintf("a step run by --run-imports is stopped after %s: if it needs longer, run its commands in PowerShell by hand, as `restore --plan` prints them", timeout)
		if _, err := ps.Run(ctx, fmt.Sprintf("step %d", n), timeout, strings.Join(s.Commands, "\n")); err != nil {
			// What the step may have left (IfUnfinished) holds whenever
			// its PowerShell started: exited non-zero, interrupted or
			// timed out. The advice about its commands' own failure
			// (OnFailure) only when its PowerShell exited non-zero (not
			// for a Ctrl-C, a timeout or a PowerShell that did not start).
			var ee *ExitError
			var se *StoppedError
			failed := errors.As(err, &ee)
			next := ""
			if s.IfUnfinished != "" && (failed || errors.As(err, &se)) {
				next += s.IfUnfinished + " "
			}
			if s.OnFailure != "" && failed {
				next += s.OnFailure + " "
			}
			return ran, fmt.Errorf("restore stopped at step %d (%s): %s. %sFix the cause, then continue with: %s", n, s.Title, strings.TrimRight(err.Error(), ". "), next, r.Resume(n))
		}
		ran++
		r.Done = append(r.Done, StepResult{n, s.Title, "done"})
		fmt.Fprintf(w, "step %d done\n", n)
	}
	return ran, nil
}
