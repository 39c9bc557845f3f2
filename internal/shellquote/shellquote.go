// Package shellquote quotes the arguments of a command that lyncbackup
// prints for the user to paste (a "continue with:" or "restore again
// with" hint), for the shell of the system it runs on, and PowerShell
// literals for the scripts the exporters and restore plans write; POSIX
// quotes for a POSIX shell whatever this system (schedule's crontab line).
package shellquote

import (
	"runtime"
	"strings"
)

// Arg quotes one argument for the shell it is pasted into on this system
// (For with runtime.GOOS).
func Arg(s string) string { return For(runtime.GOOS, s) }

// For quotes one argument for the shell of goos. The choice: on Windows
// (PowerShell, where the Lync Management Shell runs, or cmd) an ordinary
// value with a space goes in double quotes, which both read alike; a
// value holding a character either of them expands inside double quotes
// ($ ` in PowerShell, % in cmd) or a double quote goes in PowerShell's
// single quotes (PowerShell). Elsewhere POSIX (see POSIX). A value of
// only safe characters stays bare: a glob character (* ? [) is never
// safe, so a pattern reaches the program as typed.
func For(goos, s string) string {
	if goos != "windows" {
		return POSIX(s)
	}
	if safe(s, `\`) {
		return s
	}
	if !strings.ContainsAny(s, "\"$`%") {
		return `"` + s + `"`
	}
	return PowerShell(s)
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
