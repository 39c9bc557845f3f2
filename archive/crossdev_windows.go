//go:build windows

package archive

import (
	"errors"

	"golang.org/x/sys/windows"
)

// crossDevice reports whether err is a rename's refusal to cross volumes
// (MoveFileEx without MOVEFILE_COPY_ALLOWED: ERROR_NOT_SAME_DEVICE).
func crossDevice(err error) bool { return errors.Is(err, windows.ERROR_NOT_SAME_DEVICE) }

// fsWord names what a rename cannot cross, in messages.
const fsWord = "volume"
