//go:build !linux && !windows

package diskfree

import (
	"errors"
	"runtime"
	"syscall"
)

func free(string) (uint64, error) {
	return 0, errors.New("free space is not read on " + runtime.GOOS)
}

func isFullErrno(errno syscall.Errno) bool { return errno == syscall.ENOSPC }
