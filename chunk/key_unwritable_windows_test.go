package chunk

import (
	"os"
	"testing"

	"golang.org/x/sys/windows"
)

// readOnlyEmptyKey makes an empty, hour-old key file that another handle
// holds open sharing reads only, so that no one may open it for writing
// (a stand-in for a file another account owns: the read-only attribute
// does not stop an administrator under Wine).
func readOnlyEmptyKey(t *testing.T) string {
	t.Helper()
	p := KeyFile(t.TempDir(), host)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	aged(t, p)
	name, err := windows.UTF16PtrFromString(p)
	if err != nil {
		t.Fatal(err)
	}
	h, err := windows.CreateFile(name, windows.GENERIC_READ, windows.FILE_SHARE_READ, nil, windows.OPEN_EXISTING, windows.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { windows.CloseHandle(h) })
	if f, err := os.OpenFile(p, os.O_RDWR, 0); err == nil {
		f.Close()
		t.Skip("a file held open sharing reads only opens for writing here")
	}
	return p
}
