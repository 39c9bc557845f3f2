// Package diskfree tells how much room a folder's disk has left for this
// account, and whether an error is a full disk: the staging check warns
// before a backup runs out of it, and the messages name the cause.
package diskfree

import (
	"errors"
	"os"
	"syscall"
)

// Free is the number of bytes this account may still write on the disk
// (filesystem) that holds dir, less what the file system keeps for root
// (Linux: statfs's available blocks). On Windows it is what the account's
// quota leaves it (GetDiskFreeSpaceEx); on Linux a per-user quota is not
// counted (statfs does not see it). An error when the system cannot say.
func Free(dir string) (uint64, error) { return free(dir) }

// IsFull reports whether err is a write refused for want of room: no space
// left on the disk, or the account's quota spent (ENOSPC, EDQUOT; Windows'
// ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL, ERROR_DISK_QUOTA_EXCEEDED). Only
// the system's error code is read, never the message: that names the path,
// and a folder called "disk is full" that this account may not write was
// reported as a full disk. Every caller passes an error of the os package,
// which carries its code.
func IsFull(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && isFullErrno(errno)
}

// ProbeWrite writes, syncs and removes a small file in dir, and returns
// the first error: creating an empty file succeeds on a full disk, where
// a backup then fails on its first write, so a few KiB must reach it.
func ProbeWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".lyncbackup-check-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	_, err = f.Write(make([]byte, ProbeSize))
	if serr := f.Sync(); err == nil {
		err = serr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// ProbeSize is what ProbeWrite writes: more than a file system keeps in
// a file's inode or directory entry, so that it needs free blocks.
const ProbeSize = 16 << 10
