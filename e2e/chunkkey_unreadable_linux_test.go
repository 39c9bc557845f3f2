package e2e

import (
	"os"
	"testing"
)

// unreadableKey takes read access to the key file from this account (mode
// 000; root reads it anyway: skipped): the cause and fix check names, and
// how to give it back.
func unreadableKey(t *testing.T, p string) (cause, fix string, release func()) {
	t.Helper()
	if os.Geteuid() == 0 {
		t.Skip("root reads a file of mode 000")
	}
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	release = func() { os.Chmod(p, 0o600) }
	t.Cleanup(release)
	return "this account has no read access to it",
		"give the account running the backup read access to " + p + "; keep the file: a new key would lose deduplication against older chunks", release
}
