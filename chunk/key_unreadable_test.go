package chunk

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testuser"
)

// TestUnreadableKeyKept: a key file that is there but cannot be read (no
// read access; on Windows another process holding it open) fails the
// backup with one line naming the cause and the fix, never the advice to
// delete it (that would cost the deduplication against every chunk named
// with it), and no new key is written over or beside it. check reports
// the backup's failure, its fix line the same. It failed with the
// system's read error, and check told to delete the file. As root on
// Linux it runs as nobody, whom mode 000 stops.
func TestUnreadableKeyKept(t *testing.T) {
	if testuser.Unprivileged(t) {
		return
	}
	p, want := unreadableKeyFile(t)
	before := keyFileBytes(t, p)
	_, err := LoadOrCreateKey(p)
	var bad *BadKeyError
	if err == nil || !errors.As(err, &bad) || !strings.Contains(err.Error(), want) ||
		!strings.Contains(err.Error(), "keep the file") || strings.Contains(err.Error(), "delete") ||
		strings.ContainsAny(err.Error(), "\r\n") {
		t.Fatalf("the backup with an unreadable key: %v", err)
	}
	if fix := bad.Fix(p); !strings.Contains(fix, p) || strings.Contains(fix, "delete") {
		t.Errorf("fix: %q", fix)
	}
	st, cerr := CheckKey(p)
	if st != KeyBad || cerr == nil || cerr.Error() != err.Error() {
		t.Errorf("check: %v, %v; the backup fails: %v", st, cerr, err)
	}
	if after := keyFileBytes(t, p); !bytes.Equal(before, after) {
		t.Error("the unreadable key file was changed")
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("files beside the key: %v", ents)
	}
}

// writeGoodKey writes a key file as a backup does, an hour old.
func writeGoodKey(t *testing.T) string {
	t.Helper()
	p := KeyFile(t.TempDir(), host)
	if _, err := LoadOrCreateKey(p); err != nil {
		t.Fatal(err)
	}
	aged(t, p)
	return p
}
