package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// entry is one crafted tar entry; body is used for regular files.
type entry struct {
	name, link string
	typ        byte
	body       string
	mode       int64
}

func reg(name, body string) entry         { return entry{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) entry               { return entry{name: name, typ: tar.TypeDir} }
func symlink(name, target string) entry   { return entry{name: name, typ: tar.TypeSymlink, link: target} }
func hardlink(name, target string) entry  { return entry{name: name, typ: tar.TypeLink, link: target} }
func special(name string, typ byte) entry { return entry{name: name, typ: typ} }
func sumOf(s string) string               { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
func indexOf(lines ...string) entry       { return reg(IndexName, strings.Join(lines, "")) }
func idxLine(name, body string) string    { return indexLine(sumOf(body), name) }
func mtime() time.Time                    { return time.Date(2024, 3, 4, 5, 6, 7, 0, time.UTC) }
func fileEntries(es ...entry) []entry     { return es }
func withIndex(es ...entry) []entry       { return append(es, autoIndex(es)) }
func autoIndex(es []entry) entry {
	var lines []string
	for _, e := range es {
		if e.typ == tar.TypeReg {
			lines = append(lines, idxLine(e.name, e.body))
		}
	}
	return indexOf(lines...)
}

// craft writes es as a PAX tar stream.
func craft(t testing.TB, es []entry) []byte {
	t.Helper()
	var b bytes.Buffer
	tw := tar.NewWriter(&b)
	for _, e := range es {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
			if e.typ == tar.TypeDir {
				mode = 0o755
			}
		}
		hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: mode, ModTime: mtime(), Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			hdr.Size = int64(len(e.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatalf("craft %q: %v", e.name, err)
		}
		if e.typ == tar.TypeReg {
			io.WriteString(tw, e.body)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// listTree returns every path below dir (slash-separated, relative).
func listTree(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || p == dir {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, filepath.ToSlash(rel))
		return nil
	})
	return out
}

func TestExtractGood(t *testing.T) {
	es := withIndex(dir("top/"), reg("top/a.txt", "hello"), reg("top/empty", ""), dir("top/sub/"),
		reg("top/sub/b", "world"), symlink("top/link", "sub/b"), symlink("top/sub/up", "../a.txt"), dir("top/emptydir/"))
	data := craft(t, es)
	// Verify mode: nothing written, everything hashed.
	st, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{})
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if st.Files != 3 || st.Dirs != 3 || st.Links != 2 || st.Bytes != 10 {
		t.Fatalf("verify stats = %+v", st)
	}
	root := filepath.Join(t.TempDir(), "out")
	var progress int64
	st, err = Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root, Progress: func(n int64) { progress += n }})
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	if progress != 10 {
		t.Errorf("progress counted %d bytes, want 10", progress)
	}
	got, _ := os.ReadFile(filepath.Join(root, "top", "sub", "b"))
	if string(got) != "world" {
		t.Errorf("top/sub/b = %q", got)
	}
	if runtime.GOOS != "windows" {
		if l, _ := os.Readlink(filepath.Join(root, "top", "link")); l != "sub/b" {
			t.Errorf("link target %q", l)
		}
		fi, err := os.Stat(filepath.Join(root, "top", "a.txt"))
		if err != nil || fi.Mode().Perm() != 0o644 || !fi.ModTime().Equal(mtime()) {
			t.Errorf("a.txt: %v %v %v", err, fi.Mode(), fi.ModTime())
		}
		di, _ := os.Stat(filepath.Join(root, "top", "sub"))
		if !di.ModTime().Equal(mtime()) {
			t.Errorf("dir mtime %v, want %v", di.ModTime(), mtime())
		}
	}
	if fi, err := os.Stat(filepath.Join(root, "top", "emptydir")); err != nil || !fi.IsDir() {
		t.Errorf("empty dir not restored: %v", err)
	}
	// Again into the same folder: refused without Force, accepted with it.
	_, err = Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root})
	if err == nil || !strings.Contains(err.Error(), "already exists") {
		t.Fatalf("second extract without force: %v", err)
	}
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root, Force: true}); err != nil {
		t.Fatalf("second extract with force: %v", err)
	}
}

