package config

import (
	"errors"
	"io/fs"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/windows"
)

// TestLoadNetPathDown: a config file on a share whose server is away
// (ERROR_BAD_NETPATH, which Go counts as not existing) is not "file not
// found": that sends the admin to fix --config, which is right. The error
// keeps the system's, for check's fix. A file not found is still so.
func TestLoadNetPathDown(t *testing.T) {
	t.Cleanup(func() { openFile = os.Open })
	p := `\\fs01.contoso.com\LyncBackup\lyncbackup.yaml`
	openFile = func(string) (*os.File, error) {
		return nil, &fs.PathError{Op: "open", Path: p, Err: windows.ERROR_BAD_NETPATH}
	}
	_, err := Load(p)
	var ce *Error
	if err == nil || err.Error() != "config "+p+": its server cannot be reached (the network path was not found: the server is down or off the network, or its name does not resolve from this machine)" ||
		!errors.As(err, &ce) || !errors.Is(ce.Err, windows.ERROR_BAD_NETPATH) {
		t.Errorf("server away: %v", err)
	}
	openFile = func(string) (*os.File, error) {
		return nil, &fs.PathError{Op: "open", Path: p, Err: windows.ERROR_PATH_NOT_FOUND}
	}
	if _, err := Load(p); err == nil || !strings.Contains(err.Error(), "file not found") {
		t.Errorf("not found: %v", err)
	}
}
