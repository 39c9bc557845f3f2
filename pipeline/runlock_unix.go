//go:build !windows

package pipeline

import (
	"errors"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on f, waiting for it when wait is set;
// false when another process holds it. The kernel drops it when the
// process ends.
func lockFile(f *os.File, wait bool) (bool, error) {
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

// lockFileAt is lockFile: a Unix lock (flock) covers the whole file and
// does not keep others from reading it.
func lockFileAt(f *os.File, wait bool, _ uint32) (bool, error) { return lockFile(f, wait) }
