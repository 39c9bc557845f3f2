package chunk

import (
	"os"
	"testing"
)

// unreadableKeyFile is a good key file of mode 000 and the cause the
// backup is to name. Root reads it anyway: the test runs as nobody
// (testuser.Unprivileged) and fails here if it was not.
func unreadableKeyFile(t *testing.T) (string, string) {
	t.Helper()
	p := writeGoodKey(t)
	if err := os.Chmod(p, 0); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.Chmod(p, 0o600) })
	if f, err := os.Open(p); err == nil {
		f.Close()
		t.Fatalf("uid %d reads a file of mode 000: run the test through testuser.Unprivileged", os.Geteuid())
	}
	return p, "this account has no read access to it (give the account running the backup read access to that file"
}

// keyFileBytes is the key file's content, read past its mode.
func keyFileBytes(t *testing.T, p string) []byte {
	t.Helper()
	os.Chmod(p, 0o600)
	defer os.Chmod(p, 0)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
