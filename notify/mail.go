package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"os"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/clip"
	"github.com/lyncbackup/lyncbackup/progress"
)

// SendMail sends the report as a multipart/alternative (text + HTML)
// message. STARTTLS is required unless starttls: false (port 465 means TLS
// from the first byte); the password comes from the environment variable
// named by password_env, never from the file.
func SendMail(ctx context.Context, e config.Email, rep Report, o Options) error {
	o.fill()
	if e.Server == "" || e.From == "" || len(e.To) == 0 {
		return errors.New("notify.email needs server, from and to")
	}
	host, port, err := net.SplitHostPort(e.Server)
	if err != nil {
		host, port = e.Server, "587"
	}
	addr := net.JoinHostPort(host, port)
	tlsConf := &tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}
	if o.TLS != nil {
		tlsConf = o.TLS.Clone()
		if tlsConf.ServerName == "" {
			tlsConf.ServerName = host
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	d := net.Dialer{Timeout: 30 * time.Second}
	var conn net.Conn
	if port == "465" {
		conn, err = (&tls.Dialer{NetDialer: &d, Config: tlsConf}).DialContext(ctx, "tcp", addr)
	} else {
		conn, err = d.DialContext(ctx, "tcp", addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if hn, err := os.Hostname(); err == nil && hn != "" {
		if err := c.Hello(hn); err != nil {
			return err
		}
	}
	startTLS := e.StartTLS == nil || *e.StartTLS
	if startTLS && port != "465" {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			return errors.New("server does not offer STARTTLS (set notify.email.starttls: false only on a trusted network)")
		}
		if err := c.StartTLS(tlsConf); err != nil {
			return fmt.Errorf("STARTTLS: %w", err)
		}
	}
	if e.Username != "" {
		pass := ""
		if e.PasswordEnv != "" {
			pass = o.Getenv(e.PasswordEnv)
		}
		if pass == "" {
			return fmt.Errorf("notify.email.password_env: environment variable %q is empty or not set", e.PasswordEnv)
		}
		// PlainAuth refuses to send the password over a connection that
		// is neither TLS nor to localhost.
		if err := c.Auth(smtp.PlainAuth("", e.Username, pass, host)); err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
	}
	msg, err := Message(e.From, e.To, rep, o.Redact, time.Now())
	if err != nil {
		return err
	}
	if err := c.Mail(addrOnly(e.From)); err != nil {
		return fmt.Errorf("MAIL FROM: %w", err)
	}
	for _, to := range e.To {
		if err := c.Rcpt(addrOnly(to)); err != nil {
			return fmt.Errorf("RCPT TO %s: %w", to, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("DATA: %w", err)
	}
	return c.Quit()
}

// addrOnly turns "Backup <b@x>" into "b@x".
func addrOnly(s string) string {
	if i := strings.LastIndex(s, "<"); i >= 0 {
		if j := strings.LastIndex(s, ">"); j > i {
			return s[i+1 : j]
		}
	}
	return strings.TrimSpace(s)
}

// Subject is the e-mail's subject line.
func Subject(rep Report) string {
	state := strings.ToUpper(rep.Status)
	if state == "" {
		state = "FAILED"
	}
	if rep.OK {
		var stored int64
		for _, it := range rep.Items {
			stored += it.StoredBytes
		}
		return fmt.Sprintf("[lyncbackup] %s %s: %d items, %s stored", state, rep.Host, len(rep.Items), progress.HumanBytes(stored))
	}
	if rep.Error != "" {
		return fmt.Sprintf("[lyncbackup] %s %s: %s", state, rep.Host, clip.String(rep.Error, 120))
	}
	return fmt.Sprintf("[lyncbackup] %s %s", state, rep.Host)
}

// redactReport is rep with redact applied to each of its texts.
func redactReport(rep Report, redact func(string) string) Report {
	rep.Tool, rep.Host, rep.SetID, rep.Status, rep.Error = redact(rep.Tool), redact(rep.Host), redact(rep.SetID), redact(rep.Status), redact(rep.Error)
	rep.Items = slices.Clone(rep.Items)
	for i, it := range rep.Items {
		rep.Items[i].Name, rep.Items[i].Kind = redact(it.Name), redact(it.Kind)
		rep.Items[i].Warnings = slices.Clone(it.Warnings)
		for j, w := range it.Warnings {
			rep.Items[i].Warnings[j] = redact(w)
		}
	}
	rep.Failures = slices.Clone(rep.Failures)
	for i, f := range rep.Failures {
		rep.Failures[i] = Failure{Exporter: redact(f.Exporter), Kind: redact(f.Kind), Error: redact(f.Error)}
	}
	rep.Retention = slices.Clone(rep.Retention)
	for i, l := range rep.Retention {
		rep.Retention[i] = redact(l)
	}
	return rep
}

// headerAddress writes an address for a header: a display name that is not
// ASCII ("Sauvegarde Société <a@b.c>") RFC 2047-encoded, as a server
// without SMTPUTF8 needs it; what does not parse is left as written.
func headerAddress(a string) string {
	if p, err := mail.ParseAddress(a); err == nil && p.Name != "" {
		return p.String()
	}
	return a
}

// Message builds the whole RFC 5322 message (CRLF line endings).
func Message(from string, to []string, rep Report, redact func(string) string, now time.Time) ([]byte, error) {
	if redact == nil {
		redact = func(s string) string { return s }
	}
	// Every text of the report is redacted before it is cut (the subject)
	// or escaped (the HTML part): a secret cut in two, or with its + and &
	// written as HTML entities, no longer matches.
	rep = redactReport(rep, redact)
	text := redact(TextReport(rep))
	var html bytes.Buffer
	if err := htmlTmpl.Execute(&html, viewOf(rep)); err != nil {
		return nil, err
	}
	htmlS := redact(html.String())

	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	hdr := func(k, v string) { fmt.Fprintf(&buf, "%s: %s\r\n", k, v) }
	hdr("From", headerAddress(from))
	tos := make([]string, len(to))
	for i, t := range to {
		tos[i] = headerAddress(t)
	}
	hdr("To", strings.Join(tos, ", "))
	hdr("Subject", mime.QEncoding.Encode("utf-8", redact(Subject(rep))))
	hdr("Date", now.Format(time.RFC1123Z))
	var id [12]byte
	rand.Read(id[:])
	hdr("Message-ID", "<"+hex.EncodeToString(id[:])+"@lyncbackup>")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", "multipart/alternative; boundary="+mw.Boundary())
	buf.WriteString("\r\n")
	for _, part := range []struct{ ctype, body string }{{"text/plain; charset=utf-8", text}, {"text/html; charset=utf-8", htmlS}} {
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", part.ctype)
		h.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		qp := quotedprintable.NewWriter(pw)
		if _, err := qp.Write([]byte(part.body)); err != nil {
			return nil, err
		}
		if err := qp.Close(); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func dur(d time.Duration) string {
	if d <= 0 {
		return "-"
	}
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// TextReport is the plain-text body.
func TextReport(rep Report) string {
	var b strings.Builder
	status := strings.ToUpper(rep.Status)
	if status == "" {
		status = "FAILED"
	}
	fmt.Fprintf(&b, "lyncbackup backup of %s: %s\n\n", rep.Host, status)
	var plain, stored, files int64
	for _, it := range rep.Items {
		plain += it.PlainBytes
		stored += it.StoredBytes
		files += it.Files
	}
	tw := tabwriter.NewWriter(&b, 0, 2, 2, ' ', 0)
	if rep.SetID != "" {
		fmt.Fprintf(tw, "Set:\t%s\n", rep.SetID)
	}
	fmt.Fprintf(tw, "Started:\t%s\n", rep.Start.UTC().Format("2006-01-02 15:04:05 UTC"))
	fmt.Fprintf(tw, "Duration:\t%s\n", dur(rep.Duration))
	fmt.Fprintf(tw, "Items:\t%d stored, %d failed\n", len(rep.Items), len(rep.Failures))
	fmt.Fprintf(tw, "Read:\t%s in %d files\n", progress.HumanBytes(plain), files)
	fmt.Fprintf(tw, "Stored:\t%s\n", progress.HumanBytes(stored))
	fmt.Fprintf(tw, "Exit code:\t%d\n", rep.ExitCode)
	tw.Flush()
	if rep.Error != "" {
		fmt.Fprintf(&b, "\nError: %s\n", rep.Error)
	}
	if len(rep.Items) > 0 {
		b.WriteString("\nItems\n")
		tw = tabwriter.NewWriter(&b, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "  NAME\tKIND\tFILES\tSIZE\tSTORED\tDURATION\tWARNINGS")
		for _, it := range rep.Items {
			fmt.Fprintf(tw, "  %s\t%s\t%d\t%s\t%s\t%s\t%d\n", it.Name, it.Kind, it.Files, progress.HumanBytes(it.PlainBytes), progress.HumanBytes(it.StoredBytes), dur(it.Duration), len(it.Warnings))
		}
		tw.Flush()
	}
	if len(rep.Failures) > 0 {
		b.WriteString("\nFailures\n")
		for _, f := range rep.Failures {
			fmt.Fprintf(&b, "  - %s (%s): %s\n", f.Exporter, f.Kind, f.Error)
		}
	}
	var warns []string
	for _, it := range rep.Items {
		for _, w := range it.Warnings {
			warns = append(warns, it.Name+": "+w)
		}
	}
	if len(warns) > 0 {
		b.WriteString("\nWarnings\n")
		for _, w := range warns {
			fmt.Fprintf(&b, "  - %s\n", w)
		}
	}
	if len(rep.Retention) > 0 {
		b.WriteString("\nRetention\n")
		for _, r := range rep.Retention {
			fmt.Fprintf(&b, "  - %s\n", r)
		}
	}
	fmt.Fprintf(&b, "\n-- \n%s\n", rep.Tool)
	return b.String()
}

type view struct {
	Report
	StatusUpper, Color, Started, Duration, Read, Stored string
	Files                                               int64
	Rows                                                []row
	Warnings                                            []string
}

type row struct {
	Item
	Size, StoredS, Dur string
}

func viewOf(rep Report) view {
	v := view{Report: rep, StatusUpper: strings.ToUpper(rep.Status)}
	if v.StatusUpper == "" {
		v.StatusUpper = "FAILED"
	}
	switch {
	case rep.OK:
		v.Color = "#1a7f37"
	case rep.Status == "partial" || rep.ExitCode == 3:
		// Exit 3: a partial set, or a complete one whose prune after
		// it failed; stored, but someone has to look.
		v.Color = "#9a6700"
	default:
		v.Color = "#cf222e"
	}
	v.Started = rep.Start.UTC().Format("2006-01-02 15:04:05 UTC")
	v.Duration = dur(rep.Duration)
	var plain, stored int64
	for _, it := range rep.Items {
		plain += it.PlainBytes
		stored += it.StoredBytes
		v.Files += it.Files
		v.Rows = append(v.Rows, row{Item: it, Size: progress.HumanBytes(it.PlainBytes), StoredS: progress.HumanBytes(it.StoredBytes), Dur: dur(it.Duration)})
		for _, w := range it.Warnings {
			v.Warnings = append(v.Warnings, it.Name+": "+w)
		}
	}
	v.Read, v.Stored = progress.HumanBytes(plain), progress.HumanBytes(stored)
	return v
}

var htmlTmpl = template.Must(template.New("report").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>lyncbackup {{.Host}}</title></head>
<body style="font-family:Segoe UI,Helvetica,Arial,sans-serif;font-size:14px;color:#1f2328">
<h2 style="margin:0 0 8px 0">lyncbackup backup of {{.Host}}: <span style="color:{{.Color}}">{{.StatusUpper}}</span></h2>
<table style="border-collapse:collapse;margin-bottom:12px">
{{if .SetID}}<tr><td style="padding:2px 12px 2px 0"><b>Set</b></td><td>{{.SetID}}</td></tr>{{end}}
<tr><td style="padding:2px 12px 2px 0"><b>Started</b></td><td>{{.Started}}</td></tr>
<tr><td style="padding:2px 12px 2px 0"><b>Duration</b></td><td>{{.Duration}}</td></tr>
<tr><td style="padding:2px 12px 2px 0"><b>Items</b></td><td>{{len .Items}} stored, {{len .Failures}} failed</td></tr>
<tr><td style="padding:2px 12px 2px 0"><b>Read</b></td><td>{{.Read}} in {{.Files}} files</td></tr>
<tr><td style="padding:2px 12px 2px 0"><b>Stored</b></td><td>{{.Stored}}</td></tr>
<tr><td style="padding:2px 12px 2px 0"><b>Exit code</b></td><td>{{.ExitCode}}</td></tr>
</table>
{{if .Error}}<p style="color:#cf222e"><b>Error:</b> {{.Error}}</p>{{end}}
{{if .Rows}}<h3>Items</h3>
<table style="border-collapse:collapse" border="1" cellpadding="4">
<tr style="background:#f6f8fa"><th>Item</th><th>Kind</th><th>Files</th><th>Size</th><th>Stored</th><th>Duration</th><th>Warnings</th></tr>
{{range .Rows}}<tr><td>{{.Name}}</td><td>{{.Kind}}</td><td align="right">{{.Files}}</td><td align="right">{{.Size}}</td><td align="right">{{.StoredS}}</td><td align="right">{{.Dur}}</td><td align="right">{{len .Warnings}}</td></tr>
{{end}}</table>{{end}}
{{if .Failures}}<h3 style="color:#cf222e">Failures</h3><ul>
{{range .Failures}}<li><b>{{.Exporter}}</b> ({{.Kind}}): {{.Error}}</li>
{{end}}</ul>{{end}}
{{if .Warnings}}<h3 style="color:#9a6700">Warnings</h3><ul>
{{range .Warnings}}<li>{{.}}</li>
{{end}}</ul>{{end}}
{{if .Retention}}<h3>Retention</h3><ul>
{{range .Retention}}<li>{{.}}</li>
{{end}}</ul>{{end}}
<p style="color:#656d76;font-size:12px">{{.Tool}}</p>
</body></html>
`))
