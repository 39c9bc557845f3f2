package e2e

// What an unattended run leaves behind (issue 16), through the built
// binary: the log file from start to exit code on every path, --json on
// every exit of every command, flags that mean the same everywhere, help,
// check's causes and exit codes, and Ctrl-C on a terminal.

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

func readLog(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	return string(b)
}

func wantAll(t *testing.T, what, text string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(text, w) {
			t.Errorf("%s lacks %q:\n%s", what, w, text)
		}
	}
}

// jsonLines asserts every line of text is a JSON object and returns them.
func jsonLines(t *testing.T, what, text string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(text), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("%s: line is not JSON: %q", what, line)
			continue
		}
		out = append(out, m)
	}
	return out
}

func TestRecordLogFileEveryRun(t *testing.T) {
	e := newOpsEnv(t)
	logp := filepath.Join(e.dir, "run.log")

	// A config that does not load: recorded, start to exit code.
	r := testbin.Run(t, e.dir, nil, "backup", "--config", filepath.Join(e.dir, "bad.yaml"), "--log-file", logp)
	if r.Code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.Code, r.Stderr)
	}
	wantAll(t, "log of a missing config", readLog(t, logp), `msg="run started" command=backup version=`, "config="+filepath.Join(e.dir, "bad.yaml"),
		`msg="run failed" command=backup exit_code=2`, "bad.yaml")

	// A good night, with the log file named in the config and --quiet:
	// every phase and the outcome are in the file, nothing on the console.
	os.Remove(logp)
	cfg := e.config("log:\n  file: " + quoteYAML(logp) + "\nretention:\n  keep_last: 5\n  after_backup: true\n")
	r = testbin.MustRun(t, e.dir, nil, "backup", "--config", cfg, "--quiet")
	if r.Stdout != "" || r.Stderr != "" {
		t.Errorf("--quiet printed:\n%s%s", r.Stdout, r.Stderr)
	}
	log := readLog(t, logp)
	wantAll(t, "log of a good night", log, `msg="run started" command=backup`, "host=fe01", `msg="backup started"`,
		`msg="item started" item=itema`, `msg="item done" item=itema read_bytes=`, `msg="set committed" set_id=`, "status=complete",
		`msg="prune decision"`, "action=keep", `msg="prune result"`, `msg="run finished" command=backup exit_code=0`)
	if strings.Index(log, "run started") > strings.Index(log, "set committed") || strings.Index(log, "set committed") > strings.Index(log, "run finished") {
		t.Errorf("log out of order:\n%s", log)
	}

	// A failing exporter: the failure, why, and exit code 3.
	os.Remove(logp)
	cfg = e.config("log:\n  file: "+quoteYAML(logp)+"\n", e.src, filepath.Join(e.dir, "gone"))
	r = testbin.Run(t, e.dir, nil, "backup", "--config", cfg)
	if r.Code != 3 {
		t.Fatalf("exit %d, want 3\n%s", r.Code, r.Stderr)
	}
	wantAll(t, "log of a partial night", readLog(t, logp), `msg="not in the set" exporter=itemb kind=path err=`, "gone does not exist",
		"status=partial", `msg="run partial" command=backup exit_code=3`)

	// list records its run too (it takes --log-file).
	os.Remove(logp)
	testbin.MustRun(t, e.dir, nil, "list", "--config", cfg, "--log-file", logp)
	wantAll(t, "log of list", readLog(t, logp), `msg="run started" command=list`, `msg="run finished" command=list exit_code=0`)
}

func TestRecordJSONLogEveryLine(t *testing.T) {
	e := newOpsEnv(t)
	logp := filepath.Join(e.dir, "run.jsonl")
	cfg := e.config("")
	// The final error on stderr is JSON too, with the exit code.
	bad := strings.Replace(readLog(t, cfg), e.pub, "age1notakey", 1)
	os.WriteFile(cfg, []byte(bad), 0o600)
	r := testbin.Run(t, e.dir, nil, "backup", "--config", cfg, "--log-format", "json", "--log-file", logp)
	if r.Code != 2 {
		t.Fatalf("exit %d, want 2\n%s", r.Code, r.Stderr)
	}
	lines := jsonLines(t, "stderr", r.Stderr)
	if len(lines) == 0 || lines[len(lines)-1]["exit_code"] != float64(2) || !strings.Contains(lines[len(lines)-1]["msg"].(string), "age1notakey") {
		t.Errorf("last stderr line %v", lines)
	}
	file := jsonLines(t, "log file", readLog(t, logp))
	if len(file) < 2 || file[0]["msg"] != "run started" || file[len(file)-1]["msg"] != "run failed" || file[len(file)-1]["exit_code"] != float64(2) {
		t.Errorf("log file %v", file)
	}
	// A good run: item done carries numbers.
	e.config("")
	os.Remove(logp)
	testbin.MustRun(t, e.dir, nil, "backup", "--config", cfg, "--log-format", "json", "--log-file", logp)
	var done map[string]any
	for _, m := range jsonLines(t, "log file", readLog(t, logp)) {
		if m["msg"] == "item done" {
			done = m
		}
	}
	for _, k := range []string{"read_bytes", "stored_bytes", "seconds", "bytes_per_second"} {
		if _, ok := done[k].(float64); !ok {
			t.Errorf("item done %s = %#v, want a number (line %v)", k, done[k], done)
		}
	}
}

