//go:build windows

package destination

import "golang.org/x/sys/windows"

// The system's codes of TestOpenFindingByCodeNotText: ERROR_BAD_NETPATH
// (a share's server away) is one Go counts as not existing.
const (
	errAccessDenied = windows.ERROR_ACCESS_DENIED
	errWriteProtect = windows.ERROR_WRITE_PROTECT
	errFileNotFound = windows.ERROR_FILE_NOT_FOUND
	errDiskFull     = windows.ERROR_DISK_FULL
	errHostDown     = windows.ERROR_BAD_NETPATH
)
