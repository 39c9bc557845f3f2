package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"filippo.io/age"

	"github.com/lyncbackup/lyncbackup/catalog"
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
// verify SET does (pipeline.VerifyAll), saying each set's outcome, and
// fails when any set fails, naming each.
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
	var ms []*catalog.Manifest
	for _, set := range all {
		if set.Host == host {
			ms = append(ms, set.Manifest)
		}
	}
	a.setReadMemory(sf.parallel, ms...)
	a.runLog().Info("verify started", "sets", "all", "host", host, "mode", mode)
	doc := verifyAllDoc{Host: host, Mode: mode, Sets: []readDoc{}}
	res, err := pipeline.VerifyAll(ctx, pipeline.VerifyAllJob{
		Store: st, Sets: all, Host: host, Items: sf.items, Identities: ids, Parallel: sf.parallel,
		Damaged: a.damageRecorder(ctx, st, sf, host).damaged,
		Progress: func() (pipeline.Progress, func()) {
			prog := newProgress(a, nil)
			return prog, prog.Stop
		},
		Lacking: func(s catalog.Set) {
			a.say("set %s/%s holds none of the items %s: left out", s.Host, s.ID, strings.Join(sf.items, ", "))
		},
		Deleted: func(s catalog.Set) {
			a.say("set %s/%s was deleted while verify ran (by a prune?): left out", s.Host, s.ID)
		},
		Verified: func(s catalog.Set, reports []pipeline.ItemReport, err error) {
			if err != nil {
				a.warnLine(oneLine(err.Error()), "set", s.ID)
			} else {
				a.recordVerify(s, mode)
				a.say("verified set %s/%s: %d items OK", s.Host, s.ID, len(reports))
			}
			doc.Sets = append(doc.Sets, a.readDoc(s, nil, mode, reports, err, ""))
		},
	})
	if errors.Is(err, pipeline.ErrInterrupted) {
		return err
	}
	doc.Deleted = res.Deleted
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
	a.say("verified all %d sets of %s (%s)", res.Sets, host, map[string]string{"stored": "stored objects (size and SHA-256), each chunk once", "full": "stored objects and every file; an item unchanged across sets decrypted once"}[mode])
	return nil
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
