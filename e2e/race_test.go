package e2e

// Interleavings of a running backup with prune, another backup and the
// loss of an object, on every backend (file://, S3 on VersityGW, Azure on
// Azurite), through the real binary. The binary is stopped at named
// points (internal/faultpoint) so each interleaving happens every time.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/internal/faultpoint/fptest"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
)

const raceHost = "fe01"

// raceEnv is one destination with a config of two path items (alpha,
// bravo) and retention {keep_last: 2, grace: 1s, after_backup: true}.
type raceEnv struct {
	t      *testing.T
	dir    string
	env    []string
	store  upload.Store // the same destination, opened by the test
	config string
	key    string
	local  string // file:// root, for the folder checks
}

type raceBackend struct {
	name string
	// open makes an empty destination: its URL, extra destination keys
	// for the config, the environment the binary needs, the store as the
	// test sees it and, for file://, its folder.
	open func(t *testing.T) (url, destExtra string, env []string, st upload.Store, root string)
}

var raceBackends = []raceBackend{
	{"file", func(t *testing.T) (string, string, []string, upload.Store, string) {
		st, dir := localDest(t)
		return fileURL(dir), "", nil, st, dir
	}},
	{"s3", func(t *testing.T) (string, string, []string, upload.Store, string) {
		s := testenv.VersityGW(t)
		s.SetEnv(t)
		bucket := s.Bucket(t, false)
		url := "s3://" + bucket + "/lb"
		st, err := destination.Open(context.Background(), config.Destination{URL: url, Endpoint: s.Endpoint, PathStyle: true, Region: s.Region})
		if err != nil {
			t.Fatal(err)
		}
		return url, "  endpoint: " + s.Endpoint + "\n  path_style: true\n  region: " + s.Region + "\n", s.Env(), st, ""
	}},
	{"azure", func(t *testing.T) (string, string, []string, upload.Store, string) {
		a := testenv.Azurite(t)
		a.SetEnv(t)
		url := "azblob://" + a.Container(t) + "/lb"
		st, err := destination.Open(context.Background(), config.Destination{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return url, "", a.Env(), st, ""
	}},
}

// forEachBackend runs fn on a fresh raceEnv of every backend.
func forEachBackend(t *testing.T, fn func(t *testing.T, e *raceEnv)) {
	forBackends(t, raceBackends, fn)
}

func forBackends(t *testing.T, backends []raceBackend, fn func(t *testing.T, e *raceEnv)) {
	forBackendsFormat(t, backends, "archive", fn)
}

// forBackendsFormat is forBackends with the config's format.
func forBackendsFormat(t *testing.T, backends []raceBackend, format string, fn func(t *testing.T, e *raceEnv)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			url, extra, env, st, root := b.open(t)
			dir := t.TempDir()
			e := &raceEnv{t: t, dir: dir, store: st, local: root, key: filepath.Join(dir, "key.txt")}
			pub := strings.TrimSpace(testbin.MustRun(t, dir, nil, "keygen", "-o", e.key).Stdout)
			for _, item := range []string{"alpha", "bravo"} {
				os.MkdirAll(filepath.Join(dir, item), 0o755)
				os.WriteFile(filepath.Join(dir, item, item+".txt"), bytes.Repeat([]byte(item), 5000), 0o644)
			}
			e.config = filepath.Join(dir, "lyncbackup.yaml")
			// format: archive: these tests watch the objects of the set folder
			// (chunked sets are covered by the chunk room's marker tests).
			cfg := fmt.Sprintf(`host: %s
format: %s
staging: %s
exporters:
  - {kind: path, name: alpha, paths: [%s]}
  - {kind: path, name: bravo, paths: [%s]}
compression: {level: fastest}
encryption: {recipients: [%s]}
destination:
  url: %s
%sretention: {keep_last: 2, grace: 1s, after_backup: true}
`, raceHost, format, quoteYAML(filepath.Join(dir, "staging")), quoteYAML(filepath.Join(dir, "alpha")), quoteYAML(filepath.Join(dir, "bravo")), pub, url, extra)
			if err := os.WriteFile(e.config, []byte(cfg), 0o600); err != nil {
				t.Fatal(err)
			}
			e.env = append(env, "LYNCBACKUP_CONFIG="+e.config)
			fn(t, e)
		})
	}
}

