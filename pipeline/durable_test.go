package pipeline

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/durable"
)

// durableLog records the flushes and renames of a restore, in order.
type durableLog struct {
	mu  sync.Mutex
	ops []durableOp
}

type durableOp struct{ op, path string }

// recordDurable turns the flushes on (restore --sync) for the test and
// records them.
func recordDurable(t *testing.T) *durableLog {
	durable.Enable(true)
	t.Cleanup(func() { durable.Enable(false) })
	return recordOps(t)
}

func recordOps(t *testing.T) *durableLog {
	l := &durableLog{}
	t.Cleanup(durable.SetHook(func(op, path string) {
		l.mu.Lock()
		l.ops = append(l.ops, durableOp{op, path})
		l.mu.Unlock()
	}))
	return l
}

// first is the index of the first op on path at or after from (-1: none).
func (l *durableLog) first(op, path string, from int) int {
	for i := from; i < len(l.ops); i++ {
		if l.ops[i].op == op && l.ops[i].path == path {
			return i
		}
	}
	return -1
}

// last is the index of the last op on path (-1: none).
func (l *durableLog) last(op, path string) int {
	for i := len(l.ops) - 1; i >= 0; i-- {
		if l.ops[i].op == op && l.ops[i].path == path {
			return i
		}
	}
	return -1
}

