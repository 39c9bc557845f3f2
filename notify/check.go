package notify

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/lyncbackup/lyncbackup/config"
)

// Finding is one line of lyncbackup check about notifications. ID is
// stable for scripts ("notify.webhook.1", "notify.email").
type Finding struct {
	ID, Name, Status, Detail, Fix string
}

// Check validates the notify section without sending anything: webhook
// URLs, the e-mail fields, and that the SMTP password variable is set in
// this environment (getenv; nil means none is).
func Check(n config.Notify, getenv func(string) string) []Finding {
	if getenv == nil {
		getenv = func(string) string { return "" }
	}
	var out []Finding
	for i, w := range n.Webhooks {
		f := Finding{ID: fmt.Sprintf("notify.webhook.%d", i+1), Name: fmt.Sprintf("webhook %d", i+1)}
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			f.Status, f.Detail, f.Fix = "fail", "not an http(s) URL", "notify.webhooks[].url must be https://…"
			out = append(out, f)
			continue
		}
		kind := "POST of the JSON summary"
		if w.Ping {
			kind = "ping (GET, /fail on failure)"
		}
		f.Status, f.Detail = "ok", kind+" to "+u.Host
		if u.Scheme == "http" {
			f.Status, f.Fix = "warn", "use https: the URL and the summary cross the network in clear"
		}
		if w.CAFile != "" {
			if _, err := CAPool(w.CAFile); err != nil {
				f.Status, f.Detail, f.Fix = "fail", err.Error(), "notify.webhooks[].ca_file must name a PEM file of CA certificates"
			} else {
				f.Detail += ", trusting the CAs of " + w.CAFile
			}
		}
		out = append(out, f)
	}
	if e := n.Email; e != nil {
		f := Finding{ID: "notify.email", Name: "e-mail"}
		switch {
		case e.Server == "" || e.From == "" || len(e.To) == 0:
			f.Status, f.Detail, f.Fix = "fail", "server, from and to are required", "fill notify.email.server (host:port), from and to"
		case e.Username != "" && (e.PasswordEnv == "" || getenv(e.PasswordEnv) == ""):
			f.Status = "fail"
			f.Detail = fmt.Sprintf("the password variable %q is not set in this environment", e.PasswordEnv)
			f.Fix = "set notify.email.password_env and define that variable for the account the task runs as"
		case e.StartTLS != nil && !*e.StartTLS:
			f.Status, f.Detail = "warn", "report to "+strings.Join(e.To, ", ")+" via "+e.Server+" without STARTTLS"
			f.Fix = "enable starttls unless the relay is on this machine"
		default:
			on := n.On
			if on == "" {
				on = "failure"
			}
			f.Status, f.Detail = "ok", "report to "+strings.Join(e.To, ", ")+" via "+e.Server+" on "+on
		}
		if e.CAFile != "" && f.Status != "fail" {
			if _, err := CAPool(e.CAFile); err != nil {
				f.Status, f.Detail, f.Fix = "fail", err.Error(), "notify.email.ca_file must name a PEM file of CA certificates"
			} else {
				f.Detail += ", trusting the CAs of " + e.CAFile
			}
		}
		out = append(out, f)
	}
	return out
}
