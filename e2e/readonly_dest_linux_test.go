package e2e

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// crashedSet writes beside set a set that a backup on another machine
// began two hours ago and never finished: its item object and its lease,
// refreshed two hours ago, no manifest. It returns the set's id.
func (e *coreEnv) crashedSet(set string) string {
	e.t.Helper()
	id := later(e.t, set, -2*3600, "dead00")
	dir := filepath.Join(e.dest, "fe01.contoso.com", id)
	os.MkdirAll(dir, 0o755)
	data, err := os.ReadFile(e.object(set, "alpha"))
	if err != nil {
		e.t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "alpha.tar.zst.age"), data, 0o644)
	at := time.Now().Add(-2 * time.Hour).UTC()
	lease, _ := json.Marshal(map[string]any{"host": "fe01.contoso.com", "set_id": id, "pid": 4242, "start": at, "refreshed": at,
		"ttl": "1m0s", "tool": "lyncbackup", "machine": "fe01-gone"})
	os.WriteFile(filepath.Join(dir, "lease.json"), lease, 0o644)
	for _, f := range []string{"alpha.tar.zst.age", "lease.json"} {
		os.Chtimes(filepath.Join(dir, f), at, at)
	}
	return id
}

// readOnlyBind makes the folder dir and everything below it read-only for
// every account, root included: a read-only bind mount of it on itself
// (as an SMB share mounted read-only, or a tree chmod -R a-w for the
// backup host's account). It skips the test where no mount is allowed.
func readOnlyBind(t *testing.T, dir string) {
	t.Helper()
	if out, err := exec.Command("mount", "--bind", dir, dir).CombinedOutput(); err != nil {
		t.Skipf("cannot bind-mount a folder here (needs root with CAP_SYS_ADMIN): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	if out, err := exec.Command("mount", "-o", "remount,bind,ro", dir).CombinedOutput(); err != nil {
		t.Fatalf("remount read-only: %v %s", err, out)
	}
	if os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644) == nil {
		t.Fatal("the read-only bind mount takes files")
	}
}

// TestCoreReadOnlyDestination: a folder destination this account can read
// but not write (here a read-only bind mount) cannot tell its time (a
// folder's clock is read off a file written in it), so every lease counted
// as live: list showed a backup that crashed two hours ago on another
// machine as "running", "a backup is writing it". Now it says the set is
// unfinished and that whether a backup still writes it is unknown, and
// why. prune, which could delete nothing there, failed on each delete
// (exit 3, "read-only file system" per set); now it stops before deciding
// anything with one line naming the cause (exit 1), and --dry-run still
// says what it would do.
func TestCoreReadOnlyDestination(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource("one", "format: archive\nretention: {keep_last: 1}\n")
	old := e.backup()
	time.Sleep(1100 * time.Millisecond)
	e.backup()
	crashed := e.crashedSet(old)
	readOnlyBind(t, e.dest)

	// list: the crashed set is incomplete, not running, and the note says
	// what is known and why no more is.
	r := e.mustRun("list")
	row := regexp.MustCompile(`(?m)^fe01\.contoso\.com\s+` + crashed + `\s+\S+ \S+\s+(\S+)`).FindStringSubmatch(r.Stdout)
	note := crashed + ": unfinished; whether a backup is still writing it is unknown (lease of pid 4242 on fe01-gone, refreshed at "
	cause := "(the destination is read-only here, so its time cannot be learned))"
	if row == nil || row[1] != "incomplete" || !strings.Contains(r.Stdout, note) || !strings.Contains(r.Stdout, cause) ||
		strings.Contains(r.Stdout, "running") || strings.Contains(r.Stdout, "is writing it") {
		t.Errorf("list: want %s incomplete, the note %q…%q and nothing running:\n%s", crashed, note, cause, r.Stdout)
	}
	r = e.mustRun("list", "--json")
	var doc struct {
		Sets []struct {
			SetID        string `json:"set_id"`
			Status       string `json:"status"`
			Running      string `json:"running"`
			LeaseUnknown string `json:"lease_unknown"`
		} `json:"sets"`
	}
	json.Unmarshal([]byte(r.Stdout), &doc)
	found := false
	for _, s := range doc.Sets {
		if s.SetID == crashed {
			found = true
			if s.Status != "incomplete" || s.Running != "" || !strings.Contains(s.LeaseUnknown, "read-only here") {
				t.Errorf("list --json: %+v, want incomplete, no running, lease_unknown saying read-only", s)
			}
		}
	}
	if !found {
		t.Errorf("list --json: %s not listed:\n%s", crashed, r.Stdout)
	}

	// prune: one line naming the cause, exit 1, nothing deleted or decided.
	r = e.run("prune")
	want := "lyncbackup: nothing pruned: file://" + e.dest + " is read-only for this account (open " + e.dest + "/clock.lbtmp-"
	if r.Code != 1 || !strings.HasPrefix(r.Stderr, want) || !strings.Contains(r.Stderr, "read-only file system), so prune can delete nothing there") ||
		strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || r.Stdout != "" {
		t.Errorf("prune: exit %d, want 1 and one line %s…\nstdout %q\nstderr %q", r.Code, want, r.Stdout, r.Stderr)
	}
	if _, err := os.Stat(e.manifestPath(old)); err != nil {
		t.Errorf("the set prune would delete is gone: %v", err)
	}
	// prune --dry-run still says what it would do, the crashed set kept and
	// said to be of unknown state.
	r = e.run("prune", "--dry-run")
	if r.Code != 0 || !strings.Contains(r.Stdout, "unfinished; whether a backup is still writing it is unknown (lease of pid 4242") ||
		strings.Contains(r.Stdout, "in progress") || !strings.Contains(r.Stdout, "would delete 1") {
		t.Errorf("prune --dry-run: exit %d\nstdout %s\nstderr %s", r.Code, r.Stdout, r.Stderr)
	}
}
