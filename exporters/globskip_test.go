package exporters

import (
	"runtime"
	"testing"
)

// TestGlobSkipCase: exclude globs match case-insensitively on Windows
// (`*.tmp` skips X.TMP, `Logs\*` is a folder pattern) and exactly on Linux.
func TestGlobSkipCase(t *testing.T) {
	pats := []string{"*.tmp", `Logs\*`, "cache/*"}
	for _, c := range []struct {
		name       string
		win, linux bool
	}{
		{"root/X.TMP", true, false},
		{"root/x.tmp", true, true},
		{"logs/a.txt", true, false},
		{"LOGS/a.txt", true, false},
		{"Cache/b", true, false},
		{"cache/b", true, true},
		{"cache/b/c", false, false}, // * stays within one folder on both
		{"root/keep.txt", false, false},
	} {
		if got := globSkip(pats, true)(c.name, nil); got != c.win {
			t.Errorf("windows: %s skipped=%v, want %v", c.name, got, c.win)
		}
		if got := globSkip(pats, false)(c.name, nil); got != c.linux {
			t.Errorf("linux: %s skipped=%v, want %v", c.name, got, c.linux)
		}
	}
	// The exported function picks the rule of the system it runs on; the
	// Windows lane runs this under Wine.
	want := runtime.GOOS == "windows"
	if got := GlobSkip([]string{"*.tmp"})("root/X.TMP", nil); got != want {
		t.Errorf("GOOS %s: *.tmp skips X.TMP = %v", runtime.GOOS, got)
	}
}
