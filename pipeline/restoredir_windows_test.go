package pipeline

import (
	"io/fs"
	"os"
	"testing"

	"golang.org/x/sys/windows"
)

// TestCheckRestoreDirNetPathDown: a restore folder on a share whose server
// is away (ERROR_BAD_NETPATH, which Go counts as not existing) is not a
// folder to create: the restore stops with one line saying the server
// cannot be reached. It was taken for a missing folder and the check let
// the restore go on. A folder not found is still one to create.
func TestCheckRestoreDirNetPathDown(t *testing.T) {
	t.Cleanup(func() { statRestoreDir = os.Stat })
	dir := `\\fs01.contoso.com\Restore\fe01`
	statRestoreDir = func(p string) (fs.FileInfo, error) {
		return nil, &fs.PathError{Op: "CreateFile", Path: p, Err: windows.ERROR_BAD_NETPATH}
	}
	for _, force := range []bool{true, false} {
		err := CheckRestoreDir(dir, []string{"alpha"}, force, "", "")
		if err == nil || err.Error() != `restore folder \\fs01.contoso.com\Restore\fe01: its server cannot be reached (the network path was not found: the server is down or off the network, or its name does not resolve from this machine)` {
			t.Errorf("force %v: %v", force, err)
		}
	}
	statRestoreDir = func(p string) (fs.FileInfo, error) {
		return nil, &fs.PathError{Op: "CreateFile", Path: p, Err: windows.ERROR_PATH_NOT_FOUND}
	}
	if err := CheckRestoreDir(dir, []string{"alpha"}, false, "", ""); err != nil {
		t.Errorf("a folder not found: %v", err)
	}
}
