package shellquote

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestFor: a printed command's values are quoted for the shell it is
// pasted into: PowerShell / cmd double quotes for an ordinary Windows
// path with a space, PowerShell single quotes where double quotes would
// expand; POSIX single quotes elsewhere; safe values bare, and a glob
// pattern never bare (the shell would expand it).
func TestFor(t *testing.T) {
	for _, c := range []struct{ goos, in, want string }{
		{"linux", "/srv/restore", "/srv/restore"},
		{"linux", "/srv/restore dir", "'/srv/restore dir'"},
		{"linux", "it's", `'it'\''s'`},
		{"linux", `C:\x`, `'C:\x'`},
		{"linux", "", "''"},
		{"linux", "file:///srv/backups", "file:///srv/backups"},
		{"linux", "*/meetings/*.pptx", "'*/meetings/*.pptx'"},
		{"linux", "a/[ab]?", "'a/[ab]?'"},
		{"linux", "/etc/lyncbackup/100%.yaml", "/etc/lyncbackup/100%.yaml"},
		{"linux", "backup@fe01,x", "backup@fe01,x"},
		{"linux", "a b%", "'a b%'"},
		{"windows", "backup@fe01,x", `"backup@fe01,x"`},
		{"windows", "100%.yaml", `'100%.yaml'`},
		{"windows", `D:\Restore`, `D:\Restore`},
		{"windows", `D:\Lync Restore`, `"D:\Lync Restore"`},
		{"windows", `D:\Lync Restore\`, `"D:\Lync Restore\\"`},
		{"windows", `D:\Lönne\\`, `"D:\Lönne\\\\"`},
		{"windows", `D:\Restore\`, `D:\Restore\`},
		{"windows", `D:\100% Restore\`, `'D:\100% Restore\\'`},
		{"windows", `D:\100%\`, `'D:\100%\'`},
		{"windows", "Budget \u201cFinal\u201d.pptx", "'Budget \u201cFinal\u201d.pptx'"},
		{"windows", "\u2018x\u201b \u201e", "'\u2018\u2018x\u201b\u201b \u201e'"},
		{"windows", `\\nas\C$\Restore`, `'\\nas\C$\Restore'`},
		{"windows", `D:\it's 100%`, `'D:\it''s 100%'`},
		{"windows", "it\u2019s $x", "'it\u2019\u2019s $x'"},
		{"windows", "*/meetings/*.pptx", `"*/meetings/*.pptx"`},
		{"windows", "s3://b/p?endpoint=https://s3.local&path_style=true", `"s3://b/p?endpoint=https://s3.local&path_style=true"`},
	} {
		if got, err := For(c.goos, c.in); got != c.want || err != nil {
			t.Errorf("%s %q: %s %v, want %s", c.goos, c.in, got, err, c.want)
		}
	}
}

// TestPOSIXInShells: every value For prints for a POSIX shell reaches sh,
// bash and dash as it was.
func TestPOSIXInShells(t *testing.T) {
	vals := []string{"a b", "it's", `$HOME`, "`id`", "100%", "@x", "a,b", "{a,b}", "Ünïcödé", "it\u2019s “x”", "",
		"-rf", "--include", "~", "~root", "a=~", "x:~", "!!", "#c", "a;b", "a|b", "*", "[ab]", "\\", `a\"b`, "=x", "a=b c", "a\u00a0b"}
	for _, sh := range []string{"sh", "bash", "dash"} {
		if _, err := exec.LookPath(sh); err != nil {
			t.Logf("no %s: %v", sh, err)
			continue
		}
		for _, v := range vals {
			q, err := For("linux", v)
			if err != nil {
				t.Errorf("%q: %v", v, err)
				continue
			}
			out, err := exec.Command(sh, "-c", "printf '%s' "+q).Output()
			if err != nil || string(out) != v {
				t.Errorf("%s: %q quoted %s arrives as %q (%v)", sh, v, q, out, err)
			}
		}
	}
}

// unprintables hold what a terminal acts on or shows as something else.
var unprintables = []string{"line1\nline2", "a\tb", "\t", "red\x1b[31mtext", "a\rb", "a\x7fb", "a\u0085b", "\x00", "a\u009b2Jb",
	"caf\xe9", "a\x9bb", "D:\\Lync Restore\\\n", "\x07"}

// TestForRefusesControlCharacters: a value holding a control character
// (C0, DEL, C1) or bytes that are not UTF-8 has no form to print for
// pasting in any shell: in single quotes sh takes a line break or a tab as
// they are, but printed, the line break ends the pasted command, the tab
// completes, ESC begins a terminal sequence, and invalid UTF-8 is shown and
// pasted as U+FFFD. For refuses it on every system (the hints then say the
// flags in words), and Show names it with those escaped, as Go does.
func TestForRefusesControlCharacters(t *testing.T) {
	for _, v := range unprintables {
		for _, goos := range []string{"linux", "darwin", "windows"} {
			if q, err := For(goos, v); err == nil {
				t.Errorf("%s %q quoted as %q, no error", goos, v, q)
			} else if strings.IndexFunc(err.Error(), unicode.IsControl) >= 0 {
				t.Errorf("%s %q: the error holds a control character: %q", goos, v, err)
			}
		}
		sv := Show(v)
		if strings.IndexFunc(sv, unicode.IsControl) >= 0 || !utf8.ValidString(sv) {
			t.Errorf("Show(%q) = %q, which a terminal acts on", v, sv)
		}
		if u, err := strconv.Unquote(sv); err != nil || u != v {
			t.Errorf("Show(%q) = %s does not name it (%q, %v)", v, sv, u, err)
		}
	}
	for _, v := range []string{"a b", "it's", "Ünïcödé"} {
		if Show(v) != POSIX(v) {
			t.Errorf("Show(%q) = %s, want %s", v, Show(v), POSIX(v))
		}
	}
}

// TestForRefusesInvisibleCharacters: a value holding a bidi control (an
// embedding, override or isolate) or a line or paragraph separator was
// printed to paste as it is: the terminal shows "x<RLO>cod.exe" as
// "xexe.doc", so the command pasted is not the one read (Trojan Source).
// For refuses it on every system, and Show and Text name it with those
// escaped. Format characters that are parts of words (the zero-width
// non-joiner of Persian names, the right-to-left mark of Hebrew ones) are
// quoted as any other letter: refusing them made such names unschedulable
// (a review finding). The letters and the symbol that print as blank (the
// Hangul fillers U+115F, U+1160, U+3164, U+FFA0, category Lo, and U+2800
// BRAILLE PATTERN BLANK, So: strconv.Quote leaves them as they are) were
// printed raw: --to '/srv/a<U+3164>' reads as a path ending in a space,
// or in nothing. They are refused and escaped as the bidi controls are.
func TestForRefusesInvisibleCharacters(t *testing.T) {
	blank := func(r rune) bool { return r == 0x115f || r == 0x1160 || r == 0x3164 || r == 0xffa0 || r == 0x2800 }
	hidden := func(r rune) bool {
		return unicode.IsControl(r) || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069 || r == 0x2028 || r == 0x2029 || blank(r)
	}
	for _, v := range []string{"x\u202ecod.exe", "a\u2066b\u2069", "a\u2067b", "a\u2068b", "a\u202ab", "a\u202bb", "a\u202cb", "a\u202db", "a\u2069b",
		"a\u2028b", "a\u2029b",
		"/srv/a\u3164", "\u3164", "a\u115fb", "a\u1160b", "\uffa0.exe", "a\u2800b", "\u0646\u200c\u3164"} {
		want := "holds an invisible format character (U+"
		if strings.ContainsFunc(v, blank) {
			want = "holds a character that prints as blank space (U+"
		}
		for _, goos := range []string{"linux", "darwin", "windows"} {
			if q, err := For(goos, v); err == nil {
				t.Errorf("%s %+q quoted as %+q, no error", goos, v, q)
			} else if !strings.Contains(err.Error(), want) || strings.ContainsFunc(err.Error(), hidden) {
				t.Errorf("%s %+q: %+q, want %s…", goos, v, err, want)
			}
		}
		if i, r := Hidden(v); i < 0 || !hidden(r) {
			t.Errorf("Hidden(%+q) = %d, %U", v, i, r)
		}
		for _, sv := range []string{Show(v), Text(v)} {
			if strings.ContainsFunc(sv, hidden) {
				t.Errorf("%+q named as %+q, raw", v, sv)
			}
			if u, err := strconv.Unquote(sv); err != nil || u != v {
				t.Errorf("%+q named as %s, which does not unquote to it (%+q, %v)", v, sv, u, err)
			}
		}
	}
	// What a terminal shows as it is stays as it is.
	for _, v := range []string{"D:\\Lync Restore", "Ünïcödé", "אב", "a\u00a0b", "مرحبا",
		"\u0646\u0627\u0645\u0647\u200c\u0647\u0627", "a\u200db", "\u05d0\u200f\u05d1", "a\u200eb", "a\u00adb",
		// Hangul and Braille that print: syllables, jamo, halfwidth jamo, a dot pattern.
		"\ud55c\uae00", "\u1100\u1161", "\u3131\u314f", "\uffa1\uffc2", "\u2801\u28ff"} {
		if _, err := For("linux", v); err != nil {
			t.Errorf("%+q refused: %v", v, err)
		}
		if Text(v) != v {
			t.Errorf("Text(%+q) = %+q", v, Text(v))
		}
	}
}

// TestForWindowsTypographicDoubleQuotes: PowerShell ends a double-quoted
// string at U+201C, U+201D or U+201E as at '"' (CharExtensions.IsDoubleQuote),
// so For must not put a value holding one between double quotes.
func TestForWindowsTypographicDoubleQuotes(t *testing.T) {
	for _, v := range []string{"filestore/Meetings/Budget “Final”.pptx", `D:\Lync „DR“ Restore`, "a\u201eb"} {
		if got, err := For("windows", v); err != nil || strings.HasPrefix(got, `"`) {
			t.Errorf("%q quoted as %s (%v): PowerShell closes the string at the typographic quote", v, got, err)
		}
	}
}

// windowsArgv splits a command line as Windows programs built with Go
// (and the MS C runtime, CommandLineToArgvW) do: 2n backslashes before '"'
// are n backslashes and a quote; 2n+1 are n backslashes and a literal '"'.
func windowsArgv(cmd string) []string {
	var args []string
	var b strings.Builder
	inQuote, have := false, false
	for i := 0; i < len(cmd); i++ {
		c := cmd[i]
		switch {
		case (c == ' ' || c == '\t') && !inQuote:
			if have {
				args = append(args, b.String())
				b.Reset()
				have = false
			}
		case c == '\\':
			n := 0
			for i < len(cmd) && cmd[i] == '\\' {
				n++
				i++
			}
			if i < len(cmd) && cmd[i] == '"' {
				b.WriteString(strings.Repeat(`\`, n/2))
				if n%2 == 1 {
					b.WriteByte('"')
				} else {
					inQuote = !inQuote
				}
			} else {
				b.WriteString(strings.Repeat(`\`, n))
				i--
			}
			have = true
		case c == '"':
			inQuote = !inQuote
			have = true
		default:
			b.WriteByte(c)
			have = true
		}
	}
	if have {
		args = append(args, b.String())
	}
	return args
}

// TestForWindowsTrailingBackslash: cmd passes "…\" as typed, and so does
// Windows PowerShell 5.1 (it wraps a value with a space in quotes without
// doubling the backslash before the closing one): the program read \" as
// a quote inside the value and the rest of the line with it.
func TestForWindowsTrailingBackslash(t *testing.T) {
	v := `D:\Lync Restore\`
	q, err := For("windows", v)
	line := "lyncbackup.exe restore 20261201T010000Z --to " + q + " --start-at 3"
	if got := windowsArgv(line); err != nil || len(got) != 7 || got[4] != v {
		t.Errorf("%s (%v)\nreaches the program as %q", line, err, got)
	}
}

// psValue is the value Windows PowerShell makes of the forms For writes:
// bare, in double quotes (of which For keeps out every character
// PowerShell treats specially there, which this checks), or in single
// quotes (each quote character doubled).
func psValue(t *testing.T, q string) string {
	t.Helper()
	switch {
	case strings.HasPrefix(q, `"`):
		in := strings.TrimSuffix(strings.TrimPrefix(q, `"`), `"`)
		if strings.ContainsAny(in, "\"$`\u201c\u201d\u201e") {
			t.Errorf("%s: PowerShell expands or ends the string inside these double quotes", q)
		}
		return in
	case strings.HasPrefix(q, "'"):
		var b strings.Builder
		rs := []rune(strings.TrimSuffix(strings.TrimPrefix(q, "'"), "'"))
		for i := 0; i < len(rs); i++ {
			b.WriteRune(rs[i])
			if strings.ContainsRune("'\u2018\u2019\u201a\u201b", rs[i]) {
				if i+1 == len(rs) || rs[i+1] != rs[i] {
					t.Errorf("%s: a single quote not doubled", q)
				}
				i++
			}
		}
		return b.String()
	}
	if strings.ContainsAny(q, " \t\"'$`;,&|<>(){}@#%\u201c\u201d\u201e\u2018\u2019\u201a\u201b") {
		t.Errorf("%s left bare", q)
	}
	return q
}

// legacyPass is what Windows PowerShell 5.1 puts on the command line for
// a value (NativeCommandParameterBinder, NeedQuotes): the value in double
// quotes when it holds white space outside its own quotes, nothing escaped.
func legacyPass(v string) string {
	quotes, follows := 0, false
	for _, r := range v {
		if r == '"' && !follows {
			quotes++
		} else if unicode.IsSpace(r) && quotes%2 == 0 {
			return `"` + v + `"`
		}
		follows = r == '\\'
	}
	return v
}

// escapeArg is what PowerShell 7.3 and later put on the command line for
// a value (as Go's syscall.EscapeArg): in double quotes when it holds
// white space or is empty, each '"' escaped, the backslashes before one
// and before the closing quote doubled.
func escapeArg(v string) string {
	if v != "" && strings.IndexFunc(v, unicode.IsSpace) < 0 && !strings.Contains(v, `"`) {
		return v
	}
	var b strings.Builder
	b.WriteByte('"')
	n := 0
	for _, r := range v {
		switch r {
		case '\\':
			n++
		case '"':
			b.WriteString(strings.Repeat(`\`, n+1))
			n = 0
		default:
			n = 0
		}
		b.WriteRune(r)
	}
	b.WriteString(strings.Repeat(`\`, n))
	b.WriteByte('"')
	return b.String()
}

// cmdReads is what the program gets from cmd for a value typed as q: the
// text as it is (cmd's quotes are the program's), except that cmd expands
// %NAME% when NAME is set, so a form holding % may arrive as another
// value (ok false).
func cmdReads(q string) (args []string, ok bool) {
	return windowsArgv("lyncbackup.exe --to " + q + " --start-at 3"), !strings.Contains(q, "%")
}

// TestForWindowsReachesTheProgram: each value reaches the program as it is
// when its form is pasted into cmd, unless the command says it is for
// PowerShell only (OnlyIn: the single-quoted form, which cmd passes on
// quotes and all), and into Windows PowerShell 5.1, and at most with its
// trailing backslashes doubled where the package comment says so (5.1
// without white space, PowerShell 7.3 and later).
func TestForWindowsReachesTheProgram(t *testing.T) {
	vals := []string{`D:\Restore`, `D:\Restore\`, `D:\Lync Restore`, `D:\Lync Restore\`, `D:\Lync Restore\\`, `\\nas\share\Lync Backups\`,
		`D:\Lönne\`, `D:\100%`, `D:\100% x\`, "$x\\", "a`b c", "it's", "it\u2019s\u201a x", "Budget “Final”.pptx", `D:\Lync „DR“ Restore\`,
		"*/meetings/*.pptx", "s3://b/p?endpoint=https://s3.local&path_style=true", "a\u00a0b\\", "a\u3000b\\", `x\y z`, "é", "a b ",
		`C:\Program Files\Common Files\Skype for Business Server 2015\Modules\SkypeForBusiness\SkypeForBusiness.psd1`}
	for _, v := range vals {
		q, err := For("windows", v)
		if err != nil {
			t.Errorf("%q: %v", v, err)
			continue
		}
		doubled := v + trailingBackslashes(v)
		arrives := func(shell, line string, ok ...string) {
			got := windowsArgv("lyncbackup.exe --to " + line + " --start-at 3")
			for _, w := range ok {
				if len(got) == 5 && got[2] == w {
					return
				}
			}
			t.Errorf("%s: %q quoted %s arrives as %q", shell, v, q, got)
		}
		got, ok := cmdReads(q)
		inCmd := ok && len(got) == 5 && got[2] == v
		if only := OnlyIn("windows", "--to", q); inCmd != (only == "") {
			t.Errorf("%q quoted %s: cmd reads it as %q (as typed: %v), and the command says it is for %q only", v, q, got, ok, only)
		}
		pv := psValue(t, q)
		if legacyPass(pv) == pv && pv != v && strings.IndexFunc(v, unicode.IsSpace) >= 0 {
			t.Errorf("%q: 5.1 passes %s without quotes", v, pv)
		}
		if strings.IndexFunc(v, unicode.IsSpace) >= 0 {
			arrives("PowerShell 5.1", legacyPass(pv), v)
		} else {
			arrives("PowerShell 5.1", legacyPass(pv), v, doubled)
		}
		arrives("PowerShell 7.3", escapeArg(pv), v, doubled)
	}
}

// TestForWindowsRefuses: no form brings a value holding '"' to the program
// from both Windows PowerShell 5.1 ('a"b' arrives as ab: PowerShell issue
// #1995, fixed in 7.3 only) and cmd ("a\"b", which PowerShell ends at the
// second quote), nor an empty one from 5.1 (it leaves it out): For says
// so instead of printing a form that runs with another value.
func TestForWindowsRefuses(t *testing.T) {
	// What 5.1 makes of the single-quoted form of a"b: the quote is lost.
	if got := windowsArgv("x " + legacyPass(`a"b`)); len(got) != 2 || got[1] != "ab" {
		t.Fatalf("the model: %q", got)
	}
	for _, v := range []string{`a"b`, `D:\Lync "DR" Restore`, `"`, ""} {
		if q, err := For("windows", v); err == nil {
			t.Errorf("%q quoted as %s, no error", v, q)
		}
		if _, err := For("linux", v); err != nil {
			t.Errorf("linux %q: %v", v, err)
		}
	}
}
