//go:build windows

package archive

import (
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// junction makes link a junction to target with cmd's mklink (no privilege
// needed, unlike a symbolic link), or skips: Wine makes none.
func junction(t *testing.T, link, target string) {
	t.Helper()
	out, err := exec.Command("cmd", "/c", "mklink", "/J", link, target).CombinedOutput()
	if err != nil {
		t.Skipf("no junction here (mklink /J: %v %s)", err, out)
	}
	if fi, err := os.Lstat(link); err != nil || fi.IsDir() {
		os.RemoveAll(link)
		t.Skipf("mklink /J made no junction here (%v)", err)
	}
}

// A folder that became a junction between the walk's look and its listing:
// the listing was by path, so the junction's target's files were packed
// under the folder's name. (Runs on Windows; Wine makes no junctions.)
func TestWriteFolderTurnsIntoJunction(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	secret := filepath.Join(base, "elsewhere")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "a.txt"), []byte("mine"), 0o644)
	os.MkdirAll(secret, 0o755)
	os.WriteFile(filepath.Join(secret, "secret.txt"), []byte("NOT PART OF THE TREE"), 0o600)
	probe := filepath.Join(base, "probe")
	junction(t, probe, secret)
	os.Remove(probe)
	skip := func(name string, fi fs.FileInfo) bool {
		if name == "tree/sub" && fi.IsDir() {
			// After the walk's look, before its listing.
			if err := os.RemoveAll(filepath.Join(src, "sub")); err != nil {
				t.Error(err)
			}
			if out, err := exec.Command("cmd", "/c", "mklink", "/J", filepath.Join(src, "sub"), secret).CombinedOutput(); err != nil {
				t.Errorf("mklink /J: %v %s", err, out)
			}
		}
		return false
	}
	names, warnings := packedNames(t, []Root{{Path: src, Name: "tree"}}, skip)
	for _, n := range names {
		if strings.Contains(n, "secret") {
			t.Errorf("packed %s from outside the tree, through a folder that became a junction", n)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "replaced while being backed up") {
		t.Errorf("warnings %q", warnings)
	}
}

// A root the user named as a junction is followed (a path ending in a
// separator is), and a junction below it is not entered.
func TestWriteJunctionRootFollowed(t *testing.T) {
	base := t.TempDir()
	real := filepath.Join(base, "real")
	other := filepath.Join(base, "other")
	os.MkdirAll(real, 0o755)
	os.MkdirAll(other, 0o755)
	os.WriteFile(filepath.Join(real, "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(other, "b.txt"), []byte("b"), 0o644)
	link := filepath.Join(base, "LyncShare")
	junction(t, link, real)
	junction(t, filepath.Join(real, "inner"), other)
	names, warnings := packedNames(t, []Root{{Path: link, Name: "share"}}, nil)
	got := strings.Join(names, " ")
	if !strings.Contains(got, "share/a.txt") {
		t.Errorf("the junction root was not followed: %s (warnings %q)", got, warnings)
	}
	if strings.Contains(got, "b.txt") {
		t.Errorf("a junction below the root was entered: %s", got)
	}
}

// A folder replaced by a file between the look and the listing is not
// listed (its open through the handle finds no folder), and the rest of
// the tree is packed; a root path ending in a separator lists as itself.
func TestWriteFolderTurnsIntoFile(t *testing.T) {
	src := t.TempDir()
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "a.txt"), []byte("a"), 0o644)
	os.WriteFile(filepath.Join(src, "z.txt"), []byte("z"), 0o644)
	skip := func(name string, fi fs.FileInfo) bool {
		if name == "tree/sub" && fi.IsDir() {
			os.RemoveAll(filepath.Join(src, "sub"))
			os.WriteFile(filepath.Join(src, "sub"), []byte("now a file"), 0o644)
		}
		return false
	}
	names, warnings := packedNames(t, []Root{{Path: src + `\`, Name: "tree"}}, skip)
	got := strings.Join(names, " ")
	if !strings.Contains(got, "tree/z.txt") || strings.Contains(got, "a.txt") {
		t.Errorf("packed %s", got)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "replaced while being backed up") {
		t.Errorf("warnings %q", warnings)
	}
}
