package config

import (
	"errors"
	"strings"
	"testing"
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
				want = strings.TrimSpace(v) // plain scalars lose surrounding blanks, as YAML says
			}
			if c.Staging != want && !(want == "" && c.Staging != "") {
				t.Fatalf("%s with %q: staging %q", form, v, c.Staging)
			}
		}
	})
}
