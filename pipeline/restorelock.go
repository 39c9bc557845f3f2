package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lyncbackup/lyncbackup/internal/durable"
	"github.com/lyncbackup/lyncbackup/internal/filelock"
)

// restoreLockName is the file a restore keeps locked in its restore folder
// while it runs (an OS file lock, dropped however the process ends), so a
// second restore into the same folder refuses at once instead of removing
// the first one's partial folders under it. The file is removed at the end;
// one left by a killed restore is taken over by the next.
const restoreLockName = ".lyncbackup-restore.lock"

// restoreLockByte is where a Windows restore lock sits: past the pid the
// file holds, which the second restore reads to name the first.
const restoreLockByte = 1 << 20

// lockRestoreDir creates dir if needed and locks its restore lock file; the
// returned func unlocks and removes it.
func lockRestoreDir(dir string) (func(), error) {
	// A folder made here is on the disk before anything is renamed into
	// it (the renames' flushes are of dir, not of the folder above it).
	if err := durable.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("restore folder %s: %w", dir, err)
	}
	p := filepath.Join(dir, restoreLockName)
	for range 10 {
		// Never through a link: a link planted there would have the pid
		// written over the file it points to. Refused by Lstat, and by
		// the open itself (a link made between the two).
		if fi, err := os.Lstat(p); err == nil && !fi.Mode().IsRegular() {
			return nil, fmt.Errorf("restore folder %s: %w", dir, errNotPlain(p))
		}
		f, err := openLockFile(p)
		if err != nil {
			return nil, fmt.Errorf("restore folder %s: %w", dir, err)
		}
		if fi, err := f.Stat(); err != nil || !fi.Mode().IsRegular() {
			f.Close()
			return nil, fmt.Errorf("restore folder %s: %w", dir, errNotPlain(p))
		}
		ok, err := filelock.LockAt(f, false, restoreLockByte)
		if err != nil || !ok {
			holder, _ := io.ReadAll(io.LimitReader(f, 200))
			f.Close()
			if err != nil {
				return nil, fmt.Errorf("restore folder %s: lock %s: %w", dir, p, err)
			}
			who := "another restore"
			if h := strings.TrimSpace(string(holder)); h != "" {
				who += " (" + h + ")"
			}
			return nil, fmt.Errorf("restore folder %s: %s is writing into it; wait for it to end, or restore into another folder", dir, who)
		}
		// The holder before us may have removed the file between our open
		// and our lock: then the lock is on a name no one else sees.
		a, errA := f.Stat()
		b, errB := os.Lstat(p)
		if errA != nil || errB != nil || !os.SameFile(a, b) {
			f.Close()
			continue
		}
		f.Truncate(0)
		fmt.Fprintf(f, "pid %d", os.Getpid())
		return func() {
			// Removed while locked (Unix), or after closing where an open
			// file cannot be removed (Windows; if another restore opened it
			// meanwhile, it stays for that one).
			if os.Remove(p) == nil {
				f.Close()
				return
			}
			f.Close()
			os.Remove(p)
		}, nil
	}
	return nil, errors.New("restore folder " + dir + ": could not lock " + p)
}

// errNotPlain refuses a restore lock path that is not a plain file (a
// link, a folder): a restore never follows one, and never removes what
// someone else put there.
func errNotPlain(p string) error {
	return fmt.Errorf("%s is not a plain file (a link or a folder), and a restore never follows one: remove it, then restore again", p)
}
