package pipeline

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/filelock"
)

// ownerName is the file inside a run's staging folder that the run keeps
// locked (an OS file lock, released by the kernel however the process
// ends): a folder whose owner file can be locked by someone else belongs
// to a dead run.
const ownerName = ".lyncbackup-owner"

// keptName marks a run folder kept with --keep-staging: never removed.
const keptName = ".lyncbackup-kept"

// legacyStaleAfter: a run folder without an owner file (made by a version
// before owner files) is removed once it is this old.
const legacyStaleAfter = 24 * time.Hour

// runOwner is a run's hold on its staging folder.
type runOwner struct{ f *os.File }

// ownRun creates and locks dir's owner file, then writes who holds it.
func ownRun(dir string) (*runOwner, error) {
	f, err := os.OpenFile(filepath.Join(dir, ownerName), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	// Waits: a starting run's cleaner may hold it for a moment (below).
	if ok, err := filelock.Lock(f, true); err != nil || !ok {
		f.Close()
		if err == nil {
			err = fmt.Errorf("%s is locked by another process", f.Name())
		}
		return nil, err
	}
	// Written only once locked: an empty owner file is a run still starting.
	fmt.Fprintf(f, "pid %d\nstart %s\n", os.Getpid(), time.Now().UTC().Format(time.RFC3339))
	return &runOwner{f: f}, nil
}

// release unlocks (by closing) the owner file.
func (o *runOwner) release() {
	if o != nil && o.f != nil {
		o.f.Close()
		o.f = nil
	}
}

// removeDeadRuns deletes the run-* folders in staging whose owner is gone:
// a run killed before it could clean up (its exporters' output can be
// large). A live run's folder is never touched: its owner file is locked.
func removeDeadRuns(staging string, log *slog.Logger) {
	entries, err := os.ReadDir(staging)
	if err != nil {
		return
	}
	for _, e := range entries {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), "run-") {
			continue
		}
		dir := filepath.Join(staging, e.Name())
		if !deadRun(dir) {
			continue
		}
		if err := os.RemoveAll(dir); err != nil {
			log.Warn("could not remove the staging folder of a dead run", "dir", dir, "err", err)
			continue
		}
		log.Info("removed the staging folder of a dead run", "dir", dir)
	}
}

// deadRun reports whether dir's owner has ended.
func deadRun(dir string) bool {
	if _, err := os.Stat(filepath.Join(dir, keptName)); err == nil {
		return false
	}
	f, err := os.OpenFile(filepath.Join(dir, ownerName), os.O_RDWR, 0)
	if err != nil {
		if !os.IsNotExist(err) {
			return false
		}
		fi, err := os.Stat(dir)
		return err == nil && time.Since(fi.ModTime()) > legacyStaleAfter
	}
	defer f.Close()
	ok, err := filelock.Lock(f, false)
	if err != nil || !ok {
		return false // held: the run is alive
	}
	// Locked by us: the owner is gone, unless it had not yet written (it
	// locks before it writes), i.e. it is starting right now.
	fi, err := f.Stat()
	if err != nil {
		return false
	}
	return fi.Size() > 0 || time.Since(fi.ModTime()) > legacyStaleAfter
}
