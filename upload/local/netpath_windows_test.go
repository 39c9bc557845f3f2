//go:build windows

package local

import (
	"errors"
	"io/fs"
	"syscall"
	"testing"
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
