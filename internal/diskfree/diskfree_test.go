package diskfree

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

// TestIsFull: a full disk is known by its code, wrapped as os wraps it;
// other write errors are not a full disk, also when the path or the text
// says "disk is full" (a folder so named that this account may not write
// was reported as a full disk, with the fix "free space on that disk").
func TestIsFull(t *testing.T) {
	for _, err := range []error{
		syscall.ENOSPC,
		&fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC},
		fmt.Errorf("write index spool: %w", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}),
	} {
		if !IsFull(err) {
			t.Errorf("IsFull(%v) = false", err)
		}
	}
	for _, err := range []error{
		nil, syscall.EACCES, &fs.PathError{Op: "open", Path: "x", Err: syscall.EROFS}, errors.New("space"),
		&fs.PathError{Op: "open", Path: "/tmp/d3/disk is full/staging/.lyncbackup-check-1", Err: syscall.EACCES},
		&fs.PathError{Op: "open", Path: "/srv/no space left/x", Err: syscall.EROFS},
		&fs.PathError{Op: "open", Path: `D:\quota exceeded\x`, Err: syscall.ENOENT},
	} {
		if IsFull(err) {
			t.Errorf("IsFull(%v) = true", err)
		}
	}
}

// TestFreeHere: the free space of a folder is read (Linux and Windows).
func TestFreeHere(t *testing.T) {
	n, err := Free(t.TempDir())
	if err != nil || n == 0 {
		t.Fatalf("Free = %d, %v", n, err)
	}
	if _, err := Free(t.TempDir() + "/none"); err == nil {
		t.Error("Free of a missing folder: no error")
	}
}
