package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// fillDisk writes to path until its disk is full.
func fillDisk(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			return
		}
	}
}

// TestCoreCheckStagingFull: check fails (exit 1) on a staging folder whose
// disk is full, naming the cause and the fix, as the backup then fails on
// its first write. It said "[ OK ] staging folder: … writable" and exited
// 0: creating the empty file it probed with succeeds on a full disk. A
// disk with little room left is a warning saying how much.
func TestCoreCheckStagingFull(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource("content", "")
	staging := filepath.Join(e.dir, "staging")
	os.MkdirAll(staging, 0o700)
	testenv.TmpfsAt(t, staging, "256k")
	fillDisk(t, filepath.Join(staging, "fill"))
	r := e.run("check")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[FAIL] staging folder: "+staging+": no space left on device\n       fix: free space on that disk") {
		t.Errorf("check with a full staging disk: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := e.run("backup"); r.Code != 1 || !strings.Contains(r.Stderr, "no space left on device") {
		t.Errorf("backup with a full staging disk: exit %d\n%s", r.Code, r.Stderr)
	}
	// With room, but less than a backup may stage: a warning, exit 0.
	os.Remove(filepath.Join(staging, "fill"))
	r = e.run("check")
	if r.Code != 0 || !strings.Contains(r.Stdout, "[WARN] staging folder: "+staging+" writable, 256.0 KiB free: less than 1.0 GiB;") {
		t.Errorf("check with 256 KiB free on the staging disk: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}
