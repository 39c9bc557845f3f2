package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestNameMapWindows: the renaming rules, checked on every system.
func TestNameMapWindows(t *testing.T) {
	m := newNameMap(true)
	for _, c := range []struct {
		name string
		dir  bool
		want string
		why  string // a word the reason must hold; "" = unchanged
	}{
		{"CON", false, "_CON", "reserves"},
		{"nul.txt", false, "_nul.txt", "NUL"},
		{"Com1.log", false, "_Com1.log", "COM1"},
		{"LPT9", false, "_LPT9", "LPT9"},
		{"aux .txt", false, "_aux .txt", "AUX"},
		{"COM0", false, "COM0", ""},
		{"console", false, "console", ""},
		{"CONIN$", false, "_CONIN$", "reserves"},
		{"notes.", false, "notes_", "trailing"},
		{"spaced ", false, "spaced_", "trailing"},
		{"README", false, "README", ""},
		{"readme", false, "readme~2", "case"},
		{"ReadMe", false, "ReadMe~3", "case"},
		{"Data.TXT", false, "Data.TXT", ""},
		{"data.txt", false, "data~2.txt", "case"},
		{"σ.txt", false, "σ.txt", ""},
		{"ς.txt", false, "ς~2.txt", "case"}, // both Σ to NTFS
		{"µ", false, "µ", ""},
		{"μ", false, "μ~2", "case"}, // micro sign and mu: both Μ
		{"prn", true, "_prn", "PRN"},
		{"prn/x", false, "_prn/x", ""}, // follows its folder, reported once
		{"prn", true, "_prn", ""},      // the folder again: same name, no second warning
		{"Dir", true, "Dir", ""},
		{"dir/f", false, "dir~2/f", "case"}, // implied folder clashing with Dir
		{"Dir/f", false, "Dir/f", ""},
		{"x/y./z", false, "x/y_/z", "trailing"},
	} {
		got, why := m.Map(c.name, c.dir)
		if got != c.want || (c.why == "") != (why == "") || !strings.Contains(why, c.why) {
			t.Errorf("Map(%q) = %q, %q; want %q with %q", c.name, got, why, c.want, c.why)
		}
	}
	// Off Windows nothing changes.
	if got, why := newNameMap(false).Map("CON", false); got != "CON" || why != "" {
		t.Errorf("unix: %q %q", got, why)
	}
}

// TestExtractWindowsNames restores names Windows cannot hold as they are:
// on Windows every file comes back (renamed, with a warning naming it) with
// its bytes; nothing goes to a device or over another file. On Unix the
// names are kept.
func TestExtractWindowsNames(t *testing.T) {
	es := withIndex(
		reg("t/CON", "con"), reg("t/nul.txt", "nul"), reg("t/COM1", "com1"), reg("t/LPT1.log", "lpt1"), reg("t/AUX", "aux"),
		reg("t/dot.", "dot"), reg("t/space ", "space"), reg("t/A", "upper"), reg("t/a", "lower"),
		dir("t/Sub"), reg("t/Sub/x", "x1"), dir("t/sub"), reg("t/sub/x", "x2"),
	)
	for _, force := range []bool{false, true} {
		to := t.TempDir()
		st, err := Extract(context.Background(), bytes.NewReader(craft(t, es)), ExtractOptions{Dir: to, Force: force})
		if err != nil {
			t.Fatalf("force=%v: %v", force, err)
		}
		want := map[string]string{"t/CON": "con", "t/nul.txt": "nul", "t/COM1": "com1", "t/LPT1.log": "lpt1", "t/AUX": "aux",
			"t/dot.": "dot", "t/space ": "space", "t/A": "upper", "t/a": "lower", "t/Sub/x": "x1", "t/sub/x": "x2"}
		if runtime.GOOS == "windows" {
			want = map[string]string{"t/_CON": "con", "t/_nul.txt": "nul", "t/_COM1": "com1", "t/_LPT1.log": "lpt1", "t/_AUX": "aux",
				"t/dot_": "dot", "t/space_": "space", "t/A": "upper", "t/a~2": "lower", "t/Sub/x": "x1", "t/sub~2/x": "x2"}
			warn := strings.Join(st.Warnings, "\n")
			for _, n := range []string{"t/CON restored as t/_CON", "t/nul.txt restored as t/_nul.txt", "t/dot. restored as t/dot_", "t/a restored as t/a~2", "t/sub restored as t/sub~2"} {
				if !strings.Contains(warn, n) {
					t.Errorf("force=%v: no warning %q in:\n%s", force, n, warn)
				}
			}
		}
		for name, body := range want {
			b, err := os.ReadFile(filepath.Join(to, filepath.FromSlash(name)))
			if err != nil || string(b) != body {
				t.Errorf("force=%v: %s = %q, %v; want %q", force, name, b, err, body)
			}
		}
		var files int
		filepath.WalkDir(to, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				files++
			}
			return nil
		})
		if files != len(want) {
			t.Errorf("force=%v: %d files on disk, want %d", force, files, len(want))
		}
	}
}
