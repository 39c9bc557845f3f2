package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

func writeTree(t *testing.T, root string) {
	t.Helper()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(root, "sub", "deeper"), 0o755))
	must(os.MkdirAll(filepath.Join(root, "emptydir"), 0o750))
	must(os.WriteFile(filepath.Join(root, "a.txt"), []byte("alpha"), 0o640))
	must(os.WriteFile(filepath.Join(root, "empty"), nil, 0o600))
	must(os.WriteFile(filepath.Join(root, "sub", "deeper", "b.bin"), bytes.Repeat([]byte{1, 2, 3}, 100000), 0o644))
	if runtime.GOOS != "windows" { // a backslash is a separator on Windows; a symlink needs a privilege
		must(os.WriteFile(filepath.Join(root, "back\\slash"), []byte("bs"), 0o644))
		must(os.Symlink("sub/deeper/b.bin", filepath.Join(root, "link")))
	}
	old := time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)
	must(os.Chtimes(filepath.Join(root, "a.txt"), old, old))
}

func TestWriteExtractRoundTrip(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src)
	file := filepath.Join(t.TempDir(), "single.txt")
	os.WriteFile(file, []byte("single"), 0o644)
	var buf bytes.Buffer
	var read int64
	st, err := Write(context.Background(), &buf, []Root{{Path: src, Name: "tree"}, {Path: file, Name: "one/single.txt"}},
		Options{Progress: func(n int64) { read += n }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	wantBytes, wantFiles := int64(5+300000+2+6), int64(5)
	if runtime.GOOS == "windows" { // no back\slash file
		wantBytes, wantFiles = wantBytes-2, wantFiles-1
	}
	if st.Bytes != wantBytes || read != wantBytes || st.Files != wantFiles {
		t.Fatalf("stats %+v read %d, want %d bytes in %d files", st, read, wantBytes, wantFiles)
	}
	// The index is the last entry and is valid sha256sum input.
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	var last *tar.Header
	var idx []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		last = h
		if h.Name == IndexName {
			idx, _ = io.ReadAll(tr)
		}
	}
	if last == nil || last.Name != IndexName {
		t.Fatalf("last entry %v, want the index", last)
	}
	if !strings.Contains(string(idx), "  tree/a.txt\n") || (runtime.GOOS != "windows" && !strings.Contains(string(idx), "\\"+sumOfFile(t, filepath.Join(src, "back\\slash"))+"  tree/back\\\\slash\n")) {
		t.Errorf("index:\n%s", idx)
	}

	out := t.TempDir()
	if _, err := Extract(context.Background(), bytes.NewReader(buf.Bytes()), ExtractOptions{Dir: out}); err != nil {
		t.Fatal(err)
	}
	compareTrees(t, src, filepath.Join(out, "tree"))
	if b, _ := os.ReadFile(filepath.Join(out, "one", "single.txt")); string(b) != "single" {
		t.Errorf("single file: %q", b)
	}
}

func sumOfFile(t *testing.T, p string) string {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return sumOf(string(b))
}

// compareTrees checks content, mode, mtime (files and dirs) and link targets.
func compareTrees(t *testing.T, a, b string) {
	t.Helper()
	n := 0
	filepath.WalkDir(a, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(a, p)
		q := filepath.Join(b, rel)
		fa, _ := os.Lstat(p)
		fb, err := os.Lstat(q)
		if err != nil {
			t.Errorf("%s missing: %v", rel, err)
			return nil
		}
		n++
		if fa.Mode() != fb.Mode() {
			t.Errorf("%s: mode %v, want %v", rel, fb.Mode(), fa.Mode())
		}
		switch {
		case fa.Mode()&fs.ModeSymlink != 0:
			la, _ := os.Readlink(p)
			lb, _ := os.Readlink(q)
			if la != lb {
				t.Errorf("%s: link %q, want %q", rel, lb, la)
			}
		case fa.Mode().IsRegular():
			if !bytes.Equal(mustRead(t, p), mustRead(t, q)) {
				t.Errorf("%s: content differs", rel)
			}
			fallthrough
		default:
			if !fa.ModTime().Equal(fb.ModTime()) {
				t.Errorf("%s: mtime %v, want %v", rel, fb.ModTime(), fa.ModTime())
			}
		}
		return nil
	})
	m := 0
	filepath.WalkDir(b, func(string, fs.DirEntry, error) error { m++; return nil })
	if m != n {
		t.Errorf("restored tree has %d entries, source %d", m, n)
	}
}

