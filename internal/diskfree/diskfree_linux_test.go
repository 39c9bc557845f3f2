package diskfree

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// TestFullTmpfs: on a full disk ProbeWrite fails with ENOSPC (creating
// the empty file alone succeeds) and leaves nothing behind; Free reads a
// small disk's size and 0 once it is full.
func TestFullTmpfs(t *testing.T) {
	dir := testenv.Tmpfs(t, "1m")
	if n, err := Free(dir); err != nil || n != 1<<20 {
		t.Errorf("Free of an empty 1 MiB tmpfs = %d, %v", n, err)
	}
	if err := ProbeWrite(dir); err != nil {
		t.Fatalf("ProbeWrite with room: %v", err)
	}
	f, err := os.Create(filepath.Join(dir, "fill"))
	if err != nil {
		t.Fatal(err)
	}
	for err == nil {
		_, err = f.Write(make([]byte, 4096))
	}
	f.Close()
	if n, err := Free(dir); err != nil || n != 0 {
		t.Errorf("Free of a full disk = %d, %v", n, err)
	}
	err = ProbeWrite(dir)
	if !IsFull(err) || !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("ProbeWrite on a full disk: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".lyncbackup-check-*")); len(left) > 0 {
		t.Errorf("left behind: %v", left)
	}
}
