//go:build !linux && !windows

package chunk

import "testing"

func unreadableKeyFile(t *testing.T) (string, string) {
	t.Skip("no unreadable key file to test with here")
	return "", ""
}

func keyFileBytes(t *testing.T, p string) []byte { return nil }
