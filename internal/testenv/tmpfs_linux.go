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
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("cannot mount a small tmpfs to fill (needs root with CAP_SYS_ADMIN): %v", err)
	}
	t.Cleanup(func() { syscall.Unmount(dir, 0) })
	return dir
}
