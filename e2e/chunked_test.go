package e2e

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
)

const chunkHost = "fe01.contoso.com"

// randomFile writes n pseudo-random (incompressible) bytes from seed to
// path, and returns them.
func randomFile(t *testing.T, path string, n int, seed uint64) []byte {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *coreEnv) manifest(set string) *catalog.Manifest {
	e.t.Helper()
	f, err := os.Open(filepath.Join(e.dest, chunkHost, set, "manifest.json"))
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	m, err := catalog.ParseManifest(f)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// chunkObjects lists the chunk objects in the destination.
func (e *coreEnv) chunkObjects() map[string]bool {
	e.t.Helper()
	out := map[string]bool{}
	root := filepath.Join(e.dest, chunkHost, "chunks")
	filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(p, ".zst.age") {
			rel, _ := filepath.Rel(e.dest, p)
			out[filepath.ToSlash(rel)] = true
		}
		return nil
	})
	return out
}

func chunkKeys(m *catalog.Manifest) map[string]bool {
	out := map[string]bool{}
	for _, it := range m.Items {
		for _, c := range it.Chunks {
			out[c.Key] = true
		}
	}
	return out
}

// dumpAndMeeting makes the source of the prune tests: a random dump of
// dbBytes (from seed) and a 3 MiB meeting file that a later night deletes,
// backed up as one item with keep_last: 1.
func (e *coreEnv) dumpAndMeeting(dbBytes int, seed uint64) string {
	e.t.Helper()
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	randomFile(e.t, filepath.Join(src, "LyncDB.bak"), dbBytes, seed)
	randomFile(e.t, filepath.Join(src, "old-meeting.bin"), 3<<20, seed+1)
	e.writeConfig(map[string][]string{"sql": {src}}, "retention: {keep_last: 1}\n")
	return src
}

// onlyIn lists the chunks of set 1 that set 2 does not use (those a prune
// keeping set 2 deletes); there must be some for the test to see a sweep.
func onlyIn(t *testing.T, set1, set2 map[string]bool) []string {
	t.Helper()
	var only []string
	for k := range set1 {
		if !set2[k] {
			only = append(only, k)
		}
	}
	if len(only) == 0 {
		t.Fatal("set 1 has no chunk of its own: the test cannot see the sweep")
	}
	return only
}

