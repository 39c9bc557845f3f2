package local

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lyncbackup/lyncbackup/upload"
)

// TestErrorsKeepTheSystemCode: Open's and Put's errors print as before
// (the system's words once, without the path again) and still carry the
// system's code, by which the destination's check judges the cause: its
// words are the system's language's ("Zugriff verweigert"), and Open and
// Put printed them with %v, so the code was gone and the check matched
// English words. A missing folder is upload.ErrNotFound.
func TestErrorsKeepTheSystemCode(t *testing.T) {
	dir := t.TempDir()
	absent := filepath.Join(dir, "absent")
	_, err := Open(absent)
	if err == nil || err.Error() != "destination folder "+absent+" does not exist" || !errors.Is(err, upload.ErrNotFound) || !missing(err) {
		t.Errorf("Open of a missing folder: %v (ErrNotFound %v)", err, errors.Is(err, upload.ErrNotFound))
	}

	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "host"), []byte("a file where a folder goes"), 0o644)
	_, err = s.Put(context.Background(), "host/set/x", strings.NewReader("x"), upload.PutOptions{})
	var errno syscall.Errno
	if err == nil || !errors.As(err, &errno) {
		t.Fatalf("Put below a file: %v carries no system code", err)
	}
	if strings.Count(err.Error(), filepath.Join(dir, "host")) != 0 || !strings.HasPrefix(err.Error(), "put host/set/x: ") {
		t.Errorf("Put below a file: %q, want the system's words without the path", err)
	}
}
