package netdrive

import (
	"testing"

	"golang.org/x/sys/windows"
)

func TestMapped(t *testing.T) {
	old := driveType
	defer func() { driveType = old }()
	driveType = func(root string) uint32 {
		if root == `Z:\` {
			return windows.DRIVE_REMOTE
		}
		return windows.DRIVE_FIXED
	}
	for _, c := range []struct {
		path  string
		drive string
		ok    bool
	}{
		{`Z:\LyncBackup\staging`, "Z:", true},
		{`z:\x`, "z:", false}, // the stand-in knows Z: only
		{`D:\LyncBackup`, "", false},
		{`\\nas\backups`, "", false},
		{`relative\path`, "", false},
	} {
		d, ok := Mapped(c.path)
		if ok != c.ok || (ok && d != c.drive) {
			t.Errorf("Mapped(%q) = %q, %v", c.path, d, ok)
		}
	}
}
