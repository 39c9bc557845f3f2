package testenv

import (
	"syscall"
	"testing"
)

// Tmpfs mounts a tmpfs of size (mount's syntax: "1m") at a new folder and
// unmounts it when the test ends, or skips the test saying why: it needs
// root with CAP_SYS_ADMIN, and a full disk is tested for real or not at all.
func Tmpfs(t testing.TB, size string) string {
	t.Helper()
	dir := t.TempDir()
	TmpfsAt(t, dir, size)
	return dir
}

// TmpfsAt mounts a tmpfs of size on the existing folder dir (another file
// system inside a tree: a rename into it fails with EXDEV), as Tmpfs does.
func TmpfsAt(t testing.TB, dir, size string) {
	t.Helper()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a small tmpfs (needs root with CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
}
