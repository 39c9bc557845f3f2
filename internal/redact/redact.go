// Package redact keeps secrets out of everything lyncbackup prints, logs or
// sends: it replaces known secret values (taken from the environment and the
// config) and anything that looks like a credential (SAS signatures, account
// keys, age secret keys, passwords in URLs) with [REDACTED].
package redact

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Mask replaces every secret.
const Mask = "[REDACTED]"

// minLen: shorter values are not treated as secrets (they would garble
// every line that happens to contain them).
const minLen = 4

var patterns = []struct {
	re   *regexp.Regexp
	repl string
}{
	// age identities and OpenSSH / PEM private keys.
	{regexp.MustCompile(`(?i)AGE-SECRET-KEY-1[0-9A-Z]*`), Mask},
	{regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`), Mask},
	// key=value credentials in SAS tokens, presigned URLs, connection strings, query strings.
	{regexp.MustCompile(`(?i)\b(sig|signature|x-amz-signature|x-amz-credential|x-amz-security-token|accountkey|sharedaccesskey|sharedaccesssignature|password|passwd|pwd|secret|client_secret|token|access_token|api_key|apikey)(=|%3d)[^&;\s"'<>\\]+`), "${1}${2}" + Mask},
	// Authorization headers.
	{regexp.MustCompile(`(?i)\b(authorization:\s*(?:bearer|basic|sharedkey)\s+)\S+`), "${1}" + Mask},
	// user:password@ in URLs.
	{regexp.MustCompile(`(://[^/\s:@]+:)[^@\s/]+@`), "${1}" + Mask + "@"},
	// AWS access key ids.
	{regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`), Mask},
}

// secretEnv matches names of environment variables whose values are secrets.
var secretEnv = regexp.MustCompile(`(?i)(SECRET|PASSWORD|PASSWD|PASSPHRASE|TOKEN|SAS|ACCOUNT_?KEY|ACCESS_?KEY|CONNECTION_?STRING|CREDENTIAL|PRIVATE|API_?KEY|_KEY$|_PASS$)`)

// Redactor scrubs strings. The zero value is not usable; use New.
// It is safe for concurrent use; secrets may be added at any time.
type Redactor struct {
	mu      sync.RWMutex
	secrets map[string]bool
	rep     *strings.Replacer
}

// New returns a Redactor that knows only the patterns.
func New() *Redactor { return &Redactor{secrets: map[string]bool{}} }

// Add registers secret values (and their escaped forms, as they would
// appear inside JSON, quoted log values or URLs).
func (r *Redactor) Add(values ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	changed := false
	for _, v := range values {
		v = strings.TrimSpace(v)
		if len(v) < minLen {
			continue
		}
		for _, f := range forms(v) {
			if !r.secrets[f] {
				r.secrets[f] = true
				changed = true
			}
		}
	}
	if !changed {
		return
	}
	list := make([]string, 0, len(r.secrets))
	for s := range r.secrets {
		list = append(list, s)
	}
	// Longest first, so that a secret containing another is replaced whole.
	sort.Slice(list, func(i, j int) bool {
		if len(list[i]) != len(list[j]) {
			return len(list[i]) > len(list[j])
		}
		return list[i] < list[j]
	})
	pairs := make([]string, 0, 2*len(list))
	for _, s := range list {
		pairs = append(pairs, s, Mask)
	}
	r.rep = strings.NewReplacer(pairs...)
}

func forms(v string) []string {
	out := []string{v}
	q := strconv.Quote(v)
	out = append(out, q[1:len(q)-1])
	if b, err := json.Marshal(v); err == nil {
		out = append(out, string(b[1:len(b)-1]))
	}
	out = append(out, url.QueryEscape(v), url.PathEscape(v))
	// A connection string's key (or SAS) leaks on its own too, e.g. in a
	// message about the key that quotes only it.
	for _, part := range strings.Split(v, ";") {
		if k, val, ok := strings.Cut(part, "="); ok && len(val) >= minLen &&
			(strings.EqualFold(k, "AccountKey") || strings.EqualFold(k, "SharedAccessSignature")) {
			out = append(out, val)
		}
	}
	// Multi-line secrets (a PEM key) also leak line by line.
	for _, line := range strings.Split(v, "\n") {
		if line = strings.TrimSpace(line); len(line) >= 16 {
			out = append(out, line)
		}
	}
	return out
}

// AddEnv registers the values of environment variables ("K=V") whose names
// say they hold a secret (…SECRET…, …PASSWORD…, …TOKEN…, …SAS…, …KEY, …).
func (r *Redactor) AddEnv(environ []string) {
	var vals []string
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && secretEnv.MatchString(k) {
			vals = append(vals, v)
		}
	}
	r.Add(vals...)
}

// AddURL registers the secret parts of a URL: its query values, its user
// info password, and (for webhooks, whose path often is the token) the
// whole URL when wholeIsSecret.
func (r *Redactor) AddURL(raw string, wholeIsSecret bool) {
	if raw == "" {
		return
	}
	if wholeIsSecret {
		r.Add(raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		r.Add(raw)
		return
	}
	if u.RawQuery != "" {
		r.Add(u.RawQuery)
		for _, vs := range u.Query() {
			r.Add(vs...)
		}
	}
	if p, ok := u.User.Password(); ok {
		r.Add(p)
	}
	if wholeIsSecret && u.Path != "" && u.Path != "/" {
		r.Add(u.Path)
	}
}

// String returns s with every known secret and credential pattern masked.
func (r *Redactor) String(s string) string {
	if s == "" {
		return s
	}
	r.mu.RLock()
	rep := r.rep
	r.mu.RUnlock()
	if rep != nil {
		s = rep.Replace(s)
	}
	for _, p := range patterns {
		s = p.re.ReplaceAllString(s, p.repl)
	}
	return s
}

// Error wraps err so that its message is redacted (errors.Is/As still see
// the original through Unwrap).
func (r *Redactor) Error(err error) error {
	if err == nil {
		return nil
	}
	return redactedError{err: err, msg: r.String(err.Error())}
}

type redactedError struct {
	err error
	msg string
}

func (e redactedError) Error() string { return e.msg }
func (e redactedError) Unwrap() error { return e.err }

// Writer returns a writer that redacts each Write before passing it to w.
// Every line lyncbackup prints is one Write (fmt.Fprintf, a slog record,
// one JSON document, one progress frame), so secrets are never split.
func (r *Redactor) Writer(w io.Writer) *Writer { return &Writer{r: r, w: w} }

// Writer is a redacting io.Writer.
type Writer struct {
	r *Redactor
	w io.Writer
}

func (w *Writer) Write(p []byte) (int, error) {
	s := w.r.String(string(p))
	if _, err := io.WriteString(w.w, s); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Unwrap returns the underlying writer (to ask whether it is a terminal).
func (w *Writer) Unwrap() io.Writer { return w.w }

// ReplaceAttr is a slog.HandlerOptions.ReplaceAttr that redacts every
// attribute value and the message, before the handler quotes or escapes them.
func (r *Redactor) ReplaceAttr(_ []string, a slog.Attr) slog.Attr {
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); s != "" {
			a.Value = slog.StringValue(r.String(s))
		}
	case slog.KindAny:
		s := fmt.Sprint(a.Value.Any())
		if red := r.String(s); red != s {
			a.Value = slog.StringValue(red)
		} else if _, isErr := a.Value.Any().(error); isErr {
			a.Value = slog.StringValue(s)
		}
	}
	return a
}
