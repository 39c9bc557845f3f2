package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"encoding/xml"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode"

	"github.com/creack/pty"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/internal/redact"
	"github.com/lyncbackup/lyncbackup/internal/stubbin"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testsmtp"
	"github.com/lyncbackup/lyncbackup/schedule"
)

// opsEnv is a work folder with sample data, an identity and a config writer.
type opsEnv struct {
	t        *testing.T
	dir      string
	src      string
	identity string
	pub      string
}

func newOpsEnv(t *testing.T) *opsEnv {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "Topology.xml"), []byte("<Topology/>"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "a.txt"), bytes.Repeat([]byte("lync "), 2000), 0o644)
	id := filepath.Join(dir, "identity.txt")
	pub, err := crypto.GenerateIdentity(id)
	if err != nil {
		t.Fatal(err)
	}
	return &opsEnv{t: t, dir: dir, src: src, identity: id, pub: pub}
}

// config writes lyncbackup.yaml with the sample path exporter and extra YAML.
func (e *opsEnv) config(extra string, paths ...string) string {
	e.t.Helper()
	if len(paths) == 0 {
		paths = []string{e.src}
	}
	var ex strings.Builder
	for i, p := range paths {
		ex.WriteString("  - kind: path\n    name: item" + string(rune('a'+i)) + "\n    paths: [" + quoteYAML(p) + "]\n")
	}
	dest := filepath.Join(e.dir, "dest")
	os.MkdirAll(dest, 0o755)
	cfg := "host: fe01\nstaging: " + quoteYAML(filepath.Join(e.dir, "staging")) + "\nexporters:\n" + ex.String() +
		"encryption:\n  recipients: [" + e.pub + "]\n" +
		"destination:\n  url: " + quoteYAML("file://"+filepath.ToSlash(dest)) + "\n" + extra
	p := filepath.Join(e.dir, "lyncbackup.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		e.t.Fatal(err)
	}
	return p
}

func quoteYAML(s string) string { b, _ := json.Marshal(s); return string(b) }

// oneJSON asserts out is exactly one JSON document and decodes it.
func oneJSON(t *testing.T, out string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(out))
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("stdout is not a JSON document: %v\n%s", err, out)
	}
	var extra any
	if err := dec.Decode(&extra); err != io.EOF {
		t.Fatalf("stdout holds more than one JSON document:\n%s", out)
	}
	return doc
}

func TestOpsExitCodes(t *testing.T) {
	e := newOpsEnv(t)
	good := e.config("")
	if r := testbin.Run(t, e.dir, nil, "backup", "--config", good, "--quiet"); r.Code != 0 {
		t.Fatalf("good backup: exit %d, want 0\n%s", r.Code, r.Stderr)
	}
	missing := filepath.Join(e.dir, "no-such-folder")
	partial := e.config("", e.src, missing)
	r := testbin.Run(t, e.dir, nil, "backup", "--config", partial, "--quiet")
	if r.Code != 3 || !strings.Contains(r.Stderr, "partial backup") {
		t.Fatalf("partial backup: exit %d, want 3\n%s", r.Code, r.Stderr)
	}
	failed := e.config("", missing)
	r = testbin.Run(t, e.dir, nil, "backup", "--config", failed, "--quiet")
	if r.Code != 1 {
		t.Fatalf("failed backup: exit %d, want 1\n%s", r.Code, r.Stderr)
	}
	for _, args := range [][]string{
		{"backup", "--no-such-flag"},
		{"backup", "--config", filepath.Join(e.dir, "absent.yaml")},
		{"backup", "--config", good, "--progress", "sometimes"},
		{"backup", "--config", good, "--limit-upload", "fast"},
		{"nosuchcommand"},
	} {
		r := testbin.Run(t, e.dir, nil, args...)
		if r.Code != 2 {
			t.Errorf("%v: exit %d, want 2\n%s", args, r.Code, r.Stderr)
		}
		if n := strings.Count(strings.TrimSpace(r.Stderr), "\n"); n != 0 || strings.Contains(r.Stderr, "goroutine") {
			t.Errorf("%v: want one error line, got:\n%s", args, r.Stderr)
		}
	}
	bad := filepath.Join(e.dir, "bad.yaml")
	os.WriteFile(bad, []byte("host: x\nnot_a_key: 1\n"), 0o600)
	if r := testbin.Run(t, e.dir, nil, "backup", "--config", bad); r.Code != 2 || !strings.Contains(r.Stderr, "not_a_key") {
		t.Errorf("bad config: exit %d, want 2\n%s", r.Code, r.Stderr)
	}
}