// TestRecordJSONOnEveryExit: every command with --json prints exactly one
// document on stdout whatever happens, with ok, exit_code (the process's)
// and, on failure only, error.
func TestRecordJSONOnEveryExit(t *testing.T) {
	e := newOpsEnv(t)
	cfg := e.config("")
	setID := func() string {
		r := testbin.MustRun(t, e.dir, nil, "backup", "--config", cfg, "--json")
		doc := oneJSON(t, r.Stdout)
		for _, k := range []string{"tool", "version", "start", "end", "set_id"} {
			if s, _ := doc[k].(string); s == "" {
				t.Errorf("backup --json: %s = %#v", k, doc[k])
			}
		}
		if _, ok := doc["items"].([]any); !ok {
			t.Errorf("backup items not an array: %#v", doc["items"])
		}
		if _, ok := doc["failures"].([]any); !ok {
			t.Errorf("backup failures not an array: %#v", doc["failures"])
		}
		it := doc["items"].([]any)[0].(map[string]any)
		if p, ok := it["paths"].([]any); !ok || len(p) != 1 || it["meta"] != nil {
			t.Errorf("item paths %#v meta %#v, want an array and no path.N keys", it["paths"], it["meta"])
		}
		return doc["set_id"].(string)
	}()
	missing := filepath.Join(e.dir, "nowhere")
	for _, c := range []struct {
		name string
		args []string
		code int
	}{
		{"backup, missing config", []string{"backup", "--config", missing}, 2},
		{"check, missing config", []string{"check", "--config", missing}, 2},
		{"list, missing folder", []string{"list", "--from", "file://" + filepath.ToSlash(missing)}, 1},
		{"verify, unknown set", []string{"verify", "--config", cfg, "20200101T000000Z-abcdef"}, 1},
		{"restore, no identity", []string{"restore", "--config", cfg, "--to", filepath.Join(e.dir, "r")}, 2},
		{"prune, missing folder", []string{"prune", "--from", "file://" + filepath.ToSlash(missing), "--keep-last", "1"}, 1},
		{"keygen, file exists", []string{"keygen", "-o", e.identity}, 2},
		{"schedule, bad action", []string{"schedule", "frobnicate"}, 2},
		{"list, bad flag", []string{"list", "--config", cfg, "--nonsense"}, 2},
	} {
		r := testbin.Run(t, e.dir, nil, append(c.args, "--json")...)
		if r.Code != c.code {
			t.Errorf("%s: exit %d, want %d\n%s%s", c.name, r.Code, c.code, r.Stdout, r.Stderr)
			continue
		}
		doc := oneJSON(t, r.Stdout)
		if doc["ok"] != false || doc["exit_code"] != float64(c.code) {
			t.Errorf("%s: ok %v exit_code %v\n%s", c.name, doc["ok"], doc["exit_code"], r.Stdout)
		}
		if s, _ := doc["error"].(string); s == "" {
			t.Errorf("%s: no error in %s", c.name, r.Stdout)
		}
	}
	for _, c := range []struct {
		name string
		args []string
	}{
		{"list", []string{"list", "--config", cfg}},
		{"verify", []string{"verify", "--config", cfg, setID}},
		{"verify with key", []string{"verify", "--config", cfg, "--identity", e.identity}},
		{"restore", []string{"restore", "--config", cfg, "--identity", e.identity, "--to", filepath.Join(e.dir, "restored")}},
		{"prune", []string{"prune", "--config", cfg, "--keep-last", "3", "--dry-run"}},
		{"keygen", []string{"keygen", "-o", filepath.Join(e.dir, "new-key.txt")}},
		{"check", []string{"check", "--config", cfg}},
		{"schedule", []string{"schedule", "show", "--for", "linux", "--config", cfg}},
	} {
		r := testbin.MustRun(t, e.dir, nil, append(c.args, "--json")...)
		doc := oneJSON(t, r.Stdout)
		if doc["ok"] != true || doc["exit_code"] != float64(0) {
			t.Errorf("%s: ok %v exit_code %v", c.name, doc["ok"], doc["exit_code"])
		}
		if _, has := doc["error"]; has {
			t.Errorf("%s: error key on success: %s", c.name, r.Stdout)
		}
		switch c.name {
		case "verify":
			if doc["mode"] != "stored" {
				t.Errorf("verify mode %v", doc["mode"])
			}
		case "verify with key":
			if doc["mode"] != "full" {
				t.Errorf("verify mode %v", doc["mode"])
			}
		case "keygen":
			if pk, _ := doc["public_key"].(string); !strings.HasPrefix(pk, "age1") {
				t.Errorf("keygen doc %v", doc)
			}
		case "prune":
			pol, ok := doc["policy"].(map[string]any)
			if !ok || pol["keep_last"] != float64(3) || pol["timezone"] == "Local" || pol["timezone"] == "" {
				t.Errorf("prune policy %#v", doc["policy"])
			}
		case "check":
			ids := map[string]bool{}
			for _, c := range doc["checks"].([]any) {
				id, _ := c.(map[string]any)["id"].(string)
				if id == "" || ids[id] || strings.Contains(id, "/") {
					t.Errorf("check id %q (empty, repeated or holding a URL)", id)
				}
				ids[id] = true
			}
			if !ids["config"] || !ids["encryption.recipients"] || !ids["destination.access"] {
				t.Errorf("check ids %v", ids)
			}
		}
	}
}

