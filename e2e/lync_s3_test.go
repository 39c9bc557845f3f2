package e2e

import (
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/schedule"
)

// TestLyncToS3Scheduled: `schedule install --dry-run` of a Lync site's
// config with an S3 destination (a Lync site needs a domain account:
// --user; on Windows without --for, the default being the system's own
// scheduler) writes the UTF-16 task XML it names, and the command that
// task runs — its Command, Arguments and WorkingDirectory, from the XML —
// backs the site up (PowerShell and sqlcmd stand-ins, file store share, a
// command exporter) to S3 (VersityGW on 127.0.0.1); the set lists,
// verifies and restores from there. Under the Wine lane this is
// lyncbackup.exe end to end.
func TestLyncToS3Scheduled(t *testing.T) {
	s := newLyncSite(t)
	srv := testenv.VersityGW(t)
	bucket := srv.Bucket(t, false)
	cfgPath := filepath.Join(s.dir, "conf dir", "lyncbackup.yaml")
	os.MkdirAll(filepath.Dir(cfgPath), 0o755)
	old, err := os.ReadFile(filepath.Join(s.dir, "lyncbackup.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	head, _, ok := strings.Cut(string(old), "destination: ")
	if !ok {
		t.Fatalf("no destination in the site's config:\n%s", old)
	}
	cfg := head + "destination:\n  url: s3://" + bucket + "/lync\n  endpoint: " + srv.Endpoint + "\n  path_style: true\n  region: " + srv.Region + "\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	env := append(append([]string{}, s.env...), srv.Env()...)

	args := []string{"schedule", "install", "--dry-run", "--time", "2:30", "--user", `CONTOSO\svc-lb`, "--config", cfgPath}
	if runtime.GOOS != "windows" {
		args = append(args, "--for", "windows")
	}
	r := testbin.MustRun(t, s.dir, env, args...)
	xmlHead, _, _ := strings.Cut(r.Stdout, "\n")
	xmlPath, ok := strings.CutPrefix(xmlHead, "# Task Scheduler XML, written as UTF-16 to ")
	xmlPath, ok2 := strings.CutSuffix(xmlPath, ":")
	if !ok || !ok2 {
		t.Fatalf("first line %q names no file", xmlHead)
	}
	t.Cleanup(func() { os.Remove(xmlPath) })
	raw, err := os.ReadFile(xmlPath)
	if err != nil {
		t.Fatalf("the dry run did not write %s: %v", xmlPath, err)
	}
	text, err := schedule.DecodeUTF16(raw)
	if err != nil {
		t.Fatal(err)
	}
	var task struct {
		Start string `xml:"Triggers>CalendarTrigger>StartBoundary"`
		User  string `xml:"Principals>Principal>UserId"`
		Cmd   string `xml:"Actions>Exec>Command"`
		Args  string `xml:"Actions>Exec>Arguments"`
		Dir   string `xml:"Actions>Exec>WorkingDirectory"`
	}
	dec := xml.NewDecoder(strings.NewReader(string(text)))
	dec.CharsetReader = func(_ string, r io.Reader) (io.Reader, error) { return r, nil }
	if err := dec.Decode(&task); err != nil {
		t.Fatalf("task XML: %v\n%s", err, text)
	}
	exe, _ := filepath.EvalSymlinks(testbin.Path(t))
	if task.Start != "2024-01-01T02:30:00" || task.User != `CONTOSO\svc-lb` || task.Cmd != exe || task.Args != `backup --config "`+cfgPath+`"` {
		t.Fatalf("task %+v (exe %s, config %s)", task, exe, cfgPath)
	}
	if task.Dir != filepath.Dir(cfgPath) {
		t.Errorf("WorkingDirectory %q, want %q", task.Dir, filepath.Dir(cfgPath))
	}

	// What the task runs, where it runs it: the backup to S3.
	r = testbin.Run(t, task.Dir, env, "backup", "--config", cfgPath, "--json")
	if r.Code != 0 {
		t.Fatalf("the task's backup to S3: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	first := setIDRe.FindString(r.Stdout)
	if list := testbin.MustRun(t, s.dir, env, "list", "--config", cfgPath).Stdout; first == "" || !strings.Contains(list, first) {
		t.Fatalf("list on S3 lacks set %q:\n%s", first, list)
	}
	testbin.MustRun(t, s.dir, env, "verify", first, "--config", cfgPath, "--identity", s.id)
	to := filepath.Join(s.dir, "restore")
	testbin.MustRun(t, s.dir, env, "restore", first, "--config", cfgPath, "--to", to, "--identity", s.id)
	if b, err := os.ReadFile(filepath.Join(to, "voice", "output", "voice.xml")); err != nil || strings.TrimSpace(string(b)) != "<Policies/>" {
		t.Errorf("voice.xml restored from S3: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(to, "csconfig", "CsConfiguration.zip")); err != nil {
		t.Errorf("CsConfiguration.zip restored from S3: %v", err)
	}
}
