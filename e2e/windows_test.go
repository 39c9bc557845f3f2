package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestCoreWindowsPaths is TestCoreRoundTrip's counterpart for Windows (that
// one needs symlinks and names Windows refuses), and runs on Linux too: the
// real binary backs up a folder with a file deeper than 260 characters and
// an `exclude: ['*.tmp']` rule to a file:///C:/… destination (file:///path
// on Linux), verifies, restores, prints the plan, and refuses to restore
// into the non-empty folder. On Windows `*.tmp` also skips X.TMP.
func TestCoreWindowsPaths(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "Certs")
	deep := src
	for i := 0; i < 5; i++ {
		deep = filepath.Join(deep, strings.Repeat(string(rune('k'+i)), 60))
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(deep, 0o755))
	long := filepath.Join(deep, "deep-cert.pfx")
	must(os.WriteFile(long, []byte("deep"), 0o644))
	must(os.WriteFile(filepath.Join(src, "web.pfx"), []byte("pfx"), 0o644))
	must(os.WriteFile(filepath.Join(src, "scratch.tmp"), []byte("tmp"), 0o644))
	must(os.WriteFile(filepath.Join(src, "X.TMP"), []byte("TMP"), 0o644))
	url := "file://" + filepath.ToSlash(e.dest)
	if runtime.GOOS == "windows" {
		url = "file:///" + filepath.ToSlash(e.dest) // file:///C:/…
	}
	cfg := "host: fe01.contoso.com\nstaging: " + coreQuote(filepath.Join(e.dir, "staging")) + "\nexporters:\n" +
		"  - {kind: path, name: certs, paths: [" + coreQuote(src) + "], exclude: ['*.tmp']}\n" +
		"encryption: {recipients: [" + e.pub + "]}\ndestination: {url: " + coreQuote(url) + "}\n"
	must(os.WriteFile(e.config, []byte(cfg), 0o644))
	set := e.backup()
	e.mustRun("verify", set, "--identity", e.key)
	to := filepath.Join(e.dir, "restore")
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	base := filepath.Join(to, "certs", "Certs")
	rel, _ := filepath.Rel(src, long)
	if b, err := os.ReadFile(filepath.Join(base, rel)); err != nil || string(b) != "deep" {
		t.Errorf("long path (%d characters) not restored: %q %v", len(filepath.Join(base, rel)), b, err)
	}
	if b, err := os.ReadFile(filepath.Join(base, "web.pfx")); err != nil || string(b) != "pfx" {
		t.Errorf("web.pfx: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(base, "scratch.tmp")); !os.IsNotExist(err) {
		t.Errorf("scratch.tmp was not excluded: %v", err)
	}
	_, err := os.Stat(filepath.Join(base, "X.TMP"))
	if excluded := os.IsNotExist(err); excluded != (runtime.GOOS == "windows") {
		t.Errorf("GOOS %s: X.TMP excluded by *.tmp = %v", runtime.GOOS, excluded)
	}
	plan := e.mustRun("restore", set, "--to", to, "--plan", "--scenario", "cms").Stdout
	if !strings.Contains(plan, "Files restored under "+to) {
		t.Errorf("plan does not name %s:\n%s", to, plan)
	}
	failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key), 1, "not empty", "--force")
}
