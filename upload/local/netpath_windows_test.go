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
