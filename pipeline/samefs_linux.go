package pipeline

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fsWord names what a rename cannot cross, in the refusal's words.
const fsWord = "filesystem"

// otherFilesystem reports whether the folder item (not followed: an item
// folder is never a link) is on another mount than dir (followed: the
// restore folder the user named): another device, or the same filesystem
// mounted a second time (a bind mount: Linux refuses a rename between two
// mounts of one filesystem too, EXDEV). False when either cannot be read:
// the restore then reports that itself.
func otherFilesystem(dir, item string) bool {
	d, err1 := os.Stat(dir)
	i, err2 := os.Lstat(item)
	if err1 != nil || err2 != nil {
		return false
	}
	ds, ok1 := d.Sys().(*syscall.Stat_t)
	is, ok2 := i.Sys().(*syscall.Stat_t)
	if !ok1 || !ok2 {
		return false
	}
	if ds.Dev != is.Dev {
		return true
	}
	// The mount id (statx, Linux 5.8 and later): a bind mount of dir's
	// own filesystem has dir's device number and a mount of its own.
	var dx, ix unix.Statx_t
	if unix.Statx(unix.AT_FDCWD, dir, unix.AT_STATX_DONT_SYNC, unix.STATX_MNT_ID, &dx) != nil ||
		unix.Statx(unix.AT_FDCWD, item, unix.AT_STATX_DONT_SYNC|unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &ix) != nil {
		return false
	}
	if dx.Mask&ix.Mask&unix.STATX_MNT_ID == 0 {
		return false // not reported by this kernel
	}
	return dx.Mnt_id != ix.Mnt_id
}
