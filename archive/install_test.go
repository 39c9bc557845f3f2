package archive

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func writeFiles(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(root, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func readFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(root, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return out
}

func TestInstallFresh(t *testing.T) {
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFiles(t, src, map[string]string{"a": "1", "d/b": "2"})
	if err := Install(src, dst); err != nil {
		t.Fatal(err)
	}
	if got := readFiles(t, dst); len(got) != 2 || got["d/b"] != "2" {
		t.Fatalf("dst %v", got)
	}
	if _, err := os.Stat(src); err == nil {
		t.Error("src left behind")
	}
}

// TestInstallMerge: files replace files, links are replaced (not
// followed), what dst holds beside them stays, and merged folders get the
// restored mode and time.
func TestInstallMerge(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	dir := t.TempDir()
	src, dst, outside := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "outside")
	writeFiles(t, src, map[string]string{"a": "new a", "d/b": "new b", "d/e/c": "new c", "l": "file over link"})
	writeFiles(t, dst, map[string]string{"a": "old a", "d/b": "old b", "d/mine": "mine"})
	writeFiles(t, outside, map[string]string{"o": "outside"})
	os.Symlink(filepath.Join(outside, "o"), filepath.Join(dst, "l"))
	mt := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	os.Chmod(filepath.Join(src, "d"), 0o555)
	os.Chtimes(filepath.Join(src, "d"), mt, mt)
	defer os.Chmod(filepath.Join(dst, "d"), 0o755)
	if err := Install(src, dst); err != nil {
		t.Fatal(err)
	}
	got := readFiles(t, dst)
	want := map[string]string{"a": "new a", "d/b": "new b", "d/e/c": "new c", "d/mine": "mine", "l": "file over link"}
	if len(got) != len(want) {
		t.Fatalf("dst %v", got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(outside, "o")); string(b) != "outside" {
		t.Errorf("wrote through the link: %q", b)
	}
	fi, _ := os.Stat(filepath.Join(dst, "d"))
	if fi.Mode().Perm() != 0o555 || !fi.ModTime().Equal(mt) {
		t.Errorf("merged folder: %v %v", fi.Mode(), fi.ModTime())
	}
}

// TestInstallConflictsChangeNothing: a link or a file where the restore
// needs a folder, at any depth, or a folder where it has a file, is
// refused before anything moved.
func TestInstallConflictsChangeNothing(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	for _, c := range []struct {
		name  string
		plant func(dst, outside string)
		want  string
	}{
		{"dst is a link", func(dst, outside string) { os.RemoveAll(dst); os.Symlink(outside, dst) }, "symlink"},
		{"deep folder is a link", func(dst, outside string) {
			os.RemoveAll(filepath.Join(dst, "z", "deep"))
			os.Symlink(outside, filepath.Join(dst, "z", "deep"))
		}, "symlink"},
		{"deep folder is a file", func(dst, outside string) {
			os.RemoveAll(filepath.Join(dst, "z", "deep"))
			os.WriteFile(filepath.Join(dst, "z", "deep"), []byte("f"), 0o644)
		}, "file"},
		{"folder where a file goes", func(dst, outside string) {
			os.Remove(filepath.Join(dst, "z", "f"))
			os.Mkdir(filepath.Join(dst, "z", "f"), 0o755)
		}, "folder is in the way"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			src, dst, outside := filepath.Join(dir, "src"), filepath.Join(dir, "dst"), filepath.Join(dir, "outside")
			os.MkdirAll(outside, 0o755)
			// "a" sorts (and moves) before the conflict in "z".
			files := map[string]string{"a": "new", "z/f": "new", "z/deep/x": "new"}
			writeFiles(t, src, files)
			writeFiles(t, dst, map[string]string{"a": "old", "z/f": "old", "z/deep/x": "old"})
			c.plant(dst, outside)
			before := readFiles(t, dst)
			err := Install(src, dst)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want %q", err, c.want)
			}
			if ie, ok := err.(*InstallError); !ok || ie.Moved {
				t.Errorf("error %#v: want an InstallError with nothing moved", err)
			}
			after := readFiles(t, dst)
			if len(after) != len(before) {
				t.Fatalf("dst changed: %v, was %v", after, before)
			}
			for k, v := range before {
				if after[k] != v {
					t.Fatalf("%s changed to %q", k, after[k])
				}
			}
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("wrote outside: %v", ents)
			}
			if got := readFiles(t, src); len(got) != len(files) {
				t.Errorf("src lost files: %v", got)
			}
		})
	}
}

// A restore with --force over an earlier one replaces files that it made
// read-only (a read-only file comes back read-only): on Windows a file
// with the read-only attribute cannot be replaced by a rename, so a second
// restore had stopped half-way ("Access is denied").
func TestInstallOverReadOnlyFiles(t *testing.T) {
	// Windows refuses to rename onto a read-only file ("Access is
	// denied"; go-git/go-billy#186, swiftlang/swift-foundation#2007);
	// Linux and Wine allow it, so the refusal is put in here.
	defer func(r func(string, string) error) { rename = r }(rename)
	rename = func(from, to string) error {
		if fi, err := os.Lstat(to); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o200 == 0 {
			return &os.LinkError{Op: "rename", Old: from, New: to, Err: os.ErrPermission}
		}
		return os.Rename(from, to)
	}
	dir := t.TempDir()
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	writeFiles(t, dst, map[string]string{"a/ro.txt": "old", "a/rw.txt": "old", "b.txt": "old"})
	for _, f := range []string{"a/ro.txt", "b.txt"} {
		if err := os.Chmod(filepath.Join(dst, filepath.FromSlash(f)), 0o444); err != nil {
			t.Fatal(err)
		}
	}
	writeFiles(t, src, map[string]string{"a/ro.txt": "new", "a/rw.txt": "new", "b.txt": "new"})
	os.Chmod(filepath.Join(src, "b.txt"), 0o444) // read-only in the new restore too
	if err := Install(src, dst); err != nil {
		t.Fatalf("install over read-only files: %v", err)
	}
	got := readFiles(t, dst)
	for _, f := range []string{"a/ro.txt", "a/rw.txt", "b.txt"} {
		if got[f] != "new" {
			t.Errorf("%s = %q, want new", f, got[f])
		}
	}
	if fi, err := os.Stat(filepath.Join(dst, "b.txt")); err != nil || fi.Mode().Perm()&0o200 != 0 {
		t.Errorf("b.txt restored read-only is now %v (%v), want read-only", fi.Mode(), err)
	}
}
