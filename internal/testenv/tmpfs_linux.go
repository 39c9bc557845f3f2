package testenv

import (
	"os"
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

// FillDisk writes to a new file at path until its disk is full (a small
// Tmpfs), leaving the file there.
func FillDisk(t testing.TB, path string) {
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