func TestExtractRefusesUnsafe(t *testing.T) {
	cases := []struct {
		name string
		es   []entry
		want string
	}{
		{"absolute", withIndex(reg("/etc/evil", "x")), "absolute"},
		{"dotdot", withIndex(reg("a/../../evil", "x")), "'..'"},
		{"dotdot-only", withIndex(reg("..", "x")), "'..'"},
		{"drive", withIndex(reg("C:/evil", "x")), "absolute"},
		{"file-below-file", withIndex(reg("a", "x"), reg("a/b", "y")), "is a file"},
		{"dir-over-file", withIndex(reg("a", "x"), dir("a/")), "twice"},
		{"link-empty", withIndex(symlink("l", "")), "empty link"},
		{"link-then-file", withIndex(symlink("l", "sub"), dir("sub/"), reg("l/x", "x")), "symlink"},
		{"abs-link-then-file", withIndex(symlink("l", "/tmp"), reg("l/x", "x")), "symlink"},
		{"abs-link-then-dir", withIndex(symlink("l", "/tmp"), dir("l/d/")), "symlink"},
		{"file-then-link-over-its-folder", withIndex(reg("a/b", "x"), symlink("a", "/tmp")), "twice"},
		{"dir-then-link", withIndex(dir("a/"), symlink("a", "/tmp")), "twice"},
		{"hardlink", withIndex(reg("a", "x"), hardlink("b", "a")), "hard links"},
		{"chardev", withIndex(special("dev", tar.TypeChar)), "unsupported"},
		{"blockdev", withIndex(special("dev", tar.TypeBlock)), "unsupported"},
		{"fifo", withIndex(special("fifo", tar.TypeFifo)), "unsupported"},
		{"duplicate", fileEntries(reg("a", "x"), reg("a", "y"), indexOf(idxLine("a", "y"))), "twice"},
		{"duplicate-link-file", withIndex(symlink("a", "b"), reg("a", "y")), ""},
		{"duplicate-link", withIndex(symlink("a", "b"), symlink("a", "c")), "twice"},
		{"no-index", fileEntries(reg("a", "x")), "no file index"},
		{"after-index", fileEntries(reg("a", "x"), indexOf(idxLine("a", "x")), reg("b", "y")), "after the index"},
		{"hash-mismatch", fileEntries(reg("a", "x"), indexOf(idxLine("a", "other"))), "SHA-256 mismatch"},
		{"not-in-index", fileEntries(reg("a", "x"), reg("b", "y"), indexOf(idxLine("a", "x"))), "not in the archive's index"},
		{"missing-from-archive", fileEntries(reg("a", "x"), indexOf(idxLine("a", "x"), idxLine("b", "y"))), "missing from the archive"},
		{"bad-index", fileEntries(reg("a", "x"), indexOf("garbage\n")), "malformed index"},
		{"index-not-hex", fileEntries(reg("a", "x"), indexOf(strings.Repeat("g", 64)+"  a\n")), "malformed index"},
		{"index-twice", fileEntries(reg("a", "x"), reg("b", "y"), indexOf(idxLine("a", "x"), idxLine("a", "x"), idxLine("b", "y"))), "file a is in the index twice"},
		{"index-twice-out-of-order", fileEntries(reg("a", "x"), reg("b", "y"), indexOf(idxLine("b", "y"), idxLine("a", "x"), idxLine("b", "y"))), "file b is in the index twice"},
		{"mismatch-out-of-order", fileEntries(reg("a", "x"), reg("b", "y"), indexOf(idxLine("b", "z"), idxLine("a", "x"))), "file b: SHA-256 mismatch"},
		{"missing-out-of-order", fileEntries(reg("a", "x"), reg("b", "y"), indexOf(idxLine("b", "y"), idxLine("c", "z"), idxLine("a", "x"))), "file c is in the index but missing"},
		{"not-in-index-out-of-order", fileEntries(reg("a", "x"), reg("b", "y"), reg("c", "z"), indexOf(idxLine("c", "z"), idxLine("a", "x"))), "file b is not in the archive's index"},
		{"not-in-index-last", fileEntries(reg("a", "x"), reg("b", "y"), indexOf(idxLine("a", "x"))), "file b is not in the archive's index"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			data := craft(t, c.es)
			for _, mode := range []string{"verify", "extract"} {
				opt := ExtractOptions{}
				parent := t.TempDir()
				if mode == "extract" {
					opt.Dir = filepath.Join(parent, "root")
				}
				_, err := Extract(context.Background(), bytes.NewReader(data), opt)
				if err == nil {
					t.Fatalf("%s: accepted", mode)
				}
				if c.want != "" && !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s: error %q does not mention %q", mode, err, c.want)
				}
				if strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: multi-line error %q", mode, err)
				}
				// Nothing may appear beside the restore folder.
				for _, p := range listTree(t, parent) {
					if p != "root" && !strings.HasPrefix(p, "root/") {
						t.Errorf("%s: wrote outside the restore folder: %s", mode, p)
					}
				}
			}
		})
	}
}

