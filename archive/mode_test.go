//go:build !windows

package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
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
