package exporters

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The test binary doubles as the small programs the tests need on every
// system, Windows included (no sh there): run as
// `exporters.test lyncbackup-helper ACTION ARGS...` it does ACTION and exits
// instead of running tests.
const helperArg = "lyncbackup-helper"

// helperMain runs the helper and exits when the binary was started as one
// (called first in TestMain, golden_main_test.go).
func helperMain() {
	if len(os.Args) > 2 && os.Args[1] == helperArg {
		os.Exit(runHelper(os.Args[2], os.Args[3:]))
	}
}

func runHelper(action string, args []string) int {
	switch action {
	case "write": // a command exporter: one file in {dir}, one in $LYNCBACKUP_OUTPUT_DIR
		if err := os.WriteFile(filepath.Join(args[0], "a.xml"), []byte("policy\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := os.WriteFile(filepath.Join(os.Getenv("LYNCBACKUP_OUTPUT_DIR"), "b.xml"), []byte("more\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	case "fail": // prints its arguments on stderr and exits 4
		fmt.Fprintln(os.Stderr, strings.Join(args, " "))
		return 4
	case "sleep":
		time.Sleep(10 * time.Minute)
		return 0
	case "spawn": // starts a sleeping helper on its own stdout, writes its pid to args[0], exits 0
		exe, _ := os.Executable()
		c := exec.Command(exe, helperArg, "sleep")
		c.Stdout, c.Stderr = os.Stdout, os.Stderr
		if err := c.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 3
		}
		os.WriteFile(args[0], []byte(strconv.Itoa(c.Process.Pid)), 0o644)
		return 0
	case "lock": // holds args[0] open with no sharing until stdin closes
		release, err := lockFile(args[0])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("locked")
		io.Copy(io.Discard, os.Stdin)
		release()
		return 0
	}
	fmt.Fprintf(os.Stderr, "unknown helper action %q\n", action)
	return 2
}

// HelperCommand is the argv that runs helper action (see runHelper).
func HelperCommand(t testing.TB, action string, args ...string) []string {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	return append([]string{exe, helperArg, action}, args...)
}

// HoldLocked has another process open path with no sharing (a live log,
// an open .bak on Windows) until the test ends.
func HoldLocked(t testing.TB, path string) {
	t.Helper()
	argv := HelperCommand(t, "lock", path)
	cmd := exec.Command(argv[0], argv[1:]...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if strings.TrimSpace(line) != "locked" {
		stdin.Close()
		cmd.Wait()
		t.Fatalf("lock helper on %s: %q %s", path, line, stderr.String())
	}
	t.Cleanup(func() {
		stdin.Close()
		cmd.Wait()
	})
}
