package clip

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestString(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"", 3, ""},
		{"abc", 3, "abc"},
		{"abcd", 3, "abc…"},
		{"abcd", 0, "…"},
		{"abcd", -1, "…"},
		// "é" is two bytes: a cut after its first byte goes back before it.
		{"aé", 2, "a…"},
		{"aéb", 3, "aé…"},
		{"Accès refusé.", 11, "Accès refu…"},
		// Four bytes outside the BMP: cuts at 1, 2 and 3 all go back to 0.
		{"\U0001F600x", 1, "…"},
		{"\U0001F600x", 3, "…"},
		{"\U0001F600x", 4, "\U0001F600…"},
		{"Отказано в доступе", 7, "Отк…"},
	} {
		if got := String(c.in, c.n); got != c.want {
			t.Errorf("String(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}

func FuzzString(f *testing.F) {
	f.Add("Accès refusé.", 11)
	f.Add("\U0001F600x", 2)
	f.Fuzz(func(t *testing.T, s string, n int) {
		got := String(s, n)
		if len(s) <= n {
			if got != s {
				t.Fatalf("String(%q, %d) = %q: a short text changed", s, n, got)
			}
			return
		}
		head := strings.TrimSuffix(got, "…")
		if head == got || !strings.HasPrefix(s, head) || len(head) > max(n, 0) {
			t.Fatalf("String(%q, %d) = %q: not a prefix of at most n bytes with …", s, n, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("String(%q, %d) = %q: cut a character", s, n, got)
		}
		// Longest: the next character would not fit.
		if _, size := utf8.DecodeRuneInString(s[len(head):]); len(head)+size <= n && utf8.ValidString(s) {
			t.Fatalf("String(%q, %d) = %q: cut more than it had to", s, n, got)
		}
	})
}
