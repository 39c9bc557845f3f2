//go:build !windows

package exporters

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
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

// TestReaperStartTriesAgain: the reaper's own start of the program (the
// code reaperMain runs, here in-process) is tried again after a refusal for
// a passing reason, each time with a fresh command (every refused attempt
// really called Start on its command), and stops at once at a final one.
func TestReaperStartTriesAgain(t *testing.T) {
	quickStarts(t)
	argv := HelperCommand(t, "fail", "ran")
	var attempts int
	refuse := func(n int, err error) func(int, *exec.Cmd) error { return refuseStarts(t, &attempts, n, err) }
	startFault = refuse(2, transientStartSample)
	cmd, err := reaperStart(argv, os.Environ())
	if err != nil || attempts != 3 {
		t.Fatalf("passing refusals: %v after %d attempts", err, attempts)
	}
	if werr := cmd.Wait(); cmd.ProcessState.ExitCode() != 4 {
		t.Errorf("the program did not run to its end: %v", werr)
	}
	startFault = refuse(startAttempts, finalStartSample)
	if _, err := reaperStart(argv, os.Environ()); err != finalStartSample || attempts != 1 {
		t.Errorf("final refusal: %v after %d attempts", err, attempts)
	}
}

// TestEscapedGrandchildDoesNotHoldTheRun: a program whose child left its
// process group (setsid) and kept the output pipe open is not waited for
// beyond the timeout and exec's WaitDelay: the reaper kills the group, and
// the run returns though the pipe stays open.
func TestEscapedGrandchildDoesNotHoldTheRun(t *testing.T) {
	if _, err := exec.LookPath("setsid"); err != nil {
		t.Skip("no setsid")
	}
	pidFile := t.TempDir() + "/escaped.pid"
	start := time.Now()
	_, err := runProgram(context.Background(), "stuck", time.Second, timeoutAdvice, "/bin/sh",
		[]string{"-c", "setsid sh -c 'echo $$ > " + pidFile + "; exec sleep 120' & sleep 120"}, nil, 1<<10)
	took := time.Since(start)
	if b, rerr := os.ReadFile(pidFile); rerr == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Errorf("error %v", err)
	}
	// The grandchild sleeps 120 s holding the pipe; without WaitDelay the
	// run would last that long.
	if took > time.Minute {
		t.Errorf("the run lasted %s: it waited for the escaped grandchild", took)
	}
}

// TestKillTreeKillsTheGroup: without a reaper (os.Executable failed), a
// timeout kills the program's whole process group, not only the program.
func TestKillTreeKillsTheGroup(t *testing.T) {
	pidFile := t.TempDir() + "/child.pid"
	cmd := exec.Command("/bin/sh", "-c", "sleep 120 & echo $! > "+pidFile+"; wait")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(10 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if b, err := os.ReadFile(pidFile); err == nil && strings.HasSuffix(string(b), "\n") {
			child, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	if child == 0 {
		cmd.Process.Kill()
		t.Fatal("the program did not start its child")
	}
	if err := killTree(cmd); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
	if !waitGone(child, 10*time.Second) {
		t.Errorf("child %d of the program survived killTree", child)
	}
}
