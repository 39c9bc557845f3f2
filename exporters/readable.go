package exporters

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/lyncbackup/lyncbackup/internal/oserr"
)

// errUnreadable marks a path that exists but cannot be read (permission,
// a lock): on_unreadable decides what that does.
var errUnreadable = errors.New("cannot be read")

type unreadableError struct{ msg string }

func (e unreadableError) Error() string        { return e.msg }
func (e unreadableError) Is(target error) bool { return target == errUnreadable }

// statPath is os.Stat (tests put the errors of a share whose server is
// away in its place).
var statPath = os.Stat

// checkReadable fails with one clear sentence if p cannot be read.
func checkReadable(p string) error {
	fi, err := statPath(p)
	if err != nil {
		if oserr.NetPathDown(err) {
			// Go counts ERROR_BAD_NETPATH as not existing: the share's
			// server is away, the path may well be there.
			return fmt.Errorf("path %s: %s", p, oserr.ServerAway)
		}
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("path %s does not exist", p)
		}
		if errors.Is(err, fs.ErrPermission) {
			return unreadableError{fmt.Sprintf("path %s: permission denied", p)}
		}
		return fmt.Errorf("path %s: %v", p, err)
	}
	if fi.IsDir() {
		d, err := os.Open(p)
		if err == nil {
			_, err = d.ReadDir(1)
			d.Close()
		}
		if err != nil && !errors.Is(err, io.EOF) {
			return unreadableError{fmt.Sprintf("folder %s cannot be read: %v", p, unwrapPathErr(err))}
		}
		return nil
	}
	if !fi.Mode().IsRegular() {
		// Opening a FIFO would block forever, and a device is never what
		// an admin meant to back up.
		return fmt.Errorf("path %s is not a regular file or folder (%s)", p, fi.Mode().Type())
	}
	f, err := os.Open(p)
	if err != nil {
		return unreadableError{fmt.Sprintf("file %s cannot be read: %v", p, unwrapPathErr(err))}
	}
	return f.Close()
}

func unwrapPathErr(err error) error {
	if oserr.NetPathDown(err) {
		// "The network path was not found." reads as a wrong path.
		return serverAway{err}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// serverAway is an error of a share whose server cannot be reached, in
// those words.
type serverAway struct{ err error }

func (e serverAway) Error() string { return oserr.ServerAway }
func (e serverAway) Unwrap() error { return e.err }
