package exporters

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestTimeoutKillsProcessTree: a cmdlet that hangs (and started a helper
// holding the pipes) is killed with its helper at the timeout: on Unix by
// the reaper and the process group, on Windows by the job object.
func TestTimeoutKillsProcessTree(t *testing.T) {
	h := newHarness(t, "2015", fixture{Hang: []string{"Export-CsLisConfiguration"}})
	cfg := h.config("exporters: [{kind: lis, timeout: 2s}]\nlync: {powershell: $PS}\n")
	start := time.Now()
	_, errs, _ := h.run(cfg)
	took := time.Since(start)
	err := errs["lis"]
	if err == nil || !strings.Contains(err.Error(), "Export-CsLisConfiguration: timed out after 2s (process killed") {
		t.Fatalf("error %v", err)
	}
	if took > time.Minute {
		t.Errorf("took %s: the kill did not end the wait", took)
	}
	b, rerr := os.ReadFile(filepath.Join(h.psDir, "child.pid"))
	if rerr != nil {
		t.Fatalf("the stand-in did not start its helper: %v", rerr)
	}
	pid, _ := strconv.Atoi(string(b))
	if !waitGone(pid, 10*time.Second) {
		t.Fatalf("helper process %d survived the timeout", pid)
	}
}
