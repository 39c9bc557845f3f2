//go:build !linux && !windows

package e2e

import "testing"

func unreadableKey(t *testing.T, p string) (cause, fix string, release func()) {
	t.Skip("no unreadable key file to test with here")
	return "", "", nil
}
