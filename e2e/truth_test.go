package e2e

// Say what really happened (issue 13 §4, §6, §1's empty manifests), through
// the real binary: "latest" never silently means an older or a partial
// set, verify checks everything restore checks, a full disk and a Ctrl-C
// are named as such, URL and bucket mistakes are usage errors, and an
// unreadable file is a warning that does not stop the set or retention.

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

// manifestPath is the manifest of set on disk.
func (e *coreEnv) manifestPath(set string) string {
	return filepath.Join(e.dest, "fe01.contoso.com", set, "manifest.json")
}

// editManifest rewrites set's manifest through f (as JSON).
func (e *coreEnv) editManifest(set string, f func(m map[string]any)) {
	e.t.Helper()
	data, err := os.ReadFile(e.manifestPath(set))
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		e.t.Fatal(err)
	}
	f(m)
	out, _ := json.MarshalIndent(m, "", "  ")
	if err := os.WriteFile(e.manifestPath(set), out, 0o644); err != nil {
		e.t.Fatal(err)
	}
}

// later is a set id secs seconds after set's, with suffix.
func later(t *testing.T, set string, secs int, suffix string) string {
	t.Helper()
	at, err := catalog.ParseSetID(set)
	if err != nil {
		t.Fatal(err)
	}
	return at.Add(time.Duration(secs)*time.Second).Format("20060102T150405Z") + "-" + suffix
}

// moveSet renames set to id (folder, manifest's set_id and keys): two
// backups in one second order by their random suffix, and a test needs
// to know which is newer.
func (e *coreEnv) moveSet(set, id string) {
	e.t.Helper()
	from, to := filepath.Dir(e.manifestPath(set)), filepath.Dir(e.manifestPath(id))
	if err := os.Rename(from, to); err != nil {
		e.t.Fatal(err)
	}
	e.editManifest(id, func(m map[string]any) {
		m["set_id"] = id
		its, _ := m["items"].([]any)
		for _, it := range its {
			it := it.(map[string]any)
			it["key"] = strings.Replace(it["key"].(string), set, id, 1)
		}
	})
}

// forgeNewer writes a set secs seconds newer than set holding only a
// manifest made from set's by f.
func (e *coreEnv) forgeNewer(set string, secs int, f func(m map[string]any)) string {
	e.t.Helper()
	id := later(e.t, set, secs, "ffffff")
	data, err := os.ReadFile(e.manifestPath(set))
	if err != nil {
		e.t.Fatal(err)
	}
	var m map[string]any
	json.Unmarshal(data, &m)
	m["set_id"] = id
	f(m)
	out, _ := json.MarshalIndent(m, "", "  ")
	os.MkdirAll(filepath.Dir(e.manifestPath(id)), 0o755)
	if err := os.WriteFile(e.manifestPath(id), out, 0o644); err != nil {
		e.t.Fatal(err)
	}
	return id
}

func statusOf(sets []coreListed, id string) string {
	for _, s := range sets {
		if s.SetID == id {
			return s.Status
		}
	}
	return "(gone)"
}

