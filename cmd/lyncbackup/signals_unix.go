//go:build !windows

package main

import (
	"errors"
	"os"
	"os/signal"
	"syscall"
)

func interruptSignals() []os.Signal { return []os.Signal{os.Interrupt, syscall.SIGTERM} }

// ignoreBrokenPipe: a closed stdout or stderr (`lyncbackup backup | head`)
// makes writes fail with EPIPE instead of killing the process by SIGPIPE
// between its commit and its prune, metrics and notifications.
func ignoreBrokenPipe() { signal.Ignore(syscall.SIGPIPE) }

// brokenPipe: the reader of stdout went away.
func brokenPipe(err error) bool { return errors.Is(err, syscall.EPIPE) }
