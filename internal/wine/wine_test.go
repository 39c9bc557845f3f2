package wine

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const self = "github.com/lyncbackup/lyncbackup/internal/wine"

// deps lists the packages the Windows build of cmd/lyncbackup links, with
// the given extra go list flags.
func deps(t *testing.T, flags ...string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		// Under Wine (scripts/wine/lane.sh) there is no Go toolchain; the
		// Linux run of this test is the one that guards release builds.
		t.Skip("no go toolchain here:", err)
	}
	_, file, _, _ := runtime.Caller(0)
	args := append([]string{"list", "-deps"}, flags...)
	cmd := exec.Command(goBin, append(args, "./cmd/lyncbackup")...)
	cmd.Dir = filepath.Join(filepath.Dir(file), "..", "..")
	cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0", "GOFLAGS=")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, out)
	}
	return string(out)
}

// TestReleaseBuildHasNoWineShim: the release build of lyncbackup.exe (no
// build tags) does not contain this package, and only -tags wine brings it
// in. (A second guard: with the tag but without -ldflags=-checklinkname=0
// the link fails on the go:linkname.)
func TestReleaseBuildHasNoWineShim(t *testing.T) {
	if has := strings.Contains(deps(t), self+"\n"); has {
		t.Fatalf("GOOS=windows go build ./cmd/lyncbackup links %s: the Wine shim would ship", self)
	}
	if has := strings.Contains(deps(t, "-tags", "wine"), self+"\n"); !has {
		t.Fatalf("-tags wine does not bring %s in: the lane would run without Go's delete fallback", self)
	}
}

// TestRemoveAllWorks is what the shim is for: under Wine 8 os.RemoveAll
// fails with "Invalid function" without it.
func TestRemoveAllWorks(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "a", "b")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "f"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(dir, "a")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "a")); !os.IsNotExist(err) {
		t.Fatalf("still there: %v", err)
	}
}