// TestTruthEmptyManifestIsDamaged: a manifest with items [] or null lists
// as damaged, fails verify, is never "latest", and prune keeps the real
// newest set instead of deleting it because of the empty one.
func TestTruthEmptyManifestIsDamaged(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("precious"), 0o644)
	e.writeConfig(map[string][]string{"files": {src}}, "")
	// Dated back (prune keeps sets dated in the future), in a known order.
	old, good := e.backup(), e.backup()
	e.moveSet(old, later(t, old, -600, "000000"))
	e.moveSet(good, later(t, good, -300, "000000"))
	old, good = later(t, old, -600, "000000"), later(t, good, -300, "000000")
	empty := e.forgeNewer(good, 60, func(m map[string]any) { m["items"] = []any{} })
	null := e.forgeNewer(good, 120, func(m map[string]any) { m["items"] = nil })

	sets := e.list()
	for _, id := range []string{empty, null} {
		if st := statusOf(sets, id); st != "damaged" {
			t.Errorf("list: set %s with no items is %q, want damaged", id, st)
		}
		failsWith(t, e.run("verify", id), 1, "no items")
	}
	failsWith(t, e.run("verify", "latest"), 1, "newest set", null, "damaged", "no items")
	out := filepath.Join(e.dir, "out")
	r := e.mustRun("restore", "latest", "--to", out, "--identity", e.key)
	if b, err := os.ReadFile(filepath.Join(out, "files", "src", "a.txt")); err != nil || string(b) != "precious" {
		t.Errorf("restore latest restored %q, %v", b, err)
	}
	if !strings.Contains(r.Stderr, "skipped newer set "+null) || !strings.Contains(r.Stderr, "skipped newer set "+empty) || !strings.Contains(r.Stderr, "latest is "+good) {
		t.Errorf("restore latest does not name what it skipped:\n%s", r.Stderr)
	}
	// keep_last 1: the newest good set is kept, the empty ones are left alone.
	pr := e.mustRun("prune", "--keep-last", "1")
	sets = e.list()
	if statusOf(sets, good) != "complete" || statusOf(sets, old) != "(gone)" || statusOf(sets, empty) != "damaged" {
		t.Errorf("after prune --keep-last 1: %+v\n%s\n%s", sets, pr.Stdout, pr.Stderr)
	}
	e.mustRun("verify", good, "--identity", e.key)
}

type truthSummary struct {
	OK      bool   `json:"ok"`
	SetID   string `json:"set_id"`
	Error   string `json:"error"`
	Skipped []struct {
		SetID  string `json:"set_id"`
		Status string `json:"status"`
		Reason string `json:"reason"`
	} `json:"skipped"`
}

func parseTruth(t *testing.T, out string) truthSummary {
	t.Helper()
	var s truthSummary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("--json %q: %v", out, err)
	}
	return s
}

