package e2e

// Core end-to-end tests through the real binary: round trip of a nasty
// tree (unicode, long paths, symlinks, a sparse multi-GiB file), stock
// tools (age | zstd | tar, sha256sum), a SIGKILLed backup, and every bad
// input the core must answer with one line and a non-zero exit.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"filippo.io/age"
	"filippo.io/age/armor"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// coreEnv is one scratch world: an identity, a destination and a config.
type coreEnv struct {
	t                   *testing.T
	dir, dest, key, pub string
	config              string
	env                 []string
}

func newCoreEnv(t *testing.T) *coreEnv {
	t.Helper()
	dir := t.TempDir()
	e := &coreEnv{t: t, dir: dir, dest: filepath.Join(dir, "dest"), key: filepath.Join(dir, "key.txt"), config: filepath.Join(dir, "lyncbackup.yaml")}
	os.MkdirAll(e.dest, 0o755)
	r := testbin.MustRun(t, dir, nil, "keygen", "-o", e.key)
	e.pub = strings.TrimSpace(r.Stdout)
	e.env = []string{"LYNCBACKUP_CONFIG=" + e.config}
	return e
}

func coreQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// writeConfig writes a config with one path exporter per name=path pair.
func (e *coreEnv) writeConfig(items map[string][]string, extra string) {
	e.t.Helper()
	var b strings.Builder
	fmt.Fprintf(&b, "host: fe01.contoso.com\nstaging: %s\nexporters:\n", coreQuote(filepath.Join(e.dir, "staging")))
	for name, paths := range items {
		var q []string
		for _, p := range paths {
			q = append(q, coreQuote(p))
		}
		fmt.Fprintf(&b, "  - {kind: path, name: %s, paths: [%s]}\n", name, strings.Join(q, ", "))
	}
	fmt.Fprintf(&b, "encryption: {recipients: [%s]}\ndestination: {url: %s}\n%s", e.pub, coreQuote("file://"+filepath.ToSlash(e.dest)), extra)
	if err := os.WriteFile(e.config, []byte(b.String()), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *coreEnv) run(args ...string) testbin.Result {
	e.t.Helper()
	return testbin.Run(e.t, e.dir, e.env, args...)
}

func (e *coreEnv) mustRun(args ...string) testbin.Result {
	e.t.Helper()
	return testbin.MustRun(e.t, e.dir, e.env, args...)
}

func (e *coreEnv) backup() string {
	e.t.Helper()
	r := e.mustRun("backup", "--json", "--quiet")
	var sum struct {
		OK    bool   `json:"ok"`
		SetID string `json:"set_id"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil || !sum.OK || sum.SetID == "" {
		e.t.Fatalf("backup summary %q: %v", r.Stdout, err)
	}
	return sum.SetID
}

// oneFileSet backs up one item, alpha, of one file src/f.txt holding
// content, and returns src and the set id.
func (e *coreEnv) oneFileSet(content string) (src, set string) {
	e.t.Helper()
	src = e.oneFileSource(content, "")
	return src, e.backup()
}

// oneFileSource makes src/f.txt holding content and a config backing src
// up as the item alpha (extra added to the config); it returns src.
func (e *coreEnv) oneFileSource(content, extra string) string {
	e.t.Helper()
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f.txt"), []byte(content), 0o644)
	e.writeConfig(map[string][]string{"alpha": {src}}, extra)
	return src
}

type coreListed struct {
	SetID  string `json:"set_id"`
	Status string `json:"status"`
	Items  int    `json:"items"`
	Files  int64  `json:"files"`
}

func (e *coreEnv) list() []coreListed {
	e.t.Helper()
	r := e.mustRun("list", "--json")
	var out struct {
		Sets []coreListed `json:"sets"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &out); err != nil {
		e.t.Fatalf("list --json %q: %v", r.Stdout, err)
	}
	return out.Sets
}

func (e *coreEnv) object(set, item string) string {
	return filepath.Join(e.dest, "fe01.contoso.com", set, item+".tar.zst.age")
}

// failsWith checks a failed run: the wanted exit code, and on stderr one
// line "lyncbackup: ..." holding every want, and no stack trace. Backup may
// log before failing (slog lines start with "time="); nothing else may.
func failsWith(t *testing.T, r testbin.Result, code int, wants ...string) {
	t.Helper()
	if r.Code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.Code, code, r.Stdout, r.Stderr)
	}
	var msgs []string
	for _, line := range strings.Split(strings.TrimRight(r.Stderr, "\n"), "\n") {
		if strings.HasPrefix(line, "time=") {
			continue
		}
		msgs = append(msgs, line)
	}
	if len(msgs) != 1 || !strings.HasPrefix(msgs[0], "lyncbackup: ") {
		t.Fatalf("stderr is not one error line:\n%s", r.Stderr)
	}
	for _, bad := range []string{"panic", "goroutine ", ".go:"} {
		if strings.Contains(r.Stderr, bad) {
			t.Fatalf("stack trace on stderr:\n%s", r.Stderr)
		}
	}
	for _, w := range wants {
		if !strings.Contains(msgs[0], w) {
			t.Errorf("error line %q does not say %q", msgs[0], w)
		}
	}
}

// ---- the tree ----------------------------------------------------------

const (
	sparseDefault = 3 << 30
	sparseShort   = 64 << 20
)

