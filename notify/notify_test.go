package notify

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/redact"
	"github.com/lyncbackup/lyncbackup/internal/testsmtp"
)

type hit struct {
	Method, Path, Query, Type string
	Body                      []byte
}

func hookServer(t *testing.T, status func(path string) int) (*httptest.Server, func() []hit) {
	var mu sync.Mutex
	var hits []hit
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, hit{r.Method, r.URL.Path, r.URL.RawQuery, r.Header.Get("Content-Type"), b})
		mu.Unlock()
		w.WriteHeader(status(r.URL.Path))
	}))
	t.Cleanup(srv.Close)
	return srv, func() []hit { mu.Lock(); defer mu.Unlock(); return append([]hit(nil), hits...) }
}

func sampleReport(ok bool) Report {
	r := Report{
		Tool: "lyncbackup test", Host: "fe01", SetID: "20261125T020000Z-abcdef", Status: "complete", OK: ok,
		Start: time.Date(2026, 11, 25, 2, 0, 0, 0, time.UTC), Duration: 3*time.Minute + 12*time.Second,
		Items: []Item{
			{Name: "csconfig", Kind: "csconfig", Files: 1, PlainBytes: 2 << 20, StoredBytes: 700 << 10, Duration: 4 * time.Second},
			{Name: "filestore-fs01", Kind: "filestore", Files: 1234, PlainBytes: 3 << 30, StoredBytes: 2 << 30, Duration: 3 * time.Minute,
				Warnings: []string{`skipped <Meeting.Active> "x.lock": in use`}},
		},
		Retention: []string{"deleted set fe01/20261001T020000Z-111111 (done)", "extended lock of 3 objects"},
	}
	if !ok {
		r.Status, r.ExitCode = "partial", 3
		r.Failures = []Failure{{Exporter: "rgs", Kind: "rgs", Error: "Export-CsRgsConfiguration: access denied"}}
	}
	return r
}

// byPath orders requests by path (targets are sent to at once).
func byPath(h []hit) []hit {
	slices.SortFunc(h, func(a, b hit) int { return strings.Compare(a.Path, b.Path) })
	return h
}

func TestWebhooksAndPings(t *testing.T) {
	srv, hits := hookServer(t, func(p string) int { return 200 })
	cfg := config.Notify{On: "failure", Webhooks: []config.Webhook{
		{URL: srv.URL + "/hook?token=abc"},
		{URL: srv.URL + "/ping/uuid-1", Ping: true},
	}}
	summary := []byte(`{"ok":true,"host":"fe01"}`)
	// Success with on: failure → only the ping, to the plain URL.
	if errs := Send(context.Background(), cfg, sampleReport(true), summary, Options{}); len(errs) > 0 {
		t.Fatal(errs)
	}
	h := hits()
	if len(h) != 1 || h[0].Method != "GET" || h[0].Path != "/ping/uuid-1" {
		t.Fatalf("success, on: failure: got %+v, want one GET /ping/uuid-1", h)
	}
	// Failure → POST of the summary and GET …/fail.
	if errs := Send(context.Background(), cfg, sampleReport(false), []byte(`{"ok":false}`), Options{}); len(errs) > 0 {
		t.Fatal(errs)
	}
	h = byPath(hits()[1:]) // the targets are sent to at once
	if len(h) != 2 {
		t.Fatalf("failure: got %+v", h)
	}
	if h[0].Method != "POST" || h[0].Path != "/hook" || h[0].Query != "token=abc" || h[0].Type != "application/json" || string(h[0].Body) != `{"ok":false}` {
		t.Errorf("POST: %+v", h[0])
	}
	if h[1].Method != "GET" || h[1].Path != "/ping/uuid-1/fail" {
		t.Errorf("ping on failure: %+v", h[1])
	}
	// on: always posts on success too.
	cfg.On = "always"
	Send(context.Background(), cfg, sampleReport(true), summary, Options{})
	h = byPath(hits()[3:])
	if len(h) != 2 || h[0].Method != "POST" || string(h[0].Body) != string(summary) || h[1].Path != "/ping/uuid-1" {
		t.Errorf("on: always: %+v", h)
	}
	var doc map[string]any
	if err := json.Unmarshal(h[0].Body, &doc); err != nil {
		t.Errorf("POST body is not JSON: %v", err)
	}
}

