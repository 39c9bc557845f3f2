package e2e

import (
	"os"
	"strings"
	"testing"
)

// TestCoreStdoutFull: a report that cannot be written (stdout on a full
// disk) fails the run with one line saying so; it exited 0 with nothing.
func TestCoreStdoutFull(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSet("content")
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skip("no /dev/full:", err)
	}
	defer full.Close()
	for _, args := range [][]string{{"verify", "latest", "--json"}, {"verify", "latest"}, {"prune", "--dry-run", "--keep-last", "1"}, {"version", "--json"}} {
		r := e.runTo(full, args...)
		if r.Code != 1 || !strings.Contains(r.Stderr, "could not write the output: write /dev/stdout: no space left on device") {
			t.Errorf("%v into /dev/full: exit %d\n%s", args, r.Code, r.Stderr)
		}
	}
}