func TestRecordFlagsAndHelp(t *testing.T) {
	e := newOpsEnv(t)
	cfg := e.config("")
	for _, args := range [][]string{
		{"list", "--config", cfg, "--log-format", "xml"},
		{"list", "--config", cfg, "--log-file", e.dir},
		{"list", "--config", cfg, "--limit-upload", "1MiB/s"},
		{"check", "--config", cfg, "--limit-upload", "1MiB/s"},
		{"schedule", "show", "--limit-upload", "1MiB/s"},
		{"prune", "--config", cfg, "--progress", "always"},
		{"keygen", "-o", filepath.Join(e.dir, "k2"), "--log-file", filepath.Join(e.dir, "k.log")},
	} {
		r := testbin.Run(t, e.dir, nil, args...)
		failsWith(t, r, 2)
		if strings.Contains(args[len(args)-2], "limit-upload") && !strings.Contains(r.Stderr, "does not apply to "+args[0]) {
			t.Errorf("%v: %s", args, r.Stderr)
		}
	}
	r := testbin.MustRun(t, e.dir, nil, "help")
	wantAll(t, "help", r.Stdout, "\n  version ", "\n  help ", "\n  restore ")
	r = testbin.MustRun(t, e.dir, nil, "help", "restore")
	wantAll(t, "help restore", r.Stdout, "Usage: lyncbackup restore [SET|latest] --to DIR", "--identity")
	if strings.Contains(r.Stdout, "limit-upload") {
		t.Errorf("help restore lists a flag restore refuses:\n%s", r.Stdout)
	}
	r = testbin.MustRun(t, e.dir, nil, "schedule", "-h")
	wantAll(t, "schedule -h", r.Stdout, "Usage: lyncbackup schedule install|show|remove")
	r = testbin.MustRun(t, e.dir, nil, "prune", "--help")
	wantAll(t, "prune --help", r.Stdout, "--keep-daily 1 changes keep_daily only", "keep the config's values")
}

