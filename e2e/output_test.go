package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// runTo runs the binary with stdout going to out.
func (e *coreEnv) runTo(out *os.File, args ...string) testbin.Result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var se bytes.Buffer
	cmd, err := testbin.Start(e.t, func() *exec.Cmd {
		cmd := exec.CommandContext(ctx, testbin.Path(e.t), args...)
		cmd.Dir = e.dir
		cmd.Env = append(os.Environ(), e.env...)
		cmd.Stdout, cmd.Stderr = out, &se
		return cmd
	})
	if err == nil {
		err = cmd.Wait()
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run %v: %v", args, err)
	}
	return testbin.Result{Stderr: se.String(), Code: code}
}

// TestCoreStdoutReaderGone: `lyncbackup backup | head -1` — the reader of
// stdout leaves before the backup ends. The run goes on to its end
// (retention, metrics, the log's last line) and exits 0: it was killed by
// SIGPIPE right after its commit before.
func TestCoreStdoutReaderGone(t *testing.T) {
	e := newCoreEnv(t)
	prom := filepath.Join(e.dir, "m.prom")
	logf := filepath.Join(e.dir, "run.log")
	e.oneFileSource(strings.Repeat("lync ", 1000), "metrics: {textfile: "+coreQuote(prom)+"}\nlog: {file: "+coreQuote(logf)+"}\nretention: {keep_last: 5, after_backup: true}\n")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	res := e.runTo(w, "backup", "--progress=never")
	w.Close()
	if res.Code != 0 {
		t.Fatalf("backup with nobody reading stdout: exit %d\n%s", res.Code, res.Stderr)
	}
	if _, err := os.Stat(prom); err != nil {
		t.Errorf("no metrics written: %v", err)
	}
	if b, _ := os.ReadFile(logf); !strings.Contains(string(b), "run finished") {
		t.Errorf("the log does not end the run:\n%s", b)
	}
	if sets := e.list(); len(sets) != 1 {
		t.Errorf("%d sets, want 1", len(sets))
	}
}

// TestCoreRestoreIncludeNoMatchJSON: a restore whose --include matches no
// file exits 1, and its JSON document says so (it said ok, exit 0).
func TestCoreRestoreIncludeNoMatchJSON(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSet("content")
	r := e.run("restore", "latest", "--to", filepath.Join(e.dir, "out"), "--identity", e.key, "--include", "zzz", "--json")
	var doc struct {
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, r.Stdout)
	}
	if r.Code != 1 || doc.OK || doc.ExitCode != 1 || !strings.Contains(doc.Error, "no file matches --include zzz") {
		t.Fatalf("exit %d, document %+v\n%s", r.Code, doc, r.Stderr)
	}
}

// TestCoreSeveralHosts: a destination holding the sets of two hosts.
// Without --host, the commands that need one host are a usage error (exit
// 2, it was 1); prune --host takes the host without case (it pruned
// nothing for FE01); list --host with a host that has no sets names, in
// JSON too, the hosts that have some. prune with one host's config prunes
// that host only (it thinned the other host's sets by its own policy),
// unless --all-hosts.
func TestCoreSeveralHosts(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource("x", "")
	e.backup()
	e.backup()
	cfg, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, []byte(strings.Replace(string(cfg), "host: fe01.contoso.com", "host: fe02.contoso.com", 1)), 0o644)
	e.backup()
	from := "file://" + filepath.ToSlash(e.dest)
	for _, args := range [][]string{
		{"verify", "--from", from},
		{"verify", "all", "--from", from},
		{"ls", "--from", from, "--identity", e.key},
		{"restore", "latest", "--from", from, "--to", filepath.Join(e.dir, "r"), "--identity", e.key},
	} {
		failsWith(t, testbin.Run(t, e.dir, nil, args...), 2, "the destination holds sets of several hosts (fe01.contoso.com, fe02.contoso.com): choose one with --host")
	}
	r := testbin.MustRun(t, e.dir, nil, "prune", "--from", from, "--host", "FE01.CONTOSO.COM", "--keep-last", "1", "--dry-run", "--json")
	var pr struct {
		Host      string `json:"host"`
		Decisions []struct {
			Host string `json:"host"`
		} `json:"decisions"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &pr); err != nil || pr.Host != "fe01.contoso.com" || len(pr.Decisions) != 2 || pr.Decisions[0].Host != "fe01.contoso.com" {
		t.Errorf("prune --host FE01.CONTOSO.COM: %+v %v\n%s", pr, err, r.Stdout)
	}
	e.backup() // fe02's second set
	r = testbin.MustRun(t, e.dir, nil, "prune", "--config", e.config, "--keep-last", "1", "--json")
	pr.Decisions = nil
	if err := json.Unmarshal([]byte(r.Stdout), &pr); err != nil || pr.Host != "fe02.contoso.com" || len(pr.Decisions) != 2 {
		t.Errorf("prune with fe02's config: %+v %v\n%s", pr, err, r.Stdout)
	}
	for _, d := range pr.Decisions {
		if d.Host != "fe02.contoso.com" {
			t.Errorf("prune with fe02's config decided for %s", d.Host)
		}
	}
	r = testbin.MustRun(t, e.dir, nil, "prune", "--config", e.config, "--keep-last", "1", "--all-hosts", "--dry-run", "--json")
	pr.Decisions = nil
	if err := json.Unmarshal([]byte(r.Stdout), &pr); err != nil || len(pr.Decisions) != 3 {
		t.Errorf("prune --all-hosts: fe01's two sets and fe02's one: %+v %v\n%s", pr, err, r.Stdout)
	}
	failsWith(t, testbin.Run(t, e.dir, nil, "prune", "--config", e.config, "--all-hosts", "--host", "fe01.contoso.com"), 2, "--all-hosts and --host exclude each other")
	r = testbin.MustRun(t, e.dir, nil, "list", "--from", from, "--host", "fe03.contoso.com", "--json")
	var ld struct {
		Sets       []any    `json:"sets"`
		OtherHosts []string `json:"other_hosts"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &ld); err != nil || len(ld.Sets) != 0 || strings.Join(ld.OtherHosts, " ") != "fe01.contoso.com fe02.contoso.com" {
		t.Errorf("list --host fe03.contoso.com --json: %+v %v\n%s", ld, err, r.Stdout)
	}
}

