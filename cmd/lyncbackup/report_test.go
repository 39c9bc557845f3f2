package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
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

// TestFailedPruneIsAFailedRun: a backup whose set is committed but whose
// prune after it fails exits 1, and every report says so: the JSON
// summary, the webhooks (the ping's /fail, the report POST of on:
// failure) and the metrics. They all said success.
func TestFailedPruneIsAFailedRun(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f.txt"), []byte("data"), 0o644)
	os.MkdirAll(filepath.Join(dir, "dest"), 0o755)
	srv, requests := webhooks(t)
	id, _ := age.GenerateX25519Identity()
	prom := filepath.Join(dir, "m.prom")
	cfg := fmt.Sprintf(`host: fe01
staging: '%s'
exporters: [{kind: path, name: data, paths: ['%s']}]
encryption: {recipients: [%s]}
destination: {url: '%s'}
retention: {keep_last: 2, after_backup: true}
metrics: {textfile: '%s'}
notify: {on: failure, webhooks: [{url: '%s/ping/uuid', ping: true}, {url: '%s/hook'}]}
`, filepath.Join(dir, "staging"), src, id.Recipient(), "file://"+filepath.ToSlash(filepath.Join(dir, "dest")), prom, srv.URL, srv.URL)
	cfgPath := filepath.Join(dir, "lb.yaml")
	os.WriteFile(cfgPath, []byte(cfg), 0o644)
	saved := afterBackupHooks
	afterBackupHooks = []func(context.Context, *app, *config.Config, *backupSummary) error{
		func(context.Context, *app, *config.Config, *backupSummary) error {
			return fmt.Errorf("backup committed, but the prune after it failed: %w", errors.New("delete fe01/old: access denied"))
		}}
	defer func() { afterBackupHooks = saved }()
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"backup", "--config", cfgPath, "--json", "--progress=never"}, &out, &errb)
	var sum struct {
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Status   string `json:"status"`
	}
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil || code != 1 || sum.OK || sum.ExitCode != 1 || sum.Status != "complete" {
		t.Errorf("exit %d, summary %+v %v\n%s", code, sum, err, errb.String())
	}
	got := requests()
	if !strings.Contains(got, "/ping/uuid/fail") || !strings.Contains(got, "POST /hook") {
		t.Errorf("webhook requests: %s", got)
	}
	if b, _ := os.ReadFile(prom); !strings.Contains(string(b), `lyncbackup_last_run_success{host="fe01"} 0`) {
		t.Errorf("metrics:\n%s", b)
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
