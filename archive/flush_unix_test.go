//go:build !windows

package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/durable"
	"github.com/lyncbackup/lyncbackup/internal/testuser"
)

// TestExtractFlushesUnreadableFolder: a folder the archive gives no read
// permission to its owner (0300: files can be put in and opened by name,
// not listed) is restored with that mode, although the restore opens every
// folder it made to flush its entries to the disk, after the modes are set
// (as root, run again as nobody: root reads any folder).
func TestExtractFlushesUnreadableFolder(t *testing.T) {
	durable.Enable(true) // restore --sync
	t.Cleanup(func() { durable.Enable(false) })
	if testuser.Unprivileged(t) {
		return
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	mt := time.Unix(1_700_000_000, 0)
	body := []byte("drop")
	for _, h := range []*tar.Header{
		{Typeflag: tar.TypeDir, Name: "box/", Mode: 0o300, ModTime: mt, Format: tar.FormatPAX},
		{Typeflag: tar.TypeReg, Name: "box/f.txt", Mode: 0o644, Size: int64(len(body)), ModTime: mt, Format: tar.FormatPAX},
	} {
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if h.Size > 0 {
			tw.Write(body)
		}
	}
	sum := sha256.Sum256(body)
	idx := []byte(indexLine(hex.EncodeToString(sum[:]), "box/f.txt"))
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: IndexName, Mode: 0o644, Size: int64(len(idx)), ModTime: mt, Format: tar.FormatPAX})
	tw.Write(idx)
	tw.Close()

	dst := t.TempDir()
	box := filepath.Join(dst, "box")
	t.Cleanup(func() { os.Chmod(box, 0o755) })
	if _, err := Extract(context.Background(), &buf, ExtractOptions{Dir: dst}); err != nil {
		t.Fatalf("extract: %v", err)
	}
	fi, err := os.Stat(box)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o300 {
		t.Errorf("box restored with mode %v, want 0300", fi.Mode().Perm())
	}
	if b, err := os.ReadFile(filepath.Join(box, "f.txt")); err != nil || string(b) != "drop" {
		t.Errorf("box/f.txt: %q, %v", b, err)
	}
}