// makeNastyTree builds the round-trip tree under root and returns the size
// of its sparse file.
func makeNastyTree(t *testing.T, root string) int64 {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "empty-dir"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "private"), 0o700))
	must(os.WriteFile(filepath.Join(root, "empty-file"), nil, 0o644))
	must(os.WriteFile(filepath.Join(root, "private", "secret.txt"), []byte("s3cr3t"), 0o600))
	must(os.WriteFile(filepath.Join(root, "run.sh"), []byte("#!/bin/sh\necho hi\n"), 0o755))
	// The same word in NFC and NFD: two different names on Linux.
	must(os.WriteFile(filepath.Join(root, "caf\u00e9.txt"), []byte("nfc"), 0o644))
	must(os.WriteFile(filepath.Join(root, "cafe\u0301.txt"), []byte("nfd"), 0o644))
	must(os.MkdirAll(filepath.Join(root, "日本語", "Ünïcödé ☃"), 0o755))
	must(os.WriteFile(filepath.Join(root, "日本語", "Ünïcödé ☃", "データ.bin"), bytes.Repeat([]byte{0xe2, 0x98, 0x83}, 1000), 0o644))
	must(os.WriteFile(filepath.Join(root, "name with spaces & 'quotes'.txt"), []byte("q"), 0o644))
	must(os.WriteFile(filepath.Join(root, "back\\slash.txt"), []byte("bs"), 0o644))
	// A name over 100 characters (ustar's limit) and a path over 255 in total.
	long := strings.Repeat("L", 120)
	must(os.WriteFile(filepath.Join(root, long+".txt"), []byte("long name"), 0o644))
	deep := root
	for i := 0; i < 6; i++ {
		deep = filepath.Join(deep, fmt.Sprintf("level%d-%s", i, strings.Repeat("d", 50)))
	}
	must(os.MkdirAll(deep, 0o755))
	must(os.WriteFile(filepath.Join(deep, "deep-file-"+strings.Repeat("f", 60)+".txt"), []byte("deep"), 0o644))
	if rel, _ := filepath.Rel(root, deep); len(rel) < 300 {
		t.Fatalf("deep path only %d characters", len(rel))
	}
	// Symlinks: relative, inside the tree, to a file, a folder and a deep file.
	if runtime.GOOS != "windows" {
		must(os.Symlink("run.sh", filepath.Join(root, "link-to-file")))
		must(os.Symlink("日本語/Ünïcödé ☃", filepath.Join(root, "link-to-dir")))
		must(os.Symlink("../empty-file", filepath.Join(root, "private", "link-up")))
	}
	// The big sparse file: holes with a few data blocks, never committed.
	size := int64(sparseDefault)
	if testing.Short() {
		size = sparseShort
	}
	if v := os.Getenv("LYNCBACKUP_TEST_SPARSE_BYTES"); v != "" {
		size, _ = strconv.ParseInt(v, 10, 64)
	}
	f, err := os.Create(filepath.Join(root, "big.sparse"))
	must(err)
	must(f.Truncate(size))
	rng := rand.New(rand.NewPCG(1, 2))
	block := make([]byte, 1<<20)
	for _, off := range []int64{0, size / 3, size/2 + 12345, size - int64(len(block))} {
		for i := range block {
			block[i] = byte(rng.Uint32())
		}
		_, err := f.WriteAt(block, off)
		must(err)
	}
	must(f.Close())
	// Fixed times, so the comparison also proves mtimes survive.
	old := time.Date(2019, 6, 7, 8, 9, 10, 0, time.UTC)
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink == 0 && p != root {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	// Folders last: their children changed them.
	os.Chtimes(deep, old.Add(time.Hour), old.Add(time.Hour))
	return size
}

// compareTrees checks content (streamed), mode, mtime and link targets of
// every entry, and that b has nothing more than a.
func compareTrees(t *testing.T, a, b string) int {
	t.Helper()
	n := 0
	err := filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(a, p)
		q := filepath.Join(b, rel)
		fa, err := os.Lstat(p)
		if err != nil {
			return err
		}
		fb, err := os.Lstat(q)
		if err != nil {
			t.Errorf("%s: missing after restore: %v", rel, err)
			return nil
		}
		n++
		if runtime.GOOS == "windows" { // no mode or attributes kept: the type only
			if fa.Mode().Type() != fb.Mode().Type() {
				t.Errorf("%s: type %v, want %v", rel, fb.Mode().Type(), fa.Mode().Type())
			}
		} else if fa.Mode() != fb.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, fb.Mode(), fa.Mode())
		}
		switch {
		case fa.Mode()&fs.ModeSymlink != 0:
			la, _ := os.Readlink(p)
			lb, _ := os.Readlink(q)
			if la != lb {
				t.Errorf("%s: link to %q, want %q", rel, lb, la)
			}
			return nil
		case fa.Mode().IsRegular():
			if fa.Size() != fb.Size() || !sameContent(t, p, q) {
				t.Errorf("%s: content differs", rel)
			}
		}
		if rel != "." && !fa.ModTime().Equal(fb.ModTime()) {
			t.Errorf("%s: mtime %v, want %v", rel, fb.ModTime(), fa.ModTime())
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	m := 0
	filepath.WalkDir(b, func(string, fs.DirEntry, error) error { m++; return nil })
	if m != n {
		t.Errorf("restored tree has %d entries, the source %d", m, n)
	}
	return n
}

func sameContent(t *testing.T, a, b string) bool {
	fa, err := os.Open(a)
	if err != nil {
		t.Fatal(err)
	}
	defer fa.Close()
	fb, err := os.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer fb.Close()
	ba, bb := make([]byte, 1<<20), make([]byte, 1<<20)
	for {
		na, ea := io.ReadFull(fa, ba)
		nb, eb := io.ReadFull(fb, bb)
		if na != nb || !bytes.Equal(ba[:na], bb[:nb]) {
			return false
		}
		if ea != nil || eb != nil {
			return (ea == io.EOF || ea == io.ErrUnexpectedEOF) && (eb == io.EOF || eb == io.ErrUnexpectedEOF)
		}
	}
}

// ---- tests --------------------------------------------------------------