func TestOpsJSONSummaries(t *testing.T) {
	e := newOpsEnv(t)
	cfg := e.config("")
	r := testbin.MustRun(t, e.dir, nil, "backup", "--config", cfg, "--json")
	doc := oneJSON(t, r.Stdout)
	for _, k := range []string{"ok", "status", "host", "set_id", "start", "duration_seconds", "items", "plain_bytes", "stored_bytes", "files", "exit_code", "destination"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("backup --json lacks %q: %s", k, r.Stdout)
		}
	}
	if doc["ok"] != true || doc["status"] != "complete" || doc["exit_code"].(float64) != 0 || doc["plain_bytes"].(float64) < 10000 {
		t.Errorf("backup summary: %s", r.Stdout)
	}
	oneJSON(t, testbin.MustRun(t, e.dir, nil, "list", "--config", cfg, "--json").Stdout)
	v := oneJSON(t, testbin.MustRun(t, e.dir, nil, "verify", "--config", cfg, "--identity", e.identity, "--json").Stdout)
	if v["ok"] != true {
		t.Errorf("verify summary: %v", v)
	}
	c := oneJSON(t, testbin.MustRun(t, e.dir, nil, "check", "--config", cfg, "--json").Stdout)
	if c["ok"] != true || len(c["checks"].([]any)) < 4 {
		t.Errorf("check summary: %v", c)
	}
	// A partial backup still prints one complete document, with exit code 3.
	r = testbin.Run(t, e.dir, nil, "backup", "--config", e.config("", e.src, filepath.Join(e.dir, "gone")), "--json")
	doc = oneJSON(t, r.Stdout)
	if r.Code != 3 || doc["status"] != "partial" || doc["exit_code"].(float64) != 3 || len(doc["failures"].([]any)) != 1 {
		t.Errorf("partial --json (exit %d): %s", r.Code, r.Stdout)
	}
}

// TestOpsCheckFails: check fails (exit 1) on a destination folder this
// account cannot write (mode 0500) and on an e-mail password variable
// that is not set, each with a fix. Root writes a folder of mode 0500:
// as root on Linux the test runs as nobody (asNobody).
func TestOpsCheckFails(t *testing.T) {
	if asNobody(t) {
		return
	}
	e := newOpsEnv(t)
	cfg := e.config("notify:\n  email:\n    server: 127.0.0.1:1\n    from: a@b.c\n    to: [d@e.f]\n    username: u\n    password_env: LB_OPS_UNSET_PASSWORD\n")
	os.Chmod(filepath.Join(e.dir, "dest"), 0o500)
	defer os.Chmod(filepath.Join(e.dir, "dest"), 0o755)
	r := testbin.Run(t, e.dir, nil, "check", "--config", cfg)
	if r.Code != 1 {
		t.Fatalf("check: exit %d, want 1\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	// (Windows: a folder's mode bits do not stop writes.)
	if runtime.GOOS != "windows" && !strings.Contains(r.Stdout, "[FAIL] destination") {
		t.Errorf("unwritable destination not reported:\n%s", r.Stdout)
	}
	if !strings.Contains(r.Stdout, "[FAIL] e-mail") || !strings.Contains(r.Stdout, "LB_OPS_UNSET_PASSWORD") || !strings.Contains(r.Stdout, "fix:") {
		t.Errorf("e-mail password problem not reported with a fix:\n%s", r.Stdout)
	}
	if r := testbin.Run(t, e.dir, nil, "check", "--config", filepath.Join(e.dir, "absent.yaml"), "--json"); r.Code != 2 || oneJSON(t, r.Stdout)["ok"] != false {
		t.Errorf("check of a missing config: exit %d\n%s", r.Code, r.Stdout)
	}
}

func TestOpsProgressPlainLines(t *testing.T) {
	e := newOpsEnv(t)
	big := make([]byte, 4<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(e.src, "big.bin"), big, 0o644)
	cfg := e.config("")
	r := testbin.MustRun(t, e.dir, []string{"LYNCBACKUP_PROGRESS_INTERVAL=5ms"}, "backup", "--config", cfg)
	for _, want := range []string{`msg="item started" item=itema`, `msg="item done" item=itema`, `msg=progress item=itema`} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
		}
	}
	if strings.Contains(r.Stderr, "\x1b") || strings.Contains(r.Stdout, "\x1b") {
		t.Errorf("escape codes without a terminal:\n%q", r.Stderr)
	}
	// --log-format json makes every stderr line a JSON object.
	r = testbin.MustRun(t, e.dir, nil, "backup", "--config", cfg, "--log-format", "json")
	for _, line := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("log line is not JSON: %q", line)
		}
	}
	// --quiet: nothing but errors.
	if r := testbin.MustRun(t, e.dir, nil, "backup", "--config", cfg, "--quiet"); r.Stderr != "" || r.Stdout != "" {
		t.Errorf("--quiet printed:\n%s%s", r.Stdout, r.Stderr)
	}
}

