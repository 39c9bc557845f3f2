//go:build !windows

package pipeline

import (
	"errors"
	"os"
	"syscall"
)

// openLockFile opens (creating it) the restore lock file p without
// following a link in its place: O_NOFOLLOW makes a link there an error
// (ELOOP), which errNotPlain then names.
func openLockFile(p string) (*os.File, error) {
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|syscall.O_NOFOLLOW, 0o600)
	if errors.Is(err, syscall.ELOOP) || errors.Is(err, syscall.EMLINK) {
		return nil, errNotPlain(p)
	}
	return f, err
}
