// Package psparse reads the PowerShell scripts lyncbackup generates, the
// way PowerShell's tokenizer sees single-quoted literals. The test
// stand-in uses it to find cmdlet parameters, and tests use it to prove
// that a hostile name stays inside its literal.
package psparse

import "strings"

// isQuote reports PowerShell's single-quote characters.
func isQuote(r rune) bool {
	switch r {
	case '\'', '\u2018', '\u2019', '\u201a', '\u201b':
		return true
	}
	return false
}

// Literal reads a single-quoted literal starting at s[0] (a quote) and
// returns its value and the rest of s after it; ok is false if s does
// not start with a complete literal.
func Literal(s string) (val, rest string, ok bool) {
	rs := []rune(s)
	if len(rs) == 0 || !isQuote(rs[0]) {
		return "", s, false
	}
	var b strings.Builder
	for i := 1; i < len(rs); i++ {
		if isQuote(rs[i]) {
			if i+1 < len(rs) && isQuote(rs[i+1]) {
				b.WriteRune(rs[i+1])
				i++
				continue
			}
			return b.String(), string(rs[i+1:]), true
		}
		b.WriteRune(rs[i])
	}
	return "", s, false
}

// Split returns the script's code with every single-quoted literal
// replaced by ” and the literals' values in order. Double-quoted strings
// are kept as code (lyncbackup puts no data in them).
func Split(script string) (code string, literals []string, ok bool) {
	var b strings.Builder
	rest := script
	for {
		i := strings.IndexFunc(rest, isQuote)
		if i < 0 {
			b.WriteString(rest)
			return b.String(), literals, true
		}
		b.WriteString(rest[:i])
		v, r, good := Literal(rest[i:])
		if !good {
			return "", nil, false
		}
		literals = append(literals, v)
		b.WriteString("''")
		rest = r
	}
}

// Param returns the value of the single-quoted argument after "-name " in
// script (first occurrence in code, not inside a literal).
func Param(script, name string) (string, bool) {
	rest := script
	for {
		i := strings.IndexFunc(rest, isQuote)
		code := rest
		if i >= 0 {
			code = rest[:i]
		}
		if j := strings.Index(code, "-"+name+" "); j >= 0 {
			after := strings.TrimLeft(rest[j+len(name)+1:], " ")
			v, _, ok := Literal(after)
			return v, ok
		}
		if i < 0 {
			return "", false
		}
		_, r, ok := Literal(rest[i:])
		if !ok {
			return "", false
		}
		rest = r
	}
}

// FirstLiteralAfter returns the first literal after marker in code (e.g.
// "WriteAllText(").
func FirstLiteralAfter(script, marker string) (string, bool) {
	i := strings.Index(script, marker)
	if i < 0 {
		return "", false
	}
	rest := strings.TrimLeft(script[i+len(marker):], " ")
	v, _, ok := Literal(rest)
	return v, ok
}
