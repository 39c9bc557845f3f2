// Package stubbin builds the test stand-ins (internal/psstub for
// powershell.exe, internal/sqlcmdstub for sqlcmd) once per test process.
package stubbin

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

var (
	mu    sync.Mutex
	built = map[string]string{}
	dir   string
)

func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

func build(t testing.TB, pkg, name string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	if dir == "" {
		d, err := os.MkdirTemp("", "lyncbackup-stubs-")
		if err != nil {
			t.Fatal(err)
		}
		dir = d
	}
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	out := filepath.Join(dir, name)
	cmd := exec.Command("go", "build", "-o", out, pkg)
	cmd.Dir = repoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", pkg, err, b)
	}
	built[pkg] = out
	return out
}

// PowerShell returns the powershell.exe stand-in.
func PowerShell(t testing.TB) string { return build(t, "./internal/psstub", "psstub") }

// Sqlcmd returns the sqlcmd stand-in.
func Sqlcmd(t testing.TB) string { return build(t, "./internal/sqlcmdstub", "sqlcmdstub") }
