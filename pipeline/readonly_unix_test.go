//go:build !windows

package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/testuser"
)

// readOnlyBackup backs up an item holding a read-only folder (0555), as a
// user other than root restores it.
func readOnlyBackup(t *testing.T) (*fixture, BackupResult) {
	f := newFixture(t)
	root := f.tree(t, "a", map[string]string{"d/f": "new", "ro/r": "r"})
	os.Chmod(filepath.Join(root, "ro"), 0o555)
	t.Cleanup(func() { archive.RemoveTree(f.dir) }) // read-only folders: t.TempDir's removal fails as nobody
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", root)))
	if err != nil {
		t.Fatal(err)
	}
	return f, res
}

// A restore --force refused after the item was extracted (a file where
// the backup has a folder) removes its partial folder, though the folder
// holds a read-only folder: the restore after the file was moved away
// works. Before, the partial folder stayed and every later restore of the
// item failed with `clear …: permission denied`.
func TestRefusedRestoreLeavesNoPartialFolder(t *testing.T) {
	if testuser.Unprivileged(t) {
		return
	}
	f, res := readOnlyBackup(t)
	to := filepath.Join(f.dir, "r")
	os.MkdirAll(filepath.Join(to, "alpha", "a"), 0o755)
	os.WriteFile(filepath.Join(to, "alpha", "a", "d"), []byte("in the way"), 0o644)
	_, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to, Force: true})
	if err == nil || !strings.Contains(err.Error(), "move it away first") {
		t.Fatalf("first restore: %v", err)
	}
	if _, err := os.Lstat(filepath.Join(to, partialPrefix+"alpha")); !os.IsNotExist(err) {
		t.Errorf("the refused restore left its partial folder: %v", err)
	}
	os.Remove(filepath.Join(to, "alpha", "a", "d")) // as told
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to, Force: true}); err != nil {
		t.Fatalf("restore after moving the file away: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(to, "alpha", "a", "d", "f")); err != nil || string(b) != "new" {
		t.Fatalf("d/f: %q, %v", b, err)
	}
}

// A partial folder a killed restore left, holding a read-only folder, is
// cleared by the next restore of the item.
func TestRestoreClearsReadOnlyPartialFolder(t *testing.T) {
	if testuser.Unprivileged(t) {
		return
	}
	f, res := readOnlyBackup(t)
	to := filepath.Join(f.dir, "r")
	left := filepath.Join(to, partialPrefix+"alpha", "a", "ro")
	os.MkdirAll(left, 0o755)
	os.WriteFile(filepath.Join(left, "r"), []byte("half"), 0o444)
	os.Chmod(left, 0o555)
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to}); err != nil {
		t.Fatalf("restore over a killed restore's partial folder: %v", err)
	}
}

// restore --force moves a read-only folder the earlier restore lacks into
// the item's folder: a folder moved to another parent needs write
// permission on itself (its ".." entry) on Linux, so it is made writable
// for the move and gets its mode back after. Before, the item stopped
// half-way (`rename …/ro …: permission denied`).
func TestForceMovesReadOnlyFolder(t *testing.T) {
	if testuser.Unprivileged(t) {
		return
	}
	f, res := readOnlyBackup(t)
	to := filepath.Join(f.dir, "r")
	os.MkdirAll(filepath.Join(to, "alpha", "a"), 0o755)
	os.WriteFile(filepath.Join(to, "alpha", "a", "mine"), []byte("keep"), 0o644)
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to, Force: true}); err != nil {
		t.Fatalf("--force restore: %v", err)
	}
	ro := filepath.Join(to, "alpha", "a", "ro")
	if fi, err := os.Stat(ro); err != nil || fi.Mode().Perm() != 0o555 {
		t.Fatalf("ro restored as %v, %v; want 0555", fi.Mode(), err)
	}
	for p, want := range map[string]string{"ro/r": "r", "d/f": "new", "mine": "keep"} {
		if b, err := os.ReadFile(filepath.Join(to, "alpha", "a", p)); err != nil || string(b) != want {
			t.Errorf("%s: %q, %v; want %q", p, b, err, want)
		}
	}
	if _, err := os.Lstat(filepath.Join(to, partialPrefix+"alpha")); !os.IsNotExist(err) {
		t.Errorf("partial folder left: %v", err)
	}
}
