package chunk

import (
	"os"
	"syscall"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// readOnlyEmptyKey makes an empty, hour-old key file in a small tmpfs
// mounted read-only (needs root: skipped otherwise).
func readOnlyEmptyKey(t *testing.T) string {
	t.Helper()
	dir := testenv.Tmpfs(t, "1m")
	p := KeyFile(dir, host)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	aged(t, p)
	if err := syscall.Mount("", dir, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount the tmpfs read-only: %v", err)
	}
	return p
}
