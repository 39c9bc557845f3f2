//go:build windows

package main

import (
	"errors"
	"os"
	"syscall"
)

// interruptSignals: Ctrl-C / Ctrl-Break, and SIGTERM, which Go delivers for
// a console window closed, a logoff and a shutdown (CTRL_CLOSE_EVENT,
// CTRL_LOGOFF_EVENT, CTRL_SHUTDOWN_EVENT). Not subscribed, Windows ended
// the process at once: a patch reboot during the backup window left no
// "run interrupted" record, no notification, no metrics, and its lease and
// marker in place. Subscribed, Go holds the event until the process exits,
// and Windows gives it a few seconds to clean up.
func interruptSignals() []os.Signal { return []os.Signal{os.Interrupt, syscall.SIGTERM} }

// ignoreBrokenPipe: Windows has no SIGPIPE; a write to a closed pipe fails.
func ignoreBrokenPipe() {}

// brokenPipe: the reader of stdout went away (ERROR_BROKEN_PIPE, or
// ERROR_NO_DATA: the pipe is being closed).
func brokenPipe(err error) bool {
	return errors.Is(err, syscall.ERROR_BROKEN_PIPE) || errors.Is(err, syscall.Errno(232))
}
