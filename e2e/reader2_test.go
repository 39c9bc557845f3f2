package e2e

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// reader2 runs scripts/reader2.py, the second reader written from
// docs/FORMAT.md alone, on one set of e's destination, extracting into out.
func (e *coreEnv) reader2(set, out string) (string, error) {
	e.t.Helper()
	script, err := filepath.Abs(filepath.Join("..", "scripts", "reader2.py"))
	if err != nil {
		e.t.Fatal(err)
	}
	cmd := exec.Command("python3", script, e.dest, set, e.key, out, "--host", chunkHost)
	b, err := cmd.CombinedOutput()
	return string(b), err
}

// TestReader2: docs/FORMAT.md describes the format precisely enough to
// write a second reader from it (issue 17). scripts/reader2.py, written from
// the document alone (Python's standard library and the stock age and zstd),
// reads a chunked and an archive set of the real binary back byte for byte,
// and names a damaged chunk and a reordered chunk list.
func TestReader2(t *testing.T) {
	if runtime.GOOS == "windows" { // the reader extracts POSIX modes and symlinks; Wine has no python3
		t.Skip("reader2 is run on POSIX systems")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		testenv.Unavailable(t, fmt.Sprintf("python3 not installed (scripts/test.sh installs it): %v", err))
	}
	stockToolsOrSkip(t)
	for _, format := range []string{"chunked", "archive"} {
		t.Run(format, func(t *testing.T) {
			e := newCoreEnv(t)
			src := filepath.Join(e.dir, "src")
			os.MkdirAll(filepath.Join(src, "sub", "deeper"), 0o755)
			randomFile(t, filepath.Join(src, "sub", "meeting.bin"), 5<<20, 7) // several chunks
			os.WriteFile(filepath.Join(src, "Topology.xml"), bytes.Repeat([]byte("<Site name='x'/>\n"), 50000), 0o644)
			os.WriteFile(filepath.Join(src, "empty.txt"), nil, 0o644)
			os.WriteFile(filepath.Join(src, "sub", "deeper", "caf\u00e9 & co.txt"), []byte("x"), 0o600)
			os.WriteFile(filepath.Join(src, "sub", "back\\slash.txt"), []byte("escaped in the index"), 0o644)
			os.MkdirAll(filepath.Join(src, "emptydir"), 0o755)
			os.Symlink("sub/meeting.bin", filepath.Join(src, "link-in"))
			os.Symlink("/etc/hostname", filepath.Join(src, "link-out"))
			// An item whose own top-level name is the index's: its index is
			// .lyncbackup-SHA256SUMS-2, named by a PAX global header.
			clash := filepath.Join(e.dir, "clash", ".lyncbackup-SHA256SUMS")
			os.MkdirAll(filepath.Dir(clash), 0o755)
			os.WriteFile(clash, []byte("a backed-up file of that name\n"), 0o644)
			e.writeConfig(map[string][]string{"csconfig": {src}, "certs": {filepath.Join(src, "sub", "deeper")}, "clash": {clash}}, "format: "+format+"\n")
			set := e.backup()
			m := e.manifest(set)
			it, _ := m.Item("csconfig")
			if format == "chunked" && (m.Format != 3 || len(it.Chunks) < 3) {
				t.Fatalf("format %d with %d chunks: want a format 3 set of several chunks", m.Format, len(it.Chunks))
			}
			if format == "archive" && (m.Format != 1 || it.Chunked()) {
				t.Fatalf("format %d, layout %q: want format 1", m.Format, it.Layout)
			}

			out := filepath.Join(e.dir, "out")
			got, err := e.reader2("latest", out)
			if err != nil {
				t.Fatalf("reader2: %v\n%s", err, got)
			}
			if !strings.Contains(got, "ok csconfig:") || !strings.Contains(got, "ok certs:") {
				t.Errorf("reader2 printed %q: want one ok line per item", got)
			}
			compareTrees(t, src, filepath.Join(out, "csconfig", "src"))
			compareTrees(t, filepath.Join(src, "sub", "deeper"), filepath.Join(out, "certs", "deeper"))
			if b, _ := os.ReadFile(filepath.Join(out, "clash", ".lyncbackup-SHA256SUMS")); string(b) != "a backed-up file of that name\n" {
				t.Errorf("the file named as the index came back as %q", b)
			}
			if _, err := os.Stat(filepath.Join(out, "clash", ".lyncbackup-SHA256SUMS-2")); err != nil {
				t.Errorf("the clash item's index: %v", err)
			}

			if format == "chunked" {
				// The same set as format 2 wrote it (no age prefixes on
				// chunk entries; the manifest indented, as before
				// 2026-11-30): FORMAT.md says readers still take it.
				orig, _ := os.ReadFile(e.manifestPath(set))
				e.editManifest(set, func(raw map[string]any) {
					raw["format"] = 2
					for _, x := range raw["items"].([]any) {
						for _, c := range x.(map[string]any)["chunks"].([]any) {
							delete(c.(map[string]any), "age_prefix_sha256")
							delete(c.(map[string]any), "age_prefix_bytes")
						}
					}
				})
				out2 := filepath.Join(e.dir, "out-format2")
				if got, err := e.reader2(set, out2); err != nil || !strings.Contains(got, "format 2") {
					t.Fatalf("reader2 on a format 2 manifest: %v\n%s", err, got)
				}
				compareTrees(t, src, filepath.Join(out2, "csconfig", "src"))
				os.WriteFile(e.manifestPath(set), orig, 0o644)
			}

			// A byte flipped in an object: reader2 fails naming it.
			victim := filepath.Join(e.dest, filepath.FromSlash(it.Key))
			if format == "chunked" {
				victim = filepath.Join(e.dest, filepath.FromSlash(it.Chunks[1].Key))
			}
			orig, err := os.ReadFile(victim)
			if err != nil {
				t.Fatal(err)
			}
			bad := bytes.Clone(orig)
			bad[len(bad)/2] ^= 1
			os.WriteFile(victim, bad, 0o644)
			got, err = e.reader2(set, filepath.Join(e.dir, "out2"))
			t.Logf("reader2: %v\n%s", err, got)
			name, _ := filepath.Rel(e.dest, victim)
			if err == nil || !strings.Contains(got, "FAIL csconfig: object "+filepath.ToSlash(name)) || !strings.Contains(got, "ok certs:") {
				t.Errorf("reader2 on a flipped byte in %s: %v\n%s", name, err, got)
			}
			os.WriteFile(victim, orig, 0o644)
			if format == "archive" {
				reader2Refusals(t, e, set)
				return
			}

			// Two lines of the .chunks list swapped: the list no longer
			// matches the manifest.
			list := filepath.Join(e.dest, filepath.FromSlash(it.Key))
			lines, _ := os.ReadFile(list)
			l := strings.SplitAfter(string(lines), "\n")
			l[0], l[1] = l[1], l[0]
			os.WriteFile(list, []byte(strings.Join(l, "")), 0o644)
			got, err = e.reader2(set, filepath.Join(e.dir, "out3"))
			t.Logf("reader2: %v\n%s", err, got)
			if err == nil || !strings.Contains(got, "FAIL csconfig: object "+it.Key) {
				t.Errorf("reader2 on a reordered chunk list: %v\n%s", err, got)
			}
			// The same with the manifest's hash of the list forged to
			// match: its lines are still not the chunk entries' keys.
			orig, _ = os.ReadFile(e.manifestPath(set))
			e.editManifest(set, func(raw map[string]any) {
				for _, x := range raw["items"].([]any) {
					if item := x.(map[string]any); item["name"] == "csconfig" {
						sum := sha256.Sum256([]byte(strings.Join(l, "")))
						item["sha256"] = hex.EncodeToString(sum[:])
					}
				}
			})
			got, err = e.reader2(set, filepath.Join(e.dir, "out3b"))
			t.Logf("reader2: %v\n%s", err, got)
			if err == nil || !strings.Contains(got, "FAIL csconfig: "+it.Key+": its lines are not the manifest's chunk keys") {
				t.Errorf("reader2 on a reordered chunk list of the manifest's hash: %v\n%s", err, got)
			}
			os.WriteFile(e.manifestPath(set), orig, 0o644)
			os.WriteFile(list, lines, 0o644)

			// Two chunk entries swapped in the manifest, and the list
			// rewritten to match (its hash fixed too): the list and the
			// manifest agree, but the stream is out of order, which the
			// chunk sizes or the tar stream and its index catch.
			e.editManifest(set, func(raw map[string]any) {
				for _, x := range raw["items"].([]any) {
					item := x.(map[string]any)
					if item["name"] != "csconfig" {
						continue
					}
					cs := item["chunks"].([]any)
					cs[0], cs[1] = cs[1], cs[0]
					var b strings.Builder
					for _, c := range cs {
						b.WriteString(c.(map[string]any)["key"].(string) + "\n")
					}
					os.WriteFile(list, []byte(b.String()), 0o644)
					sum := sha256.Sum256([]byte(b.String()))
					item["sha256"] = hex.EncodeToString(sum[:])
				}
			})
			got, err = e.reader2(set, filepath.Join(e.dir, "out4"))
			t.Logf("reader2: %v\n%s", err, got)
			if err == nil || !strings.Contains(got, "FAIL csconfig: ") || !strings.Contains(got, "ok certs:") {
				t.Errorf("reader2 on swapped chunk entries: %v\n%s", err, got)
			}
		})
	}
}

