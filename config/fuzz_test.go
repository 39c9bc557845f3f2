package config

import (
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzParse: any input gives a config or one *Error on one line, never a panic.
func FuzzParse(f *testing.F) {
	f.Add(minimal)
	f.Add(minimal + "colour: blue\n")
	f.Add("host: [unclosed\n")
	f.Add("exporters:\n  - {kind: path, name: a, paths: ['${X}']}\nencryption: {recipients: [\"${X}\"]}\ndestination: {url: 'file:///x'}\n")
	f.Add("retention: {min_age: 1y2m3w4d5h6min7s}\n")
	f.Add("a: &a [*a]\n")
	f.Add("? [a]\n: b\n")
	f.Add("destination: {part_size: 1.5GiB, url: s3://b}\nlimits: {upload: 3MB/s}\n")
	f.Add(strings.Replace(minimal, "{url: 'file:///backups'}", "{url: 's3://bkt/p', ca_file: /nonexistent/ca.pem}", 1))
	f.Fuzz(func(t *testing.T, data string) {
		c, err := Parse([]byte(data), func(k string) (string, bool) { return "v" + k, k != "UNSET" })
		if err == nil {
			if c == nil || c.Destination.URL == "" || len(c.Encryption.Recipients)+len(c.Encryption.RecipientsFile) == 0 {
				t.Fatalf("accepted an incomplete config: %+v", c)
			}
			return
		}
		var ce *Error
		if !errors.As(err, &ce) {
			t.Fatalf("not a *config.Error: %T %v", err, err)
		}
		if strings.ContainsAny(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
	})
}

// FuzzExpandQuoted: a value put in double or single quotes comes back from
// the YAML parser exactly, whatever it holds; in plain context it either
// comes back exactly or is refused.
func FuzzExpandQuoted(f *testing.F) {
	for _, s := range []string{"plain", `a"b\c`, "x # y", "k: v", "line\nbreak", "'quoted'", "*star", "\t\x01\x7f", "ünï", "${X}", "\u0085\u2028\ufeff", "\xe9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		lookup := func(string) (string, bool) { return v, true }
		if !utf8.ValidString(v) {
			// YAML is UTF-8: such a value is refused, never replaced.
			for _, form := range []string{`"${V}"`, `'${V}'`, `${V}`} {
				_, err := Parse([]byte(strings.Replace(minimal, "host: fe01.contoso.com", "host: fe01\nstaging: "+form, 1)), lookup)
				if err == nil || !strings.Contains(err.Error(), "not valid UTF-8") {
					t.Fatalf("%s with %q: %v", form, v, err)
				}
			}
			return
		}
		for _, form := range []string{`"${V}"`, `'${V}'`, `${V}`} {
			c, err := Parse([]byte(strings.Replace(minimal, "host: fe01.contoso.com", "host: fe01\nstaging: "+form, 1)), lookup)
			if err != nil {
				if form == `"${V}"` {
					t.Fatalf("%s with %q: %v", form, v, err)
				}
				continue
			}
			want := v
			if form == `${V}` {
				// Plain scalars lose the spaces and tabs around them, as
				// YAML says; not other Unicode spaces (U+2000 stays, which
				// strings.TrimSpace took away: the fuzzer's 5d03424f).
				want = strings.Trim(v, " \t")
			}
			if c.Staging != want && !(want == "" && c.Staging != "") {
				t.Fatalf("%s with %q: staging %q", form, v, c.Staging)
			}
		}
	})
}

// FuzzParseDuration: an accepted duration is a span forward in time, never
// a wrapped one: Approx is not negative, Before goes back and After forward
// from a fixed instant, and the calendar and the approximate spans agree
// within the calendar's slack (months of 28-31 days, leap days).
func FuzzParseDuration(f *testing.F) {
	for _, s := range []string{"30d", "1y2m", "1h30min", "2w", "0", "", "200y", "584y344d", "300y", "100000h100000h", "99999y", "1mo1m1min1s"} {
		f.Add(s)
	}
	base := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDuration(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error: %q", err)
			}
			return
		}
		a := d.Approx()
		if a < 0 || a > time.Duration(maxDays)*24*time.Hour+24*time.Hour {
			t.Fatalf("%q: Approx %v outside 0..200 years", s, a)
		}
		before, after := d.Before(base), d.After(base)
		if before.After(base) || after.Before(base) {
			t.Fatalf("%q: Before %v, After %v around %v", s, before, after, base)
		}
		// Calendar months are 28-31 days, years 365-366; Approx counts 30 and 365.
		slack := time.Duration(d.Months)*2*24*time.Hour + time.Duration(d.Years/4+1)*24*time.Hour + 24*time.Hour
		if diff := after.Sub(base) - a; diff > slack || diff < -slack {
			t.Fatalf("%q: After is %v ahead, Approx %v", s, after.Sub(base), a)
		}
	})
}
