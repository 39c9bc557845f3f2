package exporters

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/golden"
	"github.com/lyncbackup/lyncbackup/internal/stubbin"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

var goldens golden.Set

// TestMain fails the run on golden scripts and plans no test compared.
// (testdata/e2e-plan.golden belongs to the e2e package.)
// On Windows the goldens are testdata/ps-windows and plan-windows (C:\ paths).
// The test binary may also be started as a helper program (helper_test.go).
func TestMain(m *testing.M) {
	helperMain()
	code := golden.Run(m, &goldens, update, filepath.Join("testdata", goldenDir("ps")), filepath.Join("testdata", goldenDir("plan")))
	testbin.Cleanup()
	stubbin.Cleanup()
	os.Exit(code)
}
