// Package clip shortens text for one-line messages (errors, mail
// subjects) without cutting a UTF-8 character in two: Windows' own error
// texts are in the server's language, and a cut inside a character shows
// as � in a mail client and as \xNN in a quoted error.
package clip

import "unicode/utf8"

// String returns s when it has at most n bytes; else its longest prefix
// of at most n bytes that ends on a character boundary, followed by "…".
func String(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 0 {
		n = 0
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
