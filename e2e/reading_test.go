package e2e

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestCoreVerifyAll: verify all checks every committed set of the host,
// oldest first; a set with a damaged chunk or manifest fails the run
// (exit 1) naming it, and the other sets are still checked and reported.
func TestCoreVerifyAll(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "common.txt"), []byte(strings.Repeat("shared ", 100000)), 0o644)
	var sets []string
	for i := range 3 {
		os.WriteFile(filepath.Join(src, "night.txt"), []byte(strings.Repeat(string(rune('a'+i)), 3000)), 0o644)
		e.writeConfig(map[string][]string{"files": {src}}, "")
		sets = append(sets, e.backup())
	}
	r := e.mustRun("verify", "all", "--identity", e.key)
	for _, id := range sets {
		if !strings.Contains(r.Stdout, "verified set fe01.contoso.com/"+id+": 1 items OK") {
			t.Errorf("verify all does not name %s:\n%s", id, r.Stdout)
		}
	}
	if !strings.Contains(r.Stdout, "verified all 3 sets of fe01.contoso.com") {
		t.Errorf("verify all: %s", r.Stdout)
	}
	// --item: a set made before the item existed holds none of it and is
	// left out, not failed.
	e.writeConfig(map[string][]string{"files": {src}, "extra": {src}}, "")
	withExtra := e.backup()
	r = e.mustRun("verify", "all", "--item", "extra")
	if !strings.Contains(r.Stdout, "verified set fe01.contoso.com/"+withExtra+": 1 items OK") || !strings.Contains(r.Stdout, sets[0]+" holds none of the items extra: left out") {
		t.Errorf("verify all --item extra:\n%s%s", r.Stdout, r.Stderr)
	}
	failsWith(t, e.run("verify", "all", "--item", "nosuch"), 1, "no set of fe01.contoso.com holds the item(s) nosuch")
	os.RemoveAll(filepath.Join(e.dest, "fe01.contoso.com", withExtra))
	// Damage the middle set's manifest: the run fails naming it, and still
	// reports the other two.
	mf := filepath.Join(e.dest, "fe01.contoso.com", sets[1], "manifest.json")
	os.WriteFile(mf, []byte(`{"format": 3, "host": "fe01.contoso.com"`), 0o644)
	r = e.run("verify", "all", "--json")
	if r.Code != 1 {
		t.Fatalf("verify all over a damaged set: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	var doc struct {
		OK    bool   `json:"ok"`
		Error string `json:"error"`
		Sets  []struct {
			SetID string `json:"set_id"`
			OK    bool   `json:"ok"`
		} `json:"sets"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("verify all --json: %v\n%s", err, r.Stdout)
	}
	if doc.OK || !strings.Contains(doc.Error, "1 of 3 sets of fe01.contoso.com failed: "+sets[1]) || len(doc.Sets) != 3 {
		t.Fatalf("verify all --json: %+v", doc)
	}
	got := map[string]bool{}
	for _, s := range doc.Sets {
		got[s.SetID] = s.OK
	}
	for i, id := range sets {
		if ok, seen := got[id]; !seen || ok != (i != 1) {
			t.Errorf("set %s: reported %v, ok=%v; want ok=%v", id, seen, ok, i != 1)
		}
	}
}

// TestS3VerifyAll: verify all reads each chunk object once for the whole
// run, however many sets name it (three sets of the same data here), and
// so does verify all --identity for an item identical in every set.
func TestS3VerifyAll(t *testing.T) {
	e := newS3Env(t, false)
	e.format = "chunked"
	e.writeConfig()
	for range 3 {
		e.backup()
	}
	chunks := e.chunkObjects()
	p := e.throughProxy(t)
	e.writeConfig()
	if r := e.run(nil, "verify", "all"); r.Code != 0 || !strings.Contains(r.Stdout, "verified all 3 sets") {
		t.Fatalf("verify all: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	_, gets := chunkReads(t, p.Requests())
	eachChunkReadOnce(t, gets, chunks)
	// With --identity too: the three sets hold the identical item, which
	// is decrypted once (each chunk was read once per set before), and
	// each set's own chunk list is still read.
	p = e.throughProxy(t)
	e.writeConfig()
	if r := e.run(nil, "verify", "all", "--identity", e.key); r.Code != 0 || !strings.Contains(r.Stdout, "verified all 3 sets") {
		t.Fatalf("verify all --identity: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	lists, gets := chunkReads(t, p.Requests())
	eachChunkReadOnce(t, gets, chunks)
	if len(lists) != 3 {
		t.Errorf("verify all --identity read %d chunk lists, want each of the 3 sets' own", len(lists))
	}
}

// TestCoreRestoreInclude: restore --include writes only the files whose
// path in the item (or a folder above them) matches, in both formats, with
// their content; every other file is still read and checked. No match is
// exit 1 with nothing written; a malformed pattern is exit 2. On Windows
// the patterns match without case.
func TestCoreRestoreInclude(t *testing.T) {
	for _, format := range []string{"chunked", "archive"} {
		t.Run(format, func(t *testing.T) {
			e := newCoreEnv(t)
			src := filepath.Join(e.dir, "src")
			files := map[string]string{
				"m1/content/slides.pptx": strings.Repeat("slide ", 50000),
				"m1/notes.txt":           "notes",
				"m2/other.txt":           "other",
			}
			for name, body := range files {
				p := filepath.Join(src, filepath.FromSlash(name))
				os.MkdirAll(filepath.Dir(p), 0o755)
				os.WriteFile(p, []byte(body), 0o644)
			}
			e.writeConfig(map[string][]string{"files": {src}}, "format: "+format+"\n")
			set := e.backup()
			for i, c := range []struct {
				include []string
				want    []string
			}{
				{[]string{"src/m1"}, []string{"m1/content/slides.pptx", "m1/notes.txt"}},
				{[]string{"*/*/content/*.pptx", "src/m2/other.txt"}, []string{"m1/content/slides.pptx", "m2/other.txt"}},
			} {
				to := filepath.Join(e.dir, fmt.Sprintf("r-%d", i))
				args := []string{"restore", set, "--to", to, "--identity", e.key}
				for _, p := range c.include {
					args = append(args, "--include", p)
				}
				e.mustRun(args...)
				got := treeOf(t, filepath.Join(to, "files", "src"))
				if len(got) != len(c.want) {
					t.Errorf("--include %v restored %v, want %v", c.include, keysOf(got), c.want)
				}
				for _, w := range c.want {
					if got[w] != files[w] {
						t.Errorf("--include %v: %s restored as %d bytes, want %d", c.include, w, len(got[w]), len(files[w]))
					}
				}
			}
			to := filepath.Join(e.dir, "r-none")
			failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key, "--include", "src/m3"), 1, "no file matches --include src/m3", "files holds src, src/m1, src/m2")
			if got := treeOf(t, to); len(got) != 0 {
				t.Errorf("a restore matching nothing wrote %v", keysOf(got))
			}
			failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key, "--include", "src/[m"), 2, `--include "src/[m": malformed pattern`)
			failsWith(t, e.run("restore", set, "--to", to, "--include", "src/m1", "--plan", "--scenario", "filestore"), 2, "--include chooses files to restore; --plan restores none")
			failsWith(t, e.run("restore", set, "--include", "src/m1", "--thaw"), 2, "--thaw restores none")
			if runtime.GOOS == "windows" {
				to := filepath.Join(e.dir, "r-case")
				e.mustRun("restore", set, "--to", to, "--identity", e.key, "--include", "SRC/M2")
				if got := treeOf(t, filepath.Join(to, "files", "src")); len(got) != 1 || got["m2/other.txt"] != "other" {
					t.Errorf("--include SRC/M2 on Windows restored %v", keysOf(got))
				}
			}
		})
	}
}

func keysOf(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestCoreLs: ls lists every folder, file and link of a set's items with
// their sizes, as ITEM/path, in both formats, reading each item whole and
// checked; the paths it shows restore with --include; a damaged item is an
// error and is not listed; without --identity it is a usage error.
func TestCoreLs(t *testing.T) {
	for _, format := range []string{"chunked", "archive"} {
		t.Run(format, func(t *testing.T) {
			e := newCoreEnv(t)
			src := filepath.Join(e.dir, "src")
			os.MkdirAll(filepath.Join(src, "m1", "content"), 0o755)
			os.WriteFile(filepath.Join(src, "m1", "content", "slides.pptx"), []byte(strings.Repeat("s", 12345)), 0o644)
			os.WriteFile(filepath.Join(src, "m1", "notes.txt"), []byte("notes"), 0o644)
			big := make([]byte, 3<<20) // last in the archive: a damaged end comes after the other entries
			rand.Read(big)
			os.WriteFile(filepath.Join(src, "z-big.bin"), big, 0o644)
			e.writeConfig(map[string][]string{"files": {src}}, "format: "+format+"\n")
			set := e.backup()
			r := e.mustRun("ls", set, "--identity", e.key)
			for _, want := range []string{"dir             0  ", "  files/src/m1/\n", "file        12345  ", "  files/src/m1/content/slides.pptx\n", "file            5  ", "  files/src/m1/notes.txt\n"} {
				if !strings.Contains(r.Stdout, want) {
					t.Errorf("ls lacks %q:\n%s", want, r.Stdout)
				}
			}
			r = e.mustRun("ls", set, "--identity", e.key, "--json")
			var doc struct {
				Items []struct {
					Name    string `json:"name"`
					Entries []struct {
						Name, Kind string
						Size       int64
					} `json:"entries"`
				} `json:"items"`
			}
			if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || len(doc.Items) != 1 || doc.Items[0].Name != "files" {
				t.Fatalf("ls --json: %v\n%s", err, r.Stdout)
			}
			found := false
			for _, en := range doc.Items[0].Entries {
				if en.Name == "src/m1/content/slides.pptx" && en.Kind == "file" && en.Size == 12345 {
					found = true
				}
			}
			if !found {
				t.Errorf("ls --json lacks the pptx: %+v", doc.Items[0].Entries)
			}
			// A path as ls shows it restores with --include.
			to := filepath.Join(e.dir, "r")
			e.mustRun("restore", set, "--to", to, "--identity", e.key, "--include", "files/src/m1/content")
			if got := treeOf(t, filepath.Join(to, "files")); len(got) != 1 || len(got["src/m1/content/slides.pptx"]) != 12345 {
				t.Errorf("--include files/src/m1/content restored %v", keysOf(got))
			}
			failsWith(t, e.run("ls", set), 2, "ls needs --identity FILE")
			// A damaged item is not listed, even the entries read before the
			// damage (at its end).
			damageEnd(t, e, set, format)
			r = e.run("ls", set, "--identity", e.key)
			if r.Code != 1 || strings.Contains(r.Stdout, "slides.pptx") {
				t.Errorf("ls of a damaged item: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
			}
			r = e.run("ls", set, "--identity", e.key, "--json")
			var bad struct {
				OK    *bool             `json:"ok"`
				Items []json.RawMessage `json:"items"`
				Error string            `json:"error"`
			}
			if err := json.Unmarshal([]byte(r.Stdout), &bad); err != nil || r.Code != 1 || bad.OK == nil || *bad.OK || len(bad.Items) != 0 || bad.Error == "" {
				t.Errorf("ls --json of a damaged item: exit %d, %v\n%s", r.Code, err, r.Stdout)
			}
		})
	}
}

// damageEnd flips a byte near the end of the item "files": of its archive
// object, or of its last chunk.
func damageEnd(t *testing.T, e *coreEnv, set, format string) {
	t.Helper()
	setDir := filepath.Join(e.dest, "fe01.contoso.com", set)
	p := filepath.Join(setDir, "files.tar.zst.age")
	if format == "chunked" {
		list, err := os.ReadFile(filepath.Join(setDir, "files.chunks"))
		if err != nil {
			t.Fatal(err)
		}
		keys := strings.Fields(string(list))
		// The list names chunks by their key below the destination.
		p = filepath.Join(e.dest, filepath.FromSlash(keys[len(keys)-1]))
	}
	b, err := os.ReadFile(p)
	if err != nil || len(b) < 400 {
		t.Fatalf("damage %s: %v (%d bytes)", p, err, len(b))
	}
	b[len(b)-100] ^= 0xff
	os.WriteFile(p, b, 0o644)
}

// TestCoreRestoreIncludeFoldersAndLinks: an --include that chooses only an
// empty folder or a link restores it and succeeds, counting it (it had put
// them in place, then said "no file matches … nothing was written" and
// exited 1, and the same restore again was refused). The link half needs
// symlinks (not on Windows).
func TestCoreRestoreIncludeFoldersAndLinks(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(filepath.Join(src, "empty"), 0o755)
	os.WriteFile(filepath.Join(src, "f.txt"), []byte("f"), 0o644)
	links := runtime.GOOS != "windows"
	if links {
		os.Symlink("f.txt", filepath.Join(src, "lnk"))
	}
	e.writeConfig(map[string][]string{"alpha": {src}}, "")
	set := e.backup()

	to := filepath.Join(e.dir, "r-folder")
	r := e.mustRun("restore", set, "--to", to, "--identity", e.key, "--include", "src/empty")
	if fi, err := os.Stat(filepath.Join(to, "alpha", "src", "empty")); err != nil || !fi.IsDir() {
		t.Fatalf("the empty folder chosen is not there: %v", err)
	}
	if got := treeOf(t, filepath.Join(to, "alpha")); len(got) != 0 {
		t.Errorf("--include src/empty restored files %v", keysOf(got))
	}
	if !strings.Contains(r.Stdout, "0 files, 1 folders, 0 links") {
		t.Errorf("summary: %s", r.Stdout)
	}
	if !links {
		return
	}
	to = filepath.Join(e.dir, "r-link")
	r = e.mustRun("restore", set, "--to", to, "--identity", e.key, "--include", "src/lnk", "--include", "src/empty", "--json")
	if target, err := os.Readlink(filepath.Join(to, "alpha", "src", "lnk")); err != nil || target != "f.txt" {
		t.Fatalf("the link chosen: %q, %v", target, err)
	}
	var doc struct {
		Files, Folders, Links int64
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || doc.Files != 0 || doc.Folders != 1 || doc.Links != 1 {
		t.Errorf("JSON counts %+v (%v), want 0 files, 1 folder, 1 link:\n%s", doc, err, r.Stdout)
	}
}

// TestCoreRestoreIncludeFolderModes: --include makes the folders above the
// chosen file with their backed-up modes (they were 0755), and --force
// --include leaves the mode and time of the existing folders it did not
// choose as they were (it gave them the archive's). Unix modes: not on
// Windows, which keeps none.
func TestCoreRestoreIncludeFolderModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Windows keeps no folder modes")
	}
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(filepath.Join(src, "private", "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "private", "sub", "key.txt"), []byte("new"), 0o600)
	os.Chmod(filepath.Join(src, "private"), 0o700)
	e.writeConfig(map[string][]string{"alpha": {src}}, "")
	set := e.backup()

	to := filepath.Join(e.dir, "r-include")
	e.mustRun("restore", set, "--to", to, "--identity", e.key, "--include", "src/private/sub/key.txt")
	if fi, err := os.Stat(filepath.Join(to, "alpha", "src", "private")); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("private restored as %v (%v), backed up 0700", fi.Mode().Perm(), err)
	}

	to = filepath.Join(e.dir, "r-force")
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	priv := filepath.Join(to, "alpha", "src", "private")
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, d := range []string{priv, filepath.Join(priv, "sub")} {
		os.Chmod(d, 0o711)
		os.Chtimes(d, old, old)
	}
	e.mustRun("restore", set, "--to", to, "--identity", e.key, "--force", "--include", "src/private/sub/key.txt")
	for _, d := range []string{priv, filepath.Join(priv, "sub")} {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm() != 0o711 || !fi.ModTime().Equal(old) {
			t.Errorf("%s: now %v, %v (%v); was 0711, %v", d, fi.Mode().Perm(), fi.ModTime(), err, old)
		}
	}
}

// TestCoreVerifyAllIdentityChecksChangedItems: verify all --identity
// decrypts an item once when later sets hold the identical entry, but an
// item that differs in one chunk is verified whole: a damaged chunk only
// the second set names fails that set (and only it), though its other
// chunks were verified with the first set.
func TestCoreVerifyAllIdentityChecksChangedItems(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	big := make([]byte, 4<<20)
	rand.Read(big)
	os.WriteFile(filepath.Join(src, "a-big.bin"), big, 0o644)
	e.writeConfig(map[string][]string{"files": {src}}, "format: chunked\n")
	var sets []string
	for _, night := range []string{"first", "second"} {
		os.WriteFile(filepath.Join(src, "z-night.txt"), []byte(strings.Repeat(night, 1000)), 0o644)
		sets = append(sets, e.backup())
	}
	first, second := chunkKeys(e.manifest(sets[0])), chunkKeys(e.manifest(sets[1]))
	var only []string
	shared := 0
	for k := range second {
		if first[k] {
			shared++
		} else {
			only = append(only, k)
		}
	}
	if shared == 0 || len(only) == 0 {
		t.Fatalf("want sets that share chunks and differ in some: %d shared, %d of the second's own", shared, len(only))
	}
	e.mustRun("verify", "all", "--identity", e.key)
	p := filepath.Join(e.dest, filepath.FromSlash(only[0]))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b[len(b)/2] ^= 0x01
	os.WriteFile(p, b, 0o644)
	r := e.run("verify", "all", "--identity", e.key)
	if r.Code != 1 || !strings.Contains(r.Stderr, "1 of 2 sets of fe01.contoso.com failed: "+sets[1]) || !strings.Contains(r.Stdout, "verified set fe01.contoso.com/"+sets[0]+": 1 items OK") {
		t.Fatalf("verify all --identity with a chunk of the second set damaged: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}