func mustRead(t *testing.T, p string) []byte {
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestWriteErrors(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o644)
	cases := map[string][]Root{
		"missing root":   {{Path: filepath.Join(dir, "nope"), Name: "x"}},
		"duplicate name": {{Path: filepath.Join(dir, "f"), Name: "x"}, {Path: filepath.Join(dir, "f"), Name: "x"}},
		"bad name":       {{Path: filepath.Join(dir, "f"), Name: ".."}},
		"empty name":     {{Path: filepath.Join(dir, "f"), Name: ""}},
	}
	for name, roots := range cases {
		if _, err := Write(context.Background(), io.Discard, roots, Options{TempDir: dir}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Write(ctx, io.Discard, []Root{{Path: dir, Name: "x"}}, Options{TempDir: dir}); err == nil {
		t.Error("cancelled: accepted")
	}
	// The index spool never stays behind.
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("spool left behind: %v", ents)
	}
}

func TestWriteSkipsSpecialFilesAndHonoursSkip(t *testing.T) {
	src := t.TempDir()
	os.WriteFile(filepath.Join(src, "keep"), []byte("k"), 0o644)
	os.WriteFile(filepath.Join(src, "Meeting.Active"), []byte("m"), 0o644)
	if haveFifos {
		if err := mkfifo(filepath.Join(src, "fifo")); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	st, err := Write(context.Background(), &buf, []Root{{Path: src, Name: "t"}}, Options{
		Skip: func(name string, fi fs.FileInfo) bool { return strings.HasSuffix(name, "/Meeting.Active") }, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if !haveFifos { // Windows: only the Skip half
		if st.Files != 1 || st.Skipped != 1 || len(st.Warnings) != 0 {
			t.Fatalf("stats %+v", st)
		}
		return
	}
	if st.Files != 1 || st.Skipped != 2 || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "fifo") {
		t.Fatalf("stats %+v", st)
	}
}

func TestCompressLevels(t *testing.T) {
	for _, lv := range CompressionLevelsForTest {
		var buf bytes.Buffer
		zw, err := Compress(&buf, lv, 1)
		if err != nil {
			t.Fatal(err)
		}
		zw.Write(bytes.Repeat([]byte("abc"), 10000))
		zw.Close()
		zr, err := Decompress(&buf)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(zr)
		zr.Close()
		if err != nil || len(got) != 30000 {
			t.Fatalf("%s: %d bytes, %v", lv, len(got), err)
		}
	}
	if _, err := Compress(io.Discard, "ultra", 0); err == nil {
		t.Error("unknown level accepted")
	}
}

var CompressionLevelsForTest = []string{"auto", "fastest", "default", "better", "best", ""}

// TestWriteReproducible: the same tree packs to the same bytes whenever it
// is packed; the index's time is its newest entry's, not the clock's.
func TestWriteReproducible(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	writeTree(t, src)
	// Symbolic links keep their own (creation) time, so the newest entry
	// is made newer than now.
	base := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	newest := time.Now().Add(48 * time.Hour).Truncate(time.Second)
	filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type()&fs.ModeSymlink == 0 {
			os.Chtimes(p, base, base)
		}
		return nil
	})
	os.Chtimes(filepath.Join(src, "a.txt"), newest, newest)
	pack := func() []byte {
		var buf bytes.Buffer
		if _, err := Write(context.Background(), &buf, []Root{{Path: src, Name: "tree"}}, Options{TempDir: t.TempDir()}); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	first := pack()
	time.Sleep(1100 * time.Millisecond) // another second on the clock
	if !bytes.Equal(first, pack()) {
		t.Error("the same tree packed to different bytes a second later")
	}
	tr := tar.NewReader(bytes.NewReader(first))
	for {
		h, err := tr.Next()
		if err != nil {
			t.Fatalf("no index entry: %v", err)
		}
		if h.Name == IndexName {
			if !h.ModTime.Equal(newest) {
				t.Errorf("index time %v, want the newest entry's %v", h.ModTime, newest)
			}
			break
		}
	}
}

// TestWriteFileShrinks: a file that shrinks after its header is written
// (a file store file truncated while the backup reads it) is padded with
// zeros to the size the header promised, so the archive stays valid and
// its index true, with a warning in tolerant mode; otherwise it fails the
// write, naming the file and how far it got.
func TestWriteFileShrinks(t *testing.T) {
	for _, tolerant := range []bool{true, false} {
		dir := t.TempDir()
		p := filepath.Join(dir, "meeting.pptx")
		content := bytes.Repeat([]byte("0123456789abcdef"), 3<<16) // 3 MiB
		if err := os.WriteFile(p, content, 0o644); err != nil {
			t.Fatal(err)
		}
		cut := int64(3<<19 + 100) // 1.5 MiB and a bit: the zeros are not whole 64 KiB blocks
		truncated := false
		var buf bytes.Buffer
		st, err := Write(context.Background(), &buf, []Root{{Path: p, Name: "fs/meeting.pptx"}}, Options{Tolerant: tolerant, TempDir: t.TempDir(),
			Progress: func(int64) {
				if !truncated {
					truncated = true
					if err := os.Truncate(p, cut); err != nil {
						t.Error(err)
					}
				}
			}})
		if !tolerant {
			want := fmt.Sprintf("read %s: file shrank while being read (%d of %d bytes)", p, cut, len(content))
			if err == nil || err.Error() != want {
				t.Errorf("not tolerant: %v, want %q", err, want)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Warnings) != 1 || st.Warnings[0] != p+": shrank while being read, stored padded with zeros" || st.Bytes != int64(len(content)) {
			t.Fatalf("stats %+v", st)
		}
		out := t.TempDir()
		if _, err := Extract(context.Background(), bytes.NewReader(buf.Bytes()), ExtractOptions{Dir: out}); err != nil {
			t.Fatalf("the padded archive does not extract: %v", err)
		}
		got, _ := os.ReadFile(filepath.Join(out, "fs", "meeting.pptx"))
		want := append(bytes.Clone(content[:cut]), make([]byte, int64(len(content))-cut)...)
		if !bytes.Equal(got, want) {
			t.Errorf("restored %d bytes, not the first %d then zeros", len(got), cut)
		}
	}
}

// TestWarningsCapped: Stats keeps MaxWarnings warnings and one line saying
// more were left out, however many come.
func TestWarningsCapped(t *testing.T) {
	var st Stats
	for i := 0; i < MaxWarnings+5; i++ {
		st.warn("file %d vanished", i)
	}
	if len(st.Warnings) != MaxWarnings+1 || st.Warnings[MaxWarnings-1] != fmt.Sprintf("file %d vanished", MaxWarnings-1) || st.Warnings[MaxWarnings] != "more warnings left out" {
		t.Errorf("%d warnings, the last two %q", len(st.Warnings), st.Warnings[len(st.Warnings)-2:])
	}
}

// A file that fits the read buffer is read before its header: one that
// shrank between the walk's stat and the read is stored as read (its
// header says so), not padded with zeros that every check then passes.
func TestWriteSmallFileShrinks(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.txt")
	os.WriteFile(p, bytes.Repeat([]byte("x"), 1000), 0o644)
	skip := func(name string, fi fs.FileInfo) bool {
		if name == "r/a.txt" {
			os.Truncate(p, 600)
		}
		return false
	}
	var buf bytes.Buffer
	st, err := Write(context.Background(), &buf, []Root{{Path: dir, Name: "r"}}, Options{Tolerant: true, Skip: skip, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "shrank while being read, stored as read (600 of 1000 bytes)") || st.Bytes != 600 {
		t.Fatalf("stats %+v", st)
	}
	out := t.TempDir()
	if _, err := Extract(context.Background(), bytes.NewReader(buf.Bytes()), ExtractOptions{Dir: out}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(out, "r", "a.txt")); !bytes.Equal(got, bytes.Repeat([]byte("x"), 600)) {
		t.Errorf("restored %d bytes %q…", len(got), got[:min(len(got), 20)])
	}
	if _, err := Write(context.Background(), io.Discard, []Root{{Path: dir, Name: "r"}}, Options{Skip: func(name string, _ fs.FileInfo) bool {
		if name == "r/a.txt" {
			os.Truncate(p, 100)
		}
		return false
	}, TempDir: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "shrank while being read (100 of 600 bytes)") {
		t.Errorf("not tolerant: %v", err)
	}
}

// A file whose read fails is skipped and named, when it fits the read
// buffer (a sysfs attribute: 4096 bytes by stat, EIO on read). It was
// stored as 4096 zeros that verify, sha256sum -c and restore all passed,
// with a warning saying 4096 bytes had been read.
func TestWriteReadFailureSkipsSmallFile(t *testing.T) {
	const p = "/sys/devices/system/clocksource/power/autosuspend_delay_ms"
	f, err := os.Open(p)
	if err != nil {
		t.Skip(err)
	}
	_, rerr := f.Read(make([]byte, 10))
	f.Close()
	if rerr == nil || rerr == io.EOF {
		t.Skip("reads without error here")
	}
	var buf bytes.Buffer
	st, err := Write(context.Background(), &buf, []Root{{Path: p, Name: "x"}}, Options{Tolerant: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 0 || len(st.Warnings) != 1 || !strings.Contains(st.Warnings[0], "not backed up: read failed") {
		t.Errorf("stats: files=%d bytes=%d warnings=%q", st.Files, st.Bytes, st.Warnings)
	}
}

// A root the config names that is a link to a folder (a share moved to
// another disk) is followed: its files are stored under the root's name.
// Stored as itself it made a complete item of one link entry.
func TestWriteFollowsLinkedRoot(t *testing.T) {
	real := t.TempDir()
	os.MkdirAll(filepath.Join(real, "sub"), 0o755)
	os.WriteFile(filepath.Join(real, "a.txt"), []byte("alpha"), 0o644)
	os.WriteFile(filepath.Join(real, "sub", "b.txt"), []byte("bravo"), 0o644)
	os.Symlink("a.txt", filepath.Join(real, "inner-link"))
	link := filepath.Join(t.TempDir(), "LyncShare")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Skip("os.Symlink made no link here (Wine 8's CreateSymbolicLinkW is a stub)")
	}
	var buf bytes.Buffer
	st, err := Write(context.Background(), &buf, []Root{{Path: link, Name: "share"}}, Options{Tolerant: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 2 || st.Links != 1 {
		t.Fatalf("stats %+v: the folder behind the configured link was not backed up", st)
	}
	out := t.TempDir()
	if _, err := Extract(context.Background(), bytes.NewReader(buf.Bytes()), ExtractOptions{Dir: out}); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "share", "sub", "b.txt")); string(b) != "bravo" {
		t.Errorf("share/sub/b.txt = %q", b)
	}
	if fi, err := os.Lstat(filepath.Join(out, "share", "inner-link")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("a link inside the root is stored as a link: %v, %v", fi, err)
	}
}

// TestWriteGroupsFilesByExtension: a folder's children follow each other by
// extension (compared without case), then by name, so that a file store's
// small XML files sit together in the stream, not one or two between
// megabytes of presentations.
func TestWriteGroupsFilesByExtension(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	for _, n := range []string{"001.xml", "002.PPTX", "003.xml", "004.png", "005.XML", "006.pptx", "Meeting.Active", "noext", "sub/b.xml", "sub/a.png"} {
		p := filepath.Join(src, filepath.FromSlash(n))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	names, _ := packedNames(t, []Root{{Path: src, Name: "fs"}}, nil)
	want := []string{"fs/", "fs/noext", "fs/sub/", "fs/sub/a.png", "fs/sub/b.xml", "fs/Meeting.Active",
		"fs/004.png", "fs/002.PPTX", "fs/006.pptx", "fs/001.xml", "fs/003.xml", "fs/005.XML", IndexName}
	if strings.Join(names, " ") != strings.Join(want, " ") {
		t.Errorf("packed\n %s\nwant\n %s", strings.Join(names, " "), strings.Join(want, " "))
	}
}
