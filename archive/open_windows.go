//go:build windows

package archive

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"

	"golang.org/x/sys/windows"
)

// openEntry opens a file the walk found, sharing delete too: while a large
// file-store file is read, Lync may still rename or delete it (os.Open
// shares read and write only, and the service got a sharing violation).
// Backup semantics are what Windows' backup tools open with (needed to open
// a folder; they bypass ACLs only for an account whose SeBackupPrivilege is
// enabled, which lyncbackup does not do). A reparse point is followed as os.Open follows it:
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

// replaced reports whether the entry at p is no longer of the kind the walk
// saw as fi (a link or junction put in place of a file or folder). Only the
// kinds are compared: os.SameFile loads file ids by opening the path as
// given, without the \\?\ prefix, and on Windows Server 2016 (before build
// 15063, where Go does not use long paths) that fails for a path of 260
// characters or more, which would have skipped every deep file as replaced.
func replaced(p string, fi os.FileInfo) bool {
	now, err := os.Lstat(p)
	return err == nil && entryType(now.Mode()) != entryType(fi.Mode())
}

// sameEntry reports whether the opened f is of the kind the walk saw as fi
// (a file opened through a link put in its place is still refused by
// replaced, which sees the link).
func sameEntry(f *os.File, fi os.FileInfo) bool {
	st, err := f.Stat()
	return err == nil && entryType(st.Mode()) == entryType(fi.Mode())
}

// folderBehind reports whether an irregular entry is a folder: a junction
// or a volume mounted into a folder carries the directory attribute; a
// WOF-compressed or tiered file does not.
func folderBehind(fi os.FileInfo) bool {
	d, ok := fi.Sys().(*syscall.Win32FileAttributeData)
	return !ok || d.FileAttributes&syscall.FILE_ATTRIBUTE_DIRECTORY != 0
}
