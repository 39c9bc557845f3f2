//go:build windows

package main

import (
	"errors"
	"os"
	"syscall"
)

func interruptSignals() []os.Signal { return []os.Signal{os.Interrupt} }

// ignoreBrokenPipe: Windows has no SIGPIPE; a write to a closed pipe fails.
func ignoreBrokenPipe() {}

// brokenPipe: the reader of stdout went away (ERROR_BROKEN_PIPE, or
// ERROR_NO_DATA: the pipe is being closed).
func brokenPipe(err error) bool {
	return errors.Is(err, syscall.ERROR_BROKEN_PIPE) || errors.Is(err, syscall.Errno(232))
}