// TestRecordCheckCauses: each failure names its real cause and the fix
// for it, and the same cause exits the same in check and in backup.
func TestRecordCheckCauses(t *testing.T) {
	e := newOpsEnv(t)
	cfg := e.config("")
	os.RemoveAll(filepath.Join(e.dir, "dest"))
	r := testbin.Run(t, e.dir, nil, "check", "--config", cfg)
	if r.Code != 1 {
		t.Fatalf("check: exit %d\n%s", r.Code, r.Stdout)
	}
	wantAll(t, "check of a missing folder", r.Stdout, "[FAIL] destination: destination folder", "does not exist", "fix: create it")
	if strings.Contains(r.Stdout, "credentials") {
		t.Errorf("a missing folder is not a credentials problem:\n%s", r.Stdout)
	}
	r = testbin.Run(t, e.dir, nil, "check", "--config", filepath.Join(e.dir, "absent.yaml"))
	wantAll(t, "check of a missing config", r.Stdout, "fix: create the config file")
	if strings.Contains(r.Stdout, "key named above") {
		t.Errorf("a missing file has no key:\n%s", r.Stdout)
	}
	// A bad recipient: 2 in check as in backup.
	cfg = e.config("")
	os.WriteFile(cfg, []byte(strings.Replace(readLog(t, cfg), e.pub, "age1notakey", 1)), 0o600)
	cr := testbin.Run(t, e.dir, nil, "check", "--config", cfg)
	br := testbin.Run(t, e.dir, nil, "backup", "--config", cfg)
	if cr.Code != 2 || br.Code != 2 {
		t.Errorf("bad recipient: check exit %d, backup exit %d, want 2 and 2\n%s", cr.Code, br.Code, cr.Stdout)
	}
}

// syncBuf is a buffer written by the pty reader and read by the test;
// seen closes when marker first appears.
type syncBuf struct {
	mu     sync.Mutex
	b      bytes.Buffer
	marker string
	seen   chan struct{}
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.Write(p)
	if s.marker != "" && strings.Contains(s.b.String(), s.marker) {
		close(s.seen)
		s.marker = ""
	}
	return len(p), nil
}

func (s *syncBuf) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

var ansi = regexp.MustCompile(`\x1b\[[0-9;?]*[A-Za-z]`)

