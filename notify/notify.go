// Package notify tells people how a run went: webhooks (a POST of the JSON
// summary, or healthchecks-style pings: GET URL on success, URL/fail on
// failure) and an SMTP e-mail with a readable HTML and text report.
package notify

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

// Report is what the run did, in the words of the e-mail.
type Report struct {
	Tool     string
	Host     string
	SetID    string
	Status   string // complete, partial, failed
	OK       bool
	ExitCode int
	Start    time.Time
	Duration time.Duration
	Items    []Item
	Failures []Failure
	Error    string
	// Retention lists what the after-backup retention did, one line each.
	Retention []string
}

// Item is one stored item.
type Item struct {
	Name, Kind  string
	Files       int64
	PlainBytes  int64
	StoredBytes int64
	Duration    time.Duration // 0 when unknown
	Warnings    []string
}

// Failure is an exporter or item that failed.
type Failure struct {
	Exporter, Kind, Error string
}

// Options are the side inputs of Send.
type Options struct {
	// HTTP is the client for webhooks (default: 30 s timeout).
	HTTP *http.Client
	// TLS configures SMTP TLS (tests pass a pool trusting their own cert).
	TLS *tls.Config
	// Getenv reads the SMTP password (default os.Getenv).
	Getenv func(string) string
	// Redact scrubs every text that leaves the process (default: identity).
	Redact func(string) string
	Log    *slog.Logger
	// Retry backoff base for webhooks (default 1 s; tests shorten it).
	Backoff time.Duration
}

func (o *Options) fill() {
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 30 * time.Second}
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Redact == nil {
		o.Redact = func(s string) string { return s }
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Backoff == 0 {
		o.Backoff = time.Second
	}
}

// ShouldReport reports whether a run with this outcome is sent by the
// POST webhooks and the e-mail under notify.on (default "failure").
// A partial backup counts as a failure: someone has to look at it.
func ShouldReport(on string, ok bool) bool {
	return on == "always" || !ok
}

// Send delivers the report to every configured target and returns one
// error per target that failed (each already redacted and naming the
// target without its secret URL). summary is the run's JSON document.
func Send(ctx context.Context, cfg config.Notify, rep Report, summary []byte, o Options) []error {
	o.fill()
	report := ShouldReport(cfg.On, rep.OK)
	body := []byte(o.Redact(string(summary)))
	// Every target at once: a webhook that does not answer (dropped
	// traffic takes three 30 s tries) must not spend the time the others,
	// the e-mail to an internal relay say, need to get through.
	errs := make([]error, len(cfg.Webhooks)+1)
	var wg sync.WaitGroup
	for i, w := range cfg.Webhooks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = o.sendWebhook(ctx, fmt.Sprintf("webhook %d (%s)", i+1, hostOf(w.URL)), w, rep.OK, report, body)
		}()
	}
	if cfg.Email != nil && report {
		wg.Add(1)
		go func() {
			defer wg.Done()
			o, err := o.withCA(cfg.Email.CAFile)
			if err == nil {
				err = SendMail(ctx, *cfg.Email, rep, o)
			}
			if err != nil {
				errs[len(errs)-1] = fmt.Errorf("e-mail via %s: %s", cfg.Email.Server, o.Redact(err.Error()))
				return
			}
			o.Log.Info("notified", "target", "e-mail to "+strings.Join(cfg.Email.To, ", "))
		}()
	}
	wg.Wait()
	var out []error
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// sendWebhook pings w (on every run) or posts the report to it (when
// report); nil when done or not due.
func (o Options) sendWebhook(ctx context.Context, name string, w config.Webhook, ok, report bool, body []byte) error {
	o, err := o.withCA(w.CAFile)
	if err != nil {
		if w.Ping || report {
			return fmt.Errorf("%s: %s", name, o.Redact(err.Error()))
		}
		return nil
	}
	switch {
	case w.Ping:
		// Pings go out on every run: a dead-man's-switch monitor alerts
		// when the success ping is missing.
		u := w.URL
		if !ok {
			u = failURL(u)
		}
		err = o.do(ctx, http.MethodGet, u, nil)
	case report:
		err = o.do(ctx, http.MethodPost, w.URL, body)
	default:
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %s", name, o.Redact(err.Error()))
	}
	o.Log.Info("notified", "target", name)
	return nil
}

// CAPool is the system's certificate store plus the PEM certificates in
// file: the private CA of a mail relay or webhook (config.CAPool, which
// destination.ca_file uses too). Go on Windows verifies against the
// Windows store only and ignores SSL_CERT_FILE, so this is how
// lyncbackup.exe learns such a CA without importing it machine-wide.
func CAPool(file string) (*x509.CertPool, error) {
	pool, err := config.CAPool(file)
	if err != nil {
		return nil, fmt.Errorf("ca_file %v", err)
	}
	return pool, nil
}

// withCA returns o trusting the CA certificates of file besides the
// system store, for both the HTTP client and SMTP; o itself if file is "".
func (o Options) withCA(file string) (Options, error) {
	if file == "" {
		return o, nil
	}
	pool, err := CAPool(file)
	if err != nil {
		return o, err
	}
	c := *o.HTTP
	var tr *http.Transport
	switch t := c.Transport.(type) {
	case nil:
		tr = http.DefaultTransport.(*http.Transport).Clone()
	case *http.Transport:
		tr = t.Clone()
	}
	if tr != nil {
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = pool
		c.Transport = tr
	}
	o.HTTP = &c
	if o.TLS == nil {
		o.TLS = &tls.Config{MinVersion: tls.VersionTLS12}
	} else {
		o.TLS = o.TLS.Clone()
	}
	o.TLS.RootCAs = pool
	return o, nil
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "unparsable URL"
	}
	return u.Host
}

// failURL appends "/fail" to the URL's path (keeping any query).
func failURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return strings.TrimRight(raw, "/") + "/fail"
	}
	u.Path = strings.TrimRight(u.Path, "/") + "/fail"
	if u.RawPath != "" {
		u.RawPath = strings.TrimRight(u.RawPath, "/") + "/fail"
	}
	return u.String()
}

// do sends one request, retrying network errors, 429 and 5xx up to three
// times. Errors never carry the URL (it is a secret token).
func (o *Options) do(ctx context.Context, method, u string, body []byte) error {
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		if attempt > 0 {
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(o.Backoff << (attempt - 1)):
			}
		}
		req, err := http.NewRequestWithContext(ctx, method, u, bytes.NewReader(body))
		if err != nil {
			return errors.New("invalid URL")
		}
		req.Header.Set("User-Agent", "lyncbackup")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := o.HTTP.Do(req)
		if err != nil {
			var ue *url.Error
			if errors.As(err, &ue) {
				err = ue.Err
			}
			last = err
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		switch {
		case resp.StatusCode < 300:
			return nil
		case resp.StatusCode == 429 || resp.StatusCode >= 500:
			last = fmt.Errorf("HTTP %s", resp.Status)
			continue
		default:
			return fmt.Errorf("HTTP %s", resp.Status)
		}
	}
	return fmt.Errorf("%w (after 3 attempts)", last)
}
