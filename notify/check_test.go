package notify

import (
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
)

func TestCheckNotify(t *testing.T) {
	no := false
	n := config.Notify{
		Webhooks: []config.Webhook{{URL: "https://hc.example/ping/abc", Ping: true}, {URL: "http://hooks.example/x"}, {URL: "hooks.example/x"}},
		Email:    &config.Email{Server: "smtp.example:587", From: "a@example", To: []string{"ops@example"}, Username: "u", PasswordEnv: "SMTP_PW"},
	}
	got := map[string]Finding{}
	for _, f := range Check(n, func(string) string { return "" }) {
		got[f.ID] = f
	}
	if f := got["notify.webhook.1"]; f.Status != "ok" || !strings.Contains(f.Detail, "ping") || !strings.Contains(f.Detail, "hc.example") {
		t.Errorf("webhook 1: %+v", f)
	}
	if f := got["notify.webhook.2"]; f.Status != "warn" || !strings.Contains(f.Fix, "https") {
		t.Errorf("webhook 2: %+v", f)
	}
	if f := got["notify.webhook.3"]; f.Status != "fail" {
		t.Errorf("webhook 3: %+v", f)
	}
	if f := got["notify.email"]; f.Status != "fail" || !strings.Contains(f.Detail, "SMTP_PW") {
		t.Errorf("e-mail without its password: %+v", f)
	}
	// With the variable set, and STARTTLS off: a warning.
	n.Email.StartTLS = &no
	for _, f := range Check(n, func(k string) string { return map[string]string{"SMTP_PW": "x"}[k] }) {
		if f.ID == "notify.email" && (f.Status != "warn" || !strings.Contains(f.Detail, "without STARTTLS")) {
			t.Errorf("e-mail: %+v", f)
		}
	}
	if fs := Check(config.Notify{}, nil); len(fs) != 0 {
		t.Errorf("nothing configured, findings %+v", fs)
	}
}
