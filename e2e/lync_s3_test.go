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

// TestLyncToS3Scheduled: the Lync site (PowerShell and sqlcmd stand-ins,
// file store share, a command exporter) backs up through the real binary to
// S3 (VersityGW on 127.0.0.1); `schedule install --dry-run` of that config
// (a Lync site needs a domain account: --user) writes the task XML it names (on Windows without --for: the default is
// the system's own scheduler), and the command that task runs — its
// Command, Arguments and WorkingDirectory, taken from the XML — makes a
// second set there; both verify, and the first restores from S3. Under the
// Wine lane this is lyncbackup.exe end to end.
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

	r := testbin.Run(t, s.dir, env, "backup", "--config", cfgPath, "--json")
	if r.Code != 0 {
		t.Fatalf("backup to S3: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	first := setIDRe.FindString(r.Stdout)
	if first == "" {
		t.Fatalf("no set id in:\n%s", r.Stdout)
	}

	args := []string{"schedule", "install", "--dry-run", "--time", "2:30", "--user", `CONTOSO\svc-lb`, "--config", cfgPath}
	if runtime.GOOS != "windows" {
		args = append(args, "--for", "windows")
	}
	r = testbin.MustRun(t, s.dir, env, args...)
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
	if runtime.GOOS == "windows" && task.Dir != filepath.Dir(cfgPath) {
		t.Errorf("WorkingDirectory %q, want %q", task.Dir, filepath.Dir(cfgPath))
	}

	// What the task runs, where it runs it.
	r = testbin.Run(t, filepath.Dir(cfgPath), env, "backup", "--config", cfgPath, "--json")
	if r.Code != 0 {
		t.Fatalf("the task's backup: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	second := setIDRe.FindString(r.Stdout)
	list := testbin.MustRun(t, s.dir, env, "list", "--config", cfgPath).Stdout
	for _, id := range []string{first, second} {
		if !strings.Contains(list, id) {
			t.Errorf("list on S3 lacks %s:\n%s", id, list)
		}
		testbin.MustRun(t, s.dir, env, "verify", id, "--config", cfgPath, "--identity", s.id)
	}
	if first == second {
		t.Fatalf("both backups made set %s", first)
	}
	to := filepath.Join(s.dir, "restore")
	testbin.MustRun(t, s.dir, env, "restore", first, "--config", cfgPath, "--to", to, "--identity", s.id)
	if b, err := os.ReadFile(filepath.Join(to, "voice", "output", "voice.xml")); err != nil || strings.TrimSpace(string(b)) != "<Policies/>" {
		t.Errorf("voice.xml restored from S3: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(to, "csconfig", "CsConfiguration.zip")); err != nil {
		t.Errorf("CsConfiguration.zip restored from S3: %v", err)
	}
}
