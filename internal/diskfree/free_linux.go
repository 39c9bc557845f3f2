package diskfree

import (
	"syscall"

	"golang.org/x/sys/unix"
)

func free(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return availBytes(&st), nil
}

// availBytes is the bytes an unprivileged account may still write by a
// statfs: its block counts are in the fragment size (f_frsize, what
// statvfs(3) counts in), not f_bsize, the preferred I/O size, which a file
// system may set larger. A kernel that leaves f_frsize 0 counts in f_bsize.
func availBytes(st *unix.Statfs_t) uint64 {
	unit := uint64(st.Frsize)
	if unit == 0 {
		unit = uint64(st.Bsize)
	}
	return st.Bavail * unit
}

func isFullErrno(errno syscall.Errno) bool { return errno == syscall.ENOSPC || errno == syscall.EDQUOT }
