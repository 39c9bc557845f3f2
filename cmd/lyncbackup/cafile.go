package main

import (
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"net/url"
	"strings"

	"github.com/lyncbackup/lyncbackup/config"
)

// --ca-file: the commands that open a destination from a URL without a
// config (list, verify, restore, prune with --from) take the CAs a private
// S3 or Azure endpoint needs from a PEM file, as destination.ca_file does
// for a config: restore on a bare machine must not need the CA imported
// into the Windows store first. With a config (no --from) the flag
// replaces destination.ca_file, as --limit-upload replaces limits.upload.

const caFileUsage = "trust the CA certificates in `FILE` (PEM) for the destination besides the system store: a private S3 or Azure endpoint's CA (as destination.ca_file, which it replaces)"

func addCAFileFlag(fs *flag.FlagSet, p *string) { fs.StringVar(p, "ca-file", "", caFileUsage) }

// trustSource is where the CAs of an opened destination came from, for the
// fix of a refused certificate (certHint).
type trustSource struct {
	opened  bool
	fromURL bool   // --from URL (no config)
	caFile  string // --ca-file or destination.ca_file ("" = the system store only)
	flag    bool   // caFile came from --ca-file
	noFlag  bool   // the command has no --ca-file (backup): only the config key can name a CA
}

// checkCAFileFlag checks --ca-file for destination rawURL with the checks of
// destination.ca_file (config.Validate): refused for a file:// URL, and read
// now, so that a bad file stops the run at once with one line naming it
// and the cause (exit 2).
func checkCAFileFlag(rawURL, file string) error {
	if file == "" {
		return nil
	}
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "file" {
		return usagef("--ca-file: a file:// destination has no TLS to trust a CA for: drop the flag (it is for s3, azblob and https destinations)")
	}
	if _, err := config.ReadCAFile(file); err != nil {
		return usagef("--ca-file: %v", err)
	}
	return nil
}

// fromURLTrust records a destination opened from --from URL with caFile.
func (a *app) fromURLTrust(caFile string) {
	a.trust = trustSource{opened: true, fromURL: true, caFile: caFile, flag: caFile != ""}
}

// configTrust applies --ca-file (when given) to cfg's destination after the
// same checks, and records where the destination's CAs come from.
func (a *app) configTrust(cfg *config.Config, caFile string) error {
	if err := checkCAFileFlag(cfg.Destination.URL, caFile); err != nil {
		return err
	}
	if caFile != "" {
		cfg.Destination.CAFile = caFile
	}
	a.trust = trustSource{opened: true, caFile: cfg.Destination.CAFile, flag: caFile != ""}
	return nil
}

// backupTrust records the destination of a command that opens it only
// from its config (backup).
func (a *app) backupTrust(cfg *config.Config) {
	a.trust = trustSource{opened: true, caFile: cfg.Destination.CAFile, noFlag: true}
}

// certHint adds the fix to a refused certificate of an unknown authority:
// the flag or key to name the CA in, or, when one was named, that it does
// not hold the server's CA. Other errors pass unchanged.
func (a *app) certHint(err error) error {
	if err == nil || !a.trust.opened || !unknownAuthority(err) || strings.Contains(err.Error(), "--ca-file") || strings.Contains(err.Error(), "destination.ca_file") {
		return err
	}
	var fix string
	switch {
	case a.trust.noFlag && a.trust.caFile != "":
		fix = fmt.Sprintf("the server's certificate is signed by no CA in %s (destination.ca_file) nor in the system store: name the CA that issued it there (a PEM file)", a.trust.caFile)
	case a.trust.noFlag:
		fix = "this machine does not trust the server's certificate: name its CA in destination.ca_file (a PEM file), or import the CA into the machine's trusted roots"
	case a.trust.caFile != "":
		src := "destination.ca_file"
		if a.trust.flag {
			src = "--ca-file"
		}
		fix = fmt.Sprintf("the server's certificate is signed by no CA in %s (%s) nor in the system store: name the CA that issued it (--ca-file FILE, a PEM file)", a.trust.caFile, src)
	case a.trust.fromURL:
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
// (Go's verifier, and Windows' for an untrusted root).
func unknownAuthority(err error) bool {
	var ua x509.UnknownAuthorityError
	if errors.As(err, &ua) {
		return true
	}
	msg := strings.ToLower(err.Error())
	return strings.Contains(msg, "certificate signed by unknown authority") || strings.Contains(msg, "certificate is not trusted")
}
