//go:build !windows

package archive

import (
	"os"
	"slices"
	"strings"
	"syscall"
)

// openEntry opens a file or folder the walk found, without following a
// link put in its place since: O_NOFOLLOW makes a link there an error, and
// O_NONBLOCK keeps a FIFO put there from blocking the open (and the run,
// which its context could not end). The caller checks it is the entry the
// walk saw.
func openEntry(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_NONBLOCK, 0)
}

// readDir lists the folder the walk saw as fi, in name order, through a
// handle that is that folder: a folder replaced by a link since the walk
// looked is never followed (its target's files were packed under the
// folder's name).
func readDir(p string, fi os.FileInfo) ([]os.DirEntry, error) {
	f, err := openEntry(p)
	if err != nil {
		if replaced(p, fi) {
			return nil, &os.PathError{Op: "open", Path: p, Err: errReplaced}
		}
		return nil, err
	}
	defer f.Close()
	if !sameEntry(f, fi) {
		return nil, &os.PathError{Op: "open", Path: p, Err: errReplaced}
	}
	ents, err := f.ReadDir(-1)
	slices.SortFunc(ents, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, err
}

// replaced reports whether the entry at p is no longer the one the walk
// saw as fi (a link, a pipe or another file or folder put in its place).
func replaced(p string, fi os.FileInfo) bool {
	now, err := os.Lstat(p)
	return err == nil && (entryType(now.Mode()) != entryType(fi.Mode()) || !sameFile(now, fi))
}

// sameEntry reports whether the opened f is the entry the walk saw as fi.
func sameEntry(f *os.File, fi os.FileInfo) bool {
	st, err := f.Stat()
	return err == nil && entryType(st.Mode()) == entryType(fi.Mode()) && sameFile(st, fi)
}

// folderBehind reports whether an irregular entry is a folder (Windows
// only: junctions and mount points).
func folderBehind(os.FileInfo) bool { return false }

// sameFile is os.SameFile through the stat data, so that a FileInfo the
// walk wrapped (regularInfo) still compares.
func sameFile(a, b os.FileInfo) bool {
	sa, ok1 := a.Sys().(*syscall.Stat_t)
	sb, ok2 := b.Sys().(*syscall.Stat_t)
	return ok1 && ok2 && sa.Dev == sb.Dev && sa.Ino == sb.Ino
}
