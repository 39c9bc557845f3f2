//go:build !linux && !windows

package chunk

import "testing"

func readOnlyEmptyKey(t *testing.T) string {
	t.Skip("this account can write a read-only file: no unwritable key file to test with")
	return ""
}
