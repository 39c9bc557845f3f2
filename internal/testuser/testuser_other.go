//go:build !linux

package testuser

import "testing"

// Unprivileged returns false: the test goes on as it runs. Windows'
// read-only attribute binds administrators too; a root run elsewhere
// proves less.
func Unprivileged(t *testing.T) bool { return false }

// UnprivilegedWith returns false, as Unprivileged; prepare is not called.
func UnprivilegedWith(t *testing.T, prepare func(dir string) []string) bool { return false }