// TestTruthLatest: restore latest restores the newest complete set and
// names the partial and damaged sets it skipped (stderr and --json);
// verify latest fails while the newest set is damaged.
func TestTruthLatest(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("v1"), 0o644)
	e.writeConfig(map[string][]string{"files": {src}}, "")
	good := e.backup()
	e.moveSet(good, later(t, good, -300, "000000"))
	good = later(t, good, -300, "000000")
	// A partial set: the second exporter's path is gone.
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("v2"), 0o644)
	e.writeConfig(map[string][]string{"files": {src}, "gone": {filepath.Join(e.dir, "no-such")}}, "")
	r := e.run("backup", "--json", "--quiet")
	if r.Code != 3 {
		t.Fatalf("partial backup: exit %d\n%s", r.Code, r.Stderr)
	}
	partial := later(t, good, 60, "000000")
	e.moveSet(parseTruth(t, r.Stdout).SetID, partial)

	out := filepath.Join(e.dir, "out1")
	r = e.mustRun("restore", "latest", "--to", out, "--identity", e.key, "--json")
	s := parseTruth(t, r.Stdout)
	if !s.OK || s.SetID != good || len(s.Skipped) != 1 || s.Skipped[0].SetID != partial || s.Skipped[0].Status != "partial" ||
		!strings.Contains(s.Skipped[0].Reason, "no-such") {
		t.Errorf("restore latest over a partial set: %s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "skipped newer set "+partial+" (partial: 1 exporter(s) failed") {
		t.Errorf("restore latest does not say on stderr that it skipped the partial set:\n%s", r.Stderr)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "files", "src", "a.txt")); string(b) != "v1" {
		t.Errorf("restore latest restored %q, want the complete set's v1", b)
	}
	// The partial set is still restorable by id.
	e.mustRun("restore", partial, "--to", filepath.Join(e.dir, "out2"), "--identity", e.key)
	// verify latest passes over the partial set, saying so.
	r = e.mustRun("verify", "latest")
	if !strings.Contains(r.Stderr, "skipped newer set "+partial) || !strings.Contains(r.Stdout, good) {
		t.Errorf("verify latest over a partial set:\nstdout %s\nstderr %s", r.Stdout, r.Stderr)
	}
	// With --log-format json the warning is a JSON line like every other.
	r = e.mustRun("verify", "latest", "--log-format", "json")
	sawSkip := false
	for _, line := range strings.Split(strings.TrimSpace(r.Stderr), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Errorf("verify latest --log-format json: a stderr line is not JSON: %q", line)
			continue
		}
		if rec["skipped"] == partial && rec["latest"] == good && rec["level"] == "WARN" {
			sawSkip = true
		}
	}
	if !sawSkip {
		t.Errorf("verify latest --log-format json names no skipped set as JSON:\n%s", r.Stderr)
	}

	// The newest set's manifest is damaged.
	damaged := e.forgeNewer(partial, 60, func(m map[string]any) { m["status"] = "finished" })
	r = e.run("verify", "latest", "--json")
	failsWith(t, testbin.Result{Code: r.Code, Stderr: r.Stderr}, 1, "newest set", damaged, "damaged")
	if s := parseTruth(t, r.Stdout); s.OK || s.SetID != damaged || len(s.Skipped) != 2 {
		t.Errorf("verify latest --json with a damaged newest set: %s", r.Stdout)
	}
	out = filepath.Join(e.dir, "out3")
	r = e.mustRun("restore", "latest", "--to", out, "--identity", e.key, "--json")
	s = parseTruth(t, r.Stdout)
	if !s.OK || s.SetID != good || len(s.Skipped) != 2 || s.Skipped[0].SetID != damaged || s.Skipped[0].Status != "damaged" ||
		!strings.Contains(s.Skipped[0].Reason, "invalid status") {
		t.Errorf("restore latest over a damaged set: %s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "skipped newer set "+damaged+" (damaged manifest") {
		t.Errorf("restore latest does not name the damaged set on stderr:\n%s", r.Stderr)
	}
}

// TestTruthVerifyChecksTheManifest: verify refuses a manifest whose age
// prefix hash is wrong (with and without an identity), and with an
// identity one whose file count or bytes are wrong, as restore does.
func TestTruthVerifyChecksTheManifest(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), bytes.Repeat([]byte("x"), 10000), 0o644)
	// The archive format: the age prefix below is a field of its items.
	e.writeConfig(map[string][]string{"files": {src}}, "format: archive\n")
	set := e.backup()
	data, _ := os.ReadFile(e.manifestPath(set))
	item := func(m map[string]any) map[string]any { return m["items"].([]any)[0].(map[string]any) }
	for _, c := range []struct {
		name      string
		lie       func(m map[string]any)
		want      string
		plainSeen bool // verify without an identity cannot see it
	}{
		{"age prefix", func(m map[string]any) { item(m)["age_prefix_sha256"] = strings.Repeat("0", 64) }, "age header does not match", false},
		{"files", func(m map[string]any) { item(m)["files"] = 7.0 }, "the manifest says 7", true},
		{"plain bytes", func(m map[string]any) { item(m)["plain_bytes"] = 10001.0 }, "the manifest says 10001", true},
	} {
		e.editManifest(set, c.lie)
		if c.plainSeen {
			e.mustRun("verify", set)
		} else {
			failsWith(t, e.run("verify", set), 1, c.want)
		}
		failsWith(t, e.run("verify", set, "--identity", e.key), 1, c.want)
		out := filepath.Join(e.dir, "out-"+strings.ReplaceAll(c.name, " ", "-"))
		failsWith(t, e.run("restore", set, "--to", out, "--identity", e.key), 1, c.want)
		if ents, _ := os.ReadDir(out); len(ents) != 0 {
			t.Errorf("%s: a refused restore left %d entries", c.name, len(ents))
		}
		os.WriteFile(e.manifestPath(set), data, 0o644)
	}
	e.mustRun("verify", set, "--identity", e.key)
}

