// Package durable flushes what a restore writes to the disk, when asked
// (restore --sync: Enable), so that a power loss after the restore said it
// was done finds the restored files whole: File flushes a file's data
// (fsync; FlushFileBuffers on Windows), Dir a folder's entries (fsync on
// the folder; a no-op on Windows, which cannot flush a folder: NTFS logs
// the names in its journal), and Rename is os.Rename. A restore flushes
// every file and folder it wrote before it renames the item into place,
// and the folder the rename changed after it. Without Enable, File and
// Dir do nothing: a restore writes as cp, robocopy, tar and restic do, and
// the system writes the files out on its own schedule (kopia, too, flushes
// only when told to).
//
// SetHook lets a test see the order of these calls through the real
// restore.
package durable

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
)

var enabled atomic.Bool

// Enable turns the flushes on (on: restore --sync) or off for the process.
func Enable(on bool) { enabled.Store(on) }

// Enabled reports whether File and Dir flush.
func Enabled() bool { return enabled.Load() }

// Operations a hook sees.
const (
	OpFile   = "sync-file"
	OpDir    = "sync-dir"
	OpRename = "rename"
)

var (
	hookMu sync.RWMutex
	hook   func(op, path string)
)

// SetHook makes h see every File, Dir and Rename (path: the file, the
// folder, the rename's target), before the call is made, until the
// returned function is called. For tests; h is called from several
// goroutines at once.
func SetHook(h func(op, path string)) (restore func()) {
	hookMu.Lock()
	old := hook
	hook = h
	hookMu.Unlock()
	return func() {
		hookMu.Lock()
		hook = old
		hookMu.Unlock()
	}
}

func note(op, path string) {
	hookMu.RLock()
	h := hook
	hookMu.RUnlock()
	if h != nil {
		h(op, path)
	}
}

// File flushes f's data and attributes to the disk. A file system that
// cannot flush (EINVAL, ENOTSUP: some FUSE and special file systems) is
// not an error: there is nothing more to do there.
func File(f *os.File) error {
	if !enabled.Load() {
		return nil
	}
	note(OpFile, f.Name())
	if err := f.Sync(); err != nil && !unsupported(err) {
		return err
	}
	return nil
}

// Dir flushes the folder's entries (the names created, removed or renamed
// in it) to the disk. On Windows it does nothing: a folder cannot be
// opened for flushing there, and NTFS logs name changes in its journal.
func Dir(path string) error {
	if runtime.GOOS == "windows" || !enabled.Load() {
		return nil
	}
	note(OpDir, path)
	d, err := os.Open(path)
	if errors.Is(err, fs.ErrPermission) {
		// A folder restored without read permission for its owner
		// (0300, 0111) is opened with it for the moment; its mode is
		// back before the flush.
		if fi, serr := os.Lstat(path); serr == nil && fi.IsDir() && os.Chmod(path, fi.Mode().Perm()|0o400) == nil {
			d, err = os.Open(path)
			os.Chmod(path, fi.Mode().Perm())
		}
	}
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil && !unsupported(err) {
		return err
	}
	return nil
}

// Rename is os.Rename, seen by the hook.
func Rename(from, to string) error {
	note(OpRename, to)
	return os.Rename(from, to)
}

func unsupported(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.ENOTSUP) || errors.Is(err, errors.ErrUnsupported)
}

// MkdirAll is os.MkdirAll, and then flushes the folder above each folder
// it made (Linux): a restore folder it made stays, with what is renamed
// into it, after a power loss.
func MkdirAll(path string, perm os.FileMode) error {
	var made []string
	for d := filepath.Clean(path); ; d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil || filepath.Dir(d) == d {
			break
		}
		made = append(made, d)
	}
	if err := os.MkdirAll(path, perm); err != nil {
		return err
	}
	for i := len(made) - 1; i >= 0; i-- {
		if err := Dir(filepath.Dir(made[i])); err != nil {
			return err
		}
	}
	return nil
}