func TestOpsProgressTerminal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("pseudo-terminals are tested on Linux")
	}
	e := newOpsEnv(t)
	big := make([]byte, 8<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(e.src, "big.bin"), big, 0o644)
	cfg := e.config("")
	run := func(args ...string) string {
		cmd := exec.Command(testbin.Path(t), args...)
		cmd.Dir = e.dir
		cmd.Env = append(os.Environ(), "TERM=xterm")
		f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 40, Cols: 160})
		if err != nil {
			t.Fatal(err)
		}
		var out bytes.Buffer
		done := make(chan struct{})
		go func() { io.Copy(&out, f); close(done) }()
		werr := cmd.Wait()
		f.Close()
		<-done
		if werr != nil {
			t.Fatalf("%v: %v\n%s", args, werr, out.String())
		}
		return out.String()
	}
	// The upload limit stretches the run to ~2 s so the bars redraw
	// (cursor movement) several times.
	out := run("backup", "--config", cfg, "--limit-upload", "4MiB/s")
	if !strings.Contains(out, "\x1b[") {
		t.Errorf("no escape codes on a terminal:\n%q", out)
	}
	if !strings.Contains(out, "itema") || !strings.Contains(out, "stored") || !strings.Contains(out, "/s") {
		t.Errorf("bar text (item, stored, rate) missing:\n%q", out)
	}
	if strings.Contains(out, `msg="item started"`) {
		t.Errorf("plain progress lines on a terminal:\n%q", out)
	}
	// Restore knows the size: a bar with percentage and ETA.
	out = run("restore", "--config", cfg, "--identity", e.identity, "--to", filepath.Join(e.dir, "restored"))
	if !strings.Contains(out, "%") || !strings.Contains(out, "ETA") && !strings.Contains(out, "100%") {
		t.Errorf("restore bar lacks percentage/ETA:\n%q", out)
	}
	// --progress=never on a terminal: plain lines, no escape codes from bars.
	out = run("backup", "--config", cfg, "--progress=never")
	if !strings.Contains(out, `msg="item started"`) || strings.Contains(out, "\x1b[") {
		t.Errorf("--progress=never:\n%q", out)
	}
}

type opsHit struct {
	method, path string
	body         []byte
}

func TestOpsNotifyAndMetrics(t *testing.T) {
	e := newOpsEnv(t)
	var mu sync.Mutex
	var hits []opsHit
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hits = append(hits, opsHit{r.Method, r.URL.Path, b})
		mu.Unlock()
	}))
	defer hook.Close()
	smtpSrv := testsmtp.Start(t, "lb@contoso.com", "mail-secret-42")
	prom := filepath.Join(e.dir, "lyncbackup.prom")
	notifyYAML := "notify:\n  on: always\n  webhooks:\n    - url: " + hook.URL + "/post\n    - url: " + hook.URL + "/ping/abc\n      ping: true\n" +
		"  email:\n    server: " + smtpSrv.Addr + "\n    from: lb@contoso.com\n    to: [ops@contoso.com]\n    username: lb@contoso.com\n    password_env: LB_OPS_SMTP_PASS\n" +
		"    ca_file: " + quoteYAML(smtpSrv.CertFile) + "\n" +
		"metrics:\n  textfile: " + quoteYAML(prom) + "\n"
	// The relay's private CA comes from notify.email.ca_file, not
	// SSL_CERT_FILE (which Go on Windows ignores): the same on every system.
	env := []string{"LB_OPS_SMTP_PASS=mail-secret-42"}
	r := testbin.MustRun(t, e.dir, env, "backup", "--config", e.config(notifyYAML), "--json")
	sum := oneJSON(t, r.Stdout)
	mu.Lock()
	got := append([]opsHit(nil), hits...)
	mu.Unlock()
	// The targets are sent to at once: in path order, the POST first.
	slices.SortFunc(got, func(a, b opsHit) int { return -strings.Compare(a.path, b.path) })
	if len(got) != 2 || got[0].method != "POST" || got[0].path != "/post" || got[1].method != "GET" || got[1].path != "/ping/abc" {
		t.Fatalf("webhook requests: %+v\nstderr: %s", got, r.Stderr)
	}
	var posted map[string]any
	if err := json.Unmarshal(got[0].body, &posted); err != nil || posted["set_id"] != sum["set_id"] || posted["ok"] != true {
		t.Errorf("POSTed summary %s (err %v), want set %v", got[0].body, err, sum["set_id"])
	}
	mails := smtpSrv.Mails()
	if len(mails) != 1 || !mails[0].TLS || !mails[0].AuthSeen {
		t.Fatalf("mails: %d (stderr %s)", len(mails), r.Stderr)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	subj, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
	if !strings.HasPrefix(subj, "[lyncbackup] COMPLETE fe01: 1 items") {
		t.Errorf("subject %q", subj)
	}
	body, _ := io.ReadAll(msg.Body)
	if !strings.Contains(string(body), "itema") || !strings.Contains(string(body), sum["set_id"].(string)) {
		t.Errorf("mail body lacks the item or set:\n%s", body)
	}
	promFams := func() map[string]float64 {
		data, err := os.ReadFile(prom)
		if err != nil {
			t.Fatal(err)
		}
		parser := expfmt.NewTextParser(model.UTF8Validation)
		fams, err := parser.TextToMetricFamilies(bytes.NewReader(data))
		if err != nil {
			t.Fatalf("metrics textfile: %v\n%s", err, data)
		}
		out := map[string]float64{}
		for n, f := range fams {
			if len(f.Metric) == 1 {
				out[n] = f.Metric[0].GetGauge().GetValue()
			}
		}
		return out
	}
	m := promFams()
	if m["lyncbackup_last_run_success"] != 1 || m["lyncbackup_last_run_exit_code"] != 0 || m["lyncbackup_last_run_items"] != 1 ||
		m["lyncbackup_last_run_stored_bytes"] != sum["stored_bytes"].(float64) || time.Since(time.Unix(int64(m["lyncbackup_last_success_timestamp_seconds"]), 0)) > time.Minute {
		t.Errorf("metrics after a good run: %v", m)
	}
	firstSuccess := m["lyncbackup_last_success_timestamp_seconds"]

	// A partial run: ping /fail, the success time carried over, exit code 3.
	r = testbin.Run(t, e.dir, env, "backup", "--config", e.config(notifyYAML, e.src, filepath.Join(e.dir, "gone")))
	if r.Code != 3 {
		t.Fatalf("partial: exit %d\n%s", r.Code, r.Stderr)
	}
	mu.Lock()
	run2 := append([]opsHit(nil), hits[len(got):]...) // this run's two, in either order
	mu.Unlock()
	pinged := false
	for _, h := range run2 {
		pinged = pinged || (h.method == "GET" && h.path == "/ping/abc/fail")
	}
	if len(run2) != 2 || !pinged {
		t.Errorf("requests after a partial run (want a GET /ping/abc/fail among two): %d, pinged %v", len(run2), pinged)
	}
	m = promFams()
	if m["lyncbackup_last_run_success"] != 0 || m["lyncbackup_last_run_exit_code"] != 3 || m["lyncbackup_last_success_timestamp_seconds"] != firstSuccess {
		t.Errorf("metrics after a partial run: %v", m)
	}
	// A notification that cannot be delivered is logged; the backup stays good.
	hook.Close()
	r = testbin.Run(t, e.dir, env, "backup", "--config", e.config(notifyYAML))
	if r.Code != 0 || !strings.Contains(r.Stderr, "notification failed") {
		t.Errorf("unreachable webhook: exit %d, want 0 with a logged error\n%s", r.Code, r.Stderr)
	}
}

