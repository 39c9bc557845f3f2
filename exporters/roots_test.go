package exporters

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Root names are unique without case, also against the names made unique
// before them: x, x, x-2 had given x, x-2, x-2 (a backup that failed on
// the duplicate), and Data, data two folders that Windows restores as one.
func TestRootsForUniqueNames(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for _, p := range []string{"a/x", "b/x", "c/x-2", "d/X", "e/Data", "f/data"} {
		full := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(full, 0o755); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, full)
	}
	roots, err := RootsFor(paths)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range roots {
		names = append(names, r.Name)
	}
	got := strings.Join(names, " ")
	if want := "x x-2 x-2-2 X-3 Data data-2"; got != want {
		t.Fatalf("root names %q, want %q", got, want)
	}
}

// Split or not, the backup's own folders inside a path are left out, and
// named once.
func TestPathExporterAvoids(t *testing.T) {
	dir := t.TempDir()
	for _, d := range []string{"share/meetings/a", "share/staging/run", "share/meetings/dest/x"} {
		os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755)
	}
	share := filepath.Join(dir, "share")
	env := Env{Avoid: []string{filepath.Join(share, "staging"), filepath.Join(share, "staging", "run"), filepath.Join(share, "meetings", "dest"), filepath.Join(dir, "elsewhere")}}
	for _, split := range []bool{false, true} {
		items, err := NewPath("fs", share).Split(split).Export(context.Background(), env)
		if err != nil {
			t.Fatal(err)
		}
		var names, warnings []string
		for _, it := range items {
			names = append(names, it.Name)
			warnings = append(warnings, it.Warnings...)
			if it.Skip == nil {
				t.Fatalf("split %v: item %s leaves nothing out", split, it.Name)
			}
			for _, n := range []string{"share/staging", "share/meetings/dest"} {
				if !it.Skip(n, dirInfo{}) {
					t.Errorf("split %v: item %s packs %s", split, it.Name, n)
				}
			}
			if it.Skip("share/meetings/a", dirInfo{}) || it.Skip("share/meetings/dest.txt", dirInfo{}) {
				t.Errorf("split %v: item %s leaves out more than the backup's folders", split, it.Name)
			}
		}
		if split && strings.Join(names, " ") != "fs-meetings" {
			t.Errorf("split items %q, want fs-meetings alone (staging left out)", names)
		}
		if len(warnings) != 2 {
			t.Errorf("split %v: warnings %q, want one per folder left out (staging, dest)", split, warnings)
		}
	}
}

type dirInfo struct{ fs.FileInfo }

func (dirInfo) IsDir() bool { return true }
