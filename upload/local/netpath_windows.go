//go:build windows

package local

import (
	"errors"
	"syscall"
)

// errorBadNetpath is ERROR_BAD_NETPATH.
const errorBadNetpath = syscall.Errno(53)

func networkPathDown(err error) bool { return errors.Is(err, errorBadNetpath) }

// errorWriteProtect is ERROR_WRITE_PROTECT ("the media is write
// protected"): a write-protected disk or a read-only volume, which Go does
// not count as a permission error.
const errorWriteProtect = syscall.Errno(19)

func writeProtected(err error) bool { return errors.Is(err, errorWriteProtect) }
