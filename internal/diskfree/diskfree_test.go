package diskfree

import (
	"errors"
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

// TestIsFull: a full disk is known by its code, wrapped as os wraps it,
// and by the messages that stand for it once only text is left (Windows'
// included); other write errors are not a full disk.
func TestIsFull(t *testing.T) {
	for _, err := range []error{
		syscall.ENOSPC,
		&fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC},
		fmt.Errorf("write index spool: %w", &fs.PathError{Op: "write", Path: "x", Err: syscall.ENOSPC}),
		errors.New("write x: There is not enough space on the disk."),
		errors.New("write x: The disk is full."),
		errors.New("write x: disk quota exceeded"),
	} {
		if !IsFull(err) {
			t.Errorf("IsFull(%v) = false", err)
		}
	}
	for _, err := range []error{nil, syscall.EACCES, &fs.PathError{Op: "open", Path: "x", Err: syscall.EROFS}, errors.New("space")} {
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
