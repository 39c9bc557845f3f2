package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
)

func init() {
	register(&command{name: "list", summary: "list the backup sets in the destination",
		usage: "list [--config FILE | --from URL [--ca-file FILE]] [--host HOST] [flags]", flags: flagsCommon, run: runList})
	register(&command{name: "keygen", summary: "write a new age identity file and print its public key",
		usage: "keygen -o FILE [--json]", flags: []string{flagJSON, flagQuiet}, run: runKeygen})
}

type listEntry struct {
	Host        string    `json:"host"`
	SetID       string    `json:"set_id"`
	Time        time.Time `json:"time"`
	Status      string    `json:"status"`
	Items       int       `json:"items"`
	Files       int64     `json:"files"`
	PlainBytes  int64     `json:"plain_bytes"`
	StoredBytes int64     `json:"stored_bytes"`
	Error       string    `json:"error,omitempty"`
	// Running: an incomplete set whose backup is still writing it (its
	// lease is live), in words: "lease of pid 4242 on fe01, refreshed 3s ago".
	Running string `json:"running,omitempty"`
	// LeaseUnknown: an incomplete set with a lease, which the store could
	// not age (it did not tell its time: a folder read-only for this
	// account): whether a backup still writes it is unknown, in words.
	LeaseUnknown string `json:"lease_unknown,omitempty"`
	// Hint: for an archived set (its manifest in an archive tier), the
	// command that brings it back (catalog.Set.ThawHint).
	Hint string `json:"hint,omitempty"`
}

// listDoc is list's --json document.
type listDoc struct {
	OK          bool        `json:"ok"`
	ExitCode    int         `json:"exit_code"`
	Destination string      `json:"destination"`
	Sets        []listEntry `json:"sets"`
	// Hint: with no sets, where they seem to be (catalog.Misplaced).
	Hint string `json:"hint,omitempty"`
	// OtherHosts: with --host naming a host without sets, the hosts that
	// have some (as prune's document has them).
	OtherHosts []string `json:"other_hosts,omitempty"`
}

func runList(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("list", flag.ContinueOnError)
	a.addGlobal(fs)
	var sf setFlags
	fs.StringVar(&sf.from, "from", "", "destination URL (instead of a config file)")
	addCAFileFlag(fs, &sf.caFile)
	fs.StringVar(&sf.host, "host", "", "only this host's sets")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("list", pos); err != nil {
		return err
	}
	hostFilter := sf.host
	sf.host = ""
	st, _, err := a.openForRead(ctx, &sf)
	if err != nil {
		return err
	}
	cat := catalog.Catalog{Store: st, NoChunks: true}
	sets, err := cat.List(ctx)
	if err != nil {
		return err
	}
	if hostFilter != "" {
		hostFilter, _ = catalog.ResolveHost(sets, hostFilter) // the one spelling without case, as restore takes it
	}
	var out []listEntry
	for _, s := range sets {
		if hostFilter != "" && s.Host != hostFilter {
			continue
		}
		e := listEntry{Host: s.Host, SetID: s.ID, Time: s.Time, Status: s.Status(), StoredBytes: s.Size()}
		if s.Manifest != nil {
			e.Items = len(s.Manifest.Items)
			e.PlainBytes, e.StoredBytes, e.Files = s.Manifest.Totals()
		}
		if s.ManifestErr != nil {
			e.Error = s.ManifestErr.Error()
		}
		switch {
		case s.LeaseUnknown():
			e.LeaseUnknown = s.Lease.Describe()
		case s.InProgress():
			e.Running = s.Lease.Describe()
		}
		e.Hint = s.ThawHint()
		out = append(out, e)
	}
	var hint string
	if len(sets) == 0 {
		hint = catalog.Misplaced(ctx, st)
	}
	if a.g.json {
		if out == nil {
			out = []listEntry{}
		}
		doc := listDoc{OK: true, Destination: st.String(), Sets: out, Hint: hint}
		if hostFilter != "" && len(out) == 0 {
			doc.OtherHosts = catalog.Hosts(sets)
		}
		return a.printJSON(doc)
	}
	if len(out) == 0 {
		if hostFilter != "" && len(sets) > 0 {
			a.say("no backup sets of host %s in %s; its sets are of %s", hostFilter, st, strings.Join(catalog.Hosts(sets), ", "))
			return nil
		}
		if hint != "" {
			a.say("no backup sets in %s (%s)", st, hint)
			return nil
		}
		a.say("no backup sets in %s", st)
		return nil
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, "HOST\tSET\tTIME (UTC)\tSTATUS\tITEMS\tFILES\tSIZE\tSTORED")
	// notes, after the table: what a running or archived set's row means.
	var notes []string
	for _, e := range out {
		status := e.Status
		if e.Running != "" {
			status = "running"
			notes = append(notes, fmt.Sprintf("%s/%s: a backup is writing it (%s)", e.Host, e.SetID, e.Running))
		}
		if e.LeaseUnknown != "" {
			notes = append(notes, fmt.Sprintf("%s/%s: unfinished; whether a backup is still writing it is unknown (%s)", e.Host, e.SetID, e.LeaseUnknown))
		}
		if e.Hint != "" {
			notes = append(notes, fmt.Sprintf("%s/%s: %s", e.Host, e.SetID, e.Hint))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\t%s\n", e.Host, e.SetID, e.Time.Format("2006-01-02 15:04:05"), status,
			e.Items, e.Files, humanBytes(e.PlainBytes), humanBytes(e.StoredBytes))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, n := range notes {
		fmt.Fprintln(a.stdout, n)
	}
	return nil
}

// keygenDoc is keygen's --json document.
type keygenDoc struct {
	OK           bool   `json:"ok"`
	ExitCode     int    `json:"exit_code"`
	IdentityFile string `json:"identity_file"`
	PublicKey    string `json:"public_key"`
}

func runKeygen(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("keygen", flag.ContinueOnError)
	a.addGlobal(fs)
	out := fs.String("o", "", "identity file to write (mode 0600; refuses to overwrite)")
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *out == "" && len(pos) == 1:
		*out = pos[0]
	case len(pos) > 0:
		return usagef("keygen writes one identity file (-o FILE) and takes nothing else (got %q)", strings.Join(pos, " "))
	}
	if *out == "" {
		return usagef("keygen needs -o FILE")
	}
	pub, err := crypto.GenerateIdentity(*out)
	if errors.Is(err, os.ErrExist) {
		return usageError{err} // keygen never overwrites: name another file
	}
	if err != nil {
		return err
	}
	if a.g.json {
		return a.printJSON(keygenDoc{OK: true, IdentityFile: *out, PublicKey: pub})
	}
	if !a.g.quiet {
		fmt.Fprintf(a.stderr, "identity written to %s: keep it offline and safe; without it no backup can be restored\n", *out)
	}
	fmt.Fprintln(a.stdout, pub)
	return nil
}
