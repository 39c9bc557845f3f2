package e2e

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/windows"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

// TestCommandTreeDiesWithTheTool, Windows: a command exporter's program and
// the helper it started die when lyncbackup.exe itself is killed
// (TerminateProcess, what taskkill /F and Task Scheduler's "stop" do; nothing
// of lyncbackup runs any more). What ends them is the job object lyncbackup
// put the program in, with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE: Windows
// closes lyncbackup's handles when it dies, the job's last handle among
// them. The staging folder the killed run left is removed at the next
// start. Ctrl-C and timeouts (TerminateJobObject) are
// exporters.TestTimeoutKillsProcessTree.
func TestCommandTreeDiesWithTheTool(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "backups")
	os.MkdirAll(dest, 0o755)
	staging := filepath.Join(dir, "staging")
	key := filepath.Join(dir, "key.txt")
	pub := strings.TrimSpace(testbin.MustRun(t, dir, nil, "keygen", "-o", key).Stdout)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	// The program (this test binary as helper) starts a helper of its own
	// (a grandchild of lyncbackup), writes output, tells the test both pids
	// over loopback and hangs; without LB_TEST_ADDR it writes a small file.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	cfg := writeConfig(t, dir, fmt.Sprintf(`host: fe01
staging: %s
exporters:
  - {kind: command, name: voice, command: [%s, %s, tree, '{dir}']}
encryption: {recipients: [%s]}
destination: {url: %s}
`, yamlQuote(staging), yamlQuote(exe), helperArg, pub, yamlQuote(fileURL(dest))))
	e := &raceEnv{t: t, dir: dir, config: cfg, env: []string{"LYNCBACKUP_CONFIG=" + cfg}}
	b := e.start([]string{"LB_TEST_ADDR=" + ln.Addr().String()}, "backup", "--progress=never")
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	var conn net.Conn
	select {
	case conn = <-accepted:
	case <-b.done:
		t.Fatalf("the backup ended (exit %d) before its program called\n%s", b.code, b.stderr.String())
	}
	if conn == nil {
		t.Fatal("accept failed")
	}
	pids := readPids(t, conn)
	conn.Close()
	// Both must be running now, or their end below proves nothing.
	for _, pid := range pids {
		if gone(pid, 0) {
			t.Fatalf("process %d ended before lyncbackup was killed", pid)
		}
	}
	if err := b.cmd.Process.Kill(); err != nil { // TerminateProcess
		t.Fatal(err)
	}
	if code := b.wait(t); code == 0 {
		t.Errorf("killed backup exited 0")
	}
	for i, pid := range pids {
		if !gone(pid, time.Minute) {
			t.Errorf("%s (pid %d) survived lyncbackup.exe's end", []string{"the program", "its helper"}[i], pid)
		}
	}
	if n := runs(t, staging); n != 1 {
		t.Fatalf("the killed run left %d staging folders, want 1 (or the test proves nothing)", n)
	}
	if r := e.run("backup", "--progress=never"); r.Code != 0 {
		t.Fatalf("next backup: exit %d\n%s", r.Code, r.Stderr)
	}
	if n := runs(t, staging); n != 0 {
		t.Errorf("%d run-* staging folders remain", n)
	}
}

// gone waits on process pid's handle up to limit for it to end; false if
// it did not, and then it is terminated so the test leaves nothing behind.
func gone(pid int, limit time.Duration) bool {
	h, err := windows.OpenProcess(windows.SYNCHRONIZE|windows.PROCESS_TERMINATE, false, uint32(pid))
	if err != nil {
		return true // no such process
	}
	defer windows.CloseHandle(h)
	ev, err := windows.WaitForSingleObject(h, uint32(limit/time.Millisecond))
	if err == nil && ev == windows.WAIT_OBJECT_0 {
		return true
	}
	if limit > 0 {
		windows.TerminateProcess(h, 1)
	}
	return false
}
