package main

import (
	"io/fs"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/lyncbackup/lyncbackup/config"
)

// TestConfigFixNetPathDown: check's fix for a config file on a share whose
// server is away (ERROR_BAD_NETPATH, which Go counts as not existing) is
// not to create the file, which may well be there; for one not found it
// is.
func TestConfigFixNetPathDown(t *testing.T) {
	p := `\\fs01.contoso.com\LyncBackup\lyncbackup.yaml`
	cerr := func(code windows.Errno) error {
		return &config.Error{File: p, Msg: "…", Err: &fs.PathError{Op: "open", Path: p, Err: code}}
	}
	if fix := configFix(cerr(windows.ERROR_BAD_NETPATH)); strings.Contains(fix, "create") || !strings.Contains(fix, "reachable") {
		t.Errorf("server away: %q", fix)
	}
	if fix := configFix(cerr(windows.ERROR_PATH_NOT_FOUND)); !strings.HasPrefix(fix, "create the config file") {
		t.Errorf("not found: %q", fix)
	}
}
