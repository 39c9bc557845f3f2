//go:build windows

package exporters

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestCheckReadableNetPathDown: a share whose server is away
// (ERROR_BAD_NETPATH, which Go counts as not existing) is said to be
// unreachable, not missing: "does not exist" sends the admin to fix a
// path that is right. A path not found is still missing.
func TestCheckReadableNetPathDown(t *testing.T) {
	t.Cleanup(func() { statPath = os.Stat })
	p := `\\fs01.contoso.com\LyncShare`
	statPath = func(string) (fs.FileInfo, error) {
		return nil, &fs.PathError{Op: "CreateFile", Path: p, Err: windows.ERROR_BAD_NETPATH}
	}
	err := checkReadable(p)
	if err == nil || !strings.Contains(err.Error(), "its server cannot be reached") || strings.Contains(err.Error(), "does not exist") {
		t.Errorf("server away: %v", err)
	}
	statPath = func(string) (fs.FileInfo, error) {
		return nil, &fs.PathError{Op: "CreateFile", Path: p, Err: windows.ERROR_PATH_NOT_FOUND}
	}
	if err := checkReadable(p); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("path not found: %v", err)
	}
}