func (e *raceEnv) run(args ...string) testbin.Result {
	e.t.Helper()
	return testbin.Run(e.t, e.dir, e.env, args...)
}

// running is a binary started in the background.
type running struct {
	cmd            *exec.Cmd
	stdout, stderr bytes.Buffer
	done           chan struct{}
	code           int
}

// start runs the binary in the background with extra environment.
func (e *raceEnv) start(extra []string, args ...string) *running {
	e.t.Helper()
	r := &running{done: make(chan struct{})}
	var err error
	r.cmd, err = testbin.Start(e.t, func() *exec.Cmd {
		cmd := exec.Command(testbin.Path(e.t), args...)
		cmd.Dir = e.dir
		cmd.Env = append(append(os.Environ(), e.env...), extra...)
		cmd.Stdout, cmd.Stderr = &r.stdout, &r.stderr
		return cmd
	})
	if err != nil {
		e.t.Fatal(err)
	}
	go func() {
		r.cmd.Wait()
		r.code = r.cmd.ProcessState.ExitCode()
		close(r.done)
	}()
	e.t.Cleanup(func() {
		r.cmd.Process.Kill()
		<-r.done
	})
	return r
}

// wait returns the exit code (a hang is a failure after a generous limit).
func (r *running) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-r.done:
	case <-time.After(5 * time.Minute):
		t.Fatalf("the backup never ended\nstdout: %s\nstderr: %s", r.stdout.String(), r.stderr.String())
	}
	return r.code
}

// exists reports whether key is stored.
func (e *raceEnv) exists(key string) bool {
	e.t.Helper()
	_, err := e.store.Stat(context.Background(), key)
	return err == nil
}

// setKeys lists the objects of one set.
func (e *raceEnv) setKeys(id string) []string {
	e.t.Helper()
	var keys []string
	if err := e.store.List(context.Background(), catalog.SetPrefix(raceHost, id), func(o upload.ObjectInfo) error {
		keys = append(keys, o.Key)
		return nil
	}); err != nil {
		e.t.Fatal(err)
	}
	return keys
}

// ageObjects lets the objects written so far grow older than the 1 s grace
// period, in the store's clock and this machine's (waitStoreAged): time
// passing is what is tested here, nothing waits on it.
func (e *raceEnv) ageObjects() {
	e.t.Helper()
	waitStoreAged(e.t, e.store, time.Now(), time.Second)
}

