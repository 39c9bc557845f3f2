// Package testbin builds the lyncbackup binary once per test process so
// tests can run the real thing, and offers small helpers to run it.
package testbin

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"
)

var (
	once    sync.Once
	binPath string
	binErr  error
	binDir  string
)

// repoRoot finds the module root from this file's location.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// PrebuiltEnv names an already built lyncbackup binary to use instead of
// building one (scripts/wine/lane.sh sets it).
const PrebuiltEnv = "LYNCBACKUP_TEST_BIN"

// Cleanup removes the binary Path built in this process (a prebuilt one is
// left alone). Call it from TestMain after m.Run: each test process builds
// its own, ~40 MB in the temporary folder.
func Cleanup() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// Path returns the built binary, building it on first use.
func Path(t testing.TB) string {
	t.Helper()
	once.Do(func() {
		// The Windows test lane runs test binaries under Wine, where there
		// is no Go toolchain: it builds the binary beforehand and names it here.
		if p := os.Getenv(PrebuiltEnv); p != "" {
			binPath = p
			return
		}
		binDir, binErr = os.MkdirTemp("", "lyncbackup-bin-")
		if binErr != nil {
			return
		}
		name := "lyncbackup"
		if runtime.GOOS == "windows" {
			name += ".exe"
		}
		binPath = filepath.Join(binDir, name)
		cmd := exec.Command("go", "build", "-o", binPath, "./cmd/lyncbackup")
		cmd.Dir = repoRoot()
		out, err := cmd.CombinedOutput()
		if err != nil {
			binErr = &buildError{err, string(out)}
		}
	})
	if binErr != nil {
		t.Fatalf("build lyncbackup: %v", binErr)
	}
	return binPath
}

type buildError struct {
	err error
	out string
}

func (b *buildError) Error() string { return b.err.Error() + ": " + b.out }

// Result is one run of the binary.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// Start starts the command mk makes (the binary, built by Path). Under
// Wine (the Windows lane) CreateProcess now and then fails with "Internal
// error" under load; the binary did not start, so a fresh command from mk
// is started again, up to three times. Anywhere else a failed start is
// final. The last failure is returned.
func Start(t testing.TB, mk func() *exec.Cmd) (*exec.Cmd, error) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		cmd := mk()
		err := cmd.Start()
		if err == nil || os.Getenv(PrebuiltEnv) == "" || runtime.GOOS != "windows" || attempt == 3 {
			return cmd, err
		}
		t.Logf("start %v: %v (attempt %d, retrying)", cmd.Args, err, attempt)
	}
}

// Run runs the binary with args in dir (may be ""), extra env ("K=V"), and a timeout.
func Run(t testing.TB, dir string, env []string, args ...string) Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	var so, se bytes.Buffer
	cmd, err := Start(t, func() *exec.Cmd {
		cmd := exec.CommandContext(ctx, Path(t), args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), env...)
		cmd.Stdout, cmd.Stderr = &so, &se
		return cmd
	})
	if err == nil {
		err = cmd.Wait()
	}
	code := 0
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else {
			t.Fatalf("run lyncbackup %v: %v", args, err)
		}
	}
	return Result{Stdout: so.String(), Stderr: se.String(), Code: code}
}

// MustRun runs the binary and fails the test unless it exits 0.
func MustRun(t testing.TB, dir string, env []string, args ...string) Result {
	t.Helper()
	r := Run(t, dir, env, args...)
	if r.Code != 0 {
		t.Fatalf("lyncbackup %v: exit %d\nstdout: %s\nstderr: %s", args, r.Code, r.Stdout, r.Stderr)
	}
	return r
}