func TestOpsScheduleDryRun(t *testing.T) {
	e := newOpsEnv(t)
	cfgDir := filepath.Join(e.dir, "conf dir")
	os.MkdirAll(cfgDir, 0o755)
	cfg := filepath.Join(cfgDir, "lb.yaml")
	r := testbin.MustRun(t, e.dir, nil, "schedule", "install", "--dry-run", "--for", "windows", "--time", "3:15", "--user", `CONTOSO\svc-lb`, "--config", cfg)
	xmlText, cmdPart, ok := strings.Cut(r.Stdout, "# then run:\n")
	if !ok {
		t.Fatalf("no command in:\n%s", r.Stdout)
	}
	head, xmlText, _ := strings.Cut(xmlText, "\n") // the comment line names the file
	xmlPath, ok := strings.CutPrefix(head, "# Task Scheduler XML, written as UTF-16 to ")
	xmlPath, ok2 := strings.CutSuffix(xmlPath, ":")
	if !ok || !ok2 || !strings.HasPrefix(xmlPath, os.TempDir()) {
		t.Fatalf("first line %q does not name a file in %s", head, os.TempDir())
	}
	t.Cleanup(func() { os.Remove(xmlPath) })
	wantCmd := `schtasks.exe /Create /TN lyncbackup /XML ` + windowsArg(xmlPath) + ` /F /RU CONTOSO\svc-lb /RP *` + "\n"
	if cmdPart != wantCmd {
		t.Errorf("command %q, want %q", cmdPart, wantCmd)
	}
	// The dry run wrote the file it names, as UTF-16LE with a BOM, holding
	// the XML it printed (schtasks /XML rejects UTF-8 that declares UTF-16).
	raw, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatalf("the dry run did not write %s: %v", xmlPath, err)
	}
	if len(raw) < 2 || raw[0] != 0xFF || raw[1] != 0xFE {
		t.Fatalf("%s does not start with the UTF-16LE byte-order mark: % x", xmlPath, raw[:min(len(raw), 8)])
	}
	dec16, err := schedule.DecodeUTF16(raw)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.ReplaceAll(string(dec16), "\r\n", "\n"); got+"\n" != xmlText {
		t.Errorf("%s holds:\n%s\nbut the dry run printed:\n%s", xmlPath, got, xmlText)
	}
	var task struct {
		Start string `xml:"Triggers>CalendarTrigger>StartBoundary"`
		User  string `xml:"Principals>Principal>UserId"`
		Logon string `xml:"Principals>Principal>LogonType"`
		Level string `xml:"Principals>Principal>RunLevel"`
		Cmd   string `xml:"Actions>Exec>Command"`
		Args  string `xml:"Actions>Exec>Arguments"`
	}
	dec := xml.NewDecoder(strings.NewReader(xmlText))
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	if err := dec.Decode(&task); err != nil {
		t.Fatalf("task XML: %v\n%s", err, xmlText)
	}
	exe, _ := filepath.EvalSymlinks(testbin.Path(t))
	if task.Start != "2024-01-01T03:15:00" || task.User != `CONTOSO\svc-lb` || task.Logon != "Password" || task.Level != "HighestAvailable" ||
		task.Cmd != exe || task.Args != `backup --config "`+cfg+`"` {
		t.Errorf("task: %+v (exe %s)", task, exe)
	}
	// systemd units for lyncbackup.exe at C:\… mean nothing: Linux only.
	if r = testbin.MustRun(t, e.dir, nil, "schedule", "show", "--for", "linux", "--time", "01:05", "--config", cfg); runtime.GOOS != "windows" && (!strings.Contains(r.Stdout, "OnCalendar=*-*-* 01:05:00") || !strings.Contains(r.Stdout, `ExecStart=`+exe+` backup --config "`+cfg+`"`) ||
		!strings.Contains(r.Stdout, "WorkingDirectory="+filepath.Dir(cfg)+"\n") ||
		!strings.Contains(r.Stdout, "5 1 * * * cd '"+filepath.Dir(cfg)+"' && "+exe+" backup --config '"+cfg+"' --quiet")) {
		t.Errorf("linux units/cron:\n%s", r.Stdout)
	}
	if runtime.GOOS != "windows" { // on Windows this would register a real task
		if r := testbin.Run(t, e.dir, nil, "schedule", "install", "--for", "windows", "--config", cfg); r.Code != 2 {
			t.Errorf("install --for windows off Windows: exit %d", r.Code)
		}
	}
	if r := testbin.Run(t, e.dir, nil, "schedule", "install", "--dry-run", "--time", "25:00", "--config", cfg); r.Code != 2 {
		t.Errorf("bad --time: exit %d", r.Code)
	}
	// Backup flags after --, schedule's own flags before it, reach the task whole.
	r = testbin.MustRun(t, e.dir, nil, "schedule", "install", "--dry-run", "--for", "windows", "--time", "3:15", "--user", `CONTOSO\svc-lb`, "--config", cfg, "--", "--parallel", "3", "--keep-staging")
	if !strings.Contains(r.Stdout+r.Stderr, "--parallel 3 --keep-staging") {
		t.Errorf("backup flags after -- not in the task:\n%s%s", r.Stdout, r.Stderr)
	}
	// The dry run's task XML, which it names, is this test's to remove.
	if head, _, _ := strings.Cut(r.Stdout, "\n"); strings.HasPrefix(head, "# Task Scheduler XML, written as UTF-16 to ") {
		p := strings.TrimSuffix(strings.TrimPrefix(head, "# Task Scheduler XML, written as UTF-16 to "), ":")
		t.Cleanup(func() { os.Remove(p) })
	} else {
		t.Errorf("first line %q does not name the task XML", head)
	}
	// What backup would refuse every night is refused at install (exit 2,
	// one line naming the cause), and a second config too.
	for _, c := range []struct {
		extra []string
		says  string
	}{
		{[]string{"--", "--paralel", "3"}, "-paralel"},
		{[]string{"nightly.yaml"}, `backup takes no arguments (got "nightly.yaml")`},
		{[]string{"--", "--config", cfg}, "schedule's own --config"},
	} {
		args := append([]string{"schedule", "install", "--dry-run", "--for", "windows", "--user", `CONTOSO\svc-lb`, "--config", cfg}, c.extra...)
		r := testbin.Run(t, e.dir, nil, args...)
		if line := strings.TrimSpace(r.Stderr); r.Code != 2 || !strings.Contains(line, c.says) || strings.Contains(line, "\n") {
			t.Errorf("schedule install %v: exit %d, stderr %q; want 2 and one line saying %q", c.extra, r.Code, r.Stderr, c.says)
		}
	}
}

