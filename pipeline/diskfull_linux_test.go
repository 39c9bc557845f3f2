package pipeline

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// TestRestoreDiskFullSaysDiskFull: a restore onto a full disk reports the
// disk (ENOSPC, as an archive.WriteError), never a damaged, truncated or
// swapped object, every time.
func TestRestoreDiskFullSaysDiskFull(t *testing.T) {
	f := newFixture(t)
	root := filepath.Join(f.dir, "a")
	os.MkdirAll(root, 0o755)
	junk := make([]byte, 3<<20)
	rand.Read(junk)
	os.WriteFile(filepath.Join(root, "big"), junk, 0o644)
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", root), exporters.NewPath("beta", root)))
	if err != nil {
		t.Fatal(err)
	}
	tiny := testenv.Tmpfs(t, "1m")
	for i := range 5 {
		to := filepath.Join(tiny, "r", string(rune('a'+i)))
		reps, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to})
		if err == nil {
			t.Fatal("restore of 6 MiB onto 1 MiB succeeded")
		}
		for _, r := range reps {
			if r.OK {
				continue
			}
			if !strings.Contains(r.Error, "no space left on device") || !strings.Contains(r.Error, "restore folder") {
				t.Errorf("run %d, %s: %q does not name the full disk", i, r.Name, r.Error)
			}
			for _, lie := range []string{"damaged", "truncated", "swapped", "manifest", "corrupt"} {
				if strings.Contains(r.Error, lie) {
					t.Errorf("run %d, %s: %q blames the object (%s)", i, r.Name, r.Error, lie)
				}
			}
		}
		os.RemoveAll(to)
	}
	// The classification is by type, at the write.
	we := &archive.WriteError{Op: "write", Path: "x", Err: syscall.ENOSPC}
	if !errors.Is(we, syscall.ENOSPC) {
		t.Error("WriteError does not unwrap")
	}
}