// TestTruthExitCodes: destinations that cannot work as written are usage
// or config errors (exit 2) with one line.
func TestTruthExitCodes(t *testing.T) {
	e := newCoreEnv(t)
	for _, c := range []struct{ from, want string }{
		{"::::", "missing protocol scheme"},
		{"file://dest", `"dest" would be a server`},
		{"dest", `"dest" has no scheme: a folder is file:///absolute/path`},
		{"/srv/backups", "is a folder path, not a URL: write file:///srv/backups"},
		{"file:dest", "no absolute path"},
		{"s3://Bad_Bucket!/x", "not a valid bucket name"},
	} {
		if runtime.GOOS == "windows" && strings.HasPrefix(c.from, "file://") {
			continue
		}
		failsWith(t, e.run("verify", "--from", c.from), 2, c.want)
		failsWith(t, e.run("restore", "--from", c.from, "--to", filepath.Join(e.dir, "o"), "--identity", e.key), 2, c.want)
	}
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	e.writeConfig(map[string][]string{"files": {src}}, "")
	cfg, _ := os.ReadFile(e.config)
	bad := strings.Replace(string(cfg), "destination: {url: '"+"file://"+filepath.ToSlash(e.dest)+"'}", "destination: {url: 's3://Bad_Bucket!/x', endpoint: 'http://127.0.0.1:1'}", 1)
	if bad == string(cfg) {
		t.Fatalf("could not rewrite the destination in:\n%s", cfg)
	}
	os.WriteFile(e.config, []byte(bad), 0o644)
	for _, args := range [][]string{{"backup"}, {"list"}, {"verify"}, {"prune", "--keep-last", "1"}} {
		failsWith(t, e.run(args...), 2, "not a valid bucket name")
	}
}

// TestTruthLatestNoUsableSetNoAdvice: with only a damaged set, restore
// latest said "name a set by id to use it anyway", and naming it failed
// "manifest is not valid JSON". The advice is given only when a partial
// set, which restores by its id, is there; it is then named.
func TestTruthLatestNoUsableSetNoAdvice(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("v1"), 0o644)
	e.writeConfig(map[string][]string{"files": {src}}, "")
	set := e.backup()
	os.WriteFile(e.manifestPath(set), []byte("{"), 0o644)
	r := e.run("restore", "latest", "--to", filepath.Join(e.dir, "r"), "--identity", e.key)
	failsWith(t, r, 1, "has no complete backup set (newest: "+set+", damaged manifest")
	if strings.Contains(r.Stderr, "by id") {
		t.Errorf("advice to name a set that cannot be used by id: %s", r.Stderr)
	}
	failsWith(t, e.run("restore", set, "--to", filepath.Join(e.dir, "r"), "--identity", e.key), 1, "not valid JSON")
	// A partial set older than the damaged one: named as the one to use.
	e.writeConfig(map[string][]string{"files": {src}, "gone": {filepath.Join(e.dir, "no-such")}}, "")
	r = e.run("backup", "--json", "--quiet")
	if r.Code != 3 {
		t.Fatalf("partial backup: exit %d\n%s", r.Code, r.Stderr)
	}
	partial := later(t, set, -60, "000000")
	e.moveSet(parseTruth(t, r.Stdout).SetID, partial)
	failsWith(t, e.run("restore", "latest", "--to", filepath.Join(e.dir, "r"), "--identity", e.key), 1,
		"(newest: "+set+", damaged manifest", "; the partial set "+partial+" can be used by naming its id)")
	e.mustRun("restore", partial, "--to", filepath.Join(e.dir, "r"), "--identity", e.key)
}
