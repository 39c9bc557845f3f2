package testuser

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// childEnv marks the run of a test binary as nobody; it holds the folder
// given to that run as its home and temporary folder.
const childEnv = "LYNCBACKUP_TEST_AS_NOBODY"

// nobody is the uid and gid the test runs as.
const nobody = 65534

// Unprivileged makes the calling test run as a user without root's
// disregard of file permissions. As root on Linux, it runs the same test
// again in a copy of the test binary as nobody (uid 65534), logs its
// output, fails t when it fails, and returns true: the caller returns at
// once. In that run, and in a test not run as root, it returns false and
// the test goes on.
func Unprivileged(t *testing.T) bool {
	t.Helper()
	return UnprivilegedWith(t, nil)
}

// UnprivilegedWith is Unprivileged whose run as nobody gets what prepare
// puts in its folder (called as root before the run, only then; nobody
// owns the folder): prepare returns environment ("K=V") for that run,
// e.g. naming a copy of a binary root built there.
func UnprivilegedWith(t *testing.T, prepare func(dir string) []string) bool {
	t.Helper()
	if os.Getenv(childEnv) != "" || os.Getuid() != 0 {
		return false
	}
	dir, err := os.MkdirTemp("", "lyncbackup-nobody-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // root: read-only folders or not
	if err := os.Chown(dir, nobody, nobody); err != nil {
		t.Fatal(err)
	}
	// The test binary's own folder is root's alone: nobody runs a copy.
	bin := filepath.Join(dir, filepath.Base(os.Args[0]))
	if err := copyFile(os.Args[0], bin); err != nil {
		t.Fatalf("copy the test binary: %v", err)
	}
	run := "^" + strings.Join(strings.Split(t.Name(), "/"), "$/^") + "$"
	cmd := exec.Command(bin, "-test.run="+run, "-test.count=1", "-test.v")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), childEnv+"="+dir, "HOME="+dir, "TMPDIR="+dir)
	if prepare != nil {
		cmd.Env = append(cmd.Env, prepare(dir)...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	out, err := cmd.CombinedOutput()
	t.Logf("as nobody (uid %d):\n%s", nobody, out)
	if err != nil {
		t.Fatalf("as nobody: %v", err)
	}
	if strings.Contains(string(out), "no tests to run") {
		t.Fatalf("as nobody: %s ran nothing", run)
	}
	return true
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o755)
}
