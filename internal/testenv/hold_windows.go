package testenv

import (
	"testing"

	"golang.org/x/sys/windows"
)

// HoldNoShare opens path for reading sharing nothing, as an antivirus scan
// or another program may hold a file: until release (or the test's end)
// every other open of it is a sharing violation. The handle reads the
// file for the test.
func HoldNoShare(t testing.TB, path string) (h windows.Handle, release func()) {
	t.Helper()
	name, err := windows.UTF16PtrFromString(path)
	if err != nil {
		t.Fatal(err)
	}
	h, err = windows.CreateFile(name, windows.GENERIC_READ, 0, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	release = func() {
		if !closed {
			windows.CloseHandle(h)
			closed = true
		}
	}
	t.Cleanup(release)
	return h, release
}
