//go:build unix

package archive

import (
	"bytes"
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// An entry replaced between the walk's look (Lstat) and its open is never
// read through what was put there. The Skip hook runs in between.

// A folder that became a link: its target's files were packed under the
// folder's name.
func TestWriteFolderTurnsIntoLink(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	secret := filepath.Join(base, "elsewhere")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "a.txt"), []byte("mine"), 0o644)
	os.MkdirAll(secret, 0o755)
	os.WriteFile(filepath.Join(secret, "secret.txt"), []byte("NOT PART OF THE TREE"), 0o600)
	skip := func(name string, fi fs.FileInfo) bool {
		if name == "tree/sub" && fi.IsDir() {
			os.RemoveAll(filepath.Join(src, "sub"))
			os.Symlink(secret, filepath.Join(src, "sub"))
		}
		return false
	}
	names, warnings := packedNames(t, []Root{{Path: src, Name: "tree"}}, skip)
	for _, n := range names {
		if strings.Contains(n, "secret") {
			t.Errorf("packed %s from outside the tree, through a folder that became a link", n)
		}
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], "replaced while being backed up") {
		t.Errorf("warnings %q", warnings)
	}
}

// A file that became a link to a file outside the tree.
func TestWriteFileTurnsIntoLink(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("mine-mine-mine-mine"), 0o644)
	os.WriteFile(filepath.Join(base, "secret.txt"), []byte("SECRET-SECRET-SECRET"), 0o600)
	skip := func(name string, fi fs.FileInfo) bool {
		if name == "tree/a.txt" {
			os.Remove(filepath.Join(src, "a.txt"))
			os.Symlink(filepath.Join(base, "secret.txt"), filepath.Join(src, "a.txt"))
		}
		return false
	}
	var buf bytes.Buffer
	st, err := Write(context.Background(), &buf, []Root{{Path: src, Name: "tree"}}, Options{Skip: skip, Tolerant: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(buf.Bytes(), []byte("SECRET")) {
		t.Errorf("packed the link's target as tree/a.txt")
	}
	if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "a.txt: not backed up: replaced while being backed up") {
		t.Errorf("warnings %q", st.Warnings)
	}
}

// A file that became a FIFO: the open blocked, and the run could not end,
// even when its context was cancelled.
func TestWriteFileTurnsIntoFIFO(t *testing.T) {
	base := t.TempDir()
	src := filepath.Join(base, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("data"), 0o644)
	skip := func(name string, fi fs.FileInfo) bool {
		if name == "tree/a.txt" {
			os.Remove(filepath.Join(src, "a.txt"))
			syscall.Mkfifo(filepath.Join(src, "a.txt"), 0o644)
		}
		return false
	}
	done := make(chan error, 1)
	go func() {
		_, err := Write(context.Background(), io.Discard, []Root{{Path: src, Name: "tree"}}, Options{Skip: skip, Tolerant: true, TempDir: t.TempDir()})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(10 * time.Second):
		if f, err := os.OpenFile(filepath.Join(src, "a.txt"), os.O_WRONLY, 0); err == nil {
			f.Close() // let the blocked open go
		}
		<-done
		t.Fatal("Write blocked opening a FIFO that replaced a file")
	}
}
