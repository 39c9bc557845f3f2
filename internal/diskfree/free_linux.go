package diskfree

import (
	"errors"
	"syscall"

	"golang.org/x/sys/unix"
)

func free(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func isFullErrno(err error) bool { return errors.Is(err, syscall.EDQUOT) }
