package e2e

// Issue 13 §1 and §3 through the real binary: links of every kind are
// data, the index never collides with a user file, a failed restore
// --force never damages the earlier restore, nothing under --to is
// followed through a link, and decompressed output stops at the
// manifest's plain_bytes.

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/crypto"
)

func skipNoSymlinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows (windows lane)")
	}
}

// readDirFiles maps every regular file below dir to its content.
func readDirFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

// TestRestoreEdgesLinksAreData: absolute links, links leaving the tree and
// dangling links back up as complete, verify --identity passes and restore
// recreates them as links (main refused the whole item: "link to absolute
// path").
func TestRestoreEdgesLinksAreData(t *testing.T) {
	skipNoSymlinks(t)
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "d")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "f"), []byte("f"), 0o644)
	for name, target := range map[string]string{"abslink": "/etc/hostname", "sub/out": "../../x", "dangling": "no/such", "absdir": "/etc"} {
		if err := os.Symlink(target, filepath.Join(src, name)); err != nil {
			t.Fatal(err)
		}
	}
	e.writeConfig(map[string][]string{"links": {src}}, "")
	set := e.backup()
	if l := e.list(); len(l) != 1 || l[0].Status != "complete" {
		t.Fatalf("list: %+v", l)
	}
	e.mustRun("verify", set, "--identity", e.key)
	to := filepath.Join(e.dir, "r")
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	compareTrees(t, src, filepath.Join(to, "links", "d"))
}

// TestRestoreEdgesIndexCollision: a source path that is itself a file
// named .lyncbackup-SHA256SUMS is backed up as the user's file; the index
// takes another name, restore gives both back, and stock age | zstd | tar
// -x leaves the user's file in place while sha256sum -c checks it (main
// wrote two entries of that name: restore failed, tar -x replaced the
// user's file with the index).
func TestRestoreEdgesIndexCollision(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("a"), 0o644)
	userDir := filepath.Join(e.dir, "u")
	os.MkdirAll(userDir, 0o755)
	user := filepath.Join(userDir, archive.IndexName)
	const userText = "0000000000000000000000000000000000000000000000000000000000000000  not/an/index\n"
	os.WriteFile(user, []byte(userText), 0o644)
	e.writeConfig(map[string][]string{"files": {src, user}}, "format: archive\n") // the stock-tools check reads the one object
	set := e.backup()
	if l := e.list(); len(l) != 1 || l[0].Status != "complete" || l[0].Files != 2 {
		t.Fatalf("list: %+v", l)
	}
	e.mustRun("verify", set, "--identity", e.key)
	to := filepath.Join(e.dir, "r")
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	got := readDirFiles(t, filepath.Join(to, "files"))
	if len(got) != 2 || got[archive.IndexName] != userText || got[filepath.Join("src", "a.txt")] != "a" {
		t.Fatalf("restored %q", got)
	}
	// The stock-tool tail runs where the tools are (on Windows it skips alone).
	t.Run("stock tools", func(t *testing.T) {
		for _, tool := range []string{"age", "zstd", "tar", "sha256sum"} {
			if _, err := exec.LookPath(tool); err != nil {
				t.Skipf("%s not installed: %v", tool, err)
			}
		}
		x := filepath.Join(e.dir, "x")
		os.MkdirAll(x, 0o755)
		cmd := exec.Command("bash", "-o", "pipefail", "-c", "age -d -i "+coreQuote(e.key)+" "+coreQuote(e.object(set, "files"))+" | zstd -d -q | tar -xf - -C "+coreQuote(x))
		if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
			t.Fatalf("stock tools: %v\n%s", err, out)
		}
		if b, _ := os.ReadFile(filepath.Join(x, archive.IndexName)); string(b) != userText {
			t.Fatalf("tar -x left the user's file as %q", b)
		}
		cmd = exec.Command("sha256sum", "-c", "--strict", archive.IndexName+"-2")
		cmd.Dir = x
		if out, err := cmd.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 2 {
			t.Fatalf("sha256sum -c: %v\n%s", err, out)
		}
	})
}

// ---- forged objects ------------------------------------------------------

