//go:build !windows

package exporters

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestTimeoutKillsProcessTree: a cmdlet that hangs (and started a helper
// holding the pipes) is killed with its helper at the timeout.
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
	deadline := time.Now().Add(10 * time.Second)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("helper process %d survived the timeout", pid)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// processAlive: a zombie (killed, not yet reaped by init) counts as dead.
func processAlive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	s := string(b)
	if i := strings.LastIndex(s, ")"); i >= 0 && i+2 < len(s) {
		return s[i+2] != 'Z'
	}
	return true
}
