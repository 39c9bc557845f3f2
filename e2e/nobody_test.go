package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testuser"
)

// asNobody is testuser.Unprivileged for a test of the binary: as root on
// Linux it runs the calling test again as nobody, with a copy of the
// binary root built (nobody can neither reach root's build folder nor
// build one without the module cache), and returns true: the caller
// returns at once. Elsewhere, and in that run, it returns false.
func asNobody(t *testing.T) bool {
	t.Helper()
	return testuser.UnprivilegedWith(t, func(dir string) []string {
		data, err := os.ReadFile(testbin.Path(t))
		if err != nil {
			t.Fatal(err)
		}
		bin := filepath.Join(dir, "lyncbackup")
		if err := os.WriteFile(bin, data, 0o755); err != nil {
			t.Fatal(err)
		}
		return []string{testbin.PrebuiltEnv + "=" + bin}
	})
}
