// Package pipeline runs the work: exporters → tar → zstd → age → store,
// concurrently, then commits the manifest last; and the same pipe
// backwards for restore and verify.
package pipeline

import (
	"context"
	"io/fs"
	"path/filepath"

	"github.com/lyncbackup/lyncbackup/exporters"
)

// Progress receives events from a running backup, restore or verify.
// Implementations must be safe for concurrent use.
type Progress interface {
	// ItemStart announces an item; total is its plaintext size if known (else -1).
	ItemStart(name string, total int64)
	// Read counts plaintext bytes read (backup) or written/hashed (restore, verify).
	Read(name string, n int64)
	// Stored counts encrypted bytes handed to (or read from) the store.
	Stored(name string, n int64)
	// ItemDone ends an item; err is nil on success.
	ItemDone(name string, err error)
}

// NoProgress ignores every event.
type NoProgress struct{}

func (NoProgress) ItemStart(string, int64) {}
func (NoProgress) Read(string, int64)      {}
func (NoProgress) Stored(string, int64)    {}
func (NoProgress) ItemDone(string, error)  {}

// Planner is optionally implemented by a Progress that shows the whole
// run: Read tells it the items and bytes ahead (-1 when unknown).
type Planner interface {
	Plan(items int, bytes int64)
}

// TotalSetter is optionally implemented by a Progress that can take an
// item's size once it is known (Backup sizes an item's folders while it
// packs them).
type TotalSetter interface {
	SetTotal(name string, total int64)
}

// sizeItem walks an item's roots in the background and tells prog their
// total once known, so the display can show a percentage and an ETA for
// a tree while it packs (the walk reads metadata only, and stops when ctx
// ends). Skip rules are not applied: the total may be a little high.
func sizeItem(ctx context.Context, prog Progress, it exporters.Item) {
	ts, ok := prog.(TotalSetter)
	if !ok || len(it.Roots) == 0 {
		return
	}
	go func() {
		var total int64
		for _, r := range it.Roots {
			err := filepath.WalkDir(r.Path, func(_ string, d fs.DirEntry, err error) error {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				if err != nil || !d.Type().IsRegular() {
					return nil
				}
				if fi, err := d.Info(); err == nil {
					total += fi.Size()
				}
				return nil
			})
			if err != nil {
				return
			}
		}
		ts.SetTotal(it.Name, total)
	}()
}
