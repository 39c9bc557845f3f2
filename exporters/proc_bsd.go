//go:build !linux && !windows

package exporters

import "syscall"

// setPdeathsig: only Linux has a parent-death signal; the reaper's pipe
// does the same job elsewhere.
func setPdeathsig(*syscall.SysProcAttr, syscall.Signal) {}
