package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestCheckerRefuses(t *testing.T) {
	g := func(v string) *tar.Header {
		return &tar.Header{Typeflag: tar.TypeXGlobalHeader, PAXRecords: map[string]string{indexRecordKey: v}}
	}
	cases := []struct {
		name string
		hdrs []*tar.Header
		want string
	}{
		{"folder with content", []*tar.Header{{Typeflag: tar.TypeDir, Name: "d/", Size: 5}}, "content"},
		{"link with content", []*tar.Header{{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "x", Size: 5}}, "content"},
		{"NUL in link", []*tar.Header{{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "a\x00b"}}, "NUL"},
		{"global header not first", []*tar.Header{{Typeflag: tar.TypeReg, Name: "a"}, g(indexRecordPrefix + IndexName + "-2")}, "global header"},
		{"unknown global header", []*tar.Header{g("something else")}, "global header"},
		{"global header naming a path", []*tar.Header{g(indexRecordPrefix + "a/b")}, "global header"},
		{"global header naming another file", []*tar.Header{g(indexRecordPrefix + "passwd")}, "global header"},
		{"index after index", []*tar.Header{{Typeflag: tar.TypeReg, Name: IndexName}, {Typeflag: tar.TypeReg, Name: IndexName}}, "after the index"},
		{"user file named as the renamed index", []*tar.Header{g(indexRecordPrefix + IndexName + "-2"), {Typeflag: tar.TypeDir, Name: IndexName + "-2/"}}, "index"},
	}
	for _, c := range cases {
		chk := NewChecker()
		var err error
		for _, h := range c.hdrs {
			if _, _, err = chk.Entry(h); err != nil {
				break
			}
		}
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error saying %q", c.name, err, c.want)
		}
	}
}

// TestIndexNeverCollides: a root that is itself a file (or folder) named
// like the index is packed under its own name, the index gets another one,
// Extract reads both apart, and stock tar -x plus sha256sum -c on the
// announced index name check the user's file instead of replacing it.
func TestIndexNeverCollides(t *testing.T) {
	dir := t.TempDir()
	user := filepath.Join(dir, IndexName)
	os.WriteFile(user, []byte("the user's own file, not an index\n"), 0o644)
	other := filepath.Join(dir, "LYNCBACKUP-x")
	os.MkdirAll(filepath.Join(other), 0o755)
	os.WriteFile(filepath.Join(other, "f"), []byte("f"), 0o644)
	var buf bytes.Buffer
	// The second root takes IndexName-2 (in another case): the index must skip it too.
	roots := []Root{{Path: user, Name: IndexName}, {Path: other, Name: strings.ToUpper(IndexName) + "-2"}}
	if _, err := Write(context.Background(), &buf, roots, Options{}); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	var names []string
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	want := IndexName + "-3"
	if len(names) == 0 || names[len(names)-1] != want || strings.Count(strings.Join(names, "\n")+"\n", IndexName+"\n") != 1 {
		t.Fatalf("entries %q: want the user's file once and the index as %s", names, want)
	}
	root := filepath.Join(dir, "out")
	st, err := Extract(context.Background(), bytes.NewReader(buf.Bytes()), ExtractOptions{Dir: root})
	if err != nil || st.Files != 2 {
		t.Fatalf("extract: %+v %v", st, err)
	}
	if b, _ := os.ReadFile(filepath.Join(root, IndexName)); string(b) != "the user's own file, not an index\n" {
		t.Fatalf("user's file restored as %q", b)
	}
	// The stock-tool tail runs where tar is (on Windows it skips alone).
	t.Run("stock tools", func(t *testing.T) {
		if _, err := exec.LookPath("tar"); err != nil {
			t.Skip("no tar")
		}
		x := filepath.Join(dir, "x")
		os.MkdirAll(x, 0o755)
		cmd := exec.Command("tar", "-xf", "-", "-C", x)
		cmd.Stdin = bytes.NewReader(buf.Bytes())
		if out, err := cmd.CombinedOutput(); err != nil || len(out) != 0 {
			t.Fatalf("tar -x: %v %s", err, out)
		}
		if b, _ := os.ReadFile(filepath.Join(x, IndexName)); string(b) != "the user's own file, not an index\n" {
			t.Fatalf("tar -x left the user's file as %q", b)
		}
		if _, err := exec.LookPath("sha256sum"); err == nil {
			cmd := exec.Command("sha256sum", "-c", "--strict", want)
			cmd.Dir = x
			if out, err := cmd.CombinedOutput(); err != nil || strings.Count(string(out), ": OK") != 2 {
				t.Fatalf("sha256sum -c: %v\n%s", err, out)
			}
		}
	})
}

// TestWriteRefusesWhatExtractRefuses: roots that would give an archive
// restore refuses (a root below another root that is a file) fail the
// backup instead of making a set that lists as complete.
func TestWriteRefusesWhatExtractRefuses(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "f")
	os.WriteFile(f, []byte("x"), 0o644)
	var buf bytes.Buffer
	_, err := Write(context.Background(), &buf, []Root{{Path: f, Name: "a"}, {Path: f, Name: "a/b"}}, Options{})
	if err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Fatalf("got %v", err)
	}
}

// TestExtractTodaysFormat: archives as the writer made them before the
// index could be renamed (no global header, the index named IndexName,
// even after a folder of that name) are still accepted.
func TestExtractTodaysFormat(t *testing.T) {
	for _, es := range [][]entry{
		withIndex(dir("top/"), reg("top/a", "x"), symlink("top/l", "a")),
		withIndex(dir(IndexName+"/"), reg(IndexName+"/x", "x")),
	} {
		if _, err := Extract(context.Background(), bytes.NewReader(craft(t, es)), ExtractOptions{Dir: filepath.Join(t.TempDir(), "r")}); err != nil {
			t.Errorf("%v: %v", es, err)
		}
	}
}
