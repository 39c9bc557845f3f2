//go:build windows

package archive

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// openEntry opens a file the walk found, sharing delete too: while a large
// file-store file is read, Lync may still rename or delete it (os.Open
// shares read and write only, and the service got a sharing violation).
// Backup semantics let an account with the backup privilege read what its
// ACLs alone would not. A reparse point is followed as os.Open follows it:
// opening the point itself would read a deduplicated or cloud-tiered
// file's stub, not its data. The caller checks, after the open, that the
// path is still the entry the walk saw (a link put in its place since is
// refused).
func openEntry(p string) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(longPath(p))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(h), p), nil
}

// longPath gives an absolute path of MAX_PATH or more the \\?\ prefix
// CreateFile needs for it (os.Open does the same inside).
func longPath(p string) string {
	if len(p) < 248 || !filepath.IsAbs(p) || strings.HasPrefix(p, `\\?\`) {
		return p
	}
	p = filepath.Clean(p)
	if strings.HasPrefix(p, `\\`) {
		return `\\?\UNC\` + p[2:]
	}
	return `\\?\` + p
}

// readDir lists the folder the walk saw as fi, in name order. On Windows
// it is read by path after a look that it is still that folder (not a
// junction put in its place): the window between the two is left.
func readDir(p string, fi os.FileInfo) ([]os.DirEntry, error) {
	if replaced(p, fi) {
		return nil, &os.PathError{Op: "open", Path: p, Err: errReplaced}
	}
	return os.ReadDir(p)
}