// TestStrayArgumentsRefused: a command that takes no arguments refuses one
// (exit 2, one line, nothing done) instead of ignoring it: "backup
// nightly.yaml" ran on the default config, "list fe01" listed every host.
func TestStrayArgumentsRefused(t *testing.T) {
	dir := t.TempDir()
	marker := filepath.Join(dir, "lyncbackup-demo")
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"backup", "nightly.yaml"}, `backup takes no arguments (got "nightly.yaml"); a config file is given as --config FILE`},
		{[]string{"check", "--skip-lync", "nightly.yml"}, `check takes no arguments (got "nightly.yml"); a config file is given as --config FILE`},
		{[]string{"list", "--from", fileURL(dir), "fe01"}, `list takes no arguments (got "fe01"); one host's sets: --host HOST`},
		{[]string{"prune", "--from", fileURL(dir), "--keep-last", "1", "fe01"}, `prune takes no arguments (got "fe01"); one host's sets: --host HOST`},
		{[]string{"demo", "--dir", marker, "now"}, `demo takes no arguments (got "now")`},
		{[]string{"keygen", "-o", marker, "second.txt"}, `keygen writes one identity file (-o FILE) and takes nothing else (got "second.txt")`},
		// A negative --parallel had been the default without a word.
		{[]string{"backup", "--parallel", "-1"}, `invalid value "-1" for flag -parallel: must be a number of items, 1 or more (0: the default)`},
		{[]string{"verify", "--from", fileURL(dir), "--parallel", "-2"}, `invalid value "-2" for flag -parallel: must be a number of items, 1 or more (0: the default)`},
	} {
		r := testbin.Run(t, dir, []string{"LYNCBACKUP_CONFIG=" + filepath.Join(dir, "absent.yaml")}, c.args...)
		if line := strings.TrimSpace(r.Stderr); r.Code != 2 || line != "lyncbackup: "+c.says {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", c.args, r.Code, r.Stderr, c.says)
		}
	}
	if _, err := os.Stat(marker); !os.IsNotExist(err) {
		t.Errorf("demo or keygen with a stray argument still ran: %v", err)
	}
}

