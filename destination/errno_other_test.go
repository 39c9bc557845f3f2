//go:build !windows

package destination

import "syscall"

// The system's codes of TestOpenFindingByCodeNotText.
const (
	errAccessDenied = syscall.EACCES
	errWriteProtect = syscall.EROFS
	errFileNotFound = syscall.ENOENT
	errDiskFull     = syscall.ENOSPC
	errHostDown     = syscall.EHOSTUNREACH
)
