//go:build windows

package oserr

import (
	"errors"

	"golang.org/x/sys/windows"
)

func netPathDown(err error) bool { return errors.Is(err, windows.ERROR_BAD_NETPATH) }

func writeProtected(err error) bool { return errors.Is(err, windows.ERROR_WRITE_PROTECT) }

func held(err error) bool {
	return errors.Is(err, windows.ERROR_SHARING_VIOLATION) || errors.Is(err, windows.ERROR_LOCK_VIOLATION)
}
