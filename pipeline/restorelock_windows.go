//go:build windows

package pipeline

import (
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/windows"
)

// openLockFile opens (creating it) the restore lock file p without
// following a reparse point (symlink, junction) in its place:
// FILE_FLAG_OPEN_REPARSE_POINT opens the link itself, which is then
// refused. Access and sharing are os.OpenFile's (read and write shared,
// not delete: the file is removed only once closed).
func openLockFile(p string) (*os.File, error) {
	name, err := windows.UTF16PtrFromString(fixLongPath(p))
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ|windows.GENERIC_WRITE,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE, nil, windows.OPEN_ALWAYS,
		windows.FILE_ATTRIBUTE_NORMAL|windows.FILE_FLAG_OPEN_REPARSE_POINT, 0)
	if err != nil {
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		windows.CloseHandle(h)
		return nil, &os.PathError{Op: "open", Path: p, Err: err}
	}
	if info.FileAttributes&(windows.FILE_ATTRIBUTE_REPARSE_POINT|windows.FILE_ATTRIBUTE_DIRECTORY) != 0 {
		windows.CloseHandle(h)
		return nil, errNotPlain(p)
	}
	return os.NewFile(uintptr(h), p), nil
}

// fixLongPath gives CreateFile a path past MAX_PATH in its \\?\ form, as
// os does for its own calls (a restore folder may be deep).
func fixLongPath(p string) string {
	if len(p) < 248 || strings.HasPrefix(p, `\\?\`) {
		return p
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	if strings.HasPrefix(abs, `\\`) {
		return `\\?\UNC\` + abs[2:]
	}
	return `\\?\` + abs
}
