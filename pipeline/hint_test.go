package pipeline

import (
	"strings"
	"testing"
	"unicode"
)

// The hint after a restore that put some items in place names those in
// place and the flags for the rest: --item for each; after a --force
// restore --force too (the failed item's folder may hold files, and the
// hint without it was refused); after an --include restore every pattern,
// quoted for the shell (without them the hint restored the rest whole).
// An item of which --include chose nothing is neither in place nor to do.
func TestFinishHint(t *testing.T) {
	reports := []ItemReport{
		{Name: "alpha", OK: true, InPlace: true},
		{Name: "bravo", Error: "damaged"},
		{Name: "charlie", OK: true}, // --include chose nothing of it
	}
	for _, c := range []struct {
		goos     string
		includes []string
		force    bool
		want     string
	}{
		{"linux", nil, false, "; in place: alpha; the rest: restore again with --item bravo"},
		{"linux", nil, true, "; in place: alpha; the rest: restore again with --item bravo --force"},
		{"linux", []string{"*/meetings/*.pptx", "it's here", "a/b"}, true,
			`; in place: alpha; the rest: restore again with --item bravo --include '*/meetings/*.pptx' --include 'it'\''s here' --include a/b --force`},
		{"windows", []string{"*/meetings/*.pptx", "100% $x"}, false,
			`; in place: alpha; the rest: restore again in PowerShell with --item bravo --include "*/meetings/*.pptx" --include '100% $x'`},
		{"windows", []string{"*/meetings/*.pptx", `D:\Lync Restore\`}, false,
			`; in place: alpha; the rest: restore again with --item bravo --include "*/meetings/*.pptx" --include "D:\Lync Restore\\"`},
	} {
		if got := finishHint(c.goos, reports, c.includes, c.force, "", ""); got != c.want {
			t.Errorf("%s %q force %v:\n got %s\nwant %s", c.goos, c.includes, c.force, got, c.want)
		}
	}
	if got := finishHint("linux", reports[1:], []string{"x"}, true, "", ""); got != "" {
		t.Errorf("nothing in place: %q, want no hint", got)
	}
}

// TestFinishHintWindowsTypographicQuotes: the Windows hint put a pattern
// holding typographic double quotes between ASCII double quotes;
// PowerShell closes the string at the first “ (IsDoubleQuote), so the
// pasted --include lost its quotes and matched nothing. It goes in
// PowerShell's single quotes, which cmd passes on as part of the value:
// the hint says it is for PowerShell.
func TestFinishHintWindowsTypographicQuotes(t *testing.T) {
	reps := []ItemReport{{Name: "filestore-fs01", InPlace: true}, {Name: "userdata-pool01"}}
	h := finishHint("windows", reps, []string{"filestore-fs01/Meetings/Budget “Final”.pptx"}, false, "", "")
	if want := "; in place: filestore-fs01; the rest: restore again in PowerShell with --item userdata-pool01 --include 'filestore-fs01/Meetings/Budget “Final”.pptx'"; h != want {
		t.Errorf("hint:\n got %s\nwant %s", h, want)
	}
}

// TestFinishHintWindowsNoCommandToPaste: a pattern holding '"' reaches
// the program without it from Windows PowerShell 5.1 whatever the form
// (shellquote.For), so the Windows hint says the flags in words and why,
// instead of a command that restores other files.
func TestFinishHintWindowsNoCommandToPaste(t *testing.T) {
	reps := []ItemReport{{Name: "alpha", InPlace: true}, {Name: "bravo"}, {Name: "charlie"}}
	h := finishHint("windows", reps, []string{"*.pptx", `say "hi".txt`}, true, "", "")
	want := `; in place: alpha; the rest: bravo, charlie: restore again with --item for each, --include for each pattern given, --force (no command to paste: --include's value 'say "hi".txt' holds a double quote ("), which Windows PowerShell 5.1 passes unescaped and the program then drops)`
	if h != want {
		t.Errorf("hint:\n got %s\nwant %s", h, want)
	}
	if h := finishHint("linux", reps, []string{`say "hi".txt`}, false, "", ""); h != `; in place: alpha; the rest: restore again with --item bravo --item charlie --include 'say "hi".txt'` {
		t.Errorf("linux hint: %s", h)
	}
}

// TestFinishHintControlCharacters: a pattern holding a control character
// was printed in the hint as it is, in single quotes: the terminal acted
// on it (a line break split the command, ESC began a terminal sequence).
// No shell's form carries it to paste (shellquote.For), so the hint says
// the flags in words and names the pattern escaped, on every system.
func TestFinishHintControlCharacters(t *testing.T) {
	reps := []ItemReport{{Name: "alpha", InPlace: true}, {Name: "bravo"}}
	for _, goos := range []string{"linux", "windows"} {
		h := finishHint(goos, reps, []string{"*.pptx", "a\nb\x1b[2J"}, false, "", "")
		want := `; in place: alpha; the rest: bravo: restore again with --item for each, --include for each pattern given (no command to paste: --include's value "a\nb\x1b[2J" holds a control character (U+000A)`
		if !strings.HasPrefix(h, want) {
			t.Errorf("%s hint:\n got %q\nwant %q…", goos, h, want)
		}
		if strings.IndexFunc(h, unicode.IsControl) >= 0 {
			t.Errorf("%s: the hint holds a control character: %q", goos, h)
		}
	}
}

// TestFinishHintBidiOverride: a pattern holding U+202E (RIGHT-TO-LEFT
// OVERRIDE) was printed in the hint's command as it is, in single quotes:
// the terminal showed the rest of the line reversed, so the command
// pasted was not the one read. The hint says the flags in words and names
// the pattern escaped, on every system.
func TestFinishHintBidiOverride(t *testing.T) {
	reps := []ItemReport{{Name: "alpha", InPlace: true}, {Name: "bravo"}}
	for _, goos := range []string{"linux", "windows"} {
		h := finishHint(goos, reps, []string{"*/keep/*", "x\u202ecod.exe"}, false, "", "")
		want := `; in place: alpha; the rest: bravo: restore again with --item for each, --include for each pattern given (no command to paste: --include's value "x\u202ecod.exe" holds an invisible format character (U+202E)`
		if !strings.HasPrefix(h, want) {
			t.Errorf("%s hint:\n got %+q\nwant %+q…", goos, h, want)
		}
		if strings.ContainsRune(h, '\u202e') {
			t.Errorf("%s: the hint holds U+202E: %+q", goos, h)
		}
		// A pattern ending in a Hangul filler, which prints as blank.
		h = finishHint(goos, reps, []string{"*.bak\u3164"}, false, "", "")
		want = `; in place: alpha; the rest: bravo: restore again with --item for each, --include for each pattern given (no command to paste: --include's value "*.bak\u3164" holds a character that prints as blank space (U+3164)`
		if !strings.HasPrefix(h, want) || strings.ContainsRune(h, '\u3164') {
			t.Errorf("%s hint:\n got %+q\nwant %+q…", goos, h, want)
		}
	}
}

// TestFinishHintNamesTheSet: after a restore of latest (or of a set named
// by a prefix of its id) the hint's command is to be run later, when
// latest may be a newer set: the rest then came from another night than
// what is in place, exit 0, nothing said. The hint names the set by its
// id, in every form it takes, on both systems; a restore of the set by
// its id keeps the flags alone.
func TestFinishHintNamesTheSet(t *testing.T) {
	const id = "20261201T172427Z-6fb165"
	reps := []ItemReport{{Name: "docs", OK: true, InPlace: true}, {Name: "big", Error: "disk full"}}
	for _, c := range []struct {
		goos, namedAs string
		includes      []string
		want          string
	}{
		{"linux", "latest", nil, "; in place: docs; the rest: restore set " + id + " again (by that id, not latest) with --item big"},
		{"windows", "latest", nil, "; in place: docs; the rest: restore set " + id + " again (by that id, not latest) with --item big"},
		{"linux", "20261201", []string{"*.pptx"}, "; in place: docs; the rest: restore set " + id + " again (by that id, not 20261201) with --item big --include '*.pptx'"},
		{"windows", "latest", []string{"100% $x"}, "; in place: docs; the rest: restore set " + id + " again (by that id, not latest) in PowerShell with --item big --include '100% $x'"},
		{"linux", "latest", []string{"a\x1bb"}, "; in place: docs; the rest: big: restore set " + id + " again (by that id, not latest) with --item for each, --include for each pattern given (no command to paste: "},
		{"windows", "latest", []string{`say "hi"`}, "; in place: docs; the rest: big: restore set " + id + " again (by that id, not latest) with --item for each, --include for each pattern given (no command to paste: "},
		{"linux", "", nil, "; in place: docs; the rest: restore again with --item big"},
		{"windows", id, nil, "; in place: docs; the rest: restore again with --item big"},
	} {
		got := finishHint(c.goos, reps, c.includes, false, id, c.namedAs)
		if !strings.HasPrefix(got, c.want) || !strings.HasSuffix(c.want, ": ") && got != c.want {
			t.Errorf("%s %q %q:\n got %s\nwant %s", c.goos, c.namedAs, c.includes, got, c.want)
		}
	}
}
