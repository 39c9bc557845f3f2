//go:build !windows

package exporters

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// waitGone waits until process pid has ended, polling /proc (there is no
// handle to wait on for a process that is not our child); a survivor is
// killed so that the test leaves nothing behind.
func waitGone(pid int, limit time.Duration) bool {
	deadline := time.Now().Add(limit)
	for processAlive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
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

// transientStartSample is how a start that may succeed when tried again
// fails here: fork out of processes.
var transientStartSample error = &os.PathError{Op: "fork/exec", Path: "/x/pwsh", Err: syscall.EAGAIN}

// finalStartSample is a start failure that trying again cannot mend.
var finalStartSample error = &os.PathError{Op: "fork/exec", Path: "/x/pwsh", Err: syscall.EACCES}