// TestChunkedStockTools: a chunked item (the default format) restores with
// nothing but the shell loop of docs/FORMAT.md over its .chunks list, and
// with lyncbackup restore; verify and verify --identity pass.
func TestChunkedStockTools(t *testing.T) {
	if runtime.GOOS == "windows" { // the shell loop is bash (docs/TESTING.md)
		t.Skip("the stock-tool loop is a bash pipeline")
	}
	stockToolsOrSkip(t)
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	randomFile(t, filepath.Join(src, "sub", "meeting.bin"), 6<<20, 1)
	os.WriteFile(filepath.Join(src, "Topology.xml"), bytes.Repeat([]byte("<Site name='x'/>\n"), 200000), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "caf\u00e9 & co.txt"), []byte("x"), 0o644)
	e.writeConfig(map[string][]string{"csconfig": {src}}, "")
	set := e.backup()
	m := e.manifest(set)
	it, _ := m.Item("csconfig")
	if m.Format != 3 || !it.Chunked() || len(it.Chunks) < 3 || it.Chunks[0].AgePrefixBytes <= 0 {
		t.Fatalf("format %d, item layout %q with %d chunks: want a format 3 set with a chunked item of several chunks, each with its age prefix hash", m.Format, it.Layout, len(it.Chunks))
	}
	if _, err := os.Stat(filepath.Join(e.dest, chunkHost, set, "csconfig.tar.zst.age")); err == nil {
		t.Error("a chunked item also left an archive object")
	}

	x := filepath.Join(e.dir, "x")
	os.MkdirAll(x, 0o755)
	list := filepath.Join(chunkHost, set, "csconfig.chunks")
	loop := `while read k; do age -d -i ` + coreQuote(e.key) + ` "$k" | zstd -d; done < ` + coreQuote(list) + ` | tar -xf - -C ` + coreQuote(x)
	cmd := exec.Command("bash", "-o", "pipefail", "-c", loop)
	cmd.Dir = e.dest
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", loop, err, out)
	}
	compareTrees(t, src, filepath.Join(x, "src"))
	if _, err := os.Stat(filepath.Join(x, ".lyncbackup-SHA256SUMS")); err != nil {
		t.Errorf("the stock-tools restore lacks the archive index: %v", err)
	}
	// README's integrity step after the loop: every file against the index.
	check := exec.Command("sha256sum", "-c", "--strict", ".lyncbackup-SHA256SUMS")
	check.Dir = x
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("sha256sum -c after the stock-tools loop: %v\n%s", err, out)
	}

	e.mustRun("verify", "latest")
	e.mustRun("verify", set, "--identity", e.key)
	to := filepath.Join(e.dir, "restore")
	e.mustRun("restore", "latest", "--to", to, "--identity", e.key)
	compareTrees(t, src, filepath.Join(to, "csconfig", "src"))

	// A manifest whose file count is altered: verify --identity and
	// restore check the chunks' files against it, as for archive objects.
	mp := e.manifestPath(set)
	orig, _ := os.ReadFile(mp)
	var raw map[string]any
	json.Unmarshal(orig, &raw)
	raw["items"].([]any)[0].(map[string]any)["files"] = float64(it.Files + 1)
	forged, _ := json.Marshal(raw)
	os.WriteFile(mp, forged, 0o644)
	failsWith(t, e.run("verify", set, "--identity", e.key), 1, "csconfig", "manifest says")
	failsWith(t, e.run("restore", set, "--to", filepath.Join(e.dir, "r2"), "--identity", e.key), 1, "csconfig", "manifest says")
	os.WriteFile(mp, orig, 0o644)
}

