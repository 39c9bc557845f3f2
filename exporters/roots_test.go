package exporters

import (
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
