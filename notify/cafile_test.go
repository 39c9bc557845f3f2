package notify

import (
	"context"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/testsmtp"
)

// TestCAFile: notify.email.ca_file and notify.webhooks[].ca_file make Send
// trust a private CA besides the system store (Go on Windows ignores
// SSL_CERT_FILE, so this is how lyncbackup.exe reaches such a relay or
// webhook; the Wine lane runs this). Without the option the same servers
// are refused, and a missing or empty CA file is one error naming it.
func TestCAFile(t *testing.T) {
	smtpSrv := testsmtp.Start(t, "", "")
	var posts atomic.Int32
	hook := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		posts.Add(1)
	}))
	t.Cleanup(hook.Close)
	dir := t.TempDir()
	hookCA := filepath.Join(dir, "hook-ca.pem")
	os.WriteFile(hookCA, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: hook.Certificate().Raw}), 0o644)
	empty := filepath.Join(dir, "empty.pem")
	os.WriteFile(empty, []byte("not a certificate\n"), 0o644)
	cfg := func(smtpCA, hookCA string) config.Notify {
		return config.Notify{On: "always",
			Webhooks: []config.Webhook{{URL: hook.URL + "/post", CAFile: hookCA}},
			Email:    &config.Email{Server: smtpSrv.Addr, From: "a@contoso.com", To: []string{"ops@contoso.com"}, CAFile: smtpCA}}
	}
	send := func(n config.Notify) []error {
		return Send(context.Background(), n, sampleReport(true), []byte(`{"ok":true}`), Options{Backoff: 1})
	}

	if errs := send(cfg(smtpSrv.CertFile, hookCA)); len(errs) != 0 {
		t.Fatalf("with the CA files: %v", errs)
	}
	if posts.Load() != 1 || len(smtpSrv.Mails()) != 1 || !smtpSrv.Mails()[0].TLS {
		t.Fatalf("with the CA files: %d posts, %d mails", posts.Load(), len(smtpSrv.Mails()))
	}

	errs := send(cfg("", ""))
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "certificate") || !strings.Contains(errs[1].Error(), "certificate") {
		t.Errorf("without the CA files: %v", errs)
	}
	if posts.Load() != 1 || len(smtpSrv.Mails()) != 1 {
		t.Errorf("without the CA files: %d posts, %d mails, want still 1 and 1", posts.Load(), len(smtpSrv.Mails()))
	}

	missing := filepath.Join(dir, "no-such.pem")
	errs = send(cfg(empty, missing))
	if len(errs) != 2 || !strings.Contains(errs[0].Error(), "webhook 1") || !strings.Contains(errs[0].Error(), "no-such.pem") ||
		!strings.Contains(errs[1].Error(), "e-mail") || !strings.Contains(errs[1].Error(), "ca_file "+empty+": no PEM certificate in it") {
		t.Errorf("bad CA files: %v", errs)
	}

	// check names a bad CA file and says what it trusts.
	for _, f := range Check(cfg(empty, hookCA), nil) {
		switch f.ID {
		case "notify.webhook.1":
			if f.Status != "ok" || !strings.Contains(f.Detail, "trusting the CAs of "+hookCA) {
				t.Errorf("check %+v", f)
			}
		case "notify.email":
			if f.Status != "fail" || !strings.Contains(f.Detail, empty) || !strings.Contains(f.Fix, "notify.email.ca_file") {
				t.Errorf("check %+v", f)
			}
		}
	}
}
