//go:build windows

package archive

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"unsafe"

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

// readDir lists the folder the walk saw as fi, in name order, through a
// handle that is that folder: it is opened without following a reparse
// point, and a link, junction or mount point found there (put in place of
// the folder since the walk looked) is refused, never listed: its target's
// files would be packed under the folder's name. A path ending in a
// separator is a root the user named through a link or junction, and is
// followed, as on other systems. A folder that is a reparse point of
// another kind (a cloud-files placeholder: no name surrogate) is listed by
// path, as before, so that its filter can fill it.
func readDir(p string, fi os.FileInfo) ([]os.DirEntry, error) {
	follow := strings.HasSuffix(p, string(filepath.Separator))
	f, err := openFolder(p, follow)
	if err != nil {
		if replaced(p, fi) {
			return nil, &os.PathError{Op: "open", Path: p, Err: errReplaced}
		}
		return nil, err
	}
	defer f.Close()
	var ti fileAttributeTagInfo
	if err := windows.GetFileInformationByHandleEx(windows.Handle(f.Fd()), windows.FileAttributeTagInfo,
		(*byte)(unsafe.Pointer(&ti)), uint32(unsafe.Sizeof(ti))); err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	if ti.FileAttributes&windows.FILE_ATTRIBUTE_DIRECTORY == 0 {
		return nil, &os.PathError{Op: "open", Path: p, Err: errReplaced}
	}
	if ti.FileAttributes&windows.FILE_ATTRIBUTE_REPARSE_POINT != 0 {
		if nameSurrogate(ti.ReparseTag) {
			return nil, &os.PathError{Op: "open", Path: p, Err: errReplaced}
		}
		return os.ReadDir(p)
	}
	ents, err := f.ReadDir(-1)
	slices.SortFunc(ents, func(a, b os.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return ents, err
}

// fileAttributeTagInfo is FILE_ATTRIBUTE_TAG_INFO.
type fileAttributeTagInfo struct {
	FileAttributes uint32
	ReparseTag     uint32
}

// nameSurrogate reports whether a reparse tag names another file or folder
// (a symbolic link, junction or mount point: IsReparseTagNameSurrogate).
func nameSurrogate(tag uint32) bool { return tag&0x20000000 != 0 }

// openFolder opens a folder for listing, sharing everything (Lync may
// rename or delete in it meanwhile); without follow, a reparse point there
// is opened itself, not its target.
func openFolder(p string, follow bool) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(longPath(p))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	flags := uint32(windows.FILE_FLAG_BACKUP_SEMANTICS)
	if !follow {
		flags |= windows.FILE_FLAG_OPEN_REPARSE_POINT
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, flags, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	return os.NewFile(uintptr(h), p), nil
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
