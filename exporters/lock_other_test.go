//go:build !windows

package exporters

import "errors"

// lockFile: Unix has no mandatory sharing modes; the tests that need a
// locked file run on Windows (the Wine lane).
func lockFile(string) (func(), error) {
	return nil, errors.New("no exclusive file locks on this system")
}
