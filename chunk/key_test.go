package chunk

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/filelock"
)

// aged sets path's times an hour back: a file no run is writing.
func aged(t *testing.T, path string) {
	t.Helper()
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
}

// TestEmptyKeyFileFilled: an empty key file (a run killed between creating
// it and writing its line) gets a new key, written into it, and the next
// run reads that key; it failed every backup with "is damaged (delete
// it …)". Eight runs finding it at once all get one key. A young empty
// file whose writer died is filled once the wait for it is over. The
// write is done holding the file's lock.
func TestEmptyKeyFileFilled(t *testing.T) {
	p := KeyFile(t.TempDir(), host)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	aged(t, p)
	if st, err := CheckKey(p); st != KeyEmpty || err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("CheckKey of the empty file: %v, %v", st, err)
	}
	held := false
	emptyKeyLocked = func() { // another run may not take the lock now
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		ok, err := filelock.LockAt(f, false, keyLockByte)
		held = err == nil && !ok
	}
	t.Cleanup(func() { emptyKeyLocked = nil })
	k1, err := LoadOrCreateKey(p)
	emptyKeyLocked = nil
	if err != nil {
		t.Fatalf("empty key file: %v", err)
	}
	if !held {
		t.Error("the key was written into the empty file without holding its lock")
	}
	if st, err := CheckKey(p); st != KeyGood || err != nil {
		t.Errorf("CheckKey after the fill: %v, %v", st, err)
	}
	k2, err := LoadOrCreateKey(p)
	if err != nil || k2.ID([]byte("x")) != k1.ID([]byte("x")) {
		t.Fatalf("the key written into the empty file is not read back: %v", err)
	}

	q := KeyFile(t.TempDir(), host)
	os.WriteFile(q, nil, 0o600)
	aged(t, q)
	id := keyAtOnce(t, q, 8)
	if k, err := LoadOrCreateKey(q); err != nil || k.ID([]byte("x")) != id {
		t.Errorf("the file does not hold the key the runs got: %v", err)
	}

	defer func(w time.Duration) { keyWriteWait = w }(keyWriteWait)
	keyWriteWait = 200 * time.Millisecond
	r := KeyFile(t.TempDir(), host)
	os.WriteFile(r, nil, 0o600) // young: its writer may still be at work
	if _, err := LoadOrCreateKey(r); err != nil {
		t.Errorf("young empty key file whose writer died: %v", err)
	}
}

// TestCheckKey: check reads the key file as a backup does: a missing one
// is made by the first backup, a damaged one fails with the backup's own
// error and advice.
func TestCheckKey(t *testing.T) {
	dir := t.TempDir()
	p := KeyFile(dir, host)
	if st, err := CheckKey(p); st != KeyMissing || err != nil {
		t.Errorf("no key file: %v, %v", st, err)
	}
	os.WriteFile(p, []byte(keyHeader+"abc\n"), 0o600)
	aged(t, p)
	_, berr := LoadOrCreateKey(p)
	st, err := CheckKey(p)
	if st != KeyBad || err == nil || berr == nil || err.Error() != berr.Error() || !strings.Contains(err.Error(), "is damaged (delete it") {
		t.Errorf("damaged key file: check %v, %v; backup %v", st, err, berr)
	}
	os.Remove(p)
	if _, err := LoadOrCreateKey(p); err != nil {
		t.Fatal(err)
	}
	if st, err := CheckKey(p); st != KeyGood || err != nil {
		t.Errorf("good key file: %v, %v", st, err)
	}
}

// TestBadKeyAdvice: an empty key file that cannot be written into because
// its file system takes no writes is not told to be deleted (that fails
// there too, and every backup needs to write there anyway); one this
// account may not write is.
func TestBadKeyAdvice(t *testing.T) {
	p := filepath.Join("staging", "fe01.chunkkey")
	var bad *BadKeyError
	ro := unfillable(p, &fs.PathError{Op: "open", Path: p, Err: syscall.EROFS})
	if !errors.As(ro, &bad) || strings.Contains(ro.Error(), "delete it") || !strings.Contains(ro.Error(), "make it writable") ||
		strings.HasPrefix(bad.Fix(p), "delete") {
		t.Errorf("read-only file system: %v; fix %q", ro, bad.Fix(p))
	}
	denied := unfillable(p, &fs.PathError{Op: "open", Path: p, Err: fs.ErrPermission})
	if !errors.As(denied, &bad) || !strings.Contains(denied.Error(), "delete it") || bad.Fix(p) != "delete "+p+": the next backup makes a new one and only loses deduplication against older chunks" {
		t.Errorf("not writable for this account: %v; fix %q", denied, bad.Fix(p))
	}
}
