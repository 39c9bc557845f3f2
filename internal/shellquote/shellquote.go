// Package shellquote quotes the arguments of a command that lyncbackup
// prints for the user to paste (a "continue with:" or "restore again
// with" hint), for the shell of the system it runs on, and PowerShell
// literals for the scripts the exporters and restore plans write; POSIX
// quotes for a POSIX shell whatever this system (schedule's crontab line).
//
// On Windows the hints are pasted into the Lync / Skype for Business
// Server Management Shell, which is Windows PowerShell 5.1 (powershell.exe,
// where the restore plans run: README), or into cmd. The Windows form is
// made for those two, and checked against how each hands a value to the
// program: cmd passes the text as typed, Windows PowerShell 5.1 passes its
// value as it is, in double quotes when it holds white space, escaping
// nothing; the program (Go, the MS C runtime: CommandLineToArgvW's rules)
// reads 2n backslashes before a '"' as n and a quote, 2n+1 as n and a
// literal '"'. Where the two shells need different text, cmd's reading is
// kept and the value may reach the program with its trailing backslashes
// doubled (harmless for a folder, the only such value a hint holds): a
// value that needs double quotes, ends in a backslash and holds no white
// space (Windows PowerShell 5.1 then passes it without quotes, its
// doubled backslashes as they are). PowerShell 7.3 and later escape what
// they pass: there a value ending in a backslash whose form doubled them
// arrives with them doubled, everything else as it is. PowerShell's single
// quotes are not cmd's (cmd passes them on as part of the value): a command
// holding that form is for PowerShell only, and says so (OnlyIn).
//
// A value holding a control character (a line break, a tab, ESC, any other
// C0 or C1 character, DEL), an invisible format character (Invisible: the
// bidi embeddings, overrides and isolates U+202A-202E, U+2066-2069), a line
// or paragraph separator (U+2028, U+2029), a character that prints as blank
// space (the Hangul fillers U+115F, U+1160, U+3164, U+FFA0 and U+2800
// BRAILLE PATTERN BLANK) or bytes that are not UTF-8 has no form in any
// shell: printed, the terminal acts on it or shows something else (a line
// break ends the command where it is pasted, a tab completes, ESC begins a
// terminal sequence, invalid UTF-8 is shown and pasted as U+FFFD, a bidi
// override shows the text after it reversed while the paste carries it in
// its order, a filler looks like a space or like nothing), whatever quotes
// are around it: the command pasted is not the one read ("Trojan Source").
// ($'…' would print them escaped, but not every sh reads it: dash 0.5.12,
// Debian's /bin/sh, passes $'a\nb' as $a\nb.) For says so, and Show names
// such a value in a message with them escaped (Quote).
package shellquote

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// For quotes one argument for the shell of goos. On Windows (see the
// package comment): a value of only safe characters stays bare (a glob
// character, * ? [, is never safe, so a pattern reaches the program as
// typed); an ordinary one goes in double quotes, which cmd and PowerShell
// read alike, its trailing backslashes doubled (else the program reads
// the last one and the closing quote as a literal '"'); one holding a
// character either shell expands or ends inside double quotes ($ ` and
// the typographic double quotes U+201C, U+201D, U+201E in PowerShell, %
// in cmd) goes in PowerShell's single quotes (PowerShell), its trailing
// backslashes doubled when it holds white space (PowerShell 5.1 puts it
// in double quotes). A value no form brings to the program unchanged is
// an error saying why: one holding a '"' (Windows PowerShell 5.1 passes it
// unescaped, the program drops it: PowerShell issue #1995; cmd needs \"
// inside double quotes, which PowerShell reads as the end of the string)
// or an empty one (Windows PowerShell 5.1 leaves it out). Elsewhere
// POSIX (see POSIX). On every system, a value holding a control character
// or an Invisible one (a bidi control, a line or paragraph separator, a
// character that prints as blank space), or bytes that are not UTF-8 is an
// error (see the package comment).
func For(goos, s string) (string, error) {
	if err := unprintable(s); err != nil {
		return "", err
	}
	if goos != "windows" {
		return POSIX(s), nil
	}
	switch {
	case s == "":
		return "", errors.New("is empty, which Windows PowerShell 5.1 leaves out of the command line")
	case strings.Contains(s, `"`):
		return "", errors.New(`holds a double quote ("), which Windows PowerShell 5.1 passes unescaped and the program then drops`)
	case safe(s, `\`):
		return s, nil
	case !strings.ContainsAny(s, "$`%\u201c\u201d\u201e"):
		return `"` + s + trailingBackslashes(s) + `"`, nil
	case strings.IndexFunc(s, unicode.IsSpace) >= 0:
		return PowerShell(s + trailingBackslashes(s)), nil
	}
	return PowerShell(s), nil
}

// unprintable says why s cannot be printed for pasting: bytes that are not
// UTF-8, a control character (C0, DEL, C1), a bidi control, a line or
// paragraph separator or a character that prints as blank space
// (Invisible).
func unprintable(s string) error {
	if !utf8.ValidString(s) {
		return errors.New("is not valid UTF-8, which a terminal shows and pastes as other characters")
	}
	for _, r := range s {
		switch {
		case unicode.IsControl(r):
			return fmt.Errorf("holds a control character (%U), which a pasted command does not carry: the terminal or the shell acts on it (a line break ends the command, a tab completes, ESC begins a terminal sequence)", r)
		case Blank(r):
			return fmt.Errorf("holds %s (%U), which a terminal does not show as it is: the command pasted would differ from the one read (it looks like a space, or like nothing)", InvisibleName(r), r)
		case Invisible(r):
			return fmt.Errorf("holds %s (%U), which a terminal does not show as it is: the command pasted would differ from the one read (a bidi control reorders the text shown around it, a line separator may break the line)", InvisibleName(r), r)
		}
	}
	return nil
}

// Invisible reports whether r is a character, not a control character,
// that makes a terminal show a line otherwise than it is: a bidi
// embedding, override or isolate (U+202A-202E, U+2066-2069: the "Trojan
// Source" characters, which reorder the text shown around them; the nine
// that Go's bidichk analyzer and rustc refuse in source), a line or
// paragraph separator (U+2028, U+2029), which some terminals break the line
// at, or a character that prints as blank space (Blank). Other format
// characters are parts of words: the zero-width non-joiner and joiner in
// Persian, Kurdish and Indic names, the left-to-right and right-to-left
// marks in Hebrew and Arabic ones; they are printed as they are, as are
// the Hangul letters and Braille patterns that print. Go's %q and
// strconv.Quote escape the bidi controls and the separators, not the
// blank ones: Quote escapes all of them.
func Invisible(r rune) bool {
	return r >= 0x202A && r <= 0x202E || r >= 0x2066 && r <= 0x2069 || r == 0x2028 || r == 0x2029 || Blank(r)
}

// Blank reports whether r is one of the few letters or symbols that print
// as blank space, or as nothing, though Unicode does not class them as
// spaces or format characters, so that Go (strconv.IsPrint) prints them
// as they are: the Hangul fillers U+115F (choseong), U+1160 (jungseong),
// U+3164 (HANGUL FILLER) and U+FFA0 (HALFWIDTH HANGUL FILLER), category
// Lo, and U+2800 BRAILLE PATTERN BLANK, So. Only these: the rest of
// their categories (Hangul, Braille, every other letter) print.
func Blank(r rune) bool {
	return r == 0x115F || r == 0x1160 || r == 0x3164 || r == 0xFFA0 || r == 0x2800
}

// InvisibleName names an Invisible character's kind for a message ("holds
// %s (%U)"): "a character that prints as blank space" (Blank), else "an
// invisible format character".
func InvisibleName(r rune) string {
	if Blank(r) {
		return "a character that prints as blank space"
	}
	return "an invisible format character"
}

// Quote is strconv.Quote(s) with every Invisible character escaped too
// (\u3164): strconv.Quote leaves the Blank ones as they are, since Go
// counts them as printable. It unquotes to s (strconv.Unquote).
func Quote(s string) string {
	q := strconv.Quote(s)
	if !strings.ContainsFunc(q, Blank) {
		return q
	}
	var b strings.Builder
	for _, r := range q {
		if Blank(r) {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// QuoteRune is strconv.QuoteRune(r) with an Invisible r escaped too, as
// Quote.
func QuoteRune(r rune) string {
	if Blank(r) {
		return fmt.Sprintf(`'\u%04x'`, r)
	}
	return strconv.QuoteRune(r)
}

// Hidden is the index of the first control character or Invisible one in
// s, and that character; -1 when there is none.
func Hidden(s string) (int, rune) {
	for i, r := range s {
		if unicode.IsControl(r) || Invisible(r) {
			return i, r
		}
	}
	return -1, 0
}

// Show is s as a message names it: POSIX(s), or, when s holds what For
// refuses to print (a control or Invisible character, bytes that are not
// UTF-8), Go's double-quoted form of it with those escaped (Quote: \n,
// \x1b, \u202e, \u3164, \xff).
func Show(s string) string {
	if unprintable(s) != nil {
		return Quote(s)
	}
	return POSIX(s)
}

// Text is s as a message names it outside a command (a file name in a
// sentence): s as it is, or, when it holds what For refuses to print,
// Go's double-quoted form of it with those escaped, as Show.
func Text(s string) string {
	if unprintable(s) != nil {
		return Quote(s)
	}
	return s
}

// OnlyIn names the one shell that reads the words of a command, each a
// form For(goos, …) wrote (or a bare flag), as they are: "PowerShell" when
// one is in PowerShell's single quotes on Windows (cmd passes those quotes
// on as part of the value, splits it at its spaces and expands % in it),
// "" when every shell the hints are for does.
func OnlyIn(goos string, words ...string) string {
	if goos != "windows" {
		return ""
	}
	for _, w := range words {
		if strings.HasPrefix(w, "'") {
			return "PowerShell"
		}
	}
	return ""
}

// trailingBackslashes is the run of backslashes s ends in.
func trailingBackslashes(s string) string {
	return s[len(strings.TrimRight(s, `\`)):]
}

// POSIX quotes one argument for a POSIX shell (/bin/sh, bash; a crontab
// line, whose own "%" escaping is the caller's): bare when it holds only
// safe characters (letters, digits, _ - . / : = + and @ % , which no POSIX
// shell expands in an argument), else in single quotes (a quote in it
// closes them, is escaped with a backslash and reopens them).
func POSIX(s string) string {
	if safe(s, "@%,") {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// safe reports whether s is not empty and holds only letters, digits,
// _ - . / : = + and the characters of more.
func safe(s, more string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("_-./:=+", c), strings.ContainsRune(more, c):
		default:
			return false
		}
	}
	return true
}

// PowerShell returns s as a PowerShell single-quoted literal. Inside such
// a literal only quote characters are special, and PowerShell treats the
// typographic single quotes (U+2018..U+201B) as quotes too, so each of
// them is doubled as well.
func PowerShell(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for _, r := range s {
		switch r {
		case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
			b.WriteRune(r)
		}
		b.WriteRune(r)
	}
	b.WriteByte('\'')
	return b.String()
}
