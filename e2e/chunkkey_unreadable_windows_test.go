package e2e

import (
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// unreadableKey holds the key file open sharing nothing (as an antivirus
// scan may): the cause and fix check names, and how to let go.
func unreadableKey(t *testing.T, p string) (cause, fix string, release func()) {
	t.Helper()
	_, release = testenv.HoldNoShare(t, p)
	return "another process holds it open (an antivirus scan, a backup or copy program, an editor)",
		"close the program that holds " + p + " open, or wait until it lets go (exclude the staging folder from on-access scans); keep the file: a new key would lose deduplication against older chunks", release
}
