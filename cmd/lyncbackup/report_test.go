package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/lyncbackup/lyncbackup/config"
)

// webhooks is a webhook server on loopback, and what it was asked so far
// ("GET /ping/uuid/fail, POST /hook").
func webhooks(t *testing.T) (*httptest.Server, func() string) {
	var mu sync.Mutex
	var reqs []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reqs = append(reqs, r.Method+" "+r.URL.Path)
		mu.Unlock()
	}))
	t.Cleanup(srv.Close)
	return srv, func() string { mu.Lock(); defer mu.Unlock(); return strings.Join(reqs, ", ") }
}

// TestFailedPruneAfterBackupIsPartial: a backup whose set is committed but
// whose prune after it fails (here its destination is gone when the prune
// opens it) exits 3, not 0 (the failure went unreported once) nor 1 (the
// metrics then said no successful backup, and the alert for it sent the
// admin to the wrong cause). The JSON summary is not ok with status
// complete, the error and the prune object name the prune; the webhooks
// hear of a failure (the ping's /fail, the report POST of on: failure);
// the metrics count the backup as a success and the prune as failed.
func TestFailedPruneAfterBackupIsPartial(t *testing.T) {
	dir := t.TempDir()
	srv, requests := webhooks(t)
	cfgPath, dest, prom := pruneAfterBackupConfig(t, dir, fmt.Sprintf("notify: {on: failure, webhooks: [{url: '%s/ping/uuid', ping: true}, {url: '%s/hook'}]}\n", srv.URL, srv.URL))
	saved := afterBackupHooks
	afterBackupHooks = []func(context.Context, *app, *config.Config, *backupSummary) error{
		func(ctx context.Context, a *app, cfg *config.Config, sum *backupSummary) error {
			// The share goes away between the commit and the prune.
			if err := os.Rename(dest, dest+".away"); err != nil {
				t.Fatal(err)
			}
			return pruneAfterBackup(ctx, a, cfg, sum)
		}}
	defer func() { afterBackupHooks = saved }()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"backup", "--config", cfgPath, "--json", "--progress=never"}, &out, &errb)
	var sum struct {
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Status   string `json:"status"`
		SetID    string `json:"set_id"`
		Error    string `json:"error"`
		Prune    *struct {
			OK     bool     `json:"ok"`
			Errors []string `json:"errors"`
		} `json:"prune"`
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || code != 3 || sum.OK || sum.ExitCode != 3 || sum.Status != "complete" || sum.SetID == "" {
		t.Errorf("exit %d, summary %+v %v\n%s", code, sum, err, errb.String())
	}
	if !strings.HasPrefix(sum.Error, "backup committed, but the prune after it failed: ") || !strings.Contains(sum.Error, "does not exist") {
		t.Errorf("error %q: want the prune named as the cause", sum.Error)
	}
	if sum.Prune == nil || sum.Prune.OK || len(sum.Prune.Errors) != 1 || !strings.Contains(sum.Prune.Errors[0], "does not exist") {
		t.Errorf("prune %+v", sum.Prune)
	}
	if !strings.Contains(errb.String(), "backup committed, but the prune after it failed") {
		t.Errorf("stderr does not name the prune:\n%s", errb.String())
	}
	got := requests()
	if !strings.Contains(got, "/ping/uuid/fail") || !strings.Contains(got, "POST /hook") {
		t.Errorf("webhook requests: %s", got)
	}
	b, _ := os.ReadFile(prom)
	for _, want := range []string{`lyncbackup_last_run_success{host="fe01"} 1`, `lyncbackup_last_run_exit_code{host="fe01"} 3`,
		`lyncbackup_last_prune_success{host="fe01"} 0`, `lyncbackup_last_run_status{host="fe01",status="complete"} 1`} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, b)
		}
	}
	if strings.Contains(string(b), `lyncbackup_last_success_timestamp_seconds{host="fe01"} 0`+"\n") {
		t.Errorf("metrics: the backup is not the last success:\n%s", b)
	}
}

