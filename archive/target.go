package archive

import (
	"path/filepath"
)

// targets decides where each entry of an archive lands below root. It is
// the one place for a platform's naming rules: on Linux every entry keeps
// its own name, so names that differ only by case ("Readme", "README")
// stay two files. Case-insensitive file systems (Windows) need refusal or
// renaming of such names, and of reserved names, here.
type targets struct {
	root string
}

// path returns where the entry name (clean, slash-separated) is written.
func (t *targets) path(name string) (string, error) {
	return filepath.Join(t.root, filepath.FromSlash(name)), nil
}