// TestRestoreIsDurableBeforeItIsInPlace: a restore flushes every file
// and folder it wrote to the disk before it renames the item into place,
// and the folder the rename changed after it (README, restore): a power
// loss right after "restored" finds whole files under their names, never
// the empty ones a file system that delays its writes leaves behind.
// Both formats, a fresh restore (the item folder renamed in whole) and
// one with --force over it (each file renamed in), through Read, as the
// binary restores; the flushes and renames are seen through durable's
// hook, in the order they were made.
func TestRestoreIsDurableBeforeItIsInPlace(t *testing.T) {
	for _, format := range []string{FormatArchive, FormatChunked} {
		t.Run(format, func(t *testing.T) {
			f := newFixture(t)
			a := f.tree(t, "a", map[string]string{"x.txt": "hello", "sub/y.txt": strings.Repeat("y", 3<<20), "sub/deeper/z.txt": "zed"})
			if runtime.GOOS != "windows" {
				// Read-only: its mode is set before it is flushed.
				os.Chmod(filepath.Join(a, "sub", "deeper", "z.txt"), 0o444)
			}
			b := f.tree(t, "b", map[string]string{"w.txt": "w"})
			res, err := Backup(context.Background(), inFormat(t, f.job(exporters.NewPath("alpha", a), exporters.NewPath("bravo", b)), format))
			if err != nil {
				t.Fatal(err)
			}
			to := filepath.Join(f.dir, "restore")
			log := recordDurable(t)
			if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to}); err != nil {
				t.Fatal(err)
			}
			// The restore folder this restore made, on the disk before
			// anything is renamed into it.
			if runtime.GOOS != "windows" {
				made := log.first(durable.OpDir, f.dir, 0)
				first := log.first(durable.OpRename, filepath.Join(to, "alpha"), 0)
				if b := log.first(durable.OpRename, filepath.Join(to, "bravo"), 0); b < first {
					first = b
				}
				if made < 0 || made > first {
					t.Errorf("%s, which the restore made %s in, flushed at %d, the first item renamed into %s at %d", f.dir, to, made, to, first)
				}
			}
			for _, item := range []string{"alpha", "bravo"} {
				dst := filepath.Join(to, item)
				ren := log.first(durable.OpRename, dst, 0)
				if ren < 0 {
					t.Fatalf("%s: no rename into place in %v", item, log.ops)
				}
				partial := filepath.Join(to, partialPrefix+item)
				filepath.WalkDir(dst, func(p string, d fs.DirEntry, err error) error {
					if err != nil {
						t.Fatal(err)
					}
					rel, _ := filepath.Rel(dst, p)
					written := filepath.Join(partial, rel)
					switch {
					case d.Type().IsRegular():
						if i := log.first(durable.OpFile, written, 0); i < 0 || i > ren {
							t.Errorf("%s: file %s flushed at %d, the item renamed into place at %d: it must be on the disk before it has its name", item, rel, i, ren)
						}
					case d.IsDir() && runtime.GOOS != "windows":
						if i := log.last(durable.OpDir, written); i < 0 || i > ren {
							t.Errorf("%s: folder %s flushed last at %d, the item renamed into place at %d", item, written, i, ren)
						}
					}
					return nil
				})
				if i := log.first(durable.OpDir, to, ren); runtime.GOOS != "windows" && i < 0 {
					t.Errorf("%s: %s not flushed after the rename into it (at %d): the new name may not survive a power loss\n%v", item, to, ren, log.ops)
				}
			}
			// The record of the set, as durable as the items it names.
			rf := filepath.Join(to, restoredFromName)
			ren := log.last(durable.OpRename, rf)
			if ren < 0 {
				t.Fatalf("%s not written by a rename: %v", rf, log.ops)
			}
			tmp := log.ops[ren-1]
			if tmp.op != durable.OpFile || !strings.HasPrefix(filepath.Base(tmp.path), restoredFromName+".") {
				t.Errorf("%s renamed in at %d without its temporary file flushed before (%v)", rf, ren, tmp)
			}
			if runtime.GOOS != "windows" && log.first(durable.OpDir, to, ren) < 0 {
				t.Errorf("%s not flushed after %s was renamed in", to, rf)
			}

			// --force over it: each file is renamed into the folder in place.
			log.mu.Lock()
			log.ops = nil
			log.mu.Unlock()
			if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to, Items: []string{"alpha"}, Force: true}); err != nil {
				t.Fatal(err)
			}
			partial := filepath.Join(to, partialPrefix+"alpha")
			var lastRename int
			for _, rel := range []string{"x.txt", filepath.Join("sub", "y.txt"), filepath.Join("sub", "deeper", "z.txt")} {
				dst := filepath.Join(to, "alpha", "a", rel)
				ren := log.first(durable.OpRename, dst, 0)
				if ren < 0 {
					t.Fatalf("--force: %s not renamed into place: %v", dst, log.ops)
				}
				lastRename = max(lastRename, ren)
				if i := log.first(durable.OpFile, filepath.Join(partial, "a", rel), 0); i < 0 || i > ren {
					t.Errorf("--force: %s flushed at %d, renamed into place at %d", rel, i, ren)
				}
			}
			if runtime.GOOS != "windows" {
				for _, d := range []string{filepath.Join(to, "alpha", "a"), filepath.Join(to, "alpha", "a", "sub"), filepath.Join(to, "alpha", "a", "sub", "deeper")} {
					if log.first(durable.OpDir, d, lastRename) < 0 {
						t.Errorf("--force: %s, which files were renamed into, not flushed after the last rename (%d)\n%v", d, lastRename, log.ops)
					}
				}
			}
			if b, err := os.ReadFile(filepath.Join(to, "alpha", "a", "sub", "y.txt")); err != nil || len(b) != 3<<20 {
				t.Errorf("restored y.txt: %d bytes, %v", len(b), err)
			}
		})
	}
}

// TestRestoreFlushesOnlyWhenAsked: without restore --sync a restore
// flushes nothing (it writes as cp, robocopy, tar and restic do); its
// renames are the same.
func TestRestoreFlushesOnlyWhenAsked(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x.txt": "hello", "sub/y.txt": "y"})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", a)))
	if err != nil {
		t.Fatal(err)
	}
	log := recordOps(t)
	to := filepath.Join(f.dir, "restore")
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: to}); err != nil {
		t.Fatal(err)
	}
	renames := 0
	for _, o := range log.ops {
		switch o.op {
		case durable.OpRename:
			renames++
		default:
			t.Errorf("without --sync: %s %s", o.op, o.path)
		}
	}
	if renames == 0 {
		t.Error("no rename seen: the hook saw nothing of the restore")
	}
}
