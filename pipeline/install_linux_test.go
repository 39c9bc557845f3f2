package pipeline

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// TestInstallHalfWayKeepsTheRest: when moving a checked item into place
// fails after some of its files moved (here a folder of the old item is
// another file system, so the move into it fails with EXDEV; on Windows a
// file held open does the same), the error says so and where the rest is,
// and install hands the partial folder back (*partial cleared) so that the
// restore's cleanup does not delete the files that did not move.
func TestInstallHalfWayKeepsTheRest(t *testing.T) {
	dir := t.TempDir()
	dst := filepath.Join(dir, "item")
	sub := filepath.Join(dst, "s")
	os.MkdirAll(sub, 0o755)
	testenv.TmpfsAt(t, sub, "1m")
	os.WriteFile(filepath.Join(dst, "a.txt"), []byte("old a"), 0o644)
	os.WriteFile(filepath.Join(sub, "b.txt"), []byte("old b"), 0o644)
	src := filepath.Join(dir, ".lyncbackup-partial-item")
	os.MkdirAll(filepath.Join(src, "s"), 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("new a"), 0o644)
	os.WriteFile(filepath.Join(src, "s", "b.txt"), []byte("new b"), 0o644)

	partial := src
	err := install(&partial, dst, nil)
	if err == nil || !strings.Contains(err.Error(), "part of the item is in place; the rest is in "+src) {
		t.Fatalf("install: %v", err)
	}
	// The cause in words, not only the system's "invalid cross-device link".
	if want := "move restored files into place: " + sub + " is on another filesystem than the restored files, which wait beside the item's folder (a filesystem is mounted in it): they are moved in by renames, which cannot cross filesystems; restore again with nothing mounted in the item's folder, or into another --to (rename "; !strings.Contains(err.Error(), want) {
		t.Errorf("install: %v\nwant the cause named: %s", err, want)
	}
	if partial != "" {
		t.Errorf("the partial folder %s is still the caller's to delete, with files that did not move", partial)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "a.txt")); string(b) != "new a" {
		t.Errorf("a.txt holds %q: the test did not fail half-way", b)
	}
	if b, _ := os.ReadFile(filepath.Join(src, "s", "b.txt")); string(b) != "new b" {
		t.Errorf("the file that did not move is gone from %s: %q", src, b)
	}
}
