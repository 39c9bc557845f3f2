package archive

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/lyncbackup/lyncbackup/internal/durable"
)

// InstallError is a failure of Install. Moved says whether some restored
// entries were already in place when it failed (the rest are still in the
// source folder, which must then be kept).
type InstallError struct {
	Err   error
	Moved bool
}

func (e *InstallError) Error() string { return e.Err.Error() }
func (e *InstallError) Unwrap() error { return e.Err }

type move struct {
	from, to string
	fi       fs.FileInfo // a folder's, taken before anything moved
	// dfi, parent: for a folder on both sides, dst's folder as it was,
	// and whether src's folder is only a parent of chosen entries (its
	// entry left out by Include): then dst's keeps its mode and time.
	dfi    fs.FileInfo
	parent bool
	// roDst: to is a file without write permission. On Windows (the
	// read-only attribute) a rename cannot replace it, so it is made
	// writable first; the restored file brings its own mode.
	roDst bool
}

// rename is durable.Rename, os.Rename (tests put Windows' refusal of a
// read-only target in its place, which neither Linux nor Wine has).
var rename = durable.Rename

// Install moves a tree that Extract wrote into a fresh folder src, and
// checked, to dst. A dst that does not exist is one rename. An existing
// dst (a restore with --force over an earlier one) is merged into: each
// file and link of src replaces the entry of the same name (a link is
// replaced, never followed), folders are merged, and what dst holds beside
// them stays. Nothing below dst is followed through a link: dst itself, or
// a folder of dst where src has a folder, being a link is a conflict. All
// conflicts are found before anything moves, so a refused Install leaves
// dst as it was. Once Install succeeded, src holds only emptied folders
// (or, for a dst that did not exist, is gone): the caller removes it with
// RemoveTree, and says when it cannot.
//
// src is on the disk whole before Install is called (Extract flushed
// every file and folder of it). Install flushes the folders its renames
// changed once they are done, so that when it returns the restored files
// are in place on the disk, and a power loss leaves each of them either
// complete under its name or still in src, never emptied under its name
// (on Windows, where a folder cannot be flushed, NTFS's journal keeps the
// renames in order: a power loss right after may leave some in src).
//
// parents (ExtractStats.Parents, relative to src) are folders made only to
// hold the entries a restore with Include chose below them: an existing
// folder of dst keeps its own mode and time for them (restore --force
// --include leaves the rest of dst as it was).
func Install(src, dst string, parents ...string) error {
	fi, err := os.Lstat(dst)
	if errors.Is(err, fs.ErrNotExist) {
		if err := rename(src, dst); err != nil {
			return &InstallError{Err: moveError(err, dst)}
		}
		if err := durable.Dir(filepath.Dir(dst)); err != nil {
			return &InstallError{Err: flushError(filepath.Dir(dst), err)}
		}
		return nil
	}
	if err != nil {
		return &InstallError{Err: fmt.Errorf("restore into %s: %w", dst, err)}
	}
	if err := folderInTheWay(dst, fi); err != nil {
		return &InstallError{Err: err}
	}
	var moves []move
	var dirs []move // folders present on both sides, parents first
	if err := planInstall(src, dst, &moves, &dirs); err != nil {
		return &InstallError{Err: err}
	}
	if len(parents) > 0 {
		only := make(map[string]bool, len(parents))
		for _, p := range parents {
			only[filepath.Join(src, p)] = true
		}
		for i := range dirs {
			dirs[i].parent = only[dirs[i].from]
		}
	}
	// Folders that src made read-only must let their entries go, and the
	// matching folders of dst take them; their modes are set again below.
	for _, d := range dirs {
		os.Chmod(d.from, d.fi.Mode().Perm()|0o700)
		if dfi, err := os.Lstat(d.to); err == nil && dfi.Mode().Perm()&0o200 == 0 {
			os.Chmod(d.to, dfi.Mode().Perm()|0o200)
		}
	}
	for i, m := range moves {
		// Checked again right before the move: the folder it goes into is
		// still a folder, not a link planted since the plan.
		parent := filepath.Dir(m.to)
		if pfi, err := os.Lstat(parent); err != nil || !pfi.IsDir() {
			return &InstallError{Err: fmt.Errorf("restore into %s: no longer a folder (changed during the restore)", parent), Moved: i > 0}
		}
		if m.roDst {
			if fi, err := os.Lstat(m.to); err == nil && fi.Mode().IsRegular() {
				os.Chmod(m.to, fi.Mode().Perm()|0o200)
			}
		}
		// A folder moved whole to another parent needs write permission
		// on itself on Linux (its ".." entry changes): a read-only one
		// (an archived 0555 folder) is made writable for the move and
		// gets its mode back once in place.
		var roDir fs.FileMode
		if fi, err := os.Lstat(m.from); err == nil && fi.IsDir() && fi.Mode().Perm()&0o200 == 0 {
			roDir = fi.Mode().Perm()
			os.Chmod(m.from, roDir|0o200)
		}
		if err := rename(m.from, m.to); err != nil {
			if roDir != 0 {
				os.Chmod(m.from, roDir)
			}
			return &InstallError{Err: moveError(err, m.to), Moved: i > 0}
		}
		if roDir != 0 {
			os.Chmod(m.to, roDir)
		}
	}
	// Modes and times of the merged folders as restored, deepest first
	// (the moves changed them); a mere parent's as dst had them.
	for i := len(dirs) - 1; i >= 0; i-- {
		fi := dirs[i].fi
		if dirs[i].parent {
			fi = dirs[i].dfi
		}
		os.Chmod(dirs[i].to, fi.Mode().Perm())
		os.Chtimes(dirs[i].to, fi.ModTime(), fi.ModTime())
	}
	// The folders the moves went into, on the disk with their new names.
	synced := map[string]bool{}
	for _, m := range moves {
		p := filepath.Dir(m.to)
		if synced[p] {
			continue
		}
		synced[p] = true
		if err := durable.Dir(p); err != nil {
			return &InstallError{Err: flushError(p, err)}
		}
	}
	return nil
}

