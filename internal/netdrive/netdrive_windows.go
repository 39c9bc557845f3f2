//go:build windows

package netdrive

import "golang.org/x/sys/windows"

// driveType is windows.GetDriveType; tests replace it.
var driveType = func(root string) uint32 {
	p, err := windows.UTF16PtrFromString(root)
	if err != nil {
		return windows.DRIVE_UNKNOWN
	}
	return windows.GetDriveType(p)
}

func isRemote(root string) bool { return driveType(root) == windows.DRIVE_REMOTE }
