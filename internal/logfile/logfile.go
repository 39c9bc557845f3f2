// Package logfile opens the run's log file for appending, rotating it first
// when it has grown past a size: a scheduled backup writes to the same file
// every night for years.
package logfile

import (
	"errors"
	"fmt"
	"os"
)

// DefaultMaxSize is the size past which a log file is rotated when the
// config names none.
const DefaultMaxSize = 10 << 20

// Keep is how many rotated files are kept: FILE.1 (the newest) to FILE.3.
const Keep = 3

// Open opens path for appending. When the file already holds maxSize
// bytes or more (0: DefaultMaxSize), it first becomes path.1 (path.1
// becomes path.2, and so on; the oldest beyond Keep is deleted), and a new
// file is started; note then says so, for the log's first lines. A
// rotation that fails (another process has the file open on Windows, a
// folder in the way) leaves the file as it is and note says why: the run
// still logs, to the old file, and the next run tries again.
func Open(path string, maxSize int64) (f *os.File, note string, err error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxSize
	}
	if fi, serr := os.Stat(path); serr == nil && fi.Mode().IsRegular() && fi.Size() >= maxSize {
		if rerr := rotate(path); rerr != nil {
			note = fmt.Sprintf("log file not rotated at %d bytes: %v", fi.Size(), rerr)
		} else {
			note = fmt.Sprintf("log file rotated at %d bytes: the earlier lines are in %s.1", fi.Size(), path)
		}
	}
	f, err = os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
	return f, note, err
}

func rotate(path string) error {
	old := fmt.Sprintf("%s.%d", path, Keep)
	if err := os.Remove(old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("rotate log: %w", err)
	}
	for i := Keep - 1; i >= 1; i-- {
		from := fmt.Sprintf("%s.%d", path, i)
		if err := os.Rename(from, fmt.Sprintf("%s.%d", path, i+1)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("rotate log: %w", err)
		}
	}
	if err := os.Rename(path, path+".1"); err != nil {
		return fmt.Errorf("rotate log: %w", err)
	}
	return nil
}