// TestChunkedDedupAndPrune: a second night with one small change uploads
// only the chunks around it; every set restores on its own; prune of the
// first set deletes exactly the chunks only it used; a damaged chunk is
// named by verify and restore.
func TestChunkedDedupAndPrune(t *testing.T) {
	e := newCoreEnv(t)
	src := e.dumpAndMeeting(40<<20, 2)
	set1 := e.backup()
	before := e.chunkObjects()
	m1 := e.manifest(set1)

	// Night 2: a few records change in the middle of the dump, a meeting goes.
	db := filepath.Join(src, "LyncDB.bak")
	b, _ := os.ReadFile(db)
	copy(b[20<<20:], []byte("changed records"))
	os.WriteFile(db, b, 0o644)
	os.Remove(filepath.Join(src, "old-meeting.bin"))
	set2 := e.backup()
	m2 := e.manifest(set2)
	after := e.chunkObjects()
	added := len(after) - len(before)
	// The chunk holding the change (two if it straddles a cut), and at the
	// end of the tar stream the chunks around the deleted file and the index.
	if added < 1 || added > 5 || added*2 > len(before) {
		t.Errorf("night 2 added %d chunk objects to %d: want the few around the changes", added, len(before))
	}
	k2 := chunkKeys(m2)
	only1 := onlyIn(t, chunkKeys(m1), k2)

	// Both sets restore on their own.
	for _, s := range []string{set1, set2} {
		to := filepath.Join(e.dir, "r-"+s)
		e.mustRun("restore", s, "--to", to, "--identity", e.key)
	}
	if !sameContent(t, db, filepath.Join(e.dir, "r-"+set2, "sql", "src", "LyncDB.bak")) {
		t.Error("set 2 restores a different dump")
	}

	type pruneRep struct {
		Deleted       int `json:"deleted"`
		ChunksDeleted int `json:"chunks_deleted"`
	}
	// A dry run names the chunks and deletes nothing.
	var dry pruneRep
	r := e.mustRun("prune", "--json", "--dry-run")
	if err := json.Unmarshal([]byte(r.Stdout), &dry); err != nil || dry.ChunksDeleted != len(only1) {
		t.Errorf("prune --dry-run: %v, %d chunks to delete, want %d", err, dry.ChunksDeleted, len(only1))
	}
	if n := len(e.chunkObjects()); n != len(after) {
		t.Errorf("a dry run changed the chunks: %d of %d left", n, len(after))
	}
	// prune keeps set 2 and deletes set 1's own chunks, nothing else.
	r = e.mustRun("prune", "--json")
	var rep pruneRep
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("prune --json: %v\n%s", err, r.Stdout)
	}
	left := e.chunkObjects()
	for _, k := range only1 {
		if left[k] {
			t.Errorf("chunk %s only the forgotten set used survived prune", k)
		}
	}
	for k := range k2 {
		if !left[k] {
			t.Errorf("chunk %s of the kept set was deleted", k)
		}
	}
	if len(left) != len(k2) {
		t.Errorf("%d chunk objects left, the kept set uses %d", len(left), len(k2))
	}
	if rep.Deleted != 1 || rep.ChunksDeleted != len(only1) {
		t.Errorf("prune report: %d sets and %d chunks deleted, want 1 and %d", rep.Deleted, rep.ChunksDeleted, len(only1))
	}
	e.mustRun("verify", "latest")
	e.mustRun("restore", "latest", "--to", filepath.Join(e.dir, "r3"), "--identity", e.key)

	// A damaged chunk: verify names it; restore fails and leaves no item folder.
	var victim string
	for k := range k2 {
		victim = k
		break
	}
	p := filepath.Join(e.dest, filepath.FromSlash(victim))
	vb, _ := os.ReadFile(p)
	vb[len(vb)/2] ^= 1
	os.WriteFile(p, vb, 0o644)
	failsWith(t, e.run("verify", "latest"), 1, victim, "SHA-256")
	to := filepath.Join(e.dir, "r4")
	failsWith(t, e.run("restore", "latest", "--to", to, "--identity", e.key), 1, victim)
	if _, err := os.Stat(filepath.Join(to, "sql")); err == nil {
		t.Error("a failed restore left an item folder")
	}
}

// TestChunkedDamagedManifestKeepsChunks: prune through the binary keeps
// every chunk of a host while one of its manifests cannot be read (that
// manifest may name any of them), says why, and still prunes the sets; once
// the manifest is back, the set verifies whole and the next prune sweeps.
// (chunk's TestDamagedManifestStopsSweep checks the rule on a copy of the
// sweep's wiring; this one fails when retention's wiring drops it.)
func TestChunkedDamagedManifestKeepsChunks(t *testing.T) {
	e := newCoreEnv(t)
	src := e.dumpAndMeeting(6<<20, 4)
	set1 := e.backup()
	k1 := chunkKeys(e.manifest(set1))
	os.Remove(filepath.Join(src, "old-meeting.bin"))
	randomFile(t, filepath.Join(src, "LyncDB.bak"), 6<<20, 6)
	set2 := e.backup()
	only1 := onlyIn(t, k1, chunkKeys(e.manifest(set2)))
	good, err := os.ReadFile(e.manifestPath(set1))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(e.manifestPath(set1), good[:len(good)/2], 0o644) // a torn write
	chunks := len(e.chunkObjects())

	var rep struct {
		Decisions []struct {
			SetID string `json:"set_id"`
			Keep  bool   `json:"keep"`
		} `json:"decisions"`
		ChunksDeleted int      `json:"chunks_deleted"`
		Notes         []string `json:"notes"`
	}
	r := e.mustRun("prune", "--json")
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("prune --json: %v\n%s", err, r.Stdout)
	}
	if rep.ChunksDeleted != 0 || len(e.chunkObjects()) != chunks {
		t.Errorf("prune deleted %d chunks (%d of %d left) while set %s's manifest cannot be read", rep.ChunksDeleted, len(e.chunkObjects()), chunks, set1)
	}
	if !strings.Contains(strings.Join(rep.Notes, "\n"), set1+" has a damaged manifest") {
		t.Errorf("prune notes %q: want the damaged manifest named", rep.Notes)
	}
	if len(rep.Decisions) != 2 {
		t.Errorf("prune decided on %d sets, want 2: %s", len(rep.Decisions), r.Stdout)
	}

	// The manifest is put back (from a copy): the set is whole again, and
	// the next prune forgets it and sweeps its own chunks.
	os.WriteFile(e.manifestPath(set1), good, 0o644)
	e.mustRun("verify", set1, "--identity", e.key)
	e.mustRun("prune")
	left := e.chunkObjects()
	for _, k := range only1 {
		if left[k] {
			t.Errorf("chunk %s of the forgotten set survived the prune after the repair", k)
		}
	}
	e.mustRun("verify", set2, "--identity", e.key)
}

