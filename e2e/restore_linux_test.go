package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// TestCoreRestoreHintAfterForce: a restore --force that put one item in
// place and stopped another half-way (a folder of the earlier restore is
// another file system: the move into it fails) ends with a hint whose
// command finishes the restore once the cause is gone. After --force that
// command needs --force too (the item's folder holds part of it): the
// hint without it was refused, "not empty".
func TestCoreRestoreHintAfterForce(t *testing.T) {
	e := newCoreEnv(t)
	a, b := filepath.Join(e.dir, "a"), filepath.Join(e.dir, "b")
	os.MkdirAll(filepath.Join(a, "s"), 0o755)
	os.WriteFile(filepath.Join(a, "1.txt"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(a, "s", "2.txt"), []byte("2"), 0o644)
	os.MkdirAll(b, 0o755)
	os.WriteFile(filepath.Join(b, "x.txt"), []byte("x"), 0o644)
	e.writeConfig(map[string][]string{"alpha": {a}, "beta": {b}}, "")
	set := e.backup()
	to := filepath.Join(e.dir, "r")
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	s := filepath.Join(to, "alpha", "a", "s")
	testenv.TmpfsAt(t, s, "1m")
	r := e.run("restore", set, "--to", to, "--identity", e.key, "--force")
	m := regexp.MustCompile(`in place: beta; the rest: restore again with ([^\n]*)`).FindStringSubmatch(r.Stderr)
	if r.Code != 1 || m == nil {
		t.Fatalf("exit %d, no hint: %s", r.Code, r.Stderr)
	}
	if err := syscall.Unmount(s, 0); err != nil { // the cause gone
		t.Fatal(err)
	}
	r = e.run(append([]string{"restore", set, "--to", to, "--identity", e.key}, strings.Fields(m[1])...)...)
	if r.Code != 0 {
		t.Fatalf("the restore the hint names (%s) fails: %s", m[1], lastLine(r.Stderr))
	}
	for p, want := range map[string]string{"alpha/a/1.txt": "1", "alpha/a/s/2.txt": "2", "beta/b/x.txt": "x"} {
		if got, err := os.ReadFile(filepath.Join(to, p)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", p, got, err)
		}
	}
}
