package archive

import (
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/durable"
)

// syncWorkers is how many files a restore flushes to the disk at once,
// beside the goroutine that writes them. Flushing in the writer itself
// would stop the extraction at every file until the disk had it; here the
// disk writes one file while the next is decoded.
var syncWorkers = 4

// syncQueue bounds the files written but not flushed yet (each holds a
// descriptor open).
const syncQueue = 64

// flushJob is a written file: its data is complete, its mode and time
// still to set.
type flushJob struct {
	f     *os.File
	path  string
	mode  fs.FileMode
	mtime time.Time
}

// flusher finishes the files a restore writes: mode and time set, data
// flushed to the disk, descriptor closed (finishFile), in syncWorkers
// goroutines. wait returns the first failure.
type flusher struct {
	jobs    chan flushJob
	workers int
	wg      sync.WaitGroup
	mu      sync.Mutex
	err     error
}

// newFlusher starts the workers when the restore flushes (durable.Enabled:
// restore --sync); otherwise each file is finished in the writer, as it is
// written.
func newFlusher() *flusher {
	fl := &flusher{jobs: make(chan flushJob, syncQueue)}
	if durable.Enabled() {
		fl.workers = syncWorkers
	}
	for range fl.workers {
		fl.wg.Add(1)
		go func() {
			defer fl.wg.Done()
			for j := range fl.jobs {
				fl.finish(j)
			}
		}()
	}
	return fl
}

// add hands a written file over; without workers it is finished at once.
func (fl *flusher) add(j flushJob) {
	if fl.workers == 0 {
		fl.finish(j)
		return
	}
	fl.jobs <- j
}

func (fl *flusher) finish(j flushJob) {
	fl.mu.Lock()
	failed := fl.err != nil
	fl.mu.Unlock()
	if failed {
		j.f.Close() // the restore fails anyway: its partial folder is removed
		return
	}
	if err := finishFile(j); err != nil {
		fl.mu.Lock()
		if fl.err == nil {
			fl.err = err
		}
		fl.mu.Unlock()
	}
}

// wait finishes every file handed over and returns the first failure.
func (fl *flusher) wait() error {
	close(fl.jobs)
	fl.wg.Wait()
	return fl.err
}

// finishFile sets a written file's mode and time and flushes it, data and
// attributes, to the disk before it is closed. On Windows the mode and
// time are set after the close (NTFS sets a file's write time again when a
// handle that wrote it closes); FlushFileBuffers has flushed its data.
func finishFile(j flushJob) error {
	windows := runtime.GOOS == "windows"
	if !windows {
		os.Chmod(j.path, j.mode)
		os.Chtimes(j.path, j.mtime, j.mtime)
	}
	err := durable.File(j.f)
	if cerr := j.f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return &WriteError{"flush", j.path, err}
	}
	if windows {
		os.Chmod(j.path, j.mode)
		os.Chtimes(j.path, j.mtime, j.mtime)
	}
	return nil
}

// syncFolders flushes every folder of the restored tree below root, and
// root itself: the names of the files, folders and links created in them.
// folders are the ones made (the parents of each up to root are added).
func syncFolders(root string, folders []string) error {
	seen := map[string]bool{}
	var all []string
	for _, d := range folders {
		for ; !seen[d]; d = filepath.Dir(d) {
			if rel, err := filepath.Rel(root, d); err != nil || rel == ".." || len(rel) > 2 && rel[:3] == ".."+string(filepath.Separator) {
				break
			}
			seen[d] = true
			all = append(all, d)
			if d == root {
				break
			}
		}
	}
	if !seen[root] {
		all = append(all, root)
	}
	for _, d := range all {
		if err := durable.Dir(d); err != nil {
			return &WriteError{"flush", d, err}
		}
	}
	return nil
}
