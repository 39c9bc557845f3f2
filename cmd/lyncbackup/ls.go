package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/pipeline"
)

func init() {
	register(&command{name: "ls", summary: "list the folders, files and links of a set's items (reads them whole, as verify --identity does)",
		usage: "ls [SET|latest] --identity FILE [--item NAME]... [--from URL [--ca-file FILE]] [flags]", flags: flagsTransfer, run: runLs})
}

// runLs lists what a set's items hold, to find the paths restore
// --include takes. A tar stream has no table of contents, so each item is
// read whole, decrypted, decompressed and checked as verify --identity
// checks it; an item's listing is only given once the item passed.
// --json: {"ok", "exit_code", "host", "set_id", "items": [{"name",
// "entries": [{"name", "kind", "size", "mtime", "link"}]}], "error"},
// written as it is read from the spools.
func runLs(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	a.addGlobal(fs)
	var sf setFlags
	sf.add(fs)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	spec, err := setSpec("ls", "or latest", pos)
	if err != nil {
		return err
	}
	if sf.identity == "" {
		return usagef("ls needs --identity FILE: the names are inside the encrypted items")
	}
	st, host, err := a.openForRead(ctx, &sf)
	if err != nil {
		return err
	}
	set, skipped, err := a.resolveSet(ctx, st, host, spec)
	if err != nil {
		return err
	}
	a.saySkipped(set, skipped, spec)
	ids, err := a.identities(sf)
	if err != nil {
		return err
	}
	// Each item's listing waits in a temporary file until the item passed.
	listing := &pipeline.Listing{Render: func(w io.Writer, item string, n int, e archive.Entry) {
		if a.g.json {
			if n > 0 {
				io.WriteString(w, ",\n")
			}
			b, _ := json.Marshal(e)
			w.Write(b)
			return
		}
		name := item + "/" + e.Name
		switch e.Kind {
		case "dir":
			name += "/"
		case "link":
			name += " -> " + e.Linkname
		}
		fmt.Fprintf(w, "%-4s %12d  %s  %s\n", e.Kind, e.Size, e.ModTime.UTC().Format("2006-01-02 15:04"), name)
	}}
	defer listing.Close()
	a.setReadMemory(sf.parallel, set.Manifest)
	prog := newProgress(a, nil)
	reports, err := pipeline.Read(ctx, pipeline.ReadJob{
		Store: st, Manifest: set.Manifest, Items: sf.items, Identities: ids, Parallel: sf.parallel, Progress: prog, Entry: listing.Entry,
		// A damaged chunk ls meets is recorded as verify and restore
		// record it: the next backup stores it again.
		Damaged: a.damageRecorder(ctx, st, sf, set.Host).damaged,
	})
	prog.Stop()
	// Flushed before the JSON header says ok: no truncated listing.
	spoolErr := listing.Flush()
	if spoolErr != nil {
		spoolErr = fmt.Errorf("ls: %w", spoolErr)
	}
	if err == nil {
		err = spoolErr
	}
	if err != nil {
		err = fmt.Errorf("ls %s/%s: %w", set.Host, set.ID, err)
	}
	// Only items that passed every check are listed.
	var ok []pipeline.ItemReport
	n := 0
	for _, r := range reports {
		if r.OK && spoolErr == nil {
			ok = append(ok, r)
			n += listing.Len(r.Name)
		}
	}
	out := a.stdout
	if a.g.json {
		a.jsonDone = true
		head, _ := json.Marshal(map[string]any{"ok": err == nil, "exit_code": a.code(err), "host": set.Host, "set_id": set.ID})
		fmt.Fprintf(out, "%s,\n\"items\": [", head[:len(head)-1])
		for i, r := range ok {
			name, _ := json.Marshal(r.Name)
			if i > 0 {
				io.WriteString(out, ",")
			}
			fmt.Fprintf(out, "\n{\"name\": %s, \"entries\": [\n", name)
			if err := copyListing(out, listing, r.Name); err != nil {
				return err
			}
			io.WriteString(out, "\n]}")
		}
		io.WriteString(out, "\n]")
		if err != nil {
			msg, _ := json.Marshal(oneLine(err.Error()))
			fmt.Fprintf(out, ",\n\"error\": %s", msg)
		}
		io.WriteString(out, "}\n")
		return err
	}
	for _, r := range ok {
		if err := copyListing(out, listing, r.Name); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	a.say("%d entries in %d item(s) of set %s/%s, every file checked; restore some with --include ITEM/path", n, len(ok), set.Host, set.ID)
	return nil
}

// copyListing writes item's listing to w; a spool that cannot be read
// back is ls's error.
func copyListing(w io.Writer, l *pipeline.Listing, item string) error {
	err := l.WriteItem(w, item)
	if errors.As(err, new(*pipeline.SpoolError)) {
		return fmt.Errorf("ls: %w", err)
	}
	return err
}