func TestWebhookFailureRetriesAndHidesURL(t *testing.T) {
	srv, hits := hookServer(t, func(p string) int { return 503 })
	cfg := config.Notify{On: "always", Webhooks: []config.Webhook{{URL: srv.URL + "/T0/B0/SeCrEtPaTh?token=topsecret"}}}
	errs := Send(context.Background(), cfg, sampleReport(true), []byte(`{}`), Options{Backoff: time.Millisecond})
	if len(errs) != 1 {
		t.Fatalf("want one error, got %v", errs)
	}
	if n := len(hits()); n != 3 {
		t.Errorf("503 was tried %d times, want 3", n)
	}
	msg := errs[0].Error()
	if strings.Contains(msg, "SeCrEtPaTh") || strings.Contains(msg, "topsecret") || !strings.Contains(msg, "503") || !strings.Contains(msg, "webhook 1 (127.0.0.1:") {
		t.Errorf("error %q: must name the webhook and status, never its URL", msg)
	}
	// A 404 is not retried.
	srv2, hits2 := hookServer(t, func(p string) int { return 404 })
	cfg.Webhooks[0].URL = srv2.URL + "/x"
	if errs := Send(context.Background(), cfg, sampleReport(true), []byte(`{}`), Options{Backoff: time.Millisecond}); len(errs) != 1 || len(hits2()) != 1 {
		t.Errorf("404: errs %v, %d requests", errs, len(hits2()))
	}
}

func TestFailURL(t *testing.T) {
	for in, want := range map[string]string{
		"https://hc-ping.com/abc":        "https://hc-ping.com/abc/fail",
		"https://hc-ping.com/abc/":       "https://hc-ping.com/abc/fail",
		"https://x.example/p/key?rid=12": "https://x.example/p/key/fail?rid=12",
	} {
		if got := failURL(in); got != want {
			t.Errorf("failURL(%q) = %q, want %q", in, got, want)
		}
	}
}

// readMail parses the received message and returns its headers and the
// decoded text and HTML parts.
func readMail(t *testing.T, data []byte) (mail.Header, string, string) {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("received message does not parse: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q: %v", msg.Header.Get("Content-Type"), err)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var text, html string
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Errorf("part encoding %q", p.Header.Get("Content-Transfer-Encoding"))
		}
		b, err := io.ReadAll(quotedprintable.NewReader(p))
		if err != nil {
			t.Fatal(err)
		}
		ct, _, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		switch ct {
		case "text/plain":
			text = string(b)
		case "text/html":
			html = string(b)
		}
	}
	if text == "" || html == "" {
		t.Fatalf("want a text and an HTML part, got text %d bytes, html %d bytes", len(text), len(html))
	}
	return msg.Header, text, html
}