// TestCoreRoundTrip: backup → list → verify (without and with identity) →
// restore → byte-for-byte comparison, then restore refuses a non-empty folder.
func TestCoreRoundTrip(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("the tree uses symlinks and names Windows refuses")
	}
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	t0 := time.Now()
	size := makeNastyTree(t, src)
	single := filepath.Join(e.dir, "single.cfg")
	os.WriteFile(single, []byte("one file as a root"), 0o640)
	e.writeConfig(map[string][]string{"tree": {src}, "single": {single}}, "compression: {level: fastest}\n")
	t1 := time.Now()
	set := e.backup()
	t2 := time.Now()

	sets := e.list()
	if len(sets) != 1 || sets[0].SetID != set || sets[0].Status != "complete" || sets[0].Items != 2 {
		t.Fatalf("list: %+v", sets)
	}
	e.mustRun("verify", "latest")
	t3 := time.Now()
	e.mustRun("verify", set, "--identity", e.key)
	t4 := time.Now()
	to := filepath.Join(e.dir, "restore")
	r := e.mustRun("restore", "latest", "--to", to, "--identity", e.key)
	t5 := time.Now()
	if !strings.Contains(r.Stdout, set) {
		t.Errorf("restore output does not name the set: %s", r.Stdout)
	}
	n := compareTrees(t, src, filepath.Join(to, "tree", "src"))
	if !sameContent(t, single, filepath.Join(to, "single", "single.cfg")) {
		t.Error("single file differs")
	}
	t6 := time.Now()
	t.Logf("round trip of %d entries with a %d MiB sparse file: tree %v, backup %v, verify %v, verify --identity %v, restore %v, compare %v",
		n, size>>20, t1.Sub(t0).Round(time.Millisecond), t2.Sub(t1).Round(time.Millisecond), t3.Sub(t2).Round(time.Millisecond),
		t4.Sub(t3).Round(time.Millisecond), t5.Sub(t4).Round(time.Millisecond), t6.Sub(t5).Round(time.Millisecond))

	// Restore also works from the URL alone, without a config.
	to2 := filepath.Join(e.dir, "restore2")
	testbin.MustRun(t, e.dir, []string{"LYNCBACKUP_CONFIG=" + filepath.Join(e.dir, "absent.yaml")},
		"restore", "--from", "file://"+filepath.ToSlash(e.dest), "--item", "single", "--to", to2, "--identity", e.key)
	if !sameContent(t, single, filepath.Join(to2, "single", "single.cfg")) {
		t.Error("--from restore of one item differs")
	}
	if _, err := os.Stat(filepath.Join(to2, "tree")); err == nil {
		t.Error("--item single restored other items too")
	}
	// --sync (every file and folder flushed before the item is put in
	// place) restores the same tree: the nasty one, with its modes, links
	// and read-only folders.
	toSync := filepath.Join(e.dir, "restore-sync")
	e.mustRun("restore", "latest", "--to", toSync, "--identity", e.key, "--sync")
	compareTrees(t, src, filepath.Join(toSync, "tree", "src"))

	// Restoring into the non-empty folder is refused, and changes nothing.
	os.WriteFile(filepath.Join(to, "tree", "src", "run.sh"), []byte("local edit"), 0o755)
	failsWith(t, e.run("restore", "latest", "--to", to, "--identity", e.key), 1, "not empty", "--force")
	if b, _ := os.ReadFile(filepath.Join(to, "tree", "src", "run.sh")); string(b) != "local edit" {
		t.Errorf("refused restore changed a file: %q", b)
	}
}

// TestCoreStockTools: an object opens with the age and zstd CLIs and tar,
// and its trailing index passes sha256sum -c.
func TestCoreStockTools(t *testing.T) {
	if runtime.GOOS == "windows" { // bash pipelines and sha256sum (docs/TESTING.md)
		t.Skip("the stock-tool pipeline is Unix (bash, sha256sum)")
	}
	for _, tool := range []string{"age", "zstd", "tar", "sha256sum"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, fmt.Sprintf("%s not installed (scripts/test.sh installs it): %v", tool, err))
		}
	}
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(filepath.Join(src, "sub", "empty"), 0o755)
	os.WriteFile(filepath.Join(src, "Topology.xml"), []byte("<Topology/>"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "data.bin"), bytes.Repeat([]byte("lync "), 100000), 0o600)
	os.WriteFile(filepath.Join(src, "sub", "caf\u00e9 & co.txt"), nil, 0o644)
	os.WriteFile(filepath.Join(src, "back\\slash"), []byte("b"), 0o644)
	os.Symlink("sub/data.bin", filepath.Join(src, "link"))
	e.writeConfig(map[string][]string{"certs": {src}}, "format: archive\n")
	set := e.backup()
	obj := e.object(set, "certs")

	pipe := func(tail string) string {
		t.Helper()
		cmd := exec.Command("bash", "-o", "pipefail", "-c", "age -d -i "+coreQuote(e.key)+" "+coreQuote(obj)+" | zstd -d -q | "+tail)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", cmd, err, out)
		}
		return string(out)
	}
	listing := pipe("tar -tf -")
	for _, want := range []string{"src/", "src/Topology.xml", "src/sub/data.bin", "src/sub/caf\u00e9 & co.txt", "src/link", ".lyncbackup-SHA256SUMS"} {
		if !strings.Contains(listing, want+"\n") {
			t.Errorf("tar -t lacks %q:\n%s", want, listing)
		}
	}
	if !strings.HasSuffix(listing, ".lyncbackup-SHA256SUMS\n") {
		t.Errorf("the index is not the last entry:\n%s", listing)
	}
	x := filepath.Join(e.dir, "x")
	os.MkdirAll(x, 0o755)
	pipe("tar -xf - -C " + coreQuote(x))
	compareTrees(t, src, filepath.Join(x, "src"))
	cmd := exec.Command("sha256sum", "-c", "--strict", ".lyncbackup-SHA256SUMS")
	cmd.Dir = x
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	if strings.Count(string(out), ": OK") != 4 {
		t.Errorf("sha256sum -c checked:\n%s", out)
	}
}

