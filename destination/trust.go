package destination

import (
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/lyncbackup/lyncbackup/internal/shellquote"
)

// Trust is where the CAs of an opened destination came from, for the fix
// of a refused certificate (Hint). The zero Trust is a destination not
// opened (yet): Hint then adds nothing.
type Trust struct {
	Opened  bool
	FromURL bool   // --from URL (no config)
	CAFile  string // --ca-file or destination.ca_file ("" = the system store only)
	Flag    bool   // CAFile came from --ca-file
	NoFlag  bool   // the command has no --ca-file (backup): only the config key can name a CA
}

// Hint adds the fix to a refused certificate of an unknown authority:
// the flag or key to name the CA in, or, when one was named, that it does
// not hold the server's CA (the file named escaped when it holds a control
// or invisible format character: shellquote.Text). Other errors pass
// unchanged.
func (t Trust) Hint(err error) error {
	if err == nil || !t.Opened || !unknownAuthority(err) || errors.As(err, new(hinted)) {
		return err
	}
	var fix string
	switch {
	case t.NoFlag && t.CAFile != "":
		fix = fmt.Sprintf("the server's certificate is signed by no CA in %s (destination.ca_file) nor in the system store: name the CA that issued it there (a PEM file)", shellquote.Text(t.CAFile))
	case t.NoFlag:
		fix = "this machine does not trust the server's certificate: name its CA in destination.ca_file (a PEM file), or import the CA into the machine's trusted roots"
	case t.CAFile != "":
		src := "destination.ca_file"
		if t.Flag {
			src = "--ca-file"
		}
		fix = fmt.Sprintf("the server's certificate is signed by no CA in %s (%s) nor in the system store: name the CA that issued it (--ca-file FILE, a PEM file)", shellquote.Text(t.CAFile), src)
	case t.FromURL:
		fix = "this machine does not trust the server's certificate: give its CA with --ca-file FILE (a PEM file), or import the CA into the machine's trusted roots"
	default:
		fix = "this machine does not trust the server's certificate: name its CA in destination.ca_file or with --ca-file FILE (a PEM file), or import the CA into the machine's trusted roots"
	}
	return hinted{err, fix}
}

// hinted is an error with its fix appended; the exit code stays the
// error's.
type hinted struct {
	err error
	fix string
}

func (h hinted) Error() string { return h.err.Error() + "; " + h.fix }
func (h hinted) Unwrap() error { return h.err }

// unknownAuthority: the server's certificate chains to no trusted CA
// (Go's verifier, and on Windows the system's, which Go reports with the
// same type for an untrusted root). Both backends keep the verifier's
// error in their errors' chain.
func unknownAuthority(err error) bool {
	var ua x509.UnknownAuthorityError
	return errors.As(err, &ua)
}