// prune runs a prune with keep_last 1 and grace 1s and returns its report.
// listSaysRunning: list shows the set of a running backup as running, not
// as an incomplete set (which reads as a failed one), naming its lease; in
// --json its status stays "incomplete" and "running" names the lease.
func (e *raceEnv) listSaysRunning(id string) {
	e.t.Helper()
	r := e.run("list")
	line := ""
	for _, l := range strings.Split(r.Stdout, "\n") {
		if strings.Contains(l, id) && !strings.Contains(l, "writing") {
			line = l
		}
	}
	if !strings.Contains(line, " running ") || !strings.Contains(r.Stdout, id+": a backup is writing it (lease of pid ") {
		e.t.Errorf("list does not show %s as running:\n%s%s", id, r.Stdout, r.Stderr)
	}
	r = e.run("list", "--json")
	var doc struct {
		Sets []struct {
			SetID   string `json:"set_id"`
			Status  string `json:"status"`
			Running string `json:"running"`
		} `json:"sets"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		e.t.Fatalf("list --json: %v\n%s", err, r.Stdout)
	}
	for _, s := range doc.Sets {
		if s.SetID == id && (s.Status != "incomplete" || !strings.HasPrefix(s.Running, "lease of pid ")) {
			e.t.Errorf("list --json: %+v", s)
		}
	}
}

func (e *raceEnv) prune() string {
	e.t.Helper()
	r := e.run("prune", "--grace", "1s", "--keep-last", "1")
	if r.Code != 0 {
		e.t.Fatalf("prune: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	return r.Stdout
}

// pausedBackup starts a backup that stops at the given points, and returns
// it with its set id (from the lease point, which it lets pass).
func (e *raceEnv) pausedBackup(fp *fptest.Server, points ...string) (*running, string) {
	e.t.Helper()
	b := e.start(fp.Env(append([]string{"lease-written"}, points...)...), "backup", "--parallel", "1", "--progress=never")
	h := fp.Wait("lease-written", "")
	h.Release()
	return b, h.Detail
}

// verifyOK verifies a set with the identity (every file's hash).
func (e *raceEnv) verifyOK(id string) {
	e.t.Helper()
	if r := e.run("verify", id, "--identity", e.key); r.Code != 0 {
		e.t.Fatalf("verify %s: exit %d\n%s%s", id, r.Code, r.Stdout, r.Stderr)
	}
}

func (e *raceEnv) status(id string) string {
	e.t.Helper()
	r := e.run("list", "--json")
	var l listed
	if err := json.Unmarshal([]byte(r.Stdout), &l); err != nil {
		e.t.Fatalf("list --json: %v\n%s%s", err, r.Stdout, r.Stderr)
	}
	for _, s := range l.Sets {
		if s.SetID == id {
			return s.Status
		}
	}
	return ""
}

// A prune while a two-item backup is between its items keeps the first
// item's finished object; the backup then commits a set that verifies.
func TestRacePruneDuringUpload(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *raceEnv) {
		fp := fptest.Listen(t)
		b, id := e.pausedBackup(fp, "item-stored")
		h := fp.Wait("item-stored", "alpha")
		e.listSaysRunning(id)
		e.ageObjects()
		out := e.prune()
		if !strings.Contains(out, "in progress") {
			t.Errorf("prune does not say the set is in progress:\n%s", out)
		}
		if !e.exists(catalog.ItemKey(raceHost, id, "alpha")) {
			t.Fatalf("prune deleted the running backup's finished object:\n%s", out)
		}
		h.Release()
		fp.Wait("item-stored", "bravo").Release()
		if code := b.wait(t); code != 0 {
			t.Fatalf("backup: exit %d\n%s", code, b.stderr.String())
		}
		e.verifyOK(id)
	})
}

// A prune between the last object and the manifest keeps the set.
func TestRacePruneBeforeCommit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *raceEnv) {
		fp := fptest.Listen(t)
		b, id := e.pausedBackup(fp, "before-commit")
		h := fp.Wait("before-commit", id)
		e.ageObjects()
		out := e.prune()
		for _, item := range []string{"alpha", "bravo"} {
			if !e.exists(catalog.ItemKey(raceHost, id, item)) {
				t.Errorf("prune deleted %s of the set about to commit:\n%s", item, out)
			}
		}
		h.Release()
		if code := b.wait(t); code != 0 {
			t.Fatalf("backup: exit %d\n%s", code, b.stderr.String())
		}
		e.verifyOK(id)
		if e.exists(catalog.LeaseKey(raceHost, id)) {
			t.Error("the committed set kept its lease")
		}
	})
}

// Two backups of one host with after_backup: the one that finishes first
// prunes, and must spare the other's finished objects.
func TestRaceTwoBackupsAfterBackup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *raceEnv) {
		fp := fptest.Listen(t)
		slow, id := e.pausedBackup(fp, "item-stored")
		h := fp.Wait("item-stored", "alpha")
		e.ageObjects()
		r := e.run("backup", "--json", "--progress=never")
		if r.Code != 0 {
			t.Fatalf("the other backup: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		if !e.exists(catalog.ItemKey(raceHost, id, "alpha")) {
			t.Fatalf("the other backup's prune deleted the running backup's object:\n%s", r.Stdout)
		}
		h.Release()
		fp.Wait("item-stored", "bravo").Release()
		if code := slow.wait(t); code != 0 {
			t.Fatalf("backup: exit %d\n%s", code, slow.stderr.String())
		}
		e.verifyOK(id)
	})
}

// An object deleted behind the backup's back before it commits: the backup
// fails (exit 1, naming the object) and commits no manifest.
func TestRaceObjectDeletedBeforeCommit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *raceEnv) {
		fp := fptest.Listen(t)
		b, id := e.pausedBackup(fp, "before-check")
		h := fp.Wait("before-check", id)
		key := catalog.ItemKey(raceHost, id, "alpha")
		if err := e.store.Delete(context.Background(), key); err != nil {
			t.Fatal(err)
		}
		h.Release()
		if code := b.wait(t); code != 1 {
			t.Fatalf("backup: exit %d, want 1\n%s", code, b.stderr.String())
		}
		if msg := b.stderr.String(); !strings.Contains(msg, key) || !strings.Contains(msg, "not committed") {
			t.Errorf("the error does not name the vanished object:\n%s", msg)
		}
		if e.exists(catalog.ManifestKey(raceHost, id)) {
			t.Fatal("a manifest naming a deleted object was committed")
		}
		if st := e.status(id); st != "incomplete" {
			t.Errorf("list says %q, want incomplete", st)
		}
	})
}

// A killed backup: while it ran its lease named its process; once it is
// killed (known dead at once on the same machine) its set is collected
// after the grace period, leaving nothing (file://: not even the folder).
func TestRaceKilledBackupCollected(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *raceEnv) {
		fp := fptest.Listen(t)
		b, id := e.pausedBackup(fp, "item-stored")
		h := fp.Wait("item-stored", "alpha")
		l := e.lease(id)
		if l.PID != b.cmd.Process.Pid || l.SetID != id || l.Host != raceHost || l.Tool == "" || l.Refreshed.IsZero() {
			t.Fatalf("the running backup's lease: %+v (pid %d)", l, b.cmd.Process.Pid)
		}
		b.cmd.Process.Kill() // SIGKILL: no cleanup runs
		b.wait(t)
		h.Release()
		e.ageObjects()
		out := e.prune()
		if !strings.Contains(out, "garbage") {
			t.Errorf("prune after the kill and the grace period:\n%s", out)
		}
		if keys := e.setKeys(id); len(keys) != 0 {
			t.Fatalf("the killed backup's objects remain: %v", keys)
		}
		if e.local != "" {
			if _, err := os.Stat(filepath.Join(e.local, raceHost, id)); !os.IsNotExist(err) {
				t.Errorf("the set's folder remains (%v)", err)
			}
		}
	})
}

// The lease of a backup on another machine (whose process this one cannot
// see) keeps its set until the lease goes stale; then the set is collected
// after the grace period.
func TestRaceRemoteLeaseGoesStale(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *raceEnv) {
		ctx := context.Background()
		now := time.Now()
		id := catalog.NewSetID(now)
		l := catalog.Lease{Host: raceHost, SetID: id, PID: 4242, Start: now, Refreshed: now, TTL: catalog.Duration(catalog.MinLeaseTTL), Tool: "lyncbackup test", Machine: "elsewhere.contoso.com"}
		b, _ := json.Marshal(l)
		for key, data := range map[string][]byte{catalog.LeaseKey(raceHost, id): b, catalog.ItemKey(raceHost, id, "alpha"): bytes.Repeat([]byte{1}, 1000)} {
			if _, err := e.store.Put(ctx, key, bytes.NewReader(data), upload.PutOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		e.ageObjects()
		out := e.prune()
		if !strings.Contains(out, "in progress (lease of pid 4242 on elsewhere.contoso.com") || !e.exists(catalog.ItemKey(raceHost, id, "alpha")) {
			t.Fatalf("prune did not keep the set of a live lease:\n%s", out)
		}
		// The lease is not refreshed: it goes stale (time passing is what
		// is tested), and the set is garbage once the grace period is over.
		// It expires counted from the store's time of the object, in the
		// store's clock: the Put may have taken a while, and the store's
		// Date lags (waitStoreAged).
		o, err := e.store.Stat(ctx, catalog.LeaseKey(raceHost, id))
		if err != nil {
			t.Fatal(err)
		}
		waitStorePast(t, e.store, catalog.LeaseInfo{Lease: l, ModTime: o.ModTime}.Expires())
		out = e.prune()
		if !strings.Contains(out, "garbage") {
			t.Errorf("prune after the lease went stale:\n%s", out)
		}
		if keys := e.setKeys(id); len(keys) != 0 {
			t.Fatalf("objects of the stale set remain: %v", keys)
		}
	})
}

// lease reads a set's lease.
func (e *raceEnv) lease(id string) catalog.Lease {
	e.t.Helper()
	rc, err := e.store.Get(context.Background(), catalog.LeaseKey(raceHost, id), 0, -1)
	if err != nil {
		e.t.Fatalf("the lease of %s: %v", id, err)
	}
	defer rc.Close()
	var l catalog.Lease
	if err := json.NewDecoder(rc).Decode(&l); err != nil {
		e.t.Fatalf("the lease of %s: %v", id, err)
	}
	return l
}

// Empty set folders (left on file:// by failed or killed runs of earlier
// versions) are removed by list and by prune.
func TestLocalEmptySetFoldersRemoved(t *testing.T) {
	forBackends(t, raceBackends[:1], func(t *testing.T, e *raceEnv) {
		empty := filepath.Join(e.local, raceHost, catalog.NewSetID(time.Now().Add(-time.Hour)))
		for _, cmd := range [][]string{{"list"}, {"prune", "--keep-last", "1"}} {
			if err := os.MkdirAll(empty, 0o755); err != nil {
				t.Fatal(err)
			}
			if r := e.run(cmd...); r.Code != 0 {
				t.Fatalf("%v: exit %d\n%s%s", cmd, r.Code, r.Stdout, r.Stderr)
			}
			if _, err := os.Stat(filepath.Join(e.local, raceHost)); !os.IsNotExist(err) {
				t.Errorf("after %v the empty set folder (and its host folder) remain (%v)", cmd, err)
			}
		}
	})
}

// TestRaceVerifyAllDuringPrune: a prune that deletes an old set while
// verify all is on its way to it (a monthly check overlapping a night's
// after_backup prune) leaves that set out, saying so, instead of reporting
// it as failed; the sets that remain are verified and the run passes.
func TestRaceVerifyAllDuringPrune(t *testing.T) {
	forEachBackend(t, func(t *testing.T, e *raceEnv) {
		var ids []string
		for range 2 {
			r := e.run("backup", "--json", "--progress=never")
			if r.Code != 0 {
				t.Fatalf("backup: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
			}
			var d struct {
				SetID string `json:"set_id"`
			}
			json.Unmarshal([]byte(r.Stdout), &d)
			ids = append(ids, d.SetID)
		}
		fp := fptest.Listen(t)
		v := e.start(fp.Env("verify-set"), "verify", "all", "--json", "--progress=never")
		h := fp.Wait("verify-set", ids[0])
		if r := e.run("prune", "--keep-last", "1"); r.Code != 0 {
			t.Fatalf("prune: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
		}
		h.Release()
		fp.Wait("verify-set", ids[1]).Release()
		if code := v.wait(t); code != 0 {
			t.Fatalf("verify all: exit %d\n%s%s", code, v.stdout.String(), v.stderr.String())
		}
		var doc struct {
			Sets []struct {
				SetID string `json:"set_id"`
			} `json:"sets"`
			Deleted []string `json:"deleted"`
		}
		if err := json.Unmarshal(v.stdout.Bytes(), &doc); err != nil {
			t.Fatalf("verify all --json: %v\n%s", err, v.stdout.String())
		}
		if len(doc.Sets) != 1 || doc.Sets[0].SetID != ids[1] || len(doc.Deleted) != 1 || doc.Deleted[0] != ids[0] {
			t.Fatalf("verify all: %+v, want %s verified and %s deleted", doc, ids[1], ids[0])
		}
	})
}
