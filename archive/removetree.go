package archive

import (
	"io/fs"
	"os"
	"path/filepath"
)

// RemoveTree removes the folder p and everything below it, as
// os.RemoveAll does, also when Extract made folders of it read-only (an
// archived 0555 folder): a folder without write permission keeps its
// entries on Linux (for a user other than root), and on Windows
// os.RemoveAll does not clear the read-only attribute os.Chmod gives a
// folder (golang/go#26295). On a failure, every folder (and on Windows
// file) below p is made writable by its owner (u+w, which clears the
// read-only attribute), never through a link, and the removal is tried
// again; what still fails is returned.
// Every clean-up of a restore's partial folder goes through it.
func RemoveTree(p string) error {
	err := removeAll(p)
	if err == nil {
		return nil
	}
	filepath.WalkDir(p, func(q string, d fs.DirEntry, werr error) error {
		if werr != nil || d.Type()&fs.ModeSymlink != 0 {
			return nil // a link's target is not ours to change
		}
		want := fs.FileMode(0o200) // a file: u+w
		if d.IsDir() {
			want = 0o700 // a folder: listed, entered, changed
		}
		if fi, err := d.Info(); err == nil && fi.Mode().Perm()&want != want {
			os.Chmod(q, fi.Mode().Perm()|want)
		}
		return nil
	})
	return removeAll(p)
}

// removeAll is os.RemoveAll (a test puts Windows' refusal of a folder with
// the read-only attribute in its place, which Wine 8 does not refuse).
var removeAll = os.RemoveAll