// windowsArg quotes one argument as the printed schtasks command does.
func windowsArg(s string) string { return schedule.WindowsArgs([]string{s}) }

// TestOpsPlantedSecretsNeverLeak plants secrets where a careless tool would
// print them (env, config, URLs, identity files, failing runs) and scans
// stdout, stderr and the log file of real runs for them. Scanning alone
// proves little (most secrets are never printed in the first place), so
// every secret is also driven to a place that does print it — a webhook
// whose error status quotes the request path, an SMTP server whose refusal
// quotes the password, a missing path named after the secret — and the mask
// must stand there. With redaction turned off each of those sub-tests fails
// (docs/TESTING.md).
func TestOpsPlantedSecretsNeverLeak(t *testing.T) {
	e := newOpsEnv(t)
	idText, _ := os.ReadFile(e.identity)
	var realKey string
	for _, l := range strings.Split(string(idText), "\n") {
		if strings.HasPrefix(l, "AGE-SECRET-KEY-1") {
			realKey = l
		}
	}
	secrets := map[string]string{
		"aws":        "PLANTED-aws-secret-7f3a9",
		"smtp":       "PLANTED-smtp-pass-55aa",
		"hookpath":   "PLANTEDHOOKTOKEN9",
		"hookquery":  "PLANTEDQUERYKEY8",
		"sig":        "PLANTEDSIG123",
		"token":      "PLANTED-token-in-config",
		"accountkey": "PLANTEDACCOUNTKEY2",
		"connstr":    "PLANTEDCONNSTRKEY",
		"badage":     "AGE-SECRET-KEY-1PLANTEDXYZQQ",
		"sqlpw":      "PLANTED-sql-login-pw-31c",
		"realage":    realKey,
	}
	smtpSrv := testsmtp.Start(t, "lb", "the-right-password")
	smtpSrv.EchoCredentials = true // the refusal quotes the password
	// The webhook refuses with a status line that quotes the request URI
	// (path token and query key), which the tool prints as the error.
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		conn, buf, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		buf.WriteString("HTTP/1.1 500 rejected " + r.URL.RequestURI() + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
		buf.Flush()
	}))
	defer hook.Close()
	logFile := filepath.Join(e.dir, "lyncbackup.log")
	env := []string{
		"AWS_SECRET_ACCESS_KEY=" + secrets["aws"],
		"LB_LEAK_SMTP=" + secrets["smtp"],
		"LB_LEAK_TOKEN=" + secrets["token"],
		// A SQL login's password in a variable whose name does not say so.
		"LB_SQLPW=" + secrets["sqlpw"],
		"AZURE_STORAGE_CONNECTION_STRING=DefaultEndpointsProtocol=https;AccountName=x;AccountKey=" + secrets["connstr"],
	}
	notifyYAML := "notify:\n  on: always\n  webhooks:\n    - url: " + hook.URL + "/hook/" + secrets["hookpath"] + "?key=" + secrets["hookquery"] + "\n" +
		"  email:\n    server: " + smtpSrv.Addr + "\n    from: a@b.c\n    to: [d@e.f]\n    username: lb\n    password_env: LB_LEAK_SMTP\n" +
		"    ca_file: " + quoteYAML(smtpSrv.CertFile) + "\n" +
		"log:\n  file: " + quoteYAML(logFile) + "\n"
	badPath := filepath.Join(e.dir, "AccountKey="+secrets["accountkey"]+";x")
	// Missing paths named after a secret: the partial backup's error lines
	// print them, so the mask must stand where each secret would be. The
	// token comes in through ${VAR} expansion, as a careless config would.
	missing := func(name, secret string) string { return filepath.Join(e.dir, "missing-"+name+"-"+secret) }
	cfg := e.config(notifyYAML, e.src, badPath,
		missing("aws", secrets["aws"]), missing("token", "${LB_LEAK_TOKEN}"),
		missing("connstr", secrets["connstr"]), missing("sig", "sig="+secrets["sig"]),
		missing("badage", secrets["badage"]), missing("realage", secrets["realage"]))
	badID := filepath.Join(e.dir, "bad-identity.txt")
	os.WriteFile(badID, []byte(secrets["badage"]+"\n"), 0o600)

	var all strings.Builder
	run := func(wantCode int, args ...string) {
		r := testbin.Run(t, e.dir, env, args...)
		if wantCode >= 0 && r.Code != wantCode {
			t.Errorf("%v: exit %d, want %d\n%s", args, r.Code, wantCode, r.Stderr)
		}
		all.WriteString(r.Stdout + "\n" + r.Stderr + "\n")
	}
	// A partial backup whose notifications all fail (webhook 500, SMTP auth refused).
	run(3, "backup", "--config", cfg)
	run(3, "backup", "--config", cfg, "--json", "--log-format", "json", "--log-file", logFile)
	run(1, "check", "--config", cfg)
	run(1, "check", "--config", cfg, "--json")
	run(-1, "verify", "--config", cfg, "--identity", badID)
	// latest is never a partial set: both refuse, naming it and its failure.
	run(1, "verify", "--config", cfg, "--identity", e.identity, "--json")
	run(1, "restore", "--config", cfg, "--identity", e.identity, "--to", filepath.Join(e.dir, "r"), "--json")
	run(0, "list", "--config", cfg, "--json")
	// By id, a partial set verifies and restores.
	var listed struct {
		Sets []struct {
			SetID string `json:"set_id"`
		} `json:"sets"`
	}
	lr := testbin.MustRun(t, e.dir, env, "list", "--config", cfg, "--json")
	if err := json.Unmarshal([]byte(lr.Stdout), &listed); err != nil || len(listed.Sets) == 0 {
		t.Fatalf("list --json %q: %v", lr.Stdout, err)
	}
	partial := listed.Sets[len(listed.Sets)-1].SetID
	run(0, "verify", partial, "--config", cfg, "--identity", e.identity, "--json")
	run(0, "restore", partial, "--config", cfg, "--identity", e.identity, "--to", filepath.Join(e.dir, "r"), "--json")
	// A destination URL carrying a SAS-style signature that cannot be opened.
	sasCfg := filepath.Join(e.dir, "sas.yaml")
	os.WriteFile(sasCfg, []byte("host: fe01\nstaging: "+quoteYAML(filepath.Join(e.dir, "staging"))+"\nexporters:\n  - kind: path\n    name: a\n    paths: ["+quoteYAML(e.src)+"]\nencryption:\n  recipients: ["+e.pub+"]\n"+
		"destination:\n  url: \"https://acct.blob.core.windows.net/c?sv=2022-11-02&sig="+secrets["sig"]+"\"\nlog:\n  file: "+quoteYAML(logFile)+"\n"), 0o600)
	run(-1, "backup", "--config", sasCfg)
	run(-1, "check", "--config", sasCfg, "--json")
	// A secret from the environment expanded into a key that rejects it.
	tokCfg := filepath.Join(e.dir, "tok.yaml")
	os.WriteFile(tokCfg, []byte("host: fe01\nencryption:\n  recipients: ["+e.pub+"]\ndestination:\n  url: file:///tmp/x\n  concurrency: ${LB_LEAK_TOKEN}\n"), 0o600)
	run(2, "backup", "--config", tokCfg)
	// The SQL password turning up in an error (here: a path named after it)
	// is masked because the sql exporter names its variable.
	sqlCfg := filepath.Join(e.dir, "sql.yaml")
	bak := filepath.Join(e.dir, "bak")
	os.MkdirAll(bak, 0o755)
	os.WriteFile(sqlCfg, []byte("host: fe01\nstaging: "+quoteYAML(filepath.Join(e.dir, "staging"))+"\nexporters:\n"+
		"  - {kind: path, name: pw, paths: ["+quoteYAML(filepath.Join(e.dir, "missing-"+secrets["sqlpw"]))+"]}\n"+
		"  - {kind: sql, name: sql, instance: sql01, databases: [LcsCDR], backup_dir: "+quoteYAML(bak)+", user: lb, password_env: LB_SQLPW, sqlcmd: "+quoteYAML(stubbin.Sqlcmd(t))+"}\n"+
		"encryption:\n  recipients: ["+e.pub+"]\ndestination:\n  url: "+quoteYAML("file://"+filepath.ToSlash(filepath.Join(e.dir, "dest")))+"\n"), 0o600)
	before := all.Len()
	run(3, "backup", "--config", sqlCfg)
	if got := all.String()[before:]; !strings.Contains(got, "missing-"+redact.Mask) {
		t.Errorf("the SQL run does not report the path with the password masked:\n%s", got)
	}

	logData, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatal(err)
	}
	all.Write(logData)
	out := all.String()
	// The scan is only meaningful if the runs did say something about these failures.
	mailFailure := "AUTH"
	for _, want := range []string{"notification failed", "webhook 1 (127.0.0.1:", mailFailure, "[REDACTED]", "partial backup"} {
		if !strings.Contains(out, want) {
			t.Errorf("runs never mention %q: the scan would prove nothing", want)
		}
	}
	// Each secret at the place that prints it: the mask is there.
	for what, mark := range map[string]string{
		"aws":        "missing-aws-" + redact.Mask,
		"token":      "missing-token-" + redact.Mask,
		"connstr":    "missing-connstr-" + redact.Mask,
		"sig":        "missing-sig-sig=" + redact.Mask,
		"badage":     "missing-badage-" + redact.Mask,
		"realage":    "missing-realage-" + redact.Mask,
		"accountkey": "AccountKey=" + redact.Mask + ";x",
		"sqlpw":      "missing-" + redact.Mask,
		"hookpath":   "HTTP 500 rejected " + redact.Mask,
		"hookquery":  "HTTP 500 rejected " + redact.Mask,
		"smtp":       "lb / " + redact.Mask,
	} {
		t.Run(what, func(t *testing.T) {
			if !strings.Contains(out, mark) {
				t.Errorf("%q not printed where %s would be (runs and log file:)\n%s", mark, what, out)
			}
			if strings.Contains(out, secrets[what]) {
				t.Errorf("%s printed in the clear", what)
			}
		})
	}
	for what, s := range secrets {
		if s == "" {
			t.Fatalf("secret %s is empty", what)
		}
		if i := strings.Index(out, s); i >= 0 {
			lo, hi := max(0, i-200), min(len(out), i+len(s)+100)
			t.Errorf("planted secret %s (%q) leaked:\n…%s…", what, s, out[lo:hi])
		}
	}
}

