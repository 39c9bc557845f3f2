package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/internal/faultpoint"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/upload"
)

// verifyAllDoc is verify all's --json document: one entry per set, as
// verify SET prints it.
type verifyAllDoc struct {
	OK       bool      `json:"ok"`
	ExitCode int       `json:"exit_code"`
	Host     string    `json:"host"`
	Mode     string    `json:"mode"`
	Sets     []readDoc `json:"sets"`
	// Deleted: sets a prune deleted while the run was on its way to them.
	Deleted []string `json:"deleted"`
	Error   string   `json:"error,omitempty"`
}

// verifyAll checks every committed set of the host, oldest first, as
// verify SET does. A host's sets share most of their chunks: without
// identities each chunk object is read once for the whole run (checks);
// with them an item whose entry is identical to one verified whole earlier
// in the run is not decrypted again (verified), while a changed item is
// read whole. A damaged manifest is a failed set, and so is an archived one
// (its manifest in an archive tier: named so, with the command that thaws
// it); an incomplete set (no manifest: running, or never finished) is not a
// backup and is left out.
// It fails when any set fails, naming each.
func (a *app) verifyAll(ctx context.Context, st upload.Store, host string, sf setFlags) error {
	cat := catalog.Catalog{Store: st, NoChunks: true}
	all, err := cat.List(ctx)
	if err != nil {
		return err
	}
	host, err = oneHost(all, host)
	if err != nil {
		return noSetsHint(ctx, st, all, err)
	}
	mode := "stored"
	var ids []age.Identity
	if sf.identity != "" {
		loaded, err := a.identities(sf)
		if err != nil {
			return err
		}
		ids, mode = loaded, "full"
	}
	a.runLog().Info("verify started", "sets", "all", "host", host, "mode", mode)
	doc := verifyAllDoc{Host: host, Mode: mode, Sets: []readDoc{}}
	checks, verified := &chunk.Checks{}, &pipeline.VerifiedItems{}
	var failed, deleted []string
	n, lacking := 0, 0
	for _, s := range all {
		if s.Host != host || (s.Manifest == nil && s.ManifestErr == nil) {
			continue
		}
		items := sf.items
		if len(items) > 0 && s.Manifest != nil {
			// --item: each set's own items of those names (sets made before
			// an exporter was added hold none of them, and are left out).
			if items = itemsOf(s.Manifest, sf.items); len(items) == 0 {
				a.say("set %s/%s holds none of the items %s: left out", s.Host, s.ID, strings.Join(sf.items, ", "))
				lacking++
				continue
			}
		}
		faultpoint.Reach(ctx, "verify-set", s.ID)
		n++
		var reports []pipeline.ItemReport
		err := s.ManifestErr
		if err == nil {
			s.Manifest, err = cat.LoadManifest(ctx, s.Host, s.ID) // with its chunk entries
		}
		// The manifest's error (not an item's: an item object in an
		// archive tier is the pipeline's to name).
		err = archivedSetErr(s.Host, s.ID, err)
		if err == nil {
			prog := newProgress(a, nil)
			job := pipeline.ReadJob{Store: st, Manifest: s.Manifest, Items: items, Parallel: sf.parallel, Identities: ids, Checks: checks, Verified: verified, Progress: prog}
			reports, err = pipeline.Read(ctx, job)
			prog.Stop()
		}
		if ctx.Err() != nil {
			return pipeline.ErrInterrupted
		}
		if err != nil && s.ManifestErr == nil {
			// A prune (after another backup, say) may delete an old set
			// while this run is on its way to it: the set is gone, not
			// damaged. Its manifest goes first.
			if _, serr := st.Stat(ctx, catalog.ManifestKey(s.Host, s.ID)); errors.Is(serr, upload.ErrNotFound) {
				n--
				deleted = append(deleted, s.ID)
				a.say("set %s/%s was deleted while verify ran (by a prune?): left out", s.Host, s.ID)
				continue
			}
		}
		if err != nil {
			err = fmt.Errorf("verify %s/%s: %w", s.Host, s.ID, err)
			failed = append(failed, s.ID)
			a.warnLine(oneLine(err.Error()), "set", s.ID)
		} else {
			a.recordVerify(s, mode)
			a.say("verified set %s/%s: %d items OK", s.Host, s.ID, len(reports))
		}
		doc.Sets = append(doc.Sets, a.readDoc(s, nil, mode, reports, err, ""))
	}
	switch {
	case n == 0 && lacking > 0:
		err = fmt.Errorf("no set of %s holds the item(s) %s", host, strings.Join(sf.items, ", "))
	case n == 0:
		err = fmt.Errorf("host %s has no committed set to verify", host)
	case len(failed) > 0:
		err = fmt.Errorf("verify all: %d of %d sets of %s failed: %s", len(failed), n, host, strings.Join(failed, ", "))
	}
	doc.Deleted = deleted
	if doc.Deleted == nil {
		doc.Deleted = []string{}
	}
	doc.OK, doc.ExitCode = err == nil, a.code(err)
	if err != nil {
		doc.Error = oneLine(err.Error())
	}
	if a.g.json {
		a.printJSON(doc)
	}
	if err != nil {
		return err
	}
	a.say("verified all %d sets of %s (%s)", n, host, map[string]string{"stored": "stored objects (size and SHA-256), each chunk once", "full": "stored objects and every file; an item unchanged across sets decrypted once"}[mode])
	return nil
}

// archivedSet is the error of a set whose manifest cannot be read because
// it is in an archive tier (catalog.Set.Archived): what it is and the
// command that brings it back, as list says it, instead of the store's raw
// error. It is a set verify cannot read, as a damaged one: a failure.
type archivedSet struct {
	host, id string
	err      error
}

func (e *archivedSet) Error() string {
	return fmt.Sprintf("set %s/%s is archived: its manifest is in an archive tier (written before lyncbackup kept manifests online) and nothing in it can be verified until it is thawed: run restore %s --thaw, then verify it again", e.host, e.id, e.id)
}

func (e *archivedSet) Unwrap() error { return e.err }

// archivedSetErr is err, the error of reading set host/id's manifest, or,
// when it says the manifest is in an archive tier, an archivedSet.
func archivedSetErr(host, id string, err error) error {
	if !errors.Is(err, upload.ErrArchived) {
		return err
	}
	return &archivedSet{host: host, id: id, err: err}
}

// oneHost is the host whose sets a command uses (catalog.ResolveHost),
// which must have sets.
func oneHost(sets []catalog.Set, host string) (string, error) {
	h, err := catalog.ResolveHost(sets, host)
	if err != nil {
		return "", err
	}
	if !slices.Contains(catalog.Hosts(sets), h) {
		return "", fmt.Errorf("host %s has no backup set%s", h, catalog.OtherHosts(sets, h))
	}
	return h, nil
}

// itemsOf is the names, of those given, that m holds (a name matches an
// item whose name differs only in case, as --item does).
func itemsOf(m *catalog.Manifest, names []string) []string {
	var out []string
	for _, n := range names {
		for _, it := range m.Items {
			if strings.EqualFold(it.Name, n) {
				out = append(out, n)
				break
			}
		}
	}
	return out
}
