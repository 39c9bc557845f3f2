// Package golden keeps golden-file tests honest: a golden file that no test
// compares any more (its script, plan or unit was renamed or dropped) fails
// the package's run instead of lingering unnoticed.
package golden

import (
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
)

// Set records which golden files a package's tests compared.
type Set struct {
	mu   sync.Mutex
	used map[string]bool
}

// Use records that path was compared.
func (s *Set) Use(path string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.used == nil {
		s.used = map[string]bool{}
	}
	s.used[filepath.Clean(path)] = true
}

// Unused lists the files under dirs that no test compared.
func (s *Set) Unused(dirs ...string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, d := range dirs {
		filepath.WalkDir(d, func(p string, e fs.DirEntry, err error) error {
			if err == nil && e.Type().IsRegular() && !s.used[filepath.Clean(p)] {
				out = append(out, p)
			}
			return nil
		})
	}
	sort.Strings(out)
	return out
}

// fullRun reports whether every test of the package ran (no -run, -skip
// or -short filter): only then can a golden file be known to be unused.
func fullRun() bool {
	for _, name := range []string{"test.run", "test.skip"} {
		if f := flag.Lookup(name); f != nil && f.Value.String() != "" {
			return false
		}
	}
	return !testing.Short()
}

// Main runs the package's tests, then fails the run when a golden file
// under dirs was never compared; with update (the package's -update flag)
// it deletes those files instead. Call it from TestMain.
func Main(m *testing.M, s *Set, update *bool, dirs ...string) {
	os.Exit(Run(m, s, update, dirs...))
}

// Run is Main without the exit: it returns the code, for a TestMain that
// has more to do after the tests.
func Run(m *testing.M, s *Set, update *bool, dirs ...string) int {
	code := m.Run()
	if code == 0 && fullRun() {
		for _, p := range s.Unused(dirs...) {
			if *update {
				os.Remove(p)
				continue
			}
			fmt.Fprintf(os.Stderr, "FAIL: golden file %s is compared by no test (delete it, or run with -update)\n", p)
			code = 1
		}
	}
	return code
}
