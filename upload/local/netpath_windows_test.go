//go:build windows

package local

import (
	"errors"
	"io/fs"
	"os"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/lyncbackup/lyncbackup/upload"
)

// A share whose server is down (ERROR_BAD_NETPATH, which Go counts as not
// existing) is not a missing object; a file that is not there still is.
func TestNetworkPathDownIsNotMissing(t *testing.T) {
	down := &fs.PathError{Op: "open", Path: `\\nas\backups\lync\fe01\x`, Err: syscall.Errno(53)}
	if !errors.Is(down, fs.ErrNotExist) {
		t.Fatal("Go no longer counts ERROR_BAD_NETPATH as not existing: missing's special case can go")
	}
	if missing(down) {
		t.Error("an unreachable share reads as a missing object")
	}
	if !missing(&fs.PathError{Op: "open", Path: `C:\b\x`, Err: syscall.ERROR_FILE_NOT_FOUND}) {
		t.Error("a missing file is not missing")
	}
}

// A write-protected medium (ERROR_WRITE_PROTECT, not a permission error
// for Go) is read-only for Now, as a read-only volume is. (A review
// finding: it was another failure, so list said a crashed set was running.)
func TestWriteProtectedIsReadOnly(t *testing.T) {
	wp := &fs.PathError{Op: "open", Path: `E:\lyncbackup\clock.lbtmp-1`, Err: syscall.Errno(19)}
	if errors.Is(wp, fs.ErrPermission) {
		t.Log("Go now counts ERROR_WRITE_PROTECT as a permission error: writeProtected can go")
	}
	if !readOnly(wp) {
		t.Error("a write-protected medium is not read-only")
	}
	if readOnly(&fs.PathError{Op: "open", Path: `E:\x`, Err: syscall.Errno(112)}) { // ERROR_DISK_FULL
		t.Error("a full disk reads as read-only")
	}
}

// TestOpenNetPathDown: a destination folder on a share whose server is
// away is said to be unreachable ("The network path was not found." read
// as a wrong path), and is not a missing folder (upload.ErrNotFound), whose
// fix is to create it.
func TestOpenNetPathDown(t *testing.T) {
	t.Cleanup(func() { statRoot = os.Stat })
	dir := `\\nas\backups\lync`
	statRoot = func(p string) (fs.FileInfo, error) {
		return nil, &fs.PathError{Op: "CreateFile", Path: p, Err: windows.ERROR_BAD_NETPATH}
	}
	_, err := Open(dir)
	if err == nil || err.Error() != `destination folder \\nas\backups\lync: its server cannot be reached (the network path was not found: the server is down or off the network, or its name does not resolve from this machine)` ||
		errors.Is(err, upload.ErrNotFound) || !errors.Is(err, windows.ERROR_BAD_NETPATH) {
		t.Errorf("server away: %v", err)
	}
}
