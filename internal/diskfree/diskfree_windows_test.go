package diskfree

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"golang.org/x/sys/windows"
)

// TestIsFullWindows: Windows' codes for a full disk and a spent quota,
// wrapped as os wraps them, are a full disk; a path that says so is not.
func TestIsFullWindows(t *testing.T) {
	for _, errno := range []syscall.Errno{windows.ERROR_DISK_FULL, windows.ERROR_HANDLE_DISK_FULL, windows.ERROR_DISK_QUOTA_EXCEEDED} {
		if err := fmt.Errorf("stage: %w", &fs.PathError{Op: "write", Path: `C:\x`, Err: errno}); !IsFull(err) {
			t.Errorf("IsFull(%v) = false", err)
		}
	}
	if err := (&fs.PathError{Op: "open", Path: `C:\The disk is full\x`, Err: windows.ERROR_ACCESS_DENIED}); IsFull(err) {
		t.Errorf("IsFull(%v) = true", err)
	}
}
