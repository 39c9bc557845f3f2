package exporters

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"
)

// waitGone waits on process pid's handle until it has ended; a survivor is
// terminated so that the test leaves nothing behind.
func waitGone(pid int, limit time.Duration) bool {
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_TERMINATE|windows.PROCESS_QUERY_LIMITED_INFORMATION, false, uint32(pid))
	if err != nil {
		return true // no such process: it is gone
	}
	defer windows.CloseHandle(h)
	ev, err := windows.WaitForSingleObject(h, uint32(limit/time.Millisecond))
	if err == nil && ev == windows.WAIT_OBJECT_0 {
		return true
	}
	windows.TerminateProcess(h, 1)
	return false
}

// transientStartSample is how a start that may succeed when tried again
// fails here: Wine's CreateProcess under load.
var transientStartSample error = &os.PathError{Op: "fork/exec", Path: `C:\x\powershell.exe`, Err: windows.ERROR_INTERNAL_ERROR}

// finalStartSample is a start failure that trying again cannot mend.
var finalStartSample error = &os.PathError{Op: "fork/exec", Path: `C:\x\powershell.exe`, Err: windows.ERROR_ACCESS_DENIED}

// A program that exits 0 leaving a helper on its stdout succeeds, and the
// helper ends with it: the job was terminated only after Wait returned,
// and Wait waited for the pipe until WaitDelay, then failed the run
// (exec: WaitDelay expired before I/O complete).
func TestHelperLeftBehindAfterSuccess(t *testing.T) {
	pidFile := filepath.Join(t.TempDir(), "helper.pid")
	argv := HelperCommand(t, "spawn", pidFile)
	_, err := runProgram(context.Background(), "leftover", 2*time.Minute, timeoutAdvice, argv[0], argv[1:], nil, 1<<10)
	b, _ := os.ReadFile(pidFile)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Errorf("a program that exited 0 failed: %v", err)
	}
	if pid <= 0 || !waitGone(pid, 10*time.Second) {
		t.Errorf("helper %d survived the program's end", pid)
	}
}