// TestOpsScheduleControlCharacter: a config path holding a line break went
// into the crontab line as it is (in single quotes), so the rest of the
// path became a crontab entry of its own, and into the service's
// WorkingDirectory= unquoted; schedule now refuses it (exit 2), naming the
// path escaped. (--for linux: the path is a Linux one.)
func TestOpsScheduleControlCharacter(t *testing.T) {
	cfg := "/etc/lb/x\n* * * * * touch /tmp/pwned #/lb.yaml"
	r := testbin.Run(t, t.TempDir(), nil, "schedule", "install", "--dry-run", "--for", "linux", "--config", cfg)
	// The path as given (on Windows made absolute: C:\etc\lb\x…), escaped.
	escaped := `x\n* * * * * touch `
	if runtime.GOOS != "windows" {
		escaped = `"/etc/lb/x\n* * * * * touch /tmp/pwned #/lb.yaml"`
	}
	want := ` holds a control character (U+000A), which a crontab line or a unit file's line cannot hold`
	if r.Code != 2 || !strings.Contains(r.Stderr, escaped) || !strings.Contains(r.Stderr, want) || strings.Contains(r.Stdout, "touch") {
		t.Errorf("exit %d, want 2, the path escaped (%s) and %s\nstdout %q\nstderr %q", r.Code, escaped, want, r.Stdout, r.Stderr)
	}
}

