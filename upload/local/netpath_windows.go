//go:build windows

package local

import (
	"errors"
	"syscall"
)

// errorBadNetpath is ERROR_BAD_NETPATH.
const errorBadNetpath = syscall.Errno(53)

func networkPathDown(err error) bool { return errors.Is(err, errorBadNetpath) }
