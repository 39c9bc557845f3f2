package schedule

import (
	"testing"

	goldenfiles "github.com/lyncbackup/lyncbackup/internal/golden"
)

var goldens goldenfiles.Set

// TestMain fails the run on golden files no test compared.
func TestMain(m *testing.M) { goldenfiles.Main(m, &goldens, update, "testdata") }