// replaceObject stores tarData (compressed, encrypted to the set's
// recipient) as the item's object and rewrites the manifest to match it
// exactly: a damage only an identity holder with write access could make,
// which every hash of the manifest admits. plain, if >= 0, replaces
// plain_bytes.
func (e *coreEnv) replaceObject(set, item string, tarData io.Reader, plain int64) {
	t := e.t
	t.Helper()
	recips, err := crypto.ParseRecipients([]string{e.pub}, "")
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(e.object(set, item))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	enc, err := crypto.Encrypt(cw, recips)
	if err != nil {
		t.Fatal(err)
	}
	zw, err := archive.Compress(enc, "fastest", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(zw, tarData); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := enc.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	prefix := sha256.Sum256(enc.Prefix())
	mpath := filepath.Join(e.dest, "fe01.contoso.com", set, "manifest.json")
	raw, err := os.ReadFile(mpath)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatal(err)
	}
	for _, it := range m["items"].([]any) {
		it := it.(map[string]any)
		if it["name"] != item {
			continue
		}
		it["sha256"] = hex.EncodeToString(h.Sum(nil))
		it["stored_bytes"] = cw.n
		it["age_prefix_sha256"] = hex.EncodeToString(prefix[:])
		it["age_prefix_bytes"] = len(enc.Prefix())
		if plain >= 0 {
			it["plain_bytes"] = plain
		}
	}
	raw, _ = json.Marshal(m)
	if err := os.WriteFile(mpath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// tarOf writes entries (name → content; a name ending in "/" is a folder)
// with an index whose hashes are given by sums (name → content hashed;
// missing: the content itself).
func tarOf(t *testing.T, names []string, files map[string]string, sums map[string]string) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	var idx strings.Builder
	for _, n := range names {
		if strings.HasSuffix(n, "/") {
			tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: n, Mode: 0o755, Format: tar.FormatPAX})
			continue
		}
		body := files[n]
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: n, Mode: 0o644, Size: int64(len(body)), Format: tar.FormatPAX})
		io.WriteString(tw, body)
		hashed, ok := sums[n]
		if !ok {
			hashed = body
		}
		s := sha256.Sum256([]byte(hashed))
		idx.WriteString(hex.EncodeToString(s[:]) + "  " + n + "\n")
	}
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: archive.IndexName, Mode: 0o644, Size: int64(idx.Len()), Format: tar.FormatPAX})
	io.WriteString(tw, idx.String())
	tw.Close()
	return b.Bytes()
}

// TestRestoreEdgesForceKeepsOldFiles: restore --force over an earlier good
// restore, when the object is now damaged (truncated, or a crafted archive
// whose file fails its SHA-256 check), fails and leaves every old file as
// it was, with nothing left beside it (main cut the 100000-byte file to
// 62464 bytes, or kept the bad content).
func TestRestoreEdgesForceKeepsOldFiles(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	big := make([]byte, 300000) // incompressible, so a cut object cuts the file
	rng := rand.New(rand.NewPCG(13, 3))
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	os.WriteFile(filepath.Join(src, "big.bin"), big, 0o644)
	os.WriteFile(filepath.Join(src, "small.txt"), []byte("small"), 0o644)
	e.writeConfig(map[string][]string{"files": {src}}, "format: archive\ncompression: {level: fastest}\n") // damages the one object
	set := e.backup()
	to := filepath.Join(e.dir, "r")
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	// A local edit beside the restored files must survive a good --force too.
	os.WriteFile(filepath.Join(to, "files", "src", "mine.txt"), []byte("mine"), 0o644)
	before := readDirFiles(t, to)
	obj := e.object(set, "files")
	orig, _ := os.ReadFile(obj)
	mpath := filepath.Join(e.dest, "fe01.contoso.com", set, "manifest.json")
	origManifest, _ := os.ReadFile(mpath)

	check := func(what string) {
		t.Helper()
		if after := readDirFiles(t, to); len(after) != len(before) {
			t.Fatalf("%s: restore folder now holds %d files, had %d", what, len(after), len(before))
		} else {
			for k, v := range before {
				if after[k] != v {
					t.Fatalf("%s: %s changed (%d bytes, was %d)", what, k, len(after[k]), len(v))
				}
			}
		}
		// The item and the record of its set (compared above), nothing beside.
		if ents, _ := os.ReadDir(to); len(ents) != 2 {
			t.Fatalf("%s: left %d entries in the restore folder", what, len(ents))
		}
	}
	// Truncated: the stored size and age's last chunk catch it, but only
	// after most of the file was decoded.
	os.WriteFile(obj, orig[:len(orig)*8/10], 0o644)
	failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key, "--force"), 1, "files")
	check("truncated object")

	// A crafted archive every manifest hash admits, whose file fails its
	// SHA-256 check against the archive's index.
	bad := strings.Repeat("X", len(big))
	e.replaceObject(set, "files", bytes.NewReader(tarOf(t, []string{"src/", "src/big.bin"}, map[string]string{"src/big.bin": bad}, map[string]string{"src/big.bin": string(big)})), -1)
	failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key, "--force"), 1, "SHA-256 mismatch")
	check("file failing its SHA-256")

	// A good --force restore replaces the restored files, keeps the local one.
	os.WriteFile(obj, orig, 0o644)
	os.WriteFile(mpath, origManifest, 0o644)
	os.WriteFile(filepath.Join(to, "files", "src", "small.txt"), []byte("edited"), 0o644)
	e.mustRun("restore", set, "--to", to, "--identity", e.key, "--force")
	got := readDirFiles(t, to)
	if got[filepath.Join("files", "src", "small.txt")] != "small" || got[filepath.Join("files", "src", "mine.txt")] != "mine" || got[filepath.Join("files", "src", "big.bin")] != string(big) {
		t.Fatalf("after a good --force: %d files, small.txt %q, mine.txt %q", len(got), got[filepath.Join("files", "src", "small.txt")], got[filepath.Join("files", "src", "mine.txt")])
	}
}

