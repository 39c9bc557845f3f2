package e2e

import (
	"testing"

	"golang.org/x/sys/windows"
)

// unreadableKey holds the key file open sharing nothing (as an antivirus
// scan may): the cause and fix check names, and how to let go.
func unreadableKey(t *testing.T, p string) (cause, fix string, release func()) {
	t.Helper()
	name, err := windows.UTF16PtrFromString(p)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ, 0, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
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
	return "another process holds it open (an antivirus scan, a backup or copy program, an editor)",
		"close the program that holds " + p + " open, or wait until it lets go (exclude the staging folder from on-access scans); keep the file: a new key would lose deduplication against older chunks", release
}
