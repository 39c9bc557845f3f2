package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The e2e test binary doubles as the small programs exporters run in the
// tests, on every system (Windows has no sh): run as
// `e2e.test lyncbackup-helper ACTION ARGS...` it does ACTION and exits.
const helperArg = "lyncbackup-helper"

func runHelper(action string, args []string) int {
	switch action {
	case "write": // write DIR NAME TEXT: DIR/NAME holding TEXT and a newline
		if len(args) != 3 {
			break
		}
		if err := os.WriteFile(filepath.Join(args[0], args[1]), []byte(args[2]+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "tree": // tree DIR: an exporter that starts a helper and hangs (LB_TEST_ADDR)
		if len(args) != 1 {
			break
		}
		return helperTree(args[0])
	case "hang": // the helper of tree: runs until killed
		time.Sleep(time.Hour)
		return 0
	}
	fmt.Fprintf(os.Stderr, "bad helper call %s %q\n", action, args)
	return 2
}

// helperTree starts a helper (this binary, "hang"), writes 4 MB to dir,
// sends "PID HELPERPID\n" to the test at $LB_TEST_ADDR (127.0.0.1) and
// hangs until killed. Without LB_TEST_ADDR it writes a small file and exits.
func helperTree(dir string) int {
	addr := os.Getenv("LB_TEST_ADDR")
	if addr == "" {
		return runHelper("write", []string{dir, "out.txt", "small"})
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	child := exec.Command(exe, helperArg, "hang")
	if err := child.Start(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.WriteFile(filepath.Join(dir, "big.bin"), make([]byte, 4<<20), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	c, err := net.Dial("tcp", addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Fprintf(c, "%d %d\n", os.Getpid(), child.Process.Pid)
	c.Close()
	time.Sleep(time.Hour)
	return 0
}

// runs counts the run-* folders in staging/fe01.
func runs(t *testing.T, staging string) int {
	t.Helper()
	es, _ := os.ReadDir(filepath.Join(staging, "fe01"))
	n := 0
	for _, e := range es {
		if strings.HasPrefix(e.Name(), "run-") {
			n++
		}
	}
	return n
}

// readPids reads the line of two process ids that the command exporter's
// program reports (its own and its helper's).
func readPids(t *testing.T, r io.Reader) []int {
	t.Helper()
	line, _ := bufio.NewReader(r).ReadString('\n')
	var pids []int
	for _, w := range strings.Fields(line) {
		p, err := strconv.Atoi(w)
		if err != nil {
			t.Fatalf("the program said %q", line)
		}
		pids = append(pids, p)
	}
	if len(pids) != 2 {
		t.Fatalf("the program said %q", line)
	}
	return pids
}
