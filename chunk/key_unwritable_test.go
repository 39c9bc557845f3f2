package chunk

import (
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/oserr"
)

// TestEmptyKeyFileUnwritable: an empty key file this account cannot open
// for writing cannot be filled: check reports the failure the backup will
// have (it said "[WARN] … the next backup writes a new key into it"), and
// both name the fix (delete it, as the damaged-key error does; on a file
// system mounted read-only, make it writable).
func TestEmptyKeyFileUnwritable(t *testing.T) {
	p := unwritableEmptyKey(t)
	st, cerr := CheckKey(p)
	_, berr := LoadOrCreateKey(p)
	if berr == nil {
		t.Fatal("an empty key file that cannot be written: the backup got a key")
	}
	// The fix: delete it; on a file system mounted read-only (root's
	// case here), make that writable (TestBadKeyAdvice).
	want := "delete it: the next backup makes a new one"
	if bad := (*BadKeyError)(nil); errors.As(berr, &bad) && oserr.ReadOnly(bad.err) {
		want = "make it writable"
	}
	if !strings.Contains(berr.Error(), want) {
		t.Errorf("the backup's error names no fix (%q): %v", want, berr)
	}
	if st != KeyBad || cerr == nil || cerr.Error() != berr.Error() {
		t.Errorf("check: %v, %v; the backup fails: %v", st, cerr, berr)
	}
}

// unwritableEmptyKey makes an empty key file that this process cannot
// open for writing: mode 0400 (a read-only file on Windows); for root on
// Linux, which the mode does not stop, in a file system mounted read-only.
func unwritableEmptyKey(t *testing.T) string {
	t.Helper()
	p := KeyFile(t.TempDir(), host)
	if err := os.WriteFile(p, nil, 0o400); err != nil {
		t.Fatal(err)
	}
	aged(t, p)
	t.Cleanup(func() { os.Chmod(p, 0o600) })
	if f, err := os.OpenFile(p, os.O_RDWR, 0); err == nil {
		f.Close()
		p = readOnlyEmptyKey(t)
	}
	return p
}
