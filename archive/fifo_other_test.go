//go:build !unix

package archive

import "errors"

// Windows has no fifos (the lane runs this file's side under Wine).
const haveFifos = false

func mkfifo(string) error { return errors.New("no fifos on this system") }
