//go:build !windows

package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// A read-only folder comes back read-only (after its children were written).
func TestExtractKeepsReadOnlyFolderMode(t *testing.T) {
	src := t.TempDir()
	ro := filepath.Join(src, "ro")
	if err := os.Mkdir(ro, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(ro, "f.txt"), []byte("x"), 0o444); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(ro, 0o555); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(ro, 0o755) })
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, []Root{{Path: src, Name: "t"}}, Options{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if _, err := Extract(context.Background(), &buf, ExtractOptions{Dir: dst}); err != nil {
		t.Fatal(err)
	}
	got := filepath.Join(dst, "t", "ro")
	t.Cleanup(func() { os.Chmod(got, 0o755) })
	fi, err := os.Stat(got)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o555 {
		t.Fatalf("restored folder mode = %v, want 0555", fi.Mode().Perm())
	}
	if b, err := os.ReadFile(filepath.Join(got, "f.txt")); err != nil || string(b) != "x" {
		t.Fatalf("file in read-only folder: %q, %v", b, err)
	}
}

// A restore with Include makes the folders above the chosen entries with
// their archived modes and times (they were 0755 and dated now), reports
// them as Parents, and Install leaves an existing folder of dst as it was
// for them: restore --force --include changed the mode and time of
// folders it did not choose.
func TestIncludeParentsKeepModes(t *testing.T) {
	src := t.TempDir()
	priv := filepath.Join(src, "private")
	os.MkdirAll(filepath.Join(priv, "sub"), 0o755)
	os.WriteFile(filepath.Join(priv, "sub", "key.txt"), []byte("new"), 0o600)
	os.WriteFile(filepath.Join(priv, "other.txt"), []byte("other"), 0o600)
	archived := time.Date(2021, 5, 6, 7, 8, 9, 0, time.UTC)
	os.Chmod(filepath.Join(priv, "sub"), 0o750)
	os.Chmod(priv, 0o700)
	for _, d := range []string{filepath.Join(priv, "sub"), priv} {
		os.Chtimes(d, archived, archived)
	}
	var buf bytes.Buffer
	if _, err := Write(context.Background(), &buf, []Root{{Path: src, Name: "t"}}, Options{TempDir: t.TempDir()}); err != nil {
		t.Fatal(err)
	}
	partial := filepath.Join(t.TempDir(), "partial")
	st, err := Extract(context.Background(), bytes.NewReader(buf.Bytes()), ExtractOptions{Dir: partial, Include: func(n string) bool { return n == "t/private/sub/key.txt" }})
	if err != nil {
		t.Fatal(err)
	}
	for d, mode := range map[string]os.FileMode{"t/private": 0o700, "t/private/sub": 0o750} {
		fi, err := os.Stat(filepath.Join(partial, d))
		if err != nil || fi.Mode().Perm() != mode || !fi.ModTime().Equal(archived) {
			t.Errorf("%s made as %v, %v (%v); archived %v, %v", d, fi.Mode().Perm(), fi.ModTime(), err, mode, archived)
		}
	}
	if want := []string{"t/private/sub", "t/private", "t"}; !slices.Equal(st.Parents, want) {
		t.Errorf("Parents %v, want %v", st.Parents, want)
	}

	// Over an earlier restore whose folders have other modes and times.
	dst := filepath.Join(t.TempDir(), "item")
	dpriv := filepath.Join(dst, "t", "private")
	os.MkdirAll(filepath.Join(dpriv, "sub"), 0o755)
	os.WriteFile(filepath.Join(dpriv, "sub", "key.txt"), []byte("old"), 0o600)
	mine := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, d := range []string{filepath.Join(dpriv, "sub"), dpriv} {
		os.Chmod(d, 0o711)
		os.Chtimes(d, mine, mine)
	}
	if err := Install(partial, dst, st.Parents...); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dpriv, "sub", "key.txt")); string(b) != "new" {
		t.Errorf("key.txt holds %q", b)
	}
	for _, d := range []string{filepath.Join(dpriv, "sub"), dpriv} {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm() != 0o711 || !fi.ModTime().Equal(mine) {
			t.Errorf("%s now %v, %v (%v); was 0711, %v", d, fi.Mode().Perm(), fi.ModTime(), err, mine)
		}
	}
}
