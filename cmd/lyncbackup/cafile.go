package main

import (
	"flag"
	"net/url"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
)

// --ca-file: the commands that open a destination from a URL without a
// config (list, verify, restore, prune with --from) take the CAs a private
// S3 or Azure endpoint needs from a PEM file, as destination.ca_file does
// for a config: restore on a bare machine must not need the CA imported
// into the Windows store first. With a config (no --from) the flag
// replaces destination.ca_file, as --limit-upload replaces limits.upload.

const caFileUsage = "trust the CA certificates in `FILE` (PEM) for the destination besides the system store: a private S3 or Azure endpoint's CA (as destination.ca_file, which it replaces)"

func addCAFileFlag(fs *flag.FlagSet, p *string) { fs.StringVar(p, "ca-file", "", caFileUsage) }

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
	a.trust = destination.Trust{Opened: true, FromURL: true, CAFile: caFile, Flag: caFile != ""}
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
	a.trust = destination.Trust{Opened: true, CAFile: cfg.Destination.CAFile, Flag: caFile != ""}
	return nil
}

// backupTrust records the destination of a command that opens it only
// from its config (backup).
func (a *app) backupTrust(cfg *config.Config) {
	a.trust = destination.Trust{Opened: true, CAFile: cfg.Destination.CAFile, NoFlag: true}
}