// TestOpsDemo: README's demo, and its shared flags: --quiet prints
// nothing, --json exactly one document, --log-file the whole run (the
// list and verify it runs had reset them: the table was printed under
// --quiet and before the document, and the log stopped at the commit).
func TestOpsDemo(t *testing.T) {
	dir := t.TempDir()
	r := testbin.MustRun(t, dir, nil, "demo", "--dir", "plain")
	for _, want := range []string{"== list", "verified set demo-fe01/", "== restored into", "With stock tools, item sample restores as:"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("demo does not say %q:\n%s", want, r.Stdout)
		}
	}
	// The stock-tools commands it prints run as printed (a POSIX shell):
	// the item into a folder of its own, every file checked.
	if runtime.GOOS != "windows" {
		stockToolsOrSkip(t)
		_, after, _ := strings.Cut(r.Stdout, "With stock tools, item sample restores as:\n")
		lines := strings.SplitN(after, "\n", 3)
		if len(lines) < 2 {
			t.Fatalf("no commands after the stock-tools line:\n%s", r.Stdout)
		}
		script := strings.TrimSpace(lines[0]) + "\n" + strings.TrimSpace(lines[1])
		cmd := exec.Command("bash", "-e", "-o", "pipefail", "-c", script)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), ": OK") {
			t.Errorf("the demo's stock-tools commands: %v\n%s\n%s", err, script, out)
		}
	}
	if r := testbin.MustRun(t, dir, nil, "demo", "--dir", "quiet", "--quiet"); r.Stdout != "" {
		t.Errorf("demo --quiet printed:\n%s", r.Stdout)
	}
	r = testbin.MustRun(t, dir, nil, "demo", "--dir", "json", "--json")
	var doc map[string]any
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || doc["ok"] != true || doc["set_id"] == "" {
		t.Errorf("demo --json: %v\n%s", err, r.Stdout)
	}
	logf := filepath.Join(dir, "demo.log")
	r = testbin.MustRun(t, dir, nil, "demo", "--dir", "logged", "--log-file", logf)
	b, _ := os.ReadFile(logf)
	if r.Stderr != "" || !strings.Contains(string(b), `msg="verify started"`) || !strings.Contains(string(b), `msg="run finished" command=demo exit_code=0`) {
		t.Errorf("demo --log-file: stderr %q, log:\n%s", r.Stderr, b)
	}
}

// TestCoreNothingStoredNamesEveryFailure: when every exporter fails, the
// JSON document, the metrics and the error name every failure (they said
// failures: [] and failed_items 0 on the worst night, and only the first
// cause anywhere but the log).
func TestCoreNothingStoredNamesEveryFailure(t *testing.T) {
	e := newCoreEnv(t)
	prom := filepath.Join(e.dir, "lyncbackup.prom")
	e.writeConfig(map[string][]string{
		"certs": {filepath.Join(e.dir, "nope1")},
		"iis":   {filepath.Join(e.dir, "nope2")},
	}, "metrics: {textfile: "+coreQuote(prom)+"}\n")
	r := e.run("backup", "--json")
	if r.Code != 1 {
		t.Fatalf("exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var doc struct {
		Error    string `json:"error"`
		Failures []struct {
			Exporter string `json:"exporter"`
			Error    string `json:"error"`
		} `json:"failures"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Failures) != 2 || !strings.Contains(doc.Error, "nothing was backed up") || !strings.Contains(doc.Error, "and 1 more failure") {
		t.Errorf("backup --json: %+v", doc)
	}
	m, _ := os.ReadFile(prom)
	if !strings.Contains(string(m), `lyncbackup_last_run_failed_items{host="fe01.contoso.com"} 2`) {
		t.Errorf("metrics:\n%s", m)
	}
}

// stockToolsOrSkip: age, zstd, tar, sha256sum and bash, which the stock-tools
// commands use (scripts/test.sh installs them).
func stockToolsOrSkip(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"age", "zstd", "tar", "sha256sum", "bash"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, fmt.Sprintf("%s not installed (scripts/test.sh installs it): %v", tool, err))
		}
	}
}