func TestExtractUnsafeErrorType(t *testing.T) {
	data := craft(t, withIndex(reg("../x", "x")))
	_, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{})
	var ue *UnsafeError
	if !errors.As(err, &ue) || ue.Name != "../x" {
		t.Fatalf("want *UnsafeError naming ../x, got %v", err)
	}
}

func TestExtractForceDoesNotFollowLinks(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	os.MkdirAll(root, 0o755)
	outside := filepath.Join(parent, "outside")
	os.WriteFile(outside, []byte("keep"), 0o644)
	// A link planted in the restore folder must be replaced, not written through.
	if err := os.Symlink(outside, filepath.Join(root, "a")); err != nil {
		t.Fatal(err)
	}
	data := craft(t, withIndex(reg("a", "new")))
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root, Force: true}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(outside); string(b) != "keep" {
		t.Fatalf("wrote through a symlink: outside = %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(root, "a")); string(b) != "new" {
		t.Fatalf("a = %q", b)
	}
	// A planted link to a folder must not let a file land outside either.
	if err := os.Symlink(parent, filepath.Join(root, "d")); err != nil {
		t.Fatal(err)
	}
	data = craft(t, withIndex(reg("d/evil", "x")))
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root, Force: true}); err == nil {
		t.Fatal("wrote through a planted folder link")
	}
	if _, err := os.Stat(filepath.Join(parent, "evil")); err == nil {
		t.Fatal("file written outside the restore folder")
	}
	// Nor when the archive names the folder first (MkdirAll follows the
	// link) and then files in it: each file's path is checked, not only
	// the first one's.
	if err := os.Symlink(parent, filepath.Join(root, "e")); err != nil {
		t.Fatal(err)
	}
	data = craft(t, withIndex(dir("e/"), reg("e/evil2", "x"), reg("e/evil3", "y")))
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root, Force: true}); err == nil {
		t.Fatal("wrote through a planted folder link named by a folder entry")
	}
	for _, f := range []string{"evil2", "evil3"} {
		if _, err := os.Stat(filepath.Join(parent, f)); err == nil {
			t.Fatalf("%s written outside the restore folder", f)
		}
	}
	// Many files in a few folders restore (the later files of a folder
	// take its check from the first).
	fresh := filepath.Join(parent, "fresh")
	data = craft(t, withIndex(dir("f/"), reg("f/1", "a"), reg("f/2", "b"), reg("g/3", "c")))
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: fresh}); err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"f/1": "a", "f/2": "b", "g/3": "c"} {
		if b, _ := os.ReadFile(filepath.Join(fresh, name)); string(b) != want {
			t.Fatalf("%s = %q", name, b)
		}
	}
}

func TestExtractCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	data := craft(t, withIndex(reg("a", "x")))
	if _, err := Extract(ctx, bytes.NewReader(data), ExtractOptions{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

func TestExtractTruncated(t *testing.T) {
	data := craft(t, withIndex(reg("a", strings.Repeat("x", 5000))))
	for _, n := range []int{10, 512, 1024, 3000, len(data) - 2048} {
		if _, err := Extract(context.Background(), bytes.NewReader(data[:n]), ExtractOptions{}); err == nil {
			t.Errorf("truncated at %d: accepted", n)
		}
	}
}

func TestCleanName(t *testing.T) {
	good := map[string]string{"a": "a", "a/b/": "a/b", "./a": "a", "a//b": "a/b", "a/./b": "a/b", "ünïcödé/名前": "ünïcödé/名前"}
	for in, want := range good {
		got, err := CleanName(in)
		if err != nil || got != want {
			t.Errorf("CleanName(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", ".", "/", "/a", "\\a", "a/../b", "..", "../a", "c:", "C:/x", "a\x00"} {
		if got, err := CleanName(bad); err == nil {
			t.Errorf("CleanName(%q) = %q, want error", bad, got)
		}
	}
}

func TestIndexLineRoundTrip(t *testing.T) {
	for _, name := range []string{"a", "with space", "back\\slash", "new\nline", "cr\rx", "ünï/名前", "  lead"} {
		sum := sumOf(name)
		line := indexLine(sum, name)
		if !strings.HasSuffix(line, "\n") || strings.Count(line, "\n") != 1 {
			t.Fatalf("indexLine(%q) = %q: not one line", name, line)
		}
		s, n, ok := parseIndexLine(strings.TrimSuffix(line, "\n"))
		if !ok || s != sum || n != name {
			t.Errorf("round trip %q: got %q %q %v", name, s, n, ok)
		}
	}
	for _, bad := range []string{"", "short", strings.Repeat("z", 64) + "  a", strings.Repeat("a", 64) + " a"} {
		if _, _, ok := parseIndexLine(bad); ok {
			t.Errorf("parseIndexLine(%q) accepted", bad)
		}
	}
}

// TestExtractLinksAreData: links are restored as links whatever they point
// to (absolute, out of the tree, dangling, through other links), in verify
// and extract mode alike, and nothing is written through them.
func TestExtractLinksAreData(t *testing.T) {
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	os.MkdirAll(outside, 0o755)
	es := withIndex(dir("top/"), symlink("top/abs", outside), symlink("top/up", "../../.."), symlink("top/dangling", "nowhere/x"),
		symlink("top/chain", "up/etc"), reg("top/f", "data"), symlink("top/a/b/deep", "/etc/hostname"), reg("top/z", "last"))
	data := craft(t, es)
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if runtime.GOOS == "windows" {
		return
	}
	root := filepath.Join(parent, "root")
	st, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root})
	if err != nil {
		t.Fatalf("extract: %v", err)
	}
	if st.Links != 5 || st.Files != 2 {
		t.Errorf("stats %+v", st)
	}
	for name, want := range map[string]string{"abs": outside, "up": "../../..", "dangling": "nowhere/x", "chain": "up/etc", "a/b/deep": "/etc/hostname"} {
		if got, err := os.Readlink(filepath.Join(root, "top", filepath.FromSlash(name))); err != nil || got != want {
			t.Errorf("%s -> %q, %v; want %q", name, got, err, want)
		}
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("something was written outside: %v", ents)
	}
	// Again with Force over the same tree: links are replaced, not followed.
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root, Force: true}); err != nil {
		t.Fatalf("extract --force: %v", err)
	}
	if ents, _ := os.ReadDir(outside); len(ents) != 0 {
		t.Errorf("something was written outside: %v", ents)
	}
}

// TestExtractLinksLast: a link is created only after every file and
// folder, so an archive whose link would take a folder's place is refused
// before anything goes through it, whatever the order of the entries.
func TestExtractLinksLast(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows")
	}
	parent := t.TempDir()
	outside := filepath.Join(parent, "outside")
	os.MkdirAll(outside, 0o755)
	for _, es := range [][]entry{
		withIndex(symlink("a", outside), reg("a/x", "x")),
		withIndex(reg("a/x", "x"), symlink("a", outside)),
		withIndex(dir("a/"), symlink("a", outside), reg("a/x", "x")),
	} {
		root := filepath.Join(t.TempDir(), "root")
		if _, err := Extract(context.Background(), bytes.NewReader(craft(t, es)), ExtractOptions{Dir: root}); err == nil {
			t.Errorf("%v: accepted", es)
		}
		if ents, _ := os.ReadDir(outside); len(ents) != 0 {
			t.Fatalf("%v: wrote outside: %v", es, ents)
		}
		if fi, err := os.Lstat(filepath.Join(root, "a")); err == nil && fi.Mode()&os.ModeSymlink != 0 {
			t.Errorf("%v: the link was created", es)
		}
	}
}

// TestExtractCap: with CapBytes, file content beyond MaxBytes stops the
// extraction before the file is written; exactly MaxBytes passes.
func TestExtractCap(t *testing.T) {
	data := craft(t, withIndex(reg("a", "12345"), reg("b", strings.Repeat("z", 100000))))
	root := filepath.Join(t.TempDir(), "root")
	_, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root, CapBytes: true, MaxBytes: 100004})
	var le *LimitError
	if !errors.As(err, &le) || le.Name != "b" || !strings.Contains(err.Error(), "100004") {
		t.Fatalf("got %v", err)
	}
	if _, err := os.Stat(filepath.Join(root, "b")); err == nil {
		t.Error("the file over the limit was written")
	}
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{CapBytes: true, MaxBytes: 100005}); err != nil {
		t.Fatalf("exact size: %v", err)
	}
	// A zero cap is a cap.
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{CapBytes: true}); !errors.As(err, &le) {
		t.Fatalf("zero cap: %v", err)
	}
	// A file a restore leaves out (--include) counts as well.
	onlyA := func(name string) bool { return name == "a" }
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: filepath.Join(t.TempDir(), "r"), CapBytes: true, MaxBytes: 100004, Include: onlyA}); !errors.As(err, &le) || le.Name != "b" {
		t.Fatalf("left-out file over the cap: %v", err)
	}
}

