package exporters

import (
	"path/filepath"
	"runtime"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/golden"
)

var goldens golden.Set

// TestMain fails the run on golden scripts and plans no test compared.
// (testdata/e2e-plan.golden belongs to the e2e package.)
// On Windows the golden tests skip (the goldens hold Unix paths).
func TestMain(m *testing.M) {
	var dirs []string
	if runtime.GOOS != "windows" {
		dirs = []string{filepath.Join("testdata", "ps"), filepath.Join("testdata", "plan")}
	}
	golden.Main(m, &goldens, update, dirs...)
}
