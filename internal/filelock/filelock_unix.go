//go:build !windows

package filelock

import (
	"errors"
	"os"
	"syscall"
)

// Lock takes an exclusive lock on f, waiting for it when wait is set;
// false when another process holds it. The kernel drops it when the
// process ends.
func Lock(f *os.File, wait bool) (bool, error) {
	how := syscall.LOCK_EX
	if !wait {
		how |= syscall.LOCK_NB
	}
	err := syscall.Flock(int(f.Fd()), how)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return false, nil
	}
	return err == nil, err
}

// LockAt is Lock: a Unix lock (flock) covers the whole file and
// does not keep others from reading it.
func LockAt(f *os.File, wait bool, _ uint32) (bool, error) { return Lock(f, wait) }
