package archive

import (
	"archive/tar"
	"bufio"
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// irregularInfo is how Go reports, on Windows, a file behind a reparse
// point that is no link (os/types_windows.go): WOF-compressed (compact
// /exe), tiered by Azure File Sync or an HSM. Lstat and Stat set
// ModeIrregular.
type irregularInfo struct{ fs.FileInfo }

func (i irregularInfo) Mode() fs.FileMode { return i.FileInfo.Mode() | fs.ModeIrregular }

// Such a file is read and stored as a file: the walk skipped it as a
// special file, in a set it called complete.
func TestWriteReadsIrregularFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "meeting-content.pptx")
	if err := os.WriteFile(p, []byte("slides"), 0o644); err != nil {
		t.Fatal(err)
	}
	skip := func(name string, fi fs.FileInfo) bool { return false }
	var buf bytes.Buffer
	w := Options{Tolerant: true, TempDir: t.TempDir(), Skip: skip}
	st, err := Write(context.Background(), &buf, []Root{{Path: dir, Name: "fs"}}, w)
	if err != nil || st.Files != 1 {
		t.Fatalf("plain: %+v %v", st, err)
	}
	fi, err := os.Lstat(p)
	if err != nil {
		t.Fatal(err)
	}
	var idx, out bytes.Buffer
	wr := &writer{ctx: context.Background(), tw: tar.NewWriter(&out), opt: Options{}, index: bufio.NewWriter(&idx), names: map[string]bool{}, chk: NewChecker()}
	if err := wr.walk(p, "fs/meeting-content.pptx", irregularInfo{fi}); err != nil {
		t.Fatal(err)
	}
	wr.index.Flush()
	if wr.st.Files != 1 || wr.st.Skipped != 0 || len(wr.st.Warnings) != 0 || wr.st.Bytes != 6 {
		t.Errorf("an irregular file (WOF, tiered): %+v", wr.st)
	}
	if !strings.Contains(idx.String(), "fs/meeting-content.pptx") || !bytes.Contains(out.Bytes(), []byte("slides")) {
		t.Errorf("not packed: index %q", idx.String())
	}
}