// reader2Refusals replaces the certs item of an archive set with forged tar
// streams (encrypted to the set's recipient, the manifest rewritten to
// match them) that FORMAT.md says a reader refuses, and checks that reader2
// names each and writes nothing outside its folder; lyncbackup's own
// restore refuses each too.
func reader2Refusals(t *testing.T, e *coreEnv, set string) {
	type entry struct {
		name, link, body string
		typ              byte
	}
	forge := func(entries []entry, index string) *bytes.Buffer {
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, x := range entries {
			tw.WriteHeader(&tar.Header{Typeflag: x.typ, Name: x.name, Linkname: x.link, Size: int64(len(x.body)), Mode: 0o644, Format: tar.FormatPAX})
			tw.Write([]byte(x.body))
		}
		tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: ".lyncbackup-SHA256SUMS", Size: int64(len(index)), Mode: 0o644})
		tw.Write([]byte(index))
		tw.Close()
		return &b
	}
	line := func(body, name string) string {
		sum := sha256.Sum256([]byte(body))
		return hex.EncodeToString(sum[:]) + "  " + name + "\n"
	}
	for _, c := range []struct {
		why     string
		entries []entry
		index   string
		want    string
	}{
		{"a file whose sum differs from its index line", []entry{{"a.txt", "", "x", tar.TypeReg}}, line("y", "a.txt"), `file 'a.txt': SHA-256`},
		{"a file the index does not name", []entry{{"a.txt", "", "x", tar.TypeReg}, {"b.txt", "", "y", tar.TypeReg}}, line("x", "a.txt"), `index and files differ: 'b.txt'`},
		{"a name leaving the folder", []entry{{"../evil.txt", "", "x", tar.TypeReg}}, line("x", "../evil.txt"), `'../evil.txt': not a relative clean name`},
		{"an absolute name", []entry{{"/tmp/evil.txt", "", "x", tar.TypeReg}}, line("x", "/tmp/evil.txt"), `'/tmp/evil.txt': not a relative clean name`},
		{"a file below a symlink", []entry{{"l", "..", "", tar.TypeSymlink}, {"l/evil.txt", "", "x", tar.TypeReg}}, line("x", "l/evil.txt"), `'l/evil.txt' lies below a file or symlink`},
		{"a hard link", []entry{{"a.txt", "", "x", tar.TypeReg}, {"h", "a.txt", "", tar.TypeLink}}, line("x", "a.txt"), `'h': type`},
		{"a name twice", []entry{{"a.txt", "", "x", tar.TypeReg}, {"a.txt", "", "x", tar.TypeReg}}, line("x", "a.txt") + line("x", "a.txt"), `'a.txt' appears twice`},
	} {
		e.replaceObject(set, "certs", forge(c.entries, c.index), -1)
		out := filepath.Join(e.dir, "refusal")
		os.RemoveAll(out)
		got, err := e.reader2(set, out)
		if err == nil || !strings.Contains(got, "FAIL certs: ") || !strings.Contains(got, c.want) {
			t.Errorf("%s: reader2 %v, want a failure naming %q\n%s", c.why, err, c.want, got)
		}
		r := e.run("restore", set, "--to", filepath.Join(e.dir, "goreader-"+strings.ReplaceAll(c.why, " ", "-")), "--identity", e.key, "--item", "certs")
		if r.Code != 1 { // the document describes what lyncbackup's reader refuses too
			t.Errorf("%s: lyncbackup restore exit %d, want 1\n%s", c.why, r.Code, r.Stderr)
		}
		if _, err := os.Lstat(filepath.Join(out, "evil.txt")); err == nil {
			t.Errorf("%s: reader2 wrote outside the item's folder", c.why)
		}
	}
}
