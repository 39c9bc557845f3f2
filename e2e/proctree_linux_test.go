package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

// A command exporter's program and what it started die with lyncbackup —
// killed with SIGKILL (nothing of it runs any more) or interrupted with
// Ctrl-C — and the staging folder a killed run left is removed at the next
// start.
func TestCommandTreeDiesWithTheTool(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGKILL, syscall.SIGINT} {
		t.Run(sig.String(), func(t *testing.T) {
			dir := t.TempDir()
			dest := filepath.Join(dir, "backups")
			os.MkdirAll(dest, 0o755)
			staging := filepath.Join(dir, "staging")
			key := filepath.Join(dir, "key.txt")
			pub := strings.TrimSpace(testbin.MustRun(t, dir, nil, "keygen", "-o", key).Stdout)
			// The program starts a helper (a grandchild of lyncbackup),
			// writes output, tells the test both pids and waits.
			script := filepath.Join(dir, "export.sh")
			os.WriteFile(script, []byte(`#!/bin/sh
if [ -z "$LB_TEST_FIFO" ]; then echo small > "$LYNCBACKUP_OUTPUT_DIR/out.txt"; exit 0; fi
sleep 1000 &
head -c 4000000 /dev/zero > "$LYNCBACKUP_OUTPUT_DIR/big.bin"
echo "$$ $!" > "$LB_TEST_FIFO"
wait
`), 0o755)
			cfg := writeConfig(t, dir, fmt.Sprintf(`host: fe01
staging: %s
exporters:
  - {kind: command, name: voice, command: [/bin/sh, %s, '{dir}']}
encryption: {recipients: [%s]}
destination: {url: %s}
`, yamlQuote(staging), yamlQuote(script), pub, yamlQuote(fileURL(dest))))
			fifo := filepath.Join(dir, "pids")
			if err := syscall.Mkfifo(fifo, 0o600); err != nil {
				t.Fatal(err)
			}
			e := &raceEnv{t: t, dir: dir, config: cfg, env: []string{"LYNCBACKUP_CONFIG=" + cfg}}
			b := e.start([]string{"LB_TEST_FIFO=" + fifo}, "backup", "--progress=never")
			f, err := os.Open(fifo) // blocks until the program writes
			if err != nil {
				t.Fatal(err)
			}
			pids := readPids(t, f)
			f.Close()
			b.cmd.Process.Signal(sig)
			if code := b.wait(t); code == 0 {
				t.Errorf("backup interrupted with %v exited 0", sig)
			}
			for i, pid := range pids {
				if !waitDead(t, pid) {
					t.Errorf("%s (pid %d) survived lyncbackup's %v", []string{"the program", "its helper"}[i], pid, sig)
				}
			}
			if sig == syscall.SIGKILL {
				if runs(t, staging) != 1 {
					t.Fatalf("the killed run left %d staging folders, want 1 (or the test proves nothing)", runs(t, staging))
				}
				if r := e.run("backup", "--progress=never"); r.Code != 0 {
					t.Fatalf("next backup: exit %d\n%s", r.Code, r.Stderr)
				}
			}
			if n := runs(t, staging); n != 0 {
				t.Errorf("%d run-* staging folders remain", n)
			}
		})
	}
}

// waitDead waits (without polling: a pidfd becomes readable when the
// process ends) up to a minute for pid to end; false if it did not, and
// then it is killed so the test leaves nothing behind either.
func waitDead(t *testing.T, pid int) bool {
	t.Helper()
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return err == unix.ESRCH
	}
	defer unix.Close(fd)
	n, err := unix.Poll([]unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}, 60_000)
	if err != nil {
		t.Fatalf("poll pidfd: %v", err)
	}
	if n == 0 {
		unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0)
		return false
	}
	return true
}