// TestCoreKilledBackup: a backup SIGKILLed (on Windows: TerminateProcess) while its object streams leaves
// a set that list does not call complete, that restore refuses, and that
// "latest" skips in favour of the older complete set.
func TestCoreKilledBackup(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "first.txt"), []byte("the first, complete set"), 0o644)
	// The archive format streams one object per item (the chunked format's
	// objects are small and written whole).
	e.writeConfig(map[string][]string{"files": {src}}, "format: archive\ncompression: {level: best}\n")
	good := e.backup()

	// Enough incompressible data at the slowest level to take seconds.
	f, _ := os.Create(filepath.Join(src, "random.bin"))
	rng := rand.NewChaCha8([32]byte{1})
	buf := make([]byte, 1<<20)
	for i := 0; i < 256; i++ {
		rng.Read(buf)
		f.Write(buf)
	}
	f.Close()

	cmd, err := testbin.Start(t, func() *exec.Cmd {
		cmd := exec.Command(testbin.Path(t), "backup", "--quiet")
		cmd.Dir, cmd.Env = e.dir, append(os.Environ(), e.env...)
		return cmd
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	hostDir := filepath.Join(e.dest, "fe01.contoso.com")
	var streaming string
	deadline := time.Now().Add(2 * time.Minute)
	for streaming == "" && time.Now().Before(deadline) {
		filepath.WalkDir(hostDir, func(p string, d fs.DirEntry, err error) error {
			if err == nil && !d.IsDir() && !strings.Contains(p, good) {
				if fi, err := d.Info(); err == nil && fi.Size() > 1<<20 {
					streaming = p
				}
			}
			return nil
		})
		select {
		case err := <-done:
			t.Fatalf("backup finished before it could be killed (%v): make the data bigger", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	if streaming == "" {
		cmd.Process.Kill()
		t.Fatal("the object never started appearing")
	}
	cmd.Process.Kill() // SIGKILL; TerminateProcess on Windows
	<-done
	t.Logf("killed while %s was being written", filepath.Base(streaming))
	rel, _ := filepath.Rel(hostDir, streaming)
	killed := strings.Split(filepath.ToSlash(rel), "/")[0]

	// The killed set holds only a temporary file: list may leave it out or
	// show it as incomplete, never as complete or partial.
	sets := e.list()
	if len(sets) < 1 || len(sets) > 2 {
		t.Fatalf("list: %+v", sets)
	}
	for _, s := range sets {
		switch s.SetID {
		case good:
			if s.Status != "complete" {
				t.Errorf("good set: %+v", s)
			}
		case killed:
			if s.Status == "complete" || s.Status == "partial" {
				t.Errorf("killed set listed as %s", s.Status)
			}
		default:
			t.Errorf("unexpected set %+v", s)
		}
	}
	to := filepath.Join(e.dir, "restore")
	r := e.mustRun("restore", "latest", "--to", to, "--identity", e.key)
	if !strings.Contains(r.Stdout, good) {
		t.Errorf("restore latest did not pick the complete set %s: %s", good, r.Stdout)
	}
	if b, _ := os.ReadFile(filepath.Join(to, "files", "src", "first.txt")); string(b) != "the first, complete set" {
		t.Errorf("restored %q", b)
	}
	failsWith(t, e.run("restore", killed, "--to", filepath.Join(e.dir, "r2"), "--identity", e.key), 1, killed)
	failsWith(t, e.run("verify", killed), 1, killed)
	if _, err := os.Stat(filepath.Join(e.dir, "r2")); err == nil {
		t.Error("restore of the killed set created its folder")
	}

	// The next good backup removes what the killed one left behind once it
	// is older than the grace period (here 1 s), without any prune.
	if _, err := os.Stat(streaming); err != nil {
		t.Fatalf("the killed run's temporary file is gone before the next backup: %v", err)
	}
	os.Remove(filepath.Join(src, "random.bin"))
	e.writeConfig(map[string][]string{"files": {src}}, "format: archive\nretention: {grace: 1s}\n")
	time.Sleep(1100 * time.Millisecond)
	r = e.mustRun("backup", "--json", "--quiet")
	var sum struct {
		OK             bool `json:"ok"`
		UploadsAborted int  `json:"uploads_aborted"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil || !sum.OK || sum.UploadsAborted != 1 {
		t.Errorf("backup after the killed one: %q (%v), want ok and uploads_aborted 1", r.Stdout, err)
	}
	if _, err := os.Stat(streaming); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("the killed run's temporary file %s is still there: %v", streaming, err)
	}
}

// TestCoreBadConfig: each bad config is one line, exit 2, naming the key
// (and line), and nothing is stored.
func TestCoreBadConfig(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	id, _ := os.ReadFile(e.key)
	secret := ""
	for _, l := range strings.Split(string(id), "\n") {
		if strings.HasPrefix(l, "AGE-SECRET-KEY-") {
			secret = l
		}
	}
	good := fmt.Sprintf("host: fe01.contoso.com\nstaging: %s\nexporters:\n  - {kind: path, name: files, paths: [%s]}\nencryption: {recipients: [%s]}\ndestination: {url: %s}\n",
		coreQuote(filepath.Join(e.dir, "staging")), coreQuote(src), e.pub, coreQuote("file://"+filepath.ToSlash(e.dest)))
	cases := []struct {
		name, config string
		env          []string
		wants        []string
	}{
		{"missing config", "", nil, []string{"not found", "--config"}},
		{"malformed yaml", "host: [oops\n" + good, nil, []string{":1:"}},
		{"unknown key", good + "retension: {keep_daily: 3}\n", nil, []string{":7:", "retension", "unknown key"}},
		{"wrong type", good + "compression: {level: default, concurrency: many}\n", nil, []string{":7:", "compression.concurrency", "wrong type"}},
		{"missing required", strings.Replace(good, "destination:", "# destination:", 1), nil, []string{"destination.url", "missing"}},
		{"unset variable", strings.Replace(good, e.pub, "'${LB_TEST_UNSET_RECIPIENT}'", 1), nil, []string{":5:", "LB_TEST_UNSET_RECIPIENT", "not set"}},
		{"not a key", strings.Replace(good, e.pub, "hello-world", 1), nil, []string{"encryption", "not a key"}},
		{"identity as recipient", strings.Replace(good, e.pub, secret, 1), nil, []string{"identity (secret key)"}},
		{"staging is a file", strings.Replace(good, coreQuote(filepath.Join(e.dir, "staging")), coreQuote(e.key), 1), nil, []string{"staging: " + e.key + " is a file, not a folder"}},
		{"path twice", strings.Replace(good, "paths: ["+coreQuote(src)+"]", "paths: ["+coreQuote(src)+", "+coreQuote(src)+"]", 1), nil, []string{":4:", "exporters[0].paths[1]", "read and stored twice"}},
		{"bad exclude", strings.Replace(good, "paths: ["+coreQuote(src)+"]", "paths: ["+coreQuote(src)+"], exclude: ['[a']", 1), nil, []string{":4:", "exporters[0].exclude[0]", "not a valid pattern"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			os.Remove(e.config)
			if c.config != "" {
				os.WriteFile(e.config, []byte(c.config), 0o644)
			}
			r := testbin.Run(t, e.dir, append(append([]string{}, e.env...), c.env...), "backup")
			failsWith(t, r, 2, c.wants...)
			if secret != "" && strings.Contains(r.Stderr, secret) {
				t.Error("the secret key was echoed")
			}
			if ents, _ := os.ReadDir(e.dest); len(ents) != 0 {
				t.Errorf("something was stored: %v", ents)
			}
		})
	}
	// A flag error is a usage error too; keygen's output is usable.
	failsWith(t, e.run("backup", "--no-such-flag"), 2, "no-such-flag")
	failsWith(t, e.run("frobnicate"), 2, "unknown command")
}

// TestCoreBadSources: missing or unreadable exporter paths, and
// destinations that do not exist or cannot be written, fail with one line
// and leave no set behind.
func TestCoreBadSources(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644)
	regular := filepath.Join(e.dir, "regular-file")
	os.WriteFile(regular, []byte("x"), 0o644)

	e.writeConfig(map[string][]string{"files": {filepath.Join(e.dir, "no-such-dir")}}, "")
	failsWith(t, e.run("backup"), 1, "no-such-dir", "does not exist")
	// Root cannot be kept out by permissions: a path below a regular file
	// cannot be read by anyone.
	e.writeConfig(map[string][]string{"files": {filepath.Join(regular, "sub")}}, "")
	failsWith(t, e.run("backup"), 1, filepath.Join(regular, "sub"))
	if sets := e.list(); len(sets) != 0 {
		t.Fatalf("a failed backup left sets: %+v", sets)
	}

	dest := e.dest
	// The cause is named on both systems (Windows says ERROR_PATH_NOT_FOUND
	// there, Linux ENOTDIR).
	belowFile := regular + " is a file, not a folder"
	for _, c := range []struct{ name, dest, want string }{
		{"missing destination", filepath.Join(e.dir, "no-such-dest"), "does not exist"},
		{"destination below a file", filepath.Join(regular, "dest"), belowFile},
	} {
		e.dest = c.dest
		e.writeConfig(map[string][]string{"files": {src}}, "")
		failsWith(t, e.run("backup"), 1, c.want)
		if _, err := os.Stat(c.dest); err == nil {
			t.Errorf("%s: backup created it", c.name)
		}
	}
	// A restore folder below a file names the file too (Windows had said
	// that the path does not exist).
	e.dest = dest
	e.writeConfig(map[string][]string{"files": {src}}, "")
	set := e.backup()
	failsWith(t, e.run("restore", set, "--to", filepath.Join(regular, "r", "deeper"), "--identity", e.key), 1, belowFile)
	if runtime.GOOS == "windows" {
		return // a read-only folder is made with mode bits, which do not stop writes on Windows
	}
	e.dest = filepath.Join(e.dir, "readonly")
	os.MkdirAll(e.dest, 0o755)
	if !makeReadOnly(t, e.dest) {
		t.Skip("cannot make a read-only folder here (not root and chmod ignored, or no chattr/tmpfs)")
	}
	e.writeConfig(map[string][]string{"files": {src}}, "")
	// The store's own error must surface (at the run's first object, its
	// lease), not the packer's broken pipe.
	failsWith(t, e.run("backup"), 1, "write the lease of set", "put ")
	e.dest = dest
}

// makeReadOnly makes dir unwritable even for root: chattr +i, else a
// read-only tmpfs mounted over it, else (not root) chmod.
func makeReadOnly(t *testing.T, dir string) bool {
	if os.Geteuid() != 0 {
		os.Chmod(dir, 0o555)
		t.Cleanup(func() { os.Chmod(dir, 0o755) })
		return true
	}
	if exec.Command("chattr", "+i", dir).Run() == nil {
		t.Cleanup(func() { exec.Command("chattr", "-i", dir).Run() })
		if os.WriteFile(filepath.Join(dir, "probe"), nil, 0o644) != nil {
			return true
		}
	}
	if exec.Command("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir).Run() == nil {
		t.Cleanup(func() { exec.Command("umount", dir).Run() })
		return true
	}
	return false
}

// TestCoreDamagedObjects: a wrong identity, truncated, corrupted and
// swapped objects are each caught by verify (with and without identity)
// and restore, naming the item.
func TestCoreDamagedObjects(t *testing.T) {
	e := newCoreEnv(t)
	mk := func(name string, n int) string {
		d := filepath.Join(e.dir, name)
		os.MkdirAll(d, 0o755)
		rng := rand.New(rand.NewPCG(uint64(n), 7))
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		os.WriteFile(filepath.Join(d, "data.bin"), b, 0o644)
		return d
	}
	e.writeConfig(map[string][]string{"alpha": {mk("a", 300000)}, "bravo": {mk("b", 200000)}}, "format: archive\n")
	set := e.backup()
	alpha, bravo := e.object(set, "alpha"), e.object(set, "bravo")
	orig, _ := os.ReadFile(bravo)
	restoreTo := func() string { return filepath.Join(t.TempDir(), "r") }

	// The wrong identity.
	other := filepath.Join(e.dir, "other.txt")
	testbin.MustRun(t, e.dir, nil, "keygen", "-o", other)
	failsWith(t, e.run("restore", "latest", "--to", restoreTo(), "--identity", other), 1, "identit")
	failsWith(t, e.run("verify", "latest", "--identity", other), 1, "identit")

	// A restore checks the object's size, the SHA-256 of its age header and
	// nonce, and age's authentication of every chunk; verify hashes it all.
	// Each damage must be refused by all three, naming the cause.
	other2 := e.backup() // the same data again: a new header, new keys
	bravo2, _ := os.ReadFile(e.object(other2, "bravo"))
	hdr := crypto.PrefixLen(orig)
	if hdr <= 0 || crypto.PrefixLen(bravo2) != hdr {
		t.Fatalf("age prefix lengths %d and %d", hdr, crypto.PrefixLen(bravo2))
	}
	damage := map[string]struct {
		f       func() []byte
		restore string // what the restore error says
	}{
		"truncated": {func() []byte { return orig[:len(orig)-1000] }, "truncated"},
		"corrupted": {func() []byte {
			b := append([]byte{}, orig...)
			b[len(b)/2] ^= 0x40
			return b
		}, "damaged"},
		"appended": {func() []byte { return append(append([]byte{}, orig...), "more"...) }, "the manifest says"},
		"swapped":  {func() []byte { b, _ := os.ReadFile(alpha); return b }, "age header does not match"},
		// The same item from another set: the same recipients and sizes.
		"from another set": {func() []byte { return bravo2 }, "age header does not match"},
		// This set's header and nonce over another set's chunks.
		"header kept, chunks swapped": {func() []byte {
			return append(append([]byte{}, orig[:hdr]...), bravo2[hdr:]...)
		}, "damaged"},
		"header swapped, chunks kept": {func() []byte {
			return append(append([]byte{}, bravo2[:hdr]...), orig[hdr:]...)
		}, "age header does not match"},
	}
	for name, d := range damage {
		t.Run(name, func(t *testing.T) {
			if err := os.WriteFile(bravo, d.f(), 0o644); err != nil {
				t.Fatal(err)
			}
			defer os.WriteFile(bravo, orig, 0o644)
			// Each names the damaged object, as a chunk's errors do.
			key := "fe01.contoso.com" + "/" + set + "/bravo.tar.zst.age"
			failsWith(t, e.run("verify", set), 1, "bravo", "stored object "+key)
			failsWith(t, e.run("verify", set, "--identity", e.key), 1, "bravo")
			to := restoreTo()
			failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key, "--item", "bravo"), 1, d.restore)
			// Nothing that looks restored is left behind: no item folder,
			// no partial folder.
			if ents, _ := os.ReadDir(to); len(ents) != 0 {
				t.Fatalf("failed restore left %d entries in %s (first %q)", len(ents), to, ents[0].Name())
			}
			// A swapped object decrypts cleanly (it is a valid age file for
			// our key), so only the check of its age header against the
			// manifest, made before anything is written under --to, keeps
			// its files out. The restore clears and fills a hidden partial
			// folder once it starts writing: a stale one planted there must
			// be left exactly as it was (--force: the folder is not empty).
			if d.restore == "age header does not match" {
				to := restoreTo()
				stale := filepath.Join(to, ".lyncbackup-partial-bravo")
				os.MkdirAll(stale, 0o755)
				os.WriteFile(filepath.Join(stale, "sentinel"), []byte("untouched"), 0o644)
				before := treeOf(t, to)
				failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key, "--item", "bravo", "--force"), 1, d.restore)
				if after := treeOf(t, to); !maps.Equal(before, after) {
					t.Fatalf("the refused restore wrote under --to before refusing: %d files before, %d after", len(before), len(after))
				}
			}
			// The undamaged item still verifies on its own.
			e.mustRun("verify", set, "--identity", e.key, "--item", "alpha")
		})
	}
	e.mustRun("verify", set, "--identity", e.key)
}

// TestCoreRestoreFinishesWithItem: a restore writes only into the item
// folders it restores, so it refuses a folder only when one of those holds
// something (not for other content: that had needed --force, which then
// overwrote). A restore that put some items in place and failed others
// names both, and the --item flags it gives restore the rest without
// --force and without touching what is in place.
func TestCoreRestoreFinishesWithItem(t *testing.T) {
	e := newCoreEnv(t)
	mk := func(name string, n int) string {
		d := filepath.Join(e.dir, name)
		os.MkdirAll(d, 0o755)
		os.WriteFile(filepath.Join(d, "data.bin"), bytes.Repeat([]byte(name), n), 0o644)
		return d
	}
	e.writeConfig(map[string][]string{"alpha": {mk("a", 3000)}, "bravo": {mk("b", 2000)}}, "format: archive\n")
	set := e.backup()

	// Other content, and an empty folder of an item, are no reason to refuse.
	to := filepath.Join(e.dir, "r1")
	os.MkdirAll(filepath.Join(to, "alpha"), 0o755)
	os.WriteFile(filepath.Join(to, "notes.txt"), []byte("mine"), 0o644)
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	if b, _ := os.ReadFile(filepath.Join(to, "notes.txt")); string(b) != "mine" {
		t.Errorf("notes.txt: %q", b)
	}
	if !sameContent(t, filepath.Join(e.dir, "b", "data.bin"), filepath.Join(to, "bravo", "b", "data.bin")) {
		t.Error("bravo restored wrong")
	}

	// bravo's object damaged: alpha is put in place, bravo is not, and the
	// line says how to finish.
	bravo := e.object(set, "bravo")
	orig, _ := os.ReadFile(bravo)
	bad := append([]byte{}, orig...)
	bad[len(bad)/2] ^= 0x40
	os.WriteFile(bravo, bad, 0o644)
	to2 := filepath.Join(e.dir, "r2")
	failsWith(t, e.run("restore", set, "--to", to2, "--identity", e.key), 1, "bravo", "in place: alpha; the rest: restore again with --item bravo")
	edited := filepath.Join(to2, "alpha", "a", "data.bin")
	if err := os.WriteFile(edited, []byte("local edit"), 0o644); err != nil {
		t.Fatalf("alpha was not put in place: %v", err)
	}
	// The same command again is refused, naming what is there.
	failsWith(t, e.run("restore", set, "--to", to2, "--identity", e.key), 1, "not empty: it holds alpha already", "--force", "--item")
	// A good copy of the object back (a second copy of the store): the
	// hint's --item finishes the restore, no --force, alpha left as it is.
	os.WriteFile(bravo, orig, 0o644)
	e.mustRun("restore", set, "--to", to2, "--identity", e.key, "--item", "bravo")
	if b, _ := os.ReadFile(edited); string(b) != "local edit" {
		t.Errorf("finishing the restore changed alpha: %q", b)
	}
	if !sameContent(t, filepath.Join(e.dir, "b", "data.bin"), filepath.Join(to2, "bravo", "b", "data.bin")) {
		t.Error("bravo restored wrong")
	}
	failsWith(t, e.run("restore", set, "--to", to2, "--identity", e.key), 1, "not empty: it holds alpha, bravo already")
}

// protectedIdentity writes the identity encrypted with pass (age -p -a,
// with a lower scrypt work factor) and returns its path.
func (e *coreEnv) protectedIdentity(pass string) string {
	e.t.Helper()
	key, _ := os.ReadFile(e.key)
	r, _ := age.NewScryptRecipient(pass)
	r.SetWorkFactor(12)
	var buf bytes.Buffer
	aw := armor.NewWriter(&buf)
	w, _ := age.Encrypt(aw, r)
	w.Write(key)
	w.Close()
	aw.Close()
	protected := filepath.Join(e.dir, "key.age")
	os.WriteFile(protected, buf.Bytes(), 0o600)
	return protected
}

// TestCoreProtectedIdentity: an identity file encrypted with a passphrase
// (age -p -a, here with a lower scrypt work factor) restores with the
// passphrase from LYNCBACKUP_IDENTITY_PASSPHRASE; without a terminal and
// without it, or with a wrong one, it is exit 2 and one line, and the
// passphrase is never printed.
func TestCoreProtectedIdentity(t *testing.T) {
	e := newCoreEnv(t)
	src, set := e.oneFileSet("payload")

	const pass = "tr0ub4dor & 3"
	protected := e.protectedIdentity(pass)

	to := filepath.Join(e.dir, "r")
	env := append(append([]string(nil), e.env...), "LYNCBACKUP_IDENTITY_PASSPHRASE="+pass)
	res := testbin.Run(t, e.dir, env, "restore", set, "--to", to, "--identity", protected)
	if res.Code != 0 || !sameContent(t, filepath.Join(src, "f.txt"), filepath.Join(to, "alpha", "src", "f.txt")) {
		t.Fatalf("restore with the passphrase: exit %d\n%s", res.Code, res.Stderr)
	}
	if strings.Contains(res.Stdout+res.Stderr, pass) {
		t.Error("the passphrase was printed")
	}
	failsWith(t, e.run("verify", set, "--identity", protected), 2,
		"identity file "+protected+" is protected by a passphrase: no terminal to ask for it: run in one, or set LYNCBACKUP_IDENTITY_PASSPHRASE")
	wrong := append(append([]string(nil), e.env...), "LYNCBACKUP_IDENTITY_PASSPHRASE=not it")
	res = testbin.Run(t, e.dir, wrong, "verify", set, "--identity", protected)
	failsWith(t, res, 2, "identity file "+protected+": wrong passphrase")
	if strings.Contains(res.Stdout+res.Stderr, "not it") {
		t.Error("the wrong passphrase was printed")
	}
}

// TestCoreWrongKeyFileAsIdentity: the key files an admin may grab instead
// of the identity (keygen's public key, the staging folder's chunk key)
// are each one line naming the mistake, exit 2, with its hint printed
// whole (the output's secret-key masking once ate it).
func TestCoreWrongKeyFileAsIdentity(t *testing.T) {
	e := newCoreEnv(t)
	_, set := e.oneFileSet("payload")
	pub := filepath.Join(e.dir, "pub.txt")
	os.WriteFile(pub, []byte(e.pub+"\n"), 0o600)
	failsWith(t, e.run("verify", set, "--identity", pub), 2,
		"identity file "+pub+" holds a public key, not the secret one: give the file keygen wrote (the secret key) or the private ssh key")
	ck := filepath.Join(e.dir, "staging", "fe01.contoso.com.chunkkey")
	failsWith(t, e.run("restore", set, "--to", filepath.Join(e.dir, "r"), "--identity", ck), 2,
		"identity file "+ck+" is the host's chunk key, which names chunks and decrypts nothing: give the age identity file (the secret key keygen wrote) the backups were encrypted to")
}

// TestCoreOtherHostNamed: a --host that has no set (a typo, or another
// machine's name) is not reported as an empty destination: list and
// restore name the hosts whose sets are there.
func TestCoreOtherHostNamed(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSet("x")
	from := fileURL(e.dest)
	bare := []string{"LYNCBACKUP_CONFIG=" + filepath.Join(e.dir, "absent.yaml")}
	r := testbin.MustRun(t, e.dir, bare, "list", "--from", from, "--host", "fe02.contoso.com")
	if got := strings.TrimSpace(r.Stdout); !strings.HasPrefix(got, "no backup sets of host fe02.contoso.com in file:") || !strings.HasSuffix(got, "; its sets are of fe01.contoso.com") {
		t.Errorf("list --host fe02: %q", got)
	}
	failsWith(t, testbin.Run(t, e.dir, bare, "restore", "latest", "--from", from, "--host", "fe02.contoso.com", "--to", filepath.Join(e.dir, "r"), "--identity", e.key), 1,
		"host fe02.contoso.com has no complete backup set (the destination holds no set of fe02.contoso.com; its sets are of fe01.contoso.com)")
	// A prune of a mistyped host prunes nothing: it says why.
	r = testbin.MustRun(t, e.dir, bare, "prune", "--from", from, "--host", "fe02.contoso.com", "--keep-last", "1", "--dry-run")
	if !strings.Contains(r.Stdout, "no backup sets of host fe02.contoso.com in file:") || !strings.Contains(r.Stdout, "; its sets are of fe01.contoso.com") {
		t.Errorf("prune --host fe02: %q", r.Stdout)
	}
}

// TestCoreKeygen: keygen writes mode 0600 and refuses to overwrite.
func TestCoreKeygen(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "id.txt")
	r := testbin.MustRun(t, dir, nil, "keygen", "-o", p)
	pub := strings.TrimSpace(r.Stdout)
	if !strings.HasPrefix(pub, "age1") || strings.Contains(r.Stdout, "AGE-SECRET") {
		t.Fatalf("stdout %q", r.Stdout)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(p)
	failsWith(t, testbin.Run(t, dir, nil, "keygen", "-o", p), 2, "already exists")
	if after, _ := os.ReadFile(p); !bytes.Equal(before, after) {
		t.Fatal("keygen overwrote the identity")
	}
	failsWith(t, testbin.Run(t, dir, nil, "keygen"), 2, "-o FILE")
}

// treeOf maps every regular file below dir (slash paths) to its content.
func treeOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[filepath.ToSlash(rel)] = string(b)
		}
		return nil
	})
	return out
}

// A path that holds the backup's own local destination and staging folder
// leaves both out, with a warning: otherwise every night stores the spooled
// parts and every earlier set again, and the destination grows with
// itself.
func TestCoreOwnFoldersLeftOut(t *testing.T) {
	for _, format := range []string{"chunked", "archive"} {
		t.Run(format, func(t *testing.T) {
			e := newCoreEnv(t)
			os.WriteFile(filepath.Join(e.dir, "data.txt"), []byte("the data"), 0o644)
			e.writeConfig(map[string][]string{"all": {e.dir}}, "format: "+format+"\n")
			var files []int64
			for range 2 {
				r := e.mustRun("backup", "--json", "--quiet")
				var sum struct {
					SetID string `json:"set_id"`
					Files int64  `json:"files"`
					Items []struct {
						Warnings []string `json:"warnings"`
					} `json:"items"`
				}
				if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil || len(sum.Items) != 1 {
					t.Fatalf("summary %q: %v", r.Stdout, err)
				}
				w := strings.Join(sum.Items[0].Warnings, "\n")
				for _, d := range []string{e.dest, filepath.Join(e.dir, "staging")} {
					if !strings.Contains(w, d+" left out: it is this backup's own staging or destination folder") {
						t.Errorf("no warning for %s in %q", d, w)
					}
				}
				files = append(files, sum.Files)
				to := filepath.Join(t.TempDir(), "r")
				e.mustRun("restore", sum.SetID, "--to", to, "--identity", e.key)
				top := filepath.Join(to, "all", filepath.Base(e.dir))
				if b, err := os.ReadFile(filepath.Join(top, "data.txt")); err != nil || string(b) != "the data" {
					t.Fatalf("data.txt not restored: %q, %v", b, err)
				}
				for _, d := range []string{"dest", "staging"} {
					if _, err := os.Stat(filepath.Join(top, d)); err == nil {
						t.Errorf("the set holds the backup's own %s folder", d)
					}
				}
			}
			if files[0] != files[1] {
				t.Errorf("the second set holds %d files, the first %d: the backup stored itself", files[1], files[0])
			}
		})
	}
}

// The key replaced (lost, or one of two removed): the next chunked backup
// reuses no chunk stored for the old key, and its set restores with the new
// key alone. Before, it reused every chunk, encrypted to the old key only,
// and committed a set that verified without a key but did not restore.
func TestCoreKeyReplaced(t *testing.T) {
	e := newCoreEnv(t)
	src, _ := e.oneFileSet(strings.Repeat("lync data ", 400_000))

	newKey := filepath.Join(e.dir, "new-key.txt")
	r := e.mustRun("keygen", "-o", newKey)
	oldPub := e.pub
	e.pub = strings.TrimSpace(r.Stdout)
	e.writeConfig(map[string][]string{"alpha": {src}}, "")
	set := e.backup()
	e.pub = oldPub

	to := filepath.Join(e.dir, "restored")
	e.mustRun("restore", set, "--to", to, "--identity", newKey)
	if !sameContent(t, filepath.Join(src, "f.txt"), filepath.Join(to, "alpha", "src", "f.txt")) {
		t.Fatal("restored with the new key, f.txt differs")
	}
	e.mustRun("verify", set, "--identity", newKey)
	// The old key opens nothing of the new set.
	failsWith(t, e.run("restore", set, "--to", filepath.Join(e.dir, "r-old"), "--identity", e.key, "--item", "alpha"), 1, "none of the identities can decrypt")
}
