package chunk

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// unreadableKeyFile is a good key file another handle holds open sharing
// nothing (as an antivirus scan may): reading it is a sharing violation.
func unreadableKeyFile(t *testing.T) (string, string) {
	t.Helper()
	p := writeGoodKey(t)
	held, _ = testenv.HoldNoShare(t, p)
	t.Cleanup(func() { held = 0 })
	return p, "another process holds it open (an antivirus scan, a backup or copy program, an editor) (close the program that holds that file open, or wait until it lets go"
}

// held is the handle unreadableKeyFile holds the key file open with.
var held windows.Handle

// keyFileBytes is the key file's content, read through the handle that
// holds it. Not through os.NewFile: that File's finalizer closed the
// handle at a later collection, by then perhaps another test's file (a
// write in TestWriterHoldsReusedChunks failed with "Invalid handle" in the
// Windows lane), and the test's cleanup closed it a second time.
func keyFileBytes(t *testing.T, p string) []byte {
	t.Helper()
	if _, err := windows.Seek(held, 0, 0); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	b := make([]byte, 4096)
	var n uint32
	if err := windows.ReadFile(held, b, &n, nil); err != nil || n == 0 {
		t.Fatalf("%s: read %d bytes: %v", p, n, err)
	}
	return b[:n]
}

// TestKeyNetPathDown: a key file on a share whose server is away
// (ERROR_BAD_NETPATH, which Go counts as not existing) is not missing: no
// new key is made (it was, wherever the share came back between the read
// and the create: a new key beside the old chunks), the backup and check
// say the server cannot be reached, and check does not report "none yet".
func TestKeyNetPathDown(t *testing.T) {
	t.Cleanup(func() { readKeyFile = os.ReadFile })
	readKeyFile = func(p string) ([]byte, error) {
		return nil, &fs.PathError{Op: "open", Path: p, Err: windows.ERROR_BAD_NETPATH}
	}
	p := KeyFile(t.TempDir(), host)
	_, err := LoadOrCreateKey(p)
	if err == nil || !strings.Contains(err.Error(), "chunk key "+p+": its server cannot be reached") || strings.Contains(err.Error(), "delete") {
		t.Errorf("the backup: %v", err)
	}
	if _, serr := os.Stat(p); serr == nil {
		t.Error("a new key was made")
	}
	st, cerr := CheckKey(p)
	if st != KeyBad || cerr == nil || err == nil || cerr.Error() != err.Error() {
		t.Errorf("check: %v, %v", st, cerr)
	}
}