// TestInterruptedPruneAfterBackup: Ctrl-C (or SIGTERM) during the prune
// after a committed complete set exits 130, the run is not ok, and the
// metrics count the stored set as the last success (they said 0) with the
// prune failed.
func TestInterruptedPruneAfterBackup(t *testing.T) {
	dir := t.TempDir()
	cfgPath, _, prom := pruneAfterBackupConfig(t, dir, "")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	saved := afterBackupHooks
	afterBackupHooks = []func(context.Context, *app, *config.Config, *backupSummary) error{
		func(ctx context.Context, a *app, cfg *config.Config, sum *backupSummary) error {
			cancel() // the signal arrives as the prune starts
			return pruneAfterBackup(ctx, a, cfg, sum)
		}}
	defer func() { afterBackupHooks = saved }()
	var out, errb bytes.Buffer
	code := run(ctx, []string{"backup", "--config", cfgPath, "--json", "--progress=never"}, &out, &errb)
	var sum struct {
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Status   string `json:"status"`
		Prune    *struct {
			OK bool `json:"ok"`
		} `json:"prune"`
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || code != 130 || sum.OK || sum.ExitCode != 130 || sum.Status != "complete" || sum.Prune == nil || sum.Prune.OK {
		t.Errorf("exit %d, summary %+v %v\n%s\n%s", code, sum, err, out.String(), errb.String())
	}
	b, _ := os.ReadFile(prom)
	for _, want := range []string{`lyncbackup_last_run_success{host="fe01"} 1`, `lyncbackup_last_run_exit_code{host="fe01"} 130`,
		`lyncbackup_last_prune_success{host="fe01"} 0`} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("metrics lack %s:\n%s", want, b)
		}
	}
}

// TestLogFileFailureStillReported: a log file that cannot be opened (its
// folder is missing, or the task's account may not write there) stops the
// backup with exit 2, and the webhooks still hear of it. Nothing was sent:
// with on: failure e-mail as the only alert, every night failed silently.
func TestLogFileFailureStillReported(t *testing.T) {
	dir := t.TempDir()
	srv, requests := webhooks(t)
	id, _ := age.GenerateX25519Identity()
	cfg := fmt.Sprintf(`host: fe01
exporters: [{kind: path, name: data, paths: ['%s']}]
encryption: {recipients: [%s]}
destination: {url: '%s'}
log: {file: '%s'}
notify: {on: failure, webhooks: [{url: '%s/ping/uuid', ping: true}, {url: '%s/hook'}]}
`, dir, id.Recipient(), "file://"+filepath.ToSlash(dir), filepath.Join(dir, "no-such-folder", "lb.log"), srv.URL, srv.URL)
	cfgPath := filepath.Join(dir, "lb.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"backup", "--config", cfgPath, "--progress=never"}, &out, &errb)
	got := requests()
	if code != 2 || !strings.Contains(got, "GET /ping/uuid/fail") || !strings.Contains(got, "POST /hook") {
		t.Errorf("exit %d, webhook requests: %s\n%s", code, got, errb.String())
	}
}

// pruneAfterBackupConfig writes, in dir, a config backing up one small file
// to a local folder (dest) with the prune after backup on and the metrics
// in a textfile (prom), plus extra YAML; it returns the config's path.
func pruneAfterBackupConfig(t *testing.T, dir, extra string) (cfgPath, dest, prom string) {
	t.Helper()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f.txt"), []byte("data"), 0o644)
	dest = filepath.Join(dir, "dest")
	os.MkdirAll(dest, 0o755)
	id, _ := age.GenerateX25519Identity()
	prom = filepath.Join(dir, "m.prom")
	cfg := fmt.Sprintf(`host: fe01
staging: '%s'
exporters: [{kind: path, name: data, paths: ['%s']}]
encryption: {recipients: [%s]}
destination: {url: '%s'}
retention: {keep_last: 2, after_backup: true}
metrics: {textfile: '%s'}
`, filepath.Join(dir, "staging"), src, id.Recipient(), "file://"+filepath.ToSlash(dest), prom) + extra
	cfgPath = filepath.Join(dir, "lb.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfgPath, dest, prom
}
