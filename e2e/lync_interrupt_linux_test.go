package e2e

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
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
	s.fixture(t, map[string]any{"hang": []string{"Import-CsRgsConfiguration"}})
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
	msg := se.String()
	if code != 130 || !strings.Contains(msg, "step "+step+": interrupted") {
		t.Errorf("Ctrl-C in the Response Group step: exit %d, want 130 saying interrupted:\n%s", code, msg)
	}
	for _, lie := range []string{"A name conflict", "what PowerShell reported", "Import-CsRgsConfiguration's own"} {
		if strings.Contains(msg, lie) {
			t.Errorf("a Ctrl-C is reported with the advice for the cmdlet's own failure (%q):\n%s", lie, msg)
		}
	}
}
