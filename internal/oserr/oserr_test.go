package oserr

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"
)

// localized is a system error in the system's language, as Windows'
// FormatMessage gives it on a German or French server: only the code
// says what it is.
type localized struct {
	text  string
	errno syscall.Errno
}

func (l localized) Error() string { return l.text }
func (l localized) Unwrap() error { return l.errno }

func wrapped(l localized) error {
	return fmt.Errorf("destination folder D:\\Sicherung: %w", &fs.PathError{Op: "open", Path: `D:\Sicherung`, Err: l})
}

// TestByCode: each classifier answers by the code under any words, and
// only for its own codes.
func TestByCode(t *testing.T) {
	denied := wrapped(localized{"Zugriff verweigert", codeDenied})
	gone := wrapped(localized{"Das System kann die angegebene Datei nicht finden.", codeMissing})
	ro := wrapped(localized{"Le support est protégé en écriture.", codeReadOnly})
	full := wrapped(localized{"permission denied: no such file or directory, read-only file system", codeFull})
	for _, c := range []struct {
		name                    string
		err                     error
		missing, isDenied, isRO bool
	}{
		{"access denied", denied, false, true, false},
		{"not found", gone, true, false, false},
		{"read-only", ro, false, false, true},
		{"disk full in other words", full, false, false, false},
	} {
		if Missing(c.err) != c.missing || Denied(c.err) != c.isDenied || ReadOnly(c.err) != c.isRO {
			t.Errorf("%s (%v): Missing %v Denied %v ReadOnly %v, want %v %v %v", c.name, c.err,
				Missing(c.err), Denied(c.err), ReadOnly(c.err), c.missing, c.isDenied, c.isRO)
		}
	}
}
