//go:build !windows

package archive

import (
	"errors"
	"syscall"
)

// crossDevice reports whether err is a rename's refusal to cross
// filesystems (EXDEV; Linux also between two mounts of one filesystem).
func crossDevice(err error) bool { return errors.Is(err, syscall.EXDEV) }

// fsWord names what a rename cannot cross, in messages.
const fsWord = "filesystem"