// TestRecordCtrlCOnTerminal: on an 80-column terminal, a long item name is
// shortened and the figures stay; Ctrl-C finishes the bars (the item says
// it was interrupted), records the interruption and exits 130.
func TestRecordCtrlCOnTerminal(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("pseudo-terminals are tested on Linux")
	}
	e := newOpsEnv(t)
	big := make([]byte, 8<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(e.src, "big.bin"), big, 0o644)
	logp := filepath.Join(e.dir, "run.log")
	// format: archive streams one object, so bytes show as stored at once
	// (a chunked item reports a chunk's bytes when its upload ends).
	cfg := e.config("format: archive\n")
	long := "filestore-fs01-contoso-com-lyncshare-1-WebServices-1-DataConf"
	os.WriteFile(cfg, []byte(strings.Replace(readLog(t, cfg), "name: itema", "name: "+long, 1)), 0o600)
	cmd := exec.Command(testbin.Path(t), "backup", "--config", cfg, "--limit-upload", "512KiB/s", "--log-file", logp)
	cmd.Dir = e.dir
	cmd.Env = append(os.Environ(), "TERM=xterm")
	// With --log-file the console still draws the bars.
	f, err := pty.StartWithSize(cmd, &pty.Winsize{Rows: 30, Cols: 80})
	if err != nil {
		t.Fatal(err)
	}
	out := &syncBuf{marker: "/s", seen: make(chan struct{})}
	done := make(chan struct{})
	go func() { io.Copy(out, f); close(done) }()
	select {
	case <-out.seen:
	case <-time.After(2 * time.Minute):
		cmd.Process.Kill()
		t.Fatalf("no bar drawn:\n%q", out.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	werr := cmd.Wait()
	f.Close()
	<-done
	code := -1
	if ee, ok := werr.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if werr == nil {
		code = 0
	}
	screen := ansi.ReplaceAllString(out.String(), "")
	if code != 130 {
		t.Fatalf("exit %d, want 130\n%s", code, screen)
	}
	if !strings.Contains(screen, "…") || !strings.Contains(screen, "iB/s") {
		t.Errorf("at 80 columns the name is not shortened or the rate is gone:\n%s", screen)
	}
	if !strings.Contains(screen, "interrupted after") {
		t.Errorf("the interrupted item's line does not say so:\n%s", screen)
	}
	if !strings.Contains(screen, "lyncbackup: backup interrupted") || strings.Contains(screen, "context canceled") {
		t.Errorf("the run's last line is not 'backup interrupted' (or shows Go's \"context canceled\"):\n%s", screen)
	}
	for _, line := range strings.Split(strings.ReplaceAll(screen, "\r", "\n"), "\n") {
		if len([]rune(line)) > 80 && !strings.HasPrefix(line, "lyncbackup: ") {
			t.Errorf("line wider than the terminal (%d): %q", len([]rune(line)), line)
		}
	}
	wantAll(t, "log of an interrupted run", readLog(t, logp), `msg="run interrupted" command=backup exit_code=130`)
}

// TestRecordCheckMissingAzureContainer: a container that does not exist is
// reported as that, with "create it", not as missing rights.
func TestRecordCheckMissingAzureContainer(t *testing.T) {
	az := testenv.Azurite(t)
	e := &azEnv{remoteEnv: newRemoteEnv(t, az.Env(), "filestore"), az: az, container: "no-such-container"}
	os.MkdirAll(e.src, 0o755)
	// The connection string of az.Env() points at Azurite on 127.0.0.1.
	e.writeConfig()
	r := e.run(nil, "check", "--skip-lync")
	if r.Code != 1 {
		t.Fatalf("check: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	wantAll(t, "check of a missing container", r.Stdout, `[FAIL] destination `, `container "no-such-container" does not exist`,
		"fix: create the bucket or container")
	if strings.Contains(r.Stdout, "grant this account") || strings.Contains(r.Stdout, "cannot write, read, delete") {
		t.Errorf("a missing container reported as missing rights:\n%s", r.Stdout)
	}
}

// TestRecordMetricsThroughTheBinary: the backup's textfile counts the
// complete sets and keeps a failed exporter's kind; a successful verify
// writes its time beside it, and the next backup does not erase it.
func TestRecordMetricsThroughTheBinary(t *testing.T) {
	e := newOpsEnv(t)
	prom := filepath.Join(e.dir, "lyncbackup.prom")
	cfg := e.config("metrics:\n  textfile: "+quoteYAML(prom)+"\n", e.src, filepath.Join(e.dir, "gone"))
	if r := testbin.Run(t, e.dir, nil, "backup", "--config", cfg); r.Code != 3 {
		t.Fatalf("backup exit %d\n%s", r.Code, r.Stderr)
	}
	wantAll(t, "metrics of a partial run", readLog(t, prom), `lyncbackup_item_success{host="fe01",item="itemb",kind="path"} 0`)
	cfg = e.config("metrics:\n  textfile: " + quoteYAML(prom) + "\nretention: {keep_last: 5, after_backup: true}\n")
	testbin.MustRun(t, e.dir, nil, "backup", "--config", cfg)
	testbin.MustRun(t, e.dir, nil, "verify", "--config", cfg, "--identity", e.identity)
	testbin.MustRun(t, e.dir, nil, "backup", "--config", cfg)
	wantAll(t, "metrics", readLog(t, prom), `lyncbackup_complete_sets{host="fe01"} 2`,
		`lyncbackup_last_run_success{host="fe01"} 1`, `lyncbackup_last_prune_success{host="fe01"} 1`)
	wantAll(t, "verify metrics", readLog(t, filepath.Join(e.dir, "lyncbackup_verify.prom")),
		`lyncbackup_last_verify_success_timestamp_seconds{host="fe01",mode="full"} `)
}

// A log file past log.max_size is rotated at the start of the next run:
// the earlier lines move to FILE.1, the run starts a new file and says so.
func TestRecordLogFileRotates(t *testing.T) {
	e := newOpsEnv(t)
	logp := filepath.Join(e.dir, "run.log")
	old := strings.Repeat("an earlier night's line\n", 100) // 2400 bytes
	if err := os.WriteFile(logp, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := e.config("log:\n  file: " + quoteYAML(logp) + "\n  max_size: 2KiB\n")
	testbin.MustRun(t, e.dir, nil, "list", "--config", cfg)
	if b, _ := os.ReadFile(logp + ".1"); string(b) != old {
		t.Fatalf("%s.1 holds %d bytes, want the earlier %d", logp, len(b), len(old))
	}
	log := readLog(t, logp)
	wantAll(t, "the new log", log, `msg="run started" command=list`, "log file rotated at 2400 bytes: the earlier lines are in ", "run.log.1", `msg="run finished" command=list exit_code=0`)
	if strings.Contains(log, "an earlier night's line") {
		t.Error("the new log still holds the earlier lines")
	}
	// Below the size, the next run appends.
	testbin.MustRun(t, e.dir, nil, "list", "--config", cfg)
	if n := strings.Count(readLog(t, logp), `msg="run started"`); n != 2 {
		t.Errorf("%d runs in the log, want 2 (appended)", n)
	}
}