// TestRestoreEdgesNeverFollowsLinks: restore --force when <to>/<item>, or
// a folder deeper under it, is a symlink to a folder outside --to refuses
// and writes nothing there (main wrote through <to>/<item>).
func TestRestoreEdgesNeverFollowsLinks(t *testing.T) {
	skipNoSymlinks(t)
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "sub", "f.txt"), []byte("f"), 0o644)
	os.WriteFile(filepath.Join(src, "top.txt"), []byte("t"), 0o644)
	e.writeConfig(map[string][]string{"files": {src}}, "")
	set := e.backup()
	outside := filepath.Join(e.dir, "outside")
	os.MkdirAll(outside, 0o755)
	for _, c := range []struct{ name, link string }{
		{"item folder", "files"},
		{"folder of the tree", filepath.Join("files", "src")},
		{"deep folder", filepath.Join("files", "src", "sub")},
	} {
		t.Run(c.name, func(t *testing.T) {
			to := filepath.Join(t.TempDir(), "r")
			e.mustRun("restore", set, "--to", to, "--identity", e.key)
			l := filepath.Join(to, c.link)
			os.RemoveAll(l)
			if err := os.Symlink(outside, l); err != nil {
				t.Fatal(err)
			}
			failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key, "--force"), 1, "symlink")
			if ents, _ := os.ReadDir(outside); len(ents) != 0 {
				t.Fatalf("wrote through the link into %s: %v", outside, ents)
			}
			if fi, err := os.Lstat(l); err != nil || fi.Mode()&os.ModeSymlink == 0 {
				t.Fatalf("the link was changed: %v", err)
			}
		})
	}
}

// TestRestoreEdgesBomb: a small object that expands far beyond the
// manifest's plain_bytes (valid age, valid manifest hashes, a valid index)
// is stopped with an error naming the item before the excess is written,
// by restore and verify --identity alike (main wrote all of it).
func TestRestoreEdgesBomb(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f"), bytes.Repeat([]byte("x"), 100000), 0o644)
	e.writeConfig(map[string][]string{"bomb": {src}}, "format: archive\n") // replaces the one object
	set := e.backup()
	const size = 256 << 20 // enough to show the point without filling the test disk
	pr, pw := io.Pipe()
	go func() {
		tw := tar.NewWriter(pw)
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "src/zeros", Mode: 0o644, Size: size, Format: tar.FormatPAX})
		h := sha256.New()
		io.Copy(io.MultiWriter(tw, h), io.LimitReader(zeroReader{}, size))
		idx := hex.EncodeToString(h.Sum(nil)) + "  src/zeros\n"
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: archive.IndexName, Mode: 0o644, Size: int64(len(idx)), Format: tar.FormatPAX})
		io.WriteString(tw, idx)
		pw.CloseWithError(tw.Close())
	}()
	e.replaceObject(set, "bomb", pr, 100006)
	if fi, _ := os.Stat(e.object(set, "bomb")); fi.Size() > 1<<20 {
		t.Fatalf("the bomb is %d bytes", fi.Size())
	}
	e.mustRun("verify", set) // every stored hash matches
	to := filepath.Join(e.dir, "r")
	failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key), 1, "bomb", "more than the manifest's 100006 bytes")
	failsWith(t, e.run("verify", set, "--identity", e.key), 1, "bomb", "more than the manifest's 100006 bytes")
	var written int64
	filepath.Walk(to, func(p string, fi os.FileInfo, err error) error {
		if err == nil && fi.Mode().IsRegular() {
			written += fi.Size()
		}
		return nil
	})
	if written != 0 {
		t.Fatalf("%d bytes written", written)
	}
}

type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }
