package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/exporters"
)

// A second restore into a folder a restore is writing into refuses at once,
// naming the first, and leaves the first one's partial folder alone (two
// restores had removed each other's partial folders and both failed, one
// advising --force); once the first ends, the lock file is gone and a
// restore left by a killed run (its file unlocked) is taken over.
func TestRestoreFolderLocked(t *testing.T) {
	f := newFixture(t)
	root := filepath.Join(f.dir, "a")
	os.MkdirAll(root, 0o755)
	os.WriteFile(filepath.Join(root, "f"), []byte("data"), 0o644)
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", root)))
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(f.dir, "r")
	unlock, err := lockRestoreDir(to) // the first restore, still running
	if err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(to, partialPrefix+"alpha")
	os.MkdirAll(partial, 0o755)
	os.WriteFile(filepath.Join(partial, "being-written"), nil, 0o644)
	_, err = Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to, Force: true})
	if err == nil || !strings.Contains(err.Error(), "another restore (pid ") || !strings.Contains(err.Error(), "is writing into it") {
		t.Fatalf("second restore: %v", err)
	}
	if _, err := os.Stat(filepath.Join(partial, "being-written")); err != nil {
		t.Fatalf("the second restore touched the first one's partial folder: %v", err)
	}
	unlock()
	if _, err := os.Stat(filepath.Join(to, restoreLockName)); !os.IsNotExist(err) {
		t.Fatalf("lock file left after the restore: %v", err)
	}
	// A killed restore's lock file (unlocked) and partial folder.
	os.WriteFile(filepath.Join(to, restoreLockName), []byte("pid 1"), 0o600)
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to}); err != nil {
		t.Fatalf("restore after a killed one: %v", err)
	}
	if b, err := os.ReadFile(filepath.Join(to, "alpha", "a", "f")); err != nil || string(b) != "data" {
		entries, _ := os.ReadDir(filepath.Join(to, "alpha"))
		t.Fatalf("restored file: %q, %v (alpha holds %v)", b, err, entries)
	}
	var names []string
	ents, _ := os.ReadDir(to)
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if strings.Join(names, " ") != restoredFromName+" alpha" {
		t.Fatalf("restore folder holds %v, want only the item and the record of its set", names)
	}
}

// A link planted where the restore lock goes is never followed: the
// restore refuses, naming it, and the file it points to keeps its bytes
// (the lock was opened through the link, emptied and given the pid).
func TestRestoreLockDoesNotFollowLinks(t *testing.T) {
	f := newFixture(t)
	root := f.tree(t, "a", map[string]string{"f": "data"})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", root)))
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(f.dir, "victim")
	os.WriteFile(victim, []byte("precious data"), 0o644)
	to := filepath.Join(f.dir, "r")
	os.MkdirAll(to, 0o755)
	lock := filepath.Join(to, restoreLockName)
	if err := os.Symlink(victim, lock); err != nil {
		t.Skipf("cannot make a symlink here: %v", err)
	}
	if fi, err := os.Lstat(lock); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		// Wine 8's CreateSymbolicLinkW returns success and makes nothing.
		t.Skipf("os.Symlink made no link here: %v", err)
	}
	_, err = Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to})
	if b, _ := os.ReadFile(victim); string(b) != "precious data" {
		t.Fatalf("the file the planted link points to now holds %q", b)
	}
	if err == nil || !strings.Contains(err.Error(), lock+" is not a plain file") || !strings.Contains(err.Error(), "remove it") {
		t.Fatalf("restore: %v", err)
	}
	if fi, err := os.Lstat(lock); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the planted link was touched: %v", err)
	}
	// The open itself refuses a link, whatever a check before it saw.
	if _, err := openLockFile(lock); err == nil || !strings.Contains(err.Error(), "not a plain file") {
		t.Fatalf("openLockFile through a link: %v", err)
	}
	if b, _ := os.ReadFile(victim); string(b) != "precious data" {
		t.Fatalf("openLockFile wrote through the link: %q", b)
	}
}

// A restore started while another writes into the folder names the
// running one, also when an item folder holds files (it had said "use
// --force" instead: the folder's contents were checked before the lock).
func TestRestoreFolderLockedBeforeItsCheck(t *testing.T) {
	f := newFixture(t)
	root := f.tree(t, "a", map[string]string{"f": "data"})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", root)))
	if err != nil {
		t.Fatal(err)
	}
	to := filepath.Join(f.dir, "r")
	unlock, err := lockRestoreDir(to) // the first restore, writing alpha
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	os.MkdirAll(filepath.Join(to, "alpha"), 0o755)
	os.WriteFile(filepath.Join(to, "alpha", "being-written"), nil, 0o644)
	_, err = Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to})
	if err == nil || !strings.Contains(err.Error(), "another restore (pid ") {
		t.Fatalf("second restore: %v", err)
	}
}
