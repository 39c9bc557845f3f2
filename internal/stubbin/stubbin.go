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

// Cleanup removes the stand-ins built in this process (prebuilt ones are
// left alone). Call it from TestMain after m.Run.
func Cleanup() {
	mu.Lock()
	defer mu.Unlock()
	if dir != "" {
		os.RemoveAll(dir)
		dir, built = "", map[string]string{}
	}
}

func build(t testing.TB, pkg, name, prebuilt string) string {
	t.Helper()
	mu.Lock()
	defer mu.Unlock()
	if p, ok := built[pkg]; ok {
		return p
	}
	// The Windows test lane runs test binaries under Wine, where there is
	// no Go toolchain: it builds the stand-ins beforehand and names them.
	if p := os.Getenv(prebuilt); p != "" {
		built[pkg] = p
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

// The variables that name prebuilt stand-ins (scripts/wine/lane.sh sets them).
const (
	PowerShellEnv = "LYNCBACKUP_TEST_PSSTUB"
	SqlcmdEnv     = "LYNCBACKUP_TEST_SQLCMDSTUB"
)

// PowerShell returns the powershell.exe stand-in (named so on Windows).
func PowerShell(t testing.TB) string {
	return build(t, "./internal/psstub", stubName("psstub", "powershell"), PowerShellEnv)
}

// Sqlcmd returns the sqlcmd stand-in (sqlcmd.exe on Windows).
func Sqlcmd(t testing.TB) string {
	return build(t, "./internal/sqlcmdstub", stubName("sqlcmdstub", "sqlcmd"), SqlcmdEnv)
}

// stubName is the stand-in's file name: on Windows the real tool's, as a
// server has it (powershell.exe, sqlcmd.exe).
func stubName(unix, windows string) string {
	if runtime.GOOS == "windows" {
		return windows
	}
	return unix
}