// TestExtractTrailing: after the end of the archive, a tar record of zero
// padding is accepted and more is refused (without reading on).
func TestExtractTrailing(t *testing.T) {
	data := craft(t, withIndex(reg("a", "x")))
	for _, c := range []struct {
		tail []byte
		ok   bool
	}{{nil, true}, {make([]byte, 10240), true}, {make([]byte, 10241), false}, {[]byte{0, 0, 1}, false}} {
		r := io.MultiReader(bytes.NewReader(data), bytes.NewReader(c.tail), endless{})
		if c.ok {
			r = io.MultiReader(bytes.NewReader(data), bytes.NewReader(c.tail))
		}
		_, err := Extract(context.Background(), r, ExtractOptions{})
		if (err == nil) != c.ok {
			t.Errorf("%d trailing bytes: %v", len(c.tail), err)
		}
	}
}

// endless is an endless stream of zeros.
type endless struct{}

func (endless) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestExtractLinkChainsInside(t *testing.T) {
	// Links through links that stay inside, and a loop, are fine.
	es := withIndex(dir("a/"), dir("a/b/"), reg("a/b/f", "x"), symlink("a/b/s", ".."), symlink("t", "a/b/s/b/f"),
		symlink("loop1", "loop2"), symlink("loop2", "loop1"), symlink("a/up", "../a/b"))
	data := craft(t, es)
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{}); err != nil {
		t.Fatalf("verify: %v", err)
	}
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: t.TempDir()}); err != nil {
		t.Fatalf("extract: %v", err)
	}
}

func TestCleanNameBackslash(t *testing.T) {
	_, err := CleanName(`a\..\..\evil`)
	if (runtime.GOOS == "windows") != (err != nil) {
		t.Fatalf("GOOS %s: CleanName with backslashes: %v", runtime.GOOS, err)
	}
}

// TestCleanNameWindowsCharacters: on Windows a name with a character no
// Windows file name may hold is refused, ":" above all: "a.txt::$DATA" is
// a.txt's own content (written again after a.txt passed its check) and
// "a.txt:x" a stream hidden beside it. Elsewhere they are ordinary names.
func TestCleanNameWindowsCharacters(t *testing.T) {
	for _, name := range []string{"a.txt::$DATA", "dir/a.txt:hidden", "x<y", "x>y", `x"y`, "x|y", "what?", "star*"} {
		_, err := CleanName(name)
		var ue *UnsafeError
		if runtime.GOOS == "windows" {
			if !errors.As(err, &ue) || !strings.Contains(err.Error(), "not allowed in a Windows file name") {
				t.Errorf("CleanName(%q) on Windows: %v", name, err)
			}
		} else if err != nil {
			t.Errorf("CleanName(%q): %v", name, err)
		}
	}
	if runtime.GOOS != "windows" {
		return
	}
	// Through Extract: the second entry would overwrite the first file.
	data := craft(t, withIndex(reg("a.txt", "checked"), reg("a.txt::$DATA", "swapped")))
	root := filepath.Join(t.TempDir(), "root")
	_, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root})
	var ue *UnsafeError
	if !errors.As(err, &ue) || ue.Name != "a.txt::$DATA" {
		t.Fatalf("extract: %v, want the stream name refused", err)
	}
}

// A file that cannot be created fails the extraction with its own cause
// and path: another file in the way (without Force), a folder in the way
// (with Force).
func TestExtractInTheWay(t *testing.T) {
	var es []entry
	for i := range 40 {
		es = append(es, reg(fmt.Sprintf("top/f%02d", i), strings.Repeat("x", 100+i)))
	}
	data := craft(t, withIndex(es...))
	for _, c := range []struct {
		name  string
		force bool
		block func(root string)
		want  string
	}{
		{"file in the way", false, func(root string) {
			os.MkdirAll(filepath.Join(root, "top"), 0o755)
			os.WriteFile(filepath.Join(root, "top", "f17"), []byte("mine"), 0o644)
		}, filepath.Join("top", "f17") + ": already exists"},
		{"folder in the way (force)", true, func(root string) {
			os.MkdirAll(filepath.Join(root, "top", "f23"), 0o755)
		}, filepath.Join("top", "f23") + ": a folder is in the way"},
	} {
		t.Run(c.name, func(t *testing.T) {
			root := filepath.Join(t.TempDir(), "out")
			c.block(root)
			_, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root, Force: c.force})
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
}
