package e2e

import (
	"os"
	"testing"
)

// unreadableKey takes read access to the key file from this account (mode
// 000): the cause and fix check names, and how to give it back. Root
// reads it anyway: the test runs as nobody (asNobody) and fails here if
// it was not.
func unreadableKey(t *testing.T, p string) (cause, fix string, release func()) {
	t.Helper()
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	release = func() { os.Chmod(p, 0o600) }
	t.Cleanup(release)
	if f, err := os.Open(p); err == nil {
		f.Close()
		t.Fatalf("uid %d reads a file of mode 000: run the test through asNobody", os.Geteuid())
	}
	return "this account has no read access to it",
		"give the account running the backup read access to " + p + "; keep the file: a new key would lose deduplication against older chunks", release
}
