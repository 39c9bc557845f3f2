//go:build !windows

package oserr

import "syscall"

const (
	codeDenied   = syscall.EACCES
	codeMissing  = syscall.ENOENT
	codeReadOnly = syscall.EROFS
	codeFull     = syscall.ENOSPC
)