func TestMailSTARTTLSAuth(t *testing.T) {
	srv := testsmtp.Start(t, "backup@contoso.com", "smtp-pa55-word")
	yes := true
	e := config.Email{Server: srv.Addr, From: "lyncbackup <backup@contoso.com>", To: []string{"ops@contoso.com", "lync@contoso.com"},
		Username: "backup@contoso.com", PasswordEnv: "LB_TEST_SMTP_PASS", StartTLS: &yes}
	env := map[string]string{"LB_TEST_SMTP_PASS": "smtp-pa55-word"}
	o := Options{TLS: &tls.Config{RootCAs: srv.Pool}, Getenv: func(k string) string { return env[k] }}
	rep := sampleReport(false)
	if err := SendMail(context.Background(), e, rep, o); err != nil {
		t.Fatal(err)
	}
	mails := srv.Mails()
	if len(mails) != 1 {
		t.Fatalf("%d messages received", len(mails))
	}
	m := mails[0]
	if !m.TLS || !m.AuthSeen || m.User != "backup@contoso.com" {
		t.Errorf("TLS %v auth %v user %q", m.TLS, m.AuthSeen, m.User)
	}
	if m.From != "backup@contoso.com" || strings.Join(m.To, ",") != "ops@contoso.com,lync@contoso.com" {
		t.Errorf("envelope %q → %q", m.From, m.To)
	}
	h, text, html := readMail(t, m.Data)
	subj, err := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if err != nil || subj != "[lyncbackup] PARTIAL fe01" {
		t.Errorf("Subject %q (%v)", subj, err)
	}
	if h.Get("To") != "ops@contoso.com, lync@contoso.com" || h.Get("Message-Id") == "" || h.Get("Date") == "" {
		t.Errorf("headers: %v", h)
	}
	for _, want := range []string{"lyncbackup backup of fe01: PARTIAL", "20261125T020000Z-abcdef", "Duration:", "3m12s",
		"filestore-fs01", "3.0 GiB", "2.0 GiB", "csconfig", "4s", "Export-CsRgsConfiguration: access denied",
		`skipped <Meeting.Active> "x.lock": in use`, "deleted set fe01/20261001T020000Z-111111 (done)", "Exit code:"} {
		if !strings.Contains(text, want) {
			t.Errorf("text part lacks %q:\n%s", want, text)
		}
	}
	for _, want := range []string{"<table", "<td>filestore-fs01</td>", "PARTIAL", "Export-CsRgsConfiguration: access denied",
		"skipped &lt;Meeting.Active&gt; &#34;x.lock&#34;: in use", "<li>extended lock of 3 objects</li>", "3m12s"} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML part lacks %q:\n%s", want, html)
		}
	}
	if strings.Contains(html, "<Meeting.Active>") {
		t.Error("HTML part does not escape item text")
	}

	// A wrong password fails, and the error does not carry it.
	env["LB_TEST_SMTP_PASS"] = "wrong-pa55-word"
	err = SendMail(context.Background(), e, rep, o)
	if err == nil || strings.Contains(err.Error(), "wrong-pa55-word") {
		t.Errorf("wrong password: %v", err)
	}
	// A missing password variable is a clear error.
	delete(env, "LB_TEST_SMTP_PASS")
	if err := SendMail(context.Background(), e, rep, o); err == nil || !strings.Contains(err.Error(), "LB_TEST_SMTP_PASS") {
		t.Errorf("missing password env: %v", err)
	}
	// Without the test CA the self-signed certificate is refused.
	env["LB_TEST_SMTP_PASS"] = "smtp-pa55-word"
	o.TLS = nil
	if err := SendMail(context.Background(), e, rep, o); err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("untrusted certificate accepted: %v", err)
	}
	if n := len(srv.Mails()); n != 1 {
		t.Errorf("%d messages after the failing attempts, want still 1", n)
	}
}

func TestSendRoutesEmailByOn(t *testing.T) {
	srv := testsmtp.Start(t, "", "")
	no := false
	cfg := config.Notify{Email: &config.Email{Server: srv.Addr, From: "a@b.c", To: []string{"d@e.f"}, StartTLS: &no}}
	Send(context.Background(), cfg, sampleReport(true), nil, Options{})
	if n := len(srv.Mails()); n != 0 {
		t.Fatalf("on: failure (default) sent %d mails for a good run", n)
	}
	rep := sampleReport(true)
	rep.OK, rep.Status, rep.Error, rep.Items = false, "failed", "destination: access denied", nil
	if errs := Send(context.Background(), cfg, rep, nil, Options{}); len(errs) > 0 {
		t.Fatal(errs)
	}
	ms := srv.Mails()
	if len(ms) != 1 {
		t.Fatalf("failed run: %d mails", len(ms))
	}
	h, text, _ := readMail(t, ms[0].Data)
	subj, _ := new(mime.WordDecoder).DecodeHeader(h.Get("Subject"))
	if subj != "[lyncbackup] FAILED fe01: destination: access denied" || !strings.Contains(text, "Error: destination: access denied") {
		t.Errorf("subject %q\n%s", subj, text)
	}
}

