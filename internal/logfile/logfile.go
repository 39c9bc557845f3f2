// Package logfile opens the run's log file for appending, rotating it first
// when it has grown past a size: a scheduled backup writes to the same file
// every night for years.
package logfile

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
)

// DefaultMaxSize is the size past which a log file is rotated when the
// config names none.
const DefaultMaxSize = 10 << 20

// Keep is how many rotated files are kept: FILE.1 (the newest) to FILE.3.
const Keep = 3

// Open opens path for appending. When the file already holds maxSize
// bytes or more (0: DefaultMaxSize), it first becomes path.1 (path.1
// becomes path.2, and so on; the oldest beyond Keep is deleted), and a new
// file is started; note then says so, for the log's first lines. A file
// whose last line is cut off (a write that failed partway on a full disk:
// truncating back is no answer, as another run may be appending to the
// same file) gets a line end first, so that each record stays one line,
// and note says so. A
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
	if err != nil {
		return nil, note, err
	}
	if cutOff(f, path) {
		// A write that failed partway (a full disk) or a run stopped
		// while writing left a cut-off record: this run's first record
		// was appended to it, one line that was neither record.
		if _, werr := f.Write([]byte("\n")); werr == nil {
			if note != "" {
				note += "; "
			}
			note += "the log file's last line was cut off (a write that failed partway, or a run stopped while writing): this run's lines start on the next line"
		}
	}
	return f, note, nil
}

// cutOff reports whether f, opened at path, is a regular file whose last
// byte is not a line end (false when that cannot be read).
func cutOff(f *os.File, path string) bool {
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() || fi.Size() == 0 {
		return false
	}
	r, err := os.Open(path)
	if err != nil {
		return false
	}
	defer r.Close()
	b := make([]byte, 1)
	if _, err := r.ReadAt(b, fi.Size()-1); err != nil {
		return false
	}
	return b[0] != '\n'
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

// Fallback is the run's log file as a writer that does not lose the log
// when the file stops taking it (a full disk, a share gone): slog drops
// the error of every Write, so the run went on to its end, exit 0, with
// none of its lines (metrics not written, a failure) recorded anywhere.
// On the first failed write, notice is called with the error, and that
// record and every later one go to alt (stderr) instead.
type Fallback struct {
	mu     sync.Mutex
	file   io.Writer
	alt    io.Writer
	notice func(error)
	failed bool
}

// NewFallback writes to file until a write fails, then to alt; notice
// (which may be nil) says so once, before the record that failed.
func NewFallback(file, alt io.Writer, notice func(error)) *Fallback {
	return &Fallback{file: file, alt: alt, notice: notice}
}

// Write writes one record (slog writes each with one Write).
func (w *Fallback) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.failed {
		_, err := w.file.Write(p)
		if err == nil {
			return len(p), nil
		}
		w.failed = true
		if w.notice != nil {
			w.notice(err)
		}
	}
	// The whole record, also when part of it reached the file.
	if _, err := w.alt.Write(p); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Failed reports whether a write to the file failed (the log goes to alt);
// false for a nil Fallback.
func (w *Fallback) Failed() bool {
	if w == nil {
		return false
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.failed
}
