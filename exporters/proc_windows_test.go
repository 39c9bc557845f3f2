package exporters

import (
	"os"
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