// TestTextReportSections: the plain-text mail names only the sections
// that have something in them, with their figures.
func TestTextReportSections(t *testing.T) {
	empty := TextReport(Report{Tool: "lyncbackup test", Host: "fe01", Status: "failed", Error: "config: file not found"})
	for _, h := range []string{"\nItems\n", "\nFailures\n", "\nWarnings\n", "\nRetention\n"} {
		if strings.Contains(empty, h) {
			t.Errorf("a report with no %s lists the section:\n%s", strings.TrimSpace(h), empty)
		}
	}
	if !strings.Contains(empty, "Error: config: file not found") {
		t.Errorf("no error line:\n%s", empty)
	}
	full := TextReport(Report{Tool: "lyncbackup test", Host: "fe01", Status: "partial",
		Items:     []Item{{Name: "csconfig", Kind: "csconfig", Files: 1, PlainBytes: 1536, StoredBytes: 1023, Duration: 1500 * time.Millisecond, Warnings: []string{"a.tmp changed"}}},
		Failures:  []Failure{{Exporter: "sql", Kind: "sql", Error: "login failed"}},
		Retention: []string{"3 set(s) kept, deleted 1"}})
	for _, w := range []string{"\nItems\n", "1.5 KiB", "1023 B", "2s", "\nFailures\n  - sql (sql): login failed\n",
		"\nWarnings\n  - csconfig: a.tmp changed\n", "\nRetention\n  - 3 set(s) kept, deleted 1\n"} {
		if !strings.Contains(full, w) {
			t.Errorf("report lacks %q:\n%s", w, full)
		}
	}
}

// TestSubjectCutsWholeCharacters: a long error is cut to 120 bytes in
// the subject, never inside a character (Windows' error texts are in the
// server's language: "Accès refusé.").
func TestSubjectCutsWholeCharacters(t *testing.T) {
	// "é" takes bytes 119 and 120: a byte cut at 120 would split it.
	msg := "store: open " + strings.Repeat("x", 107) + "é: Accès refusé."
	rep := Report{Host: "fe01", Status: "failed", Error: msg}
	subj := Subject(rep)
	want := "[lyncbackup] FAILED fe01: store: open " + strings.Repeat("x", 107) + "…"
	if subj != want || !utf8.ValidString(subj) {
		t.Errorf("Subject\n%q, want\n%q", subj, want)
	}
	rep.Error = "short: Accès refusé."
	if subj := Subject(rep); subj != "[lyncbackup] FAILED fe01: short: Accès refusé." {
		t.Errorf("Subject %q", subj)
	}
}

// TestMailRedactsFirst: a known secret is redacted before the subject is
// cut and before the HTML part escapes it. A secret across the subject's
// 120-character cut kept its start there, and one with + or & reached the
// HTML as entities (&#43;, &amp;) that no longer matched.
func TestMailRedactsFirst(t *testing.T) {
	r := redact.New()
	escaped := "Xy7+pQ&w9zK"
	cut := "Zq8pQw9zK2mLs8vTn4Rb"
	r.Add(escaped, cut)
	rep := Report{Tool: "lyncbackup", Host: "fe01", Status: "failed", Start: time.Now(),
		Error:    strings.Repeat("x", 105) + " " + cut + " then the login failed for password " + escaped,
		Failures: []Failure{{Exporter: "sql", Kind: "sql", Error: "sqlcmd -P " + escaped + ": login failed"}},
		Items:    []Item{{Name: "data", Kind: "path", Warnings: []string{"skipped " + escaped}}}}
	msg, err := Message("a@b.c", []string{"d@e.f"}, rep, r.String, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hdr, text, html := readMail(t, msg)
	subject, _ := new(mime.WordDecoder).DecodeHeader(hdr.Get("Subject"))
	for what, s := range map[string]string{"subject": subject, "text": text, "html": html} {
		for _, leak := range []string{escaped, cut[:8], "Xy7&#43;pQ", "pQ&amp;w9zK", "w9zK"} {
			if strings.Contains(s, leak) {
				t.Errorf("%s holds %q:\n%s", what, leak, s)
			}
		}
	}
}

// TestSlowWebhooksLeaveTheMailItsTime: two webhooks whose server never
// answers (dropped traffic) take their tries; the e-mail to a working
// relay still goes out within the run's budget for notifications. They
// were sent one after another, and the webhooks used it all up.
func TestSlowWebhooksLeaveTheMailItsTime(t *testing.T) {
	hang := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-time.After(2 * time.Second):
		}
	}))
	defer hang.Close()
	smtpSrv := testsmtp.Start(t, "", "")
	no := false
	cfg := config.Notify{On: "failure",
		Webhooks: []config.Webhook{{URL: hang.URL + "/ping/a", Ping: true}, {URL: hang.URL + "/teams"}},
		Email:    &config.Email{Server: smtpSrv.Addr, From: "a@b.c", To: []string{"d@e.f"}, StartTLS: &no}}
	ctx, cancel := context.WithTimeout(context.Background(), 1800*time.Millisecond)
	defer cancel()
	errs := Send(ctx, cfg, Report{Host: "fe01", Status: "failed", Error: "destination unreachable"}, []byte(`{}`),
		Options{HTTP: &http.Client{Timeout: 300 * time.Millisecond}, Backoff: 10 * time.Millisecond})
	if n := len(smtpSrv.Mails()); n != 1 {
		t.Errorf("%d mails sent; errors: %v", n, errs)
	}
	if len(errs) != 2 {
		t.Errorf("want the two webhooks' failures, got %v", errs)
	}
}

