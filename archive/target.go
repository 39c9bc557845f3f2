package archive

import (
	"fmt"
	"path/filepath"
)

// targets decides where each entry of an archive lands below root. It is
// the one place for a platform's naming rules: on Linux every entry keeps
// its own name, so names that differ only by case ("Readme", "README")
// stay two files. On Windows (case-insensitive, with reserved names) the
// name map renames what cannot exist as it is, and says so (winname.go).
type targets struct {
	root  string
	names *nameMap // made on first use for the system we run on
}

// path returns where the entry name (clean, slash-separated; dir for a
// folder) is written, and a warning when it had to be renamed.
func (t *targets) path(name string, dir bool) (target, renamed string, err error) {
	if t.names == nil {
		t.names = systemNameMap()
	}
	disk, why := t.names.Map(name, dir)
	if why != "" {
		renamed = fmt.Sprintf("%s restored as %s: %s", name, disk, why)
	}
	return filepath.Join(t.root, filepath.FromSlash(disk)), renamed, nil
}
