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
