package main

import (
	"context"
	"flag"
	"fmt"
	"sync"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/pipeline"
)

func init() {
	register(&command{name: "ls", summary: "list the folders, files and links of a set's items (reads them whole, as verify --identity does)",
		usage: "ls [SET|latest] --identity FILE [--item NAME]... [--from URL [--ca-file FILE]] [flags]", flags: flagsTransfer, run: runLs})
}

// lsDoc is ls's --json document.
type lsDoc struct {
	OK       bool     `json:"ok"`
	ExitCode int      `json:"exit_code"`
	Host     string   `json:"host"`
	SetID    string   `json:"set_id"`
	Items    []lsItem `json:"items"`
	Error    string   `json:"error,omitempty"`
}

type lsItem struct {
	Name    string          `json:"name"`
	Entries []archive.Entry `json:"entries"`
}

// runLs lists what a set's items hold, to find the paths restore
// --include takes. A tar stream has no table of contents, so each item is
// read whole, decrypted, decompressed and checked as verify --identity
// checks it; the listing is only given once the item passed.
func runLs(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("ls", flag.ContinueOnError)
	a.addGlobal(fs)
	var sf setFlags
	sf.add(fs)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 1 {
		return usagef("ls takes one set id (or latest), got %d arguments", len(pos))
	}
	spec := "latest"
	if len(pos) == 1 {
		spec = pos[0]
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
	ids, err := crypto.LoadIdentities(sf.identity, a.identityPassphrase)
	if err != nil {
		return usageError{err}
	}
	var mu sync.Mutex
	entries := map[string][]archive.Entry{}
	prog := newProgress(a, nil)
	reports, err := pipeline.Read(ctx, pipeline.ReadJob{
		Store: st, Manifest: set.Manifest, Items: sf.items, Identities: ids, Parallel: sf.parallel, Progress: prog,
		Entry: func(item string, e archive.Entry) {
			mu.Lock()
			entries[item] = append(entries[item], e)
			mu.Unlock()
		},
	})
	prog.Stop()
	if err != nil {
		err = fmt.Errorf("ls %s/%s: %w", set.Host, set.ID, err)
	}
	doc := lsDoc{OK: err == nil, ExitCode: a.code(err), Host: set.Host, SetID: set.ID, Items: []lsItem{}}
	for _, r := range reports {
		if !r.OK {
			continue // a listing of an item that failed its checks is not given
		}
		es := entries[r.Name]
		if es == nil {
			es = []archive.Entry{}
		}
		doc.Items = append(doc.Items, lsItem{Name: r.Name, Entries: es})
	}
	if err != nil {
		doc.Error = oneLine(err.Error())
	}
	if a.g.json {
		a.printJSON(doc)
		return err
	}
	for _, it := range doc.Items {
		for _, e := range it.Entries {
			name := it.Name + "/" + e.Name
			switch e.Kind {
			case "dir":
				name += "/"
			case "link":
				name += " -> " + e.Linkname
			}
			fmt.Fprintf(a.stdout, "%-4s %12d  %s  %s\n", e.Kind, e.Size, e.ModTime.UTC().Format("2006-01-02 15:04"), name)
		}
	}
	if err != nil {
		return err
	}
	var n int
	for _, it := range doc.Items {
		n += len(it.Entries)
	}
	a.say("%d entries in %d item(s) of set %s/%s, every file checked; restore some with --include ITEM/path", n, len(doc.Items), set.Host, set.ID)
	return nil
}