// flushError is a failure to flush a folder the renames changed: every
// restored file is in place, but its new name may not survive a power
// loss.
func flushError(dir string, err error) error {
	return fmt.Errorf("restored files moved into place, but flushing %s to the disk failed (a power loss may undo the move): %w", dir, err)
}

// moveError is the failure of the rename that moves restored files to
// to. One that would cross filesystems (a filesystem mounted in the item's
// folder, or on Windows a volume mounted into one of its folders) says so
// and what to do, rather than only "invalid cross-device link".
func moveError(err error, to string) error {
	if crossDevice(err) {
		return fmt.Errorf("move restored files into place: %s is on another %s than the restored files, which wait beside the item's folder (a %s is mounted in it): they are moved in by renames, which cannot cross %ss; restore again with nothing mounted in the item's folder, or into another --to (%w)",
			filepath.Dir(to), fsWord, fsWord, fsWord, err)
	}
	return fmt.Errorf("move restored files into place: %w", err)
}

// folderInTheWay refuses a dst entry that is not a real folder where the
// restore needs one.
func folderInTheWay(p string, fi fs.FileInfo) error {
	if fi.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("restore into %s: it is a symlink, and a restore never writes through one (remove it, or restore elsewhere)", p)
	}
	if !fi.IsDir() {
		return fmt.Errorf("restore into %s: it is a file, and the backup has a folder there (move it away first)", p)
	}
	return nil
}

func planInstall(src, dst string, moves, dirs *[]move) error {
	ents, err := os.ReadDir(src)
	if err != nil {
		return fmt.Errorf("read %s: %w", src, err)
	}
	for _, e := range ents {
		s, d := filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())
		dfi, err := os.Lstat(d)
		if errors.Is(err, fs.ErrNotExist) {
			*moves = append(*moves, move{from: s, to: d})
			continue
		}
		if err != nil {
			return fmt.Errorf("restore into %s: %w", d, err)
		}
		if e.IsDir() {
			if err := folderInTheWay(d, dfi); err != nil {
				return err
			}
			sfi, err := e.Info()
			if err != nil {
				return fmt.Errorf("read %s: %w", s, err)
			}
			*dirs = append(*dirs, move{from: s, to: d, fi: sfi, dfi: dfi})
			if err := planInstall(s, d, moves, dirs); err != nil {
				return err
			}
			continue
		}
		if dfi.IsDir() {
			return fmt.Errorf("restore %s: a folder is in the way (move it away first)", d)
		}
		*moves = append(*moves, move{from: s, to: d, roDst: dfi.Mode().IsRegular() && dfi.Mode().Perm()&0o200 == 0})
	}
	return nil
}
