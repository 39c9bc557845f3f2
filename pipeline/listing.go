package pipeline

import (
	"bufio"
	"io"
	"os"
	"sync"

	"github.com/lyncbackup/lyncbackup/archive"
)

// Listing holds each item's listing, rendered, in a temporary file until
// the item has passed its checks (ReadJob.Entry is its Entry): a file
// store of a million files lists in the memory of one, and the listing of
// an item that fails is never given. Close removes the files.
type Listing struct {
	// Render writes entry e of item to w; n is how many entries of the
	// item came before it (for separators).
	Render func(w io.Writer, item string, n int, e archive.Entry)

	mu     sync.Mutex
	spools map[string]*spool
	err    error // the last temporary file that could not be made
}

// spool is one item's listing.
type spool struct {
	f *os.File
	w *bufio.Writer
	n int // entries
}

// Entry spools e, an entry of item (ReadJob.Entry: safe for the items'
// goroutines).
func (l *Listing) Entry(item string, e archive.Entry) {
	l.mu.Lock()
	defer l.mu.Unlock()
	s := l.spools[item]
	if s == nil {
		f, err := os.CreateTemp("", "lyncbackup-ls-*")
		if err != nil {
			l.err = &SpoolError{err}
			return
		}
		s = &spool{f: f, w: bufio.NewWriter(f)}
		if l.spools == nil {
			l.spools = map[string]*spool{}
		}
		l.spools[item] = s
	}
	l.Render(s.w, item, s.n, e)
	s.n++
}

// Flush writes out every spool's buffer once the read is over. A spool
// write that failed (a full temp folder) is kept by its buffered writer:
// flushing them all finds it before anything is said to be listed. The
// error is the one of a spool that could not be made, else the first
// flush's.
func (l *Listing) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	err := l.err
	for _, s := range l.spools {
		if ferr := s.w.Flush(); ferr != nil && err == nil {
			err = &SpoolError{ferr}
		}
	}
	return err
}

// Len is how many entries item's listing holds.
func (l *Listing) Len(item string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	if s := l.spools[item]; s != nil {
		return s.n
	}
	return 0
}

// WriteItem writes item's listing to w (nothing for an item without
// entries).
func (l *Listing) WriteItem(w io.Writer, item string) error {
	l.mu.Lock()
	s := l.spools[item]
	l.mu.Unlock()
	if s == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return &SpoolError{err}
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return &SpoolError{err}
	}
	_, err := io.Copy(w, s.f)
	return err
}

// SpoolError is a listing that could not be spooled (made, written or
// read back): a full or unwritable temp folder.
type SpoolError struct{ Err error }

func (e *SpoolError) Error() string { return "spool the listing: " + e.Err.Error() }
func (e *SpoolError) Unwrap() error { return e.Err }

// Close removes the temporary files.
func (l *Listing) Close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, s := range l.spools {
		s.f.Close()
		os.Remove(s.f.Name())
	}
	l.spools = nil
}
