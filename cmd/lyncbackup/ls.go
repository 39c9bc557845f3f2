package main

import (
	"bufio"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/pipeline"
)

func init() {
	register(&command{name: "ls", summary: "list the folders, files and links of a set's items (reads them whole, as verify --identity does)",
		usage: "ls [SET|latest] --identity FILE [--item NAME]... [--from URL [--ca-file FILE]] [flags]", flags: flagsTransfer, run: runLs})
}

// lsSpool holds one item's listing, rendered, in a temporary file until
// the item has passed its checks: a file store of a million files lists
// in the memory of one.
type lsSpool struct {
	f *os.File
	w *bufio.Writer
	n int // entries
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
	var mu sync.Mutex
	spools := map[string]*lsSpool{}
	var spoolErr error
	defer func() {
		for _, s := range spools {
			s.f.Close()
			os.Remove(s.f.Name())
		}
	}()
	entry := func(item string, e archive.Entry) {
		mu.Lock()
		defer mu.Unlock()
		s := spools[item]
		if s == nil {
			f, err := os.CreateTemp("", "lyncbackup-ls-*")
			if err != nil {
				spoolErr = fmt.Errorf("ls: spool the listing: %w", err)
				return
			}
			s = &lsSpool{f: f, w: bufio.NewWriter(f)}
			spools[item] = s
		}
		if a.g.json {
			if s.n > 0 {
				s.w.WriteString(",\n")
			}
			b, _ := json.Marshal(e)
			s.w.Write(b)
		} else {
			name := item + "/" + e.Name
			switch e.Kind {
			case "dir":
				name += "/"
			case "link":
				name += " -> " + e.Linkname
			}
			fmt.Fprintf(s.w, "%-4s %12d  %s  %s\n", e.Kind, e.Size, e.ModTime.UTC().Format("2006-01-02 15:04"), name)
		}
		s.n++
	}
	prog := newProgress(a, nil)
	reports, err := pipeline.Read(ctx, pipeline.ReadJob{
		Store: st, Manifest: set.Manifest, Items: sf.items, Identities: ids, Parallel: sf.parallel, Progress: prog, Entry: entry,
	})
	prog.Stop()
	// A spool write that failed (a full temp folder) is kept by its
	// buffered writer: flushing them all now finds it before the JSON
	// header says ok, and no truncated listing is printed.
	for _, s := range spools {
		if ferr := s.w.Flush(); ferr != nil && spoolErr == nil {
			spoolErr = fmt.Errorf("ls: spool the listing: %w", ferr)
		}
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
			if s := spools[r.Name]; s != nil {
				n += s.n
			}
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
			if err := copySpool(out, spools[r.Name]); err != nil {
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
		if err := copySpool(out, spools[r.Name]); err != nil {
			return err
		}
	}
	if err != nil {
		return err
	}
	a.say("%d entries in %d item(s) of set %s/%s, every file checked; restore some with --include ITEM/path", n, len(ok), set.Host, set.ID)
	return nil
}

// copySpool writes an item's spooled listing to w (nothing for an item
// without entries).
func copySpool(w io.Writer, s *lsSpool) error {
	if s == nil {
		return nil
	}
	if err := s.w.Flush(); err != nil {
		return fmt.Errorf("ls: spool the listing: %w", err)
	}
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return fmt.Errorf("ls: spool the listing: %w", err)
	}
	_, err := io.Copy(w, s.f)
	return err
}
