package exporters

import (
	"io/fs"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestCheckStagingNetPathDown: a staging folder on a share whose server is
// away (ERROR_BAD_NETPATH) is said unreachable, and check's fix is to make
// the server reachable, not to set staging: to another folder: the host's
// chunk key is kept there, and another folder means a new key and every
// chunk uploaded again.
func TestCheckStagingNetPathDown(t *testing.T) {
	t.Cleanup(func() { makeStaging = os.MkdirAll })
	dir := `\\fs01.contoso.com\LyncBackup\staging`
	makeStaging = func(p string, _ fs.FileMode) error {
		return &fs.PathError{Op: "mkdir", Path: p, Err: windows.ERROR_BAD_NETPATH}
	}
	p := checkStaging(dir, true)
	if p.OK || p.Detail != dir+": its server cannot be reached (the network path was not found: the server is down or off the network, or its name does not resolve from this machine)" ||
		strings.Contains(p.Fix, "set staging") || !strings.Contains(p.Fix, "reachable") {
		t.Errorf("server away: %+v", p)
	}
	makeStaging = func(p string, _ fs.FileMode) error {
		return &fs.PathError{Op: "mkdir", Path: p, Err: windows.ERROR_ACCESS_DENIED}
	}
	if p := checkStaging(dir, true); p.OK || !strings.HasPrefix(p.Fix, "set staging:") {
		t.Errorf("access denied: %+v", p)
	}
}
