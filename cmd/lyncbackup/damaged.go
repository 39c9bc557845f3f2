package main

import (
	"context"
	"sync"

	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/upload"
)

// damageRecorder records the damaged chunks a verify, restore or ls finds, so
// that the next backup of the host stores them again (docs/FORMAT.md,
// "Damaged chunks"), and says so in the item's error. file is the staging
// record on the backup host ("" when the command does not run with the
// config of the set's host); the store's marker is written best-effort.
type damageRecorder struct {
	a     *app
	ctx   context.Context
	st    upload.Store
	file  string
	host  string
	mu    sync.Mutex
	texts map[string]string // by chunk key: what the error says
}

func (a *app) damageRecorder(ctx context.Context, st upload.Store, sf setFlags, host string) *damageRecorder {
	r := &damageRecorder{a: a, ctx: ctx, st: st, host: host, texts: map[string]string{}}
	if sf.staging != "" && host == sf.cfgHost {
		r.file = chunk.DamagedFile(sf.staging, host)
	}
	return r
}

// damaged is pipeline.ReadJob.Damaged.
func (r *damageRecorder) damaged(d *chunk.DamagedError) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if t, ok := r.texts[d.Key]; ok {
		return t
	}
	rec := chunk.RecordDamaged(r.ctx, r.st, r.file, r.host, chunk.Damage{Key: d.Key, SHA256: d.SHA256})
	for _, err := range rec.Errs {
		// A read-only credential: the verify's outcome stays the damage,
		// and the error says what to do when nothing recorded it.
		if r.a.log != nil {
			r.a.log.Info("damaged chunk not recorded there", "chunk", d.Key, "err", err)
		}
	}
	t := pipeline.DamagedRemedy(r.host, d.Key)
	if rec.Any() {
		where := "in the store"
		switch {
		case rec.File != "" && rec.Store:
			where = "in " + rec.File + " and in the store"
		case rec.File != "":
			where = "in " + rec.File
		}
		t = "recorded " + where + ": the next backup of " + r.host + " stores the chunk again" +
			" (under Azure immutability it cannot while the chunk is locked, and says what to do then)"
	}
	r.texts[d.Key] = t
	return t
}