// TestOpsScheduleBidiOverride: a config path holding U+202E (RIGHT-TO-LEFT
// OVERRIDE) went into the printed cron line and unit as it is, where the
// terminal shows the rest of the line reversed: the line read is not the
// line run. schedule now refuses it (exit 2), naming the path escaped.
func TestOpsScheduleBidiOverride(t *testing.T) {
	cfg := "/etc/lb/\u202elmay.pukcab"
	r := testbin.Run(t, t.TempDir(), nil, "schedule", "install", "--dry-run", "--for", "linux", "--config", cfg)
	want := `\u202elmay.pukcab" holds an invisible format character (U+202E)`
	if r.Code != 2 || !strings.Contains(r.Stderr, want) || strings.ContainsRune(r.Stdout+r.Stderr, '\u202e') {
		t.Errorf("exit %d, want 2 and %s\nstdout %+q\nstderr %+q", r.Code, want, r.Stdout, r.Stderr)
	}
	// A Hangul filler prints as blank: the cron line would read
	// --config /etc/lb/lyncbackup.yaml while naming another file.
	r = testbin.Run(t, t.TempDir(), nil, "schedule", "install", "--dry-run", "--for", "linux", "--config", "/etc/lb/lyncbackup.yaml\u3164")
	want = `lyncbackup.yaml\u3164" holds a character that prints as blank space (U+3164)`
	if r.Code != 2 || !strings.Contains(r.Stderr, want) || strings.ContainsRune(r.Stdout+r.Stderr, '\u3164') {
		t.Errorf("exit %d, want 2 and %s\nstdout %+q\nstderr %+q", r.Code, want, r.Stdout, r.Stderr)
	}
}

// TestOpsErrorLineEscapesNames: the error line echoes a name as given; a
// path holding U+202E (RIGHT-TO-LEFT OVERRIDE) showed the rest of the line
// reversed, one holding ESC drove the terminal, one holding U+3164 HANGUL
// FILLER showed blank space. The line now names it escaped, as Go's %q
// does (and \u3164, which %q leaves), and stays one line. (The cause differs: "file
// not found"; on Windows, for ESC, "Invalid name.")
func TestOpsErrorLineEscapesNames(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, said string }{{"nodir\u202ex.yaml", `nodir\u202ex.yaml`}, {"nodir\x1b[2Jx.yaml", `nodir\x1b[2Jx.yaml`},
		{"nodir\u3164x.yaml", `nodir\u3164x.yaml`}} { // a Hangul filler, which prints as blank
		r := testbin.Run(t, dir, nil, "list", "--config", filepath.Join(dir, c.name))
		line := strings.TrimSpace(r.Stderr)
		if r.Code != 2 || !strings.Contains(line, c.said+": ") || strings.Count(line, "\n") != 0 ||
			strings.ContainsFunc(line, func(r rune) bool { return unicode.IsControl(r) || unicode.In(r, unicode.Cf) || r == '\u3164' }) {
			t.Errorf("%+q: exit %d, want 2 and one line naming %s escaped\n%+q", c.name, r.Code, c.said, r.Stderr)
		}
	}
}
