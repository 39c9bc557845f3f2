// Package oserr classifies the errors of the operating system by their
// code (errno, Windows' ERROR_*), never by their text: the text is the
// system's, in the system's language ("Das System kann die angegebene
// Datei nicht finden.", "Accès refusé."), and names the path, which may
// hold any words. Every caller passes an error that wraps the os package's
// (*fs.PathError, *os.SyscallError, syscall.Errno).
package oserr

import (
	"errors"
	"io/fs"
	"syscall"
)

// Missing reports a file or folder that is not there (ENOENT; Windows'
// ERROR_FILE_NOT_FOUND, ERROR_PATH_NOT_FOUND). Go also counts Windows'
// ERROR_BAD_NETPATH ("the network path was not found": the server of
// \\nas\backups is down or its name does not resolve) as not existing;
// that is the server being away, not the file, and is not Missing.
func Missing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) && !NetPathDown(err)
}

// NetPathDown reports Windows' ERROR_BAD_NETPATH: the server of a UNC
// path cannot be reached (false elsewhere).
func NetPathDown(err error) bool { return netPathDown(err) }

// ServerAway is what to say of a path for which NetPathDown holds, after
// the path: the server may well hold it, and "does not exist" would send
// the admin to fix a path that is right.
const ServerAway = "its server cannot be reached (the network path was not found: the server is down or off the network, or its name does not resolve from this machine)"

// Held reports a file another process holds open in a way that keeps
// this one out: Windows' ERROR_SHARING_VIOLATION (opened without sharing
// reads, as an antivirus scan or a copy program may) and
// ERROR_LOCK_VIOLATION (a locked range). It passes when that process
// lets go; Go counts neither as a permission error (false elsewhere).
func Held(err error) bool { return held(err) }

// Denied reports a refusal for want of rights: EACCES, EPERM, Windows'
// ERROR_ACCESS_DENIED.
func Denied(err error) bool { return errors.Is(err, fs.ErrPermission) }

// ReadOnly reports a write refused because the file system or medium
// takes none: EROFS, Windows' ERROR_WRITE_PROTECT (which Go does not
// count as a permission error).
func ReadOnly(err error) bool { return errors.Is(err, syscall.EROFS) || writeProtected(err) }