// TestChunkedArchiveFormat: format: archive keeps one object per item,
// and a store holding sets of both formats lists, verifies and restores both.
func TestChunkedArchiveFormat(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	randomFile(t, filepath.Join(src, "a.bin"), 1<<20, 4)
	e.writeConfig(map[string][]string{"files": {src}}, "format: archive\n")
	old := e.backup()
	m := e.manifest(old)
	if it, _ := m.Item("files"); m.Format != 1 || it.Chunked() {
		t.Fatalf("format: archive wrote format %d, layout %q", m.Format, it.Layout)
	}
	if _, err := os.Stat(e.object(old, "files")); err != nil {
		t.Fatal(err)
	}
	e.writeConfig(map[string][]string{"files": {src}}, "")
	e.backup()
	if sets := e.list(); len(sets) != 2 {
		t.Fatalf("list: %+v", sets)
	}
	e.mustRun("verify", old)
	e.mustRun("verify", "latest", "--identity", e.key)
	e.mustRun("restore", old, "--to", filepath.Join(e.dir, "r1"), "--identity", e.key)
	compareTrees(t, src, filepath.Join(e.dir, "r1", "files", "src"))
	e.mustRun("restore", "latest", "--to", filepath.Join(e.dir, "r2"), "--identity", e.key)
	compareTrees(t, src, filepath.Join(e.dir, "r2", "files", "src"))
}

// TestChunkedRestoreWithoutChunkList: an item whose .chunks object is gone
// or damaged restores from the manifest's chunk entries (every chunk and
// file still checked), exit 0, with a warning naming the list; verify
// still fails on it. Restore refused the item before, although nothing of
// its data was missing.
func TestChunkedRestoreWithoutChunkList(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	randomFile(t, filepath.Join(src, "LyncDB.bak"), 4<<20, 5)
	e.writeConfig(map[string][]string{"sql": {src}}, "")
	set := e.backup()
	list := filepath.Join(e.dest, chunkHost, set, "sql.chunks")
	orig, err := os.ReadFile(list)
	if err != nil {
		t.Fatal(err)
	}
	for name, damage := range map[string]func(){
		"missing":   func() { os.Remove(list) },
		"corrupted": func() { b := bytes.Clone(orig); b[len(b)/2] ^= 1; os.WriteFile(list, b, 0o644) },
	} {
		t.Run(name, func(t *testing.T) {
			damage()
			defer os.WriteFile(list, orig, 0o644)
			failsWith(t, e.run("verify", set), 1, "sql", "chunk list")
			to := filepath.Join(e.dir, "restore-"+name)
			r := e.run("restore", set, "--to", to, "--identity", e.key)
			if r.Code != 0 || !strings.Contains(r.Stderr+r.Stdout, "restored from the manifest's chunk entries instead") {
				t.Fatalf("restore: exit %d, want 0 with a warning about the list\n%s%s", r.Code, r.Stdout, r.Stderr)
			}
			compareTrees(t, src, filepath.Join(to, "sql", "src"))
		})
	}
}
