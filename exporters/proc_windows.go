//go:build windows

package exporters

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

// A program an exporter runs must not outlive lyncbackup, even when
// lyncbackup is killed (TerminateProcess) and nothing of it runs any more.
// The program is started suspended, put into a job object that kills
// every process in it when its last handle closes
// (JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE) and then resumed, so that all it
// starts is in the job from its first instruction on. Only lyncbackup holds
// the job's handle: however lyncbackup ends, Windows closes it and the
// whole tree ends. A timeout or Ctrl-C terminates the job, and so does the
// program's own end, which ends helpers it left behind (one holding its
// stdout would otherwise hold the run until WaitDelay, then fail it).
//
// Tested under Wine (8.0, which implements kill-on-job-close in its server):
// e2e.TestCommandTreeDiesWithTheTool kills lyncbackup.exe, and
// TestTimeoutKillsProcessTree times a hanging stand-in out. Where a job
// cannot be made or assigned, killTree's taskkill /T is the fallback.

// createNewProcessGroup keeps Ctrl+C of the console from reaching the
// child: cancellation goes through the job (or killTree) only.
const (
	createNewProcessGroup = 0x00000200
	createSuspended       = 0x00000004
)

var ntResumeProcess = windows.NewLazySystemDLL("ntdll.dll").NewProc("NtResumeProcess")

// treeCmd is a program prepared to run as a tree that dies with us.
type treeCmd struct {
	*exec.Cmd
	ctx context.Context
	// started: runTree started the program (startTree succeeded).
	started bool
}

// treeCommand prepares exe with args for runTree.
func treeCommand(ctx context.Context, exe string, args []string) (*treeCmd, error) {
	path, err := exec.LookPath(exe)
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: createNewProcessGroup | createSuspended}
	return &treeCmd{Cmd: cmd, ctx: ctx}, nil
}

// newKillOnCloseJob makes a job object that kills its processes when its
// last handle closes.
func newKillOnCloseJob() (windows.Handle, error) {
	job, err := windows.CreateJobObject(nil, nil)
	if err != nil {
		return 0, err
	}
	info := windows.JOBOBJECT_EXTENDED_LIMIT_INFORMATION{}
	info.BasicLimitInformation.LimitFlags = windows.JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE
	if _, err := windows.SetInformationJobObject(job, windows.JobObjectExtendedLimitInformation,
		uintptr(unsafe.Pointer(&info)), uint32(unsafe.Sizeof(info))); err != nil {
		windows.CloseHandle(job)
		return 0, err
	}
	return job, nil
}

// runTree runs cmd (from treeCommand) to its end; however it ends, nothing
// it started is left running.
func runTree(tc *treeCmd) error {
	job, jerr := newKillOnCloseJob()
	if jerr == nil {
		defer windows.CloseHandle(job) // ends whatever is left in the job
	}
	var watching sync.WaitGroup
	defer watching.Wait() // before the job's handle closes
	cmd, err := startTree(tc, func(c *exec.Cmd) {
		if jerr == nil {
			c.Cancel = func() error {
				if err := windows.TerminateJobObject(job, 1); err != nil {
					return killTree(c)
				}
				return nil
			}
		} else {
			c.Cancel = func() error { return killTree(c) }
		}
	})
	if err != nil {
		return err
	}
	h, err := windows.OpenProcess(windows.PROCESS_SET_QUOTA|windows.PROCESS_TERMINATE|windows.PROCESS_SUSPEND_RESUME|windows.PROCESS_QUERY_LIMITED_INFORMATION|windows.SYNCHRONIZE,
		false, uint32(cmd.Process.Pid))
	if err == nil {
		inJob := false
		if jerr == nil {
			if aerr := windows.AssignProcessToJobObject(job, h); aerr != nil {
				// Not in the job (an old Windows refusing nested jobs):
				// taskkill /T on cancel is all that is left.
				cmd.Cancel = func() error { return killTree(cmd) }
			} else {
				inJob = true
			}
		}
		ntResumeProcess.Call(uintptr(h))
		if inJob {
			// When the program ends, the job ends what it left running,
			// as the reaper does on Linux: a helper still holding the
			// program's stdout kept Wait from returning until WaitDelay,
			// and a program that had exited 0 failed.
			watching.Add(1)
			go func() {
				defer watching.Done()
				defer windows.CloseHandle(h)
				windows.WaitForSingleObject(h, windows.INFINITE)
				windows.TerminateJobObject(job, 0)
			}()
		} else {
			windows.CloseHandle(h)
		}
	} else {
		// Cannot resume a suspended process we cannot open: end it.
		cmd.Process.Kill()
	}
	return cmd.Wait()
}

// transientStartError reports whether a failed start may succeed when
// tried again: Windows was short of memory, commit or system resources
// (desktop heap, handles), or reported an internal error, which Wine's
// CreateProcess does now and then under load.
func transientStartError(err error) bool {
	var en syscall.Errno
	if !errors.As(err, &en) {
		return false
	}
	switch en {
	case windows.ERROR_INTERNAL_ERROR, windows.ERROR_NOT_ENOUGH_MEMORY, windows.ERROR_OUTOFMEMORY,
		windows.ERROR_NO_SYSTEM_RESOURCES, windows.ERROR_COMMITMENT_LIMIT:
		return true
	}
	return false
}

// killTree ends the child and every process it started, with taskkill /T,
// then kills the child itself in case taskkill is unavailable.
func killTree(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	tk := filepath.Join(os.Getenv("SystemRoot"), "System32", "taskkill.exe")
	if os.Getenv("SystemRoot") == "" {
		tk = "taskkill.exe"
	}
	_ = exec.Command(tk, "/T", "/F", "/PID", strconv.Itoa(cmd.Process.Pid)).Run()
	if err := cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return err
	}
	return nil
}
