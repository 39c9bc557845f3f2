package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

// TestLyncRgsStepInterrupted: a Ctrl-C while the Response Group import
// runs stops the restore with exit 130 saying "interrupted", without the
// step's advice for the cmdlet's own failure (a name conflict: "list
// them … remove …"), which would blame the Response Groups for the
// admin's Ctrl-C.
func TestLyncRgsStepInterrupted(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	step := rgsStepOf(t, s, setID, to)
	code, msg := s.interruptStep(t, setID, to, step, "Import-CsRgsConfiguration")
	if code != 130 || !strings.Contains(msg, "step "+step+": interrupted") {
		t.Errorf("Ctrl-C in the Response Group step: exit %d, want 130 saying interrupted:\n%s", code, msg)
	}
	for _, lie := range []string{"A name conflict", "what PowerShell reported", "Import-CsRgsConfiguration's own"} {
		if strings.Contains(msg, lie) {
			t.Errorf("a Ctrl-C is reported with the advice for the cmdlet's own failure (%q):\n%s", lie, msg)
		}
	}
}

// TestLyncUserDataStepInterrupted: the user data step stops the pool's
// Front End services, imports, and starts them again. A Ctrl-C while it
// runs stops the restore with exit 130 saying "interrupted" and, as after
// the step's own failure, that the services may still be stopped and how
// to start them: true however the step ended (before, that advice was
// given only when the step's PowerShell exited non-zero, and lost after a
// Ctrl-C or a timeout).
func TestLyncUserDataStepInterrupted(t *testing.T) {
	s := newLyncSite(t)
	to := filepath.Join(s.dir, "restore")
	setID := s.backupAndRestore(t, to)
	plan := testbin.MustRun(t, s.dir, s.env, "restore", setID, "--to", to, "--plan", "--scenario", "cms").Stdout
	m := regexp.MustCompile(`(?m)^\s*(\d+)\. \[run\] Import the user data of pool pool01\.contoso\.com`).FindStringSubmatch(plan)
	if m == nil {
		t.Fatalf("no user data step in the cms plan:\n%s", plan)
	}
	code, msg := s.interruptStep(t, setID, to, m[1], "Import-CsUserData")
	if code != 130 || !strings.Contains(msg, "step "+m[1]+": interrupted. The Front End services of pool01.contoso.com may still be stopped: start them (Start-CsPool -PoolFqdn 'pool01.contoso.com') unless you run the step again, which starts them.") {
		t.Errorf("Ctrl-C in the user data step: exit %d, want 130 saying interrupted and that the services may still be stopped:\n%s", code, msg)
	}
}

// interruptStep runs restore --run-imports --scenario cms from step on,
// with the stand-in hanging in the script that holds hang, sends Ctrl-C
// once that step's PowerShell runs, and returns the exit code and stderr.
func (s *lyncSite) interruptStep(t *testing.T, setID, to, step, hang string) (int, string) {
	t.Helper()
	s.fixture(t, map[string]any{"hang": []string{hang}})
	var so, se bytes.Buffer
	cmd, err := testbin.Start(t, func() *exec.Cmd {
		cmd := exec.Command(testbin.Path(t), "restore", setID, "--to", to, "--run-imports", "--scenario", "cms", "--yes", "--start-at", step)
		cmd.Dir, cmd.Env = s.dir, append(os.Environ(), s.env...)
		cmd.Stdout, cmd.Stderr = &so, &se
		return cmd
	})
	if err != nil {
		t.Fatal(err)
	}
	// The step's PowerShell is running once the stand-in records its call.
	for i := 0; i < 200 && len(s.calls(t)) == 0; i++ {
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(os.Interrupt)
	err = cmd.Wait()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	return code, se.String()
}
