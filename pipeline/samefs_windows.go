//go:build windows

package pipeline

import (
	"os"

	"golang.org/x/sys/windows"
)

// fsWord names what a rename cannot cross, in the refusal's words.
const fsWord = "volume"

// otherFilesystem reports whether the folder item is on another volume
// than dir: a volume mounted into the folder (or a junction to a folder of
// another volume), across which MoveFileEx refuses to move a folder
// (ERROR_NOT_SAME_DEVICE). Both are opened as a rename meets them,
// following a mount point, and compared by their volume's serial number
// (GetFileInformationByHandle). False when either cannot be read: the
// restore then reports that itself.
func otherFilesystem(dir, item string) bool {
	d, err1 := volumeSerial(dir)
	i, err2 := volumeSerial(item)
	return err1 == nil && err2 == nil && d != i
}

// volumeSerial is the serial number of the volume that holds p (p
// followed through a mount point or junction).
func volumeSerial(p string) (uint32, error) {
	name, err := windows.UTF16PtrFromString(fixLongPath(p))
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: p, Err: err}
	}
	h, err := windows.CreateFile(name, windows.FILE_READ_ATTRIBUTES,
		windows.FILE_SHARE_READ|windows.FILE_SHARE_WRITE|windows.FILE_SHARE_DELETE, nil,
		windows.OPEN_EXISTING, windows.FILE_FLAG_BACKUP_SEMANTICS, 0)
	if err != nil {
		return 0, &os.PathError{Op: "open", Path: p, Err: err}
	}
	defer windows.CloseHandle(h)
	var info windows.ByHandleFileInformation
	if err := windows.GetFileInformationByHandle(h, &info); err != nil {
		return 0, &os.PathError{Op: "GetFileInformationByHandle", Path: p, Err: err}
	}
	return info.VolumeSerialNumber, nil
}
