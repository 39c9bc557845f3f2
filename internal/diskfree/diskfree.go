// Package diskfree tells how much room a folder's disk has left for this
// account, and whether an error is a full disk: the staging check warns
// before a backup runs out of it, and the messages name the cause.
package diskfree

import (
	"errors"
	"os"
	"strings"
	"syscall"
)

// Free is the number of bytes this account may still write on the disk
// (filesystem) that holds dir: what a quota or the root reserve leaves it,
// not the disk's total free bytes. An error when the system cannot say.
func Free(dir string) (uint64, error) { return free(dir) }

// IsFull reports whether err is a write refused for want of room: no space
// left on the disk, or the account's quota spent. Windows' messages are
// matched as well as its codes (ERROR_DISK_FULL, ERROR_HANDLE_DISK_FULL).
func IsFull(err error) bool {
	if err == nil {
		return false
	}
	if errors.Is(err, syscall.ENOSPC) || isFullErrno(err) {
		return true
	}
	msg := strings.ToLower(err.Error())
	for _, s := range []string{"no space left", "not enough space", "disk is full", "quota exceeded"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
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
