//go:build windows

package filelock

import (
	"errors"
	"os"

	"golang.org/x/sys/windows"
)

// Lock takes an exclusive lock on f, waiting for it when wait is set;
// false when another process holds it. Windows drops it when the process
// ends.
func Lock(f *os.File, wait bool) (bool, error) { return LockAt(f, wait, 0) }

// LockAt is Lock on the byte at offset: a Windows lock keeps other
// handles from reading the bytes it covers, so a lock whose file holds
// text for others (the restore lock's pid) covers a byte past its end.
func LockAt(f *os.File, wait bool, offset uint32) (bool, error) {
	ol := windows.Overlapped{Offset: offset}
	flags := uint32(windows.LOCKFILE_EXCLUSIVE_LOCK)
	if !wait {
		flags |= windows.LOCKFILE_FAIL_IMMEDIATELY
	}
	err := windows.LockFileEx(windows.Handle(f.Fd()), flags, 0, 1, 0, &ol)
	if errors.Is(err, windows.ERROR_LOCK_VIOLATION) || errors.Is(err, windows.ERROR_IO_PENDING) {
		return false, nil
	}
	return err == nil, err
}
