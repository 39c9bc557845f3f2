package archive

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestWalkNetPathDown: a file store's share whose server goes away during
// the walk (ERROR_BAD_NETPATH, which Go counts as not existing) does not
// make its files "vanished before it was read", left out as deleted with
// the item complete: the item fails saying the server cannot be reached
// (a warning in those words for a tolerant one). A file not found is
// still one that vanished.
func TestWalkNetPathDown(t *testing.T) {
	t.Cleanup(func() { lstatEntry, openWalked = os.Lstat, openEntry })
	src := t.TempDir()
	for _, n := range []string{"a.txt", "b.txt"} {
		if err := os.WriteFile(filepath.Join(src, n), []byte("meeting "+n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	away := func(code windows.Errno, name string) func(string) error {
		return func(p string) error {
			if filepath.Base(p) == name {
				return &fs.PathError{Op: "open", Path: p, Err: code}
			}
			return nil
		}
	}
	const said = "its server cannot be reached (the network path was not found"
	for _, c := range []struct {
		what string
		set  func(func(string) error)
	}{
		{"listed, then looked at", func(fail func(string) error) {
			lstatEntry = func(p string) (fs.FileInfo, error) {
				if err := fail(p); err != nil {
					return nil, err
				}
				return os.Lstat(p)
			}
		}},
		{"looked at, then opened", func(fail func(string) error) {
			openWalked = func(p string) (*os.File, error) {
				if err := fail(p); err != nil {
					return nil, err
				}
				return openEntry(p)
			}
		}},
	} {
		lstatEntry, openWalked = os.Lstat, openEntry
		c.set(away(windows.ERROR_BAD_NETPATH, "b.txt"))
		st, err := Write(context.Background(), io.Discard, []Root{{Path: src, Name: "t"}}, Options{TempDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "b.txt: "+said) || strings.Contains(strings.Join(st.Warnings, "\n"), "vanished") {
			t.Errorf("%s, server away: %v; warnings %q", c.what, err, st.Warnings)
		}
		st, err = Write(context.Background(), io.Discard, []Root{{Path: src, Name: "t"}}, Options{Tolerant: true, TempDir: t.TempDir()})
		if err != nil || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "b.txt") || !strings.Contains(st.Warnings[0], said) {
			t.Errorf("%s, server away, tolerant: %v; warnings %q", c.what, err, st.Warnings)
		}
		c.set(away(windows.ERROR_FILE_NOT_FOUND, "b.txt"))
		st, err = Write(context.Background(), io.Discard, []Root{{Path: src, Name: "t"}}, Options{TempDir: t.TempDir()})
		if err != nil || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "vanished before it was read") {
			t.Errorf("%s, not found: %v; warnings %q", c.what, err, st.Warnings)
		}
	}
}
