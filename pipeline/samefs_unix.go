//go:build !windows && !linux

package pipeline

import (
	"os"
	"syscall"
)

// fsWord names what a rename cannot cross, in the refusal's words.
const fsWord = "filesystem"

// otherFilesystem reports whether the folder item (not followed: an item
// folder is never a link) is on another device than dir (followed: the
// restore folder the user named). False when either cannot be read: the
// restore then reports that itself.
func otherFilesystem(dir, item string) bool {
	d, err1 := os.Stat(dir)
	i, err2 := os.Lstat(item)
	if err1 != nil || err2 != nil {
		return false
	}
	ds, ok1 := d.Sys().(*syscall.Stat_t)
	is, ok2 := i.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && ds.Dev != is.Dev
}
