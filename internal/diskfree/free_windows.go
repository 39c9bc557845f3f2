package diskfree

import (
	"syscall"

	"golang.org/x/sys/windows"
)

func free(dir string) (uint64, error) {
	p, err := windows.UTF16PtrFromString(dir)
	if err != nil {
		return 0, err
	}
	var avail, total, all uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &total, &all); err != nil {
		return 0, err
	}
	return avail, nil
}

func isFullErrno(errno syscall.Errno) bool {
	switch errno {
	case windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL, windows.ERROR_DISK_QUOTA_EXCEEDED, syscall.ENOSPC:
		return true
	}
	return false
}
