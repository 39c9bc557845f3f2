package exporters

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// TestStagingDiskFull: a staging folder on a full disk fails the check,
// naming the full disk and the fix (free space): creating an empty file
// there succeeds, so the check said "writable" and every backup then
// failed on its index spool. A disk with room, but less than
// StagingFloor, is a warning that says how much is free.
func TestStagingDiskFull(t *testing.T) {
	disk := testenv.Tmpfs(t, "64k")
	dir := filepath.Join(disk, "staging")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	testenv.FillDisk(t, filepath.Join(disk, "fill"))
	p := checkStaging(dir, false)
	if p.OK || !strings.Contains(p.Detail, dir+": no space left on device") || !strings.HasPrefix(p.Fix, "free space on that disk") {
		t.Errorf("full staging disk: %+v", p)
	}
	if left, _ := os.ReadDir(dir); len(left) > 0 {
		t.Errorf("the check left %s behind", left[0].Name())
	}

	small := testenv.Tmpfs(t, "8m")
	p = checkStaging(small, false)
	if !p.OK || !p.Warn || !strings.Contains(p.Detail, " writable, 8.0 MiB free: less than 1.0 GiB") || !strings.HasPrefix(p.Fix, "free space on that disk") {
		t.Errorf("staging disk with 8 MiB: %+v", p)
	}
}

// TestBackupDirDiskFull: a SQL backup folder on a full disk fails the
// check with the fix for it (it said "writable", as the staging folder).
func TestBackupDirDiskFull(t *testing.T) {
	dir := testenv.Tmpfs(t, "64k")
	testenv.FillDisk(t, filepath.Join(dir, "fill"))
	p := checkDirWritable("exporters[0] sql: backup folder", dir, "the folder must exist")
	if p.OK || !strings.Contains(p.Detail, "no space left on device") || !strings.HasPrefix(p.Fix, "free space on that disk") {
		t.Errorf("full backup folder: %+v", p)
	}
}