// A display name that is not ASCII is RFC 2047-encoded in From and To (it
// went out as raw 8-bit, which a relay without SMTPUTF8 may refuse).
func TestMailEncodesDisplayNames(t *testing.T) {
	msg, err := Message("Sauvegarde Société <backup@contoso.com>", []string{"Équipe Lync <lync@contoso.com>", "ops@contoso.com"}, sampleReport(false), nil, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	head := string(msg[:strings.Index(string(msg), "\r\n\r\n")])
	for _, line := range strings.Split(head, "\r\n") {
		for _, r := range line {
			if r > 127 {
				t.Fatalf("header line not ASCII: %q", line)
			}
		}
	}
	hdr, _, _ := readMail(t, msg)
	from, err := mail.ParseAddress(hdr.Get("From"))
	if err != nil || from.Name != "Sauvegarde Société" || from.Address != "backup@contoso.com" {
		t.Errorf("From %q: %+v %v", hdr.Get("From"), from, err)
	}
	to, err := mail.ParseAddressList(hdr.Get("To"))
	if err != nil || len(to) != 2 || to[0].Name != "Équipe Lync" || to[1].Address != "ops@contoso.com" {
		t.Errorf("To %q: %v", hdr.Get("To"), err)
	}
}

// TestMailColourOfAFailedPruneAfterBackup: a complete set whose prune after
// it failed (exit 3) is headed in the partial run's amber, not the red of
// a failed backup: the set is stored, the housekeeping is not done.
func TestMailColourOfAFailedPruneAfterBackup(t *testing.T) {
	for _, c := range []struct {
		rep  Report
		want string
	}{
		{Report{Host: "fe01", Status: "complete", OK: true}, "#1a7f37"},
		{Report{Host: "fe01", Status: "complete", ExitCode: 3, Error: "backup committed, but the prune after it failed: delete set fe01/x: AccessDenied"}, "#9a6700"},
		{Report{Host: "fe01", Status: "partial", ExitCode: 3}, "#9a6700"},
		{Report{Host: "fe01", Status: "failed", ExitCode: 1}, "#cf222e"},
		{Report{Host: "fe01", Status: "complete", ExitCode: 130, Error: "interrupted"}, "#cf222e"},
	} {
		msg, err := Message("lb@contoso.com", []string{"ops@contoso.com"}, c.rep, nil, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		// The HTML part is quoted-printable: soft line breaks, "=3D".
		html := strings.NewReplacer("=\r\n", "", "=3D", "=").Replace(string(msg))
		if want := "color:" + c.want + "\">" + strings.ToUpper(c.rep.Status); !strings.Contains(html, want) {
			t.Errorf("%s exit %d: no %q in\n%s", c.rep.Status, c.rep.ExitCode, want, msg)
		}
	}
}
