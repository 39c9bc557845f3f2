package archive

import (
	"fmt"
	"path"
	"runtime"
	"strings"

	"github.com/lyncbackup/lyncbackup/internal/winname"
)

// nameMap turns archive names into the names files get on disk. On Unix it
// changes nothing. On Windows some names cannot exist, and restoring them
// as they are would lose data silently: NUL or COM1.txt open a device (the
// bytes vanish and the hash check still passes), "a." and "a " lose their
// last character, and A and a are the same file. Such names are renamed,
// and each rename is reported, so nothing is lost without a word:
//
//   - names Windows reserves (CON, PRN, AUX, NUL, COM1-9, LPT1-9,
//     CONIN$, CONOUT$, with or without an extension, any case) get a "_"
//     in front: NUL → _NUL, com1.txt → _com1.txt;
//   - trailing dots and spaces become "_": "notes." → "notes_";
//   - a name equal, ignoring case, to one already restored from the same
//     archive gets "~2" (then "~3", …) before its extension: a.txt after
//     A.TXT → a~2.txt.
//
// Folders are renamed the same way and their contents follow them.
type nameMap struct {
	windows bool
	dirs    map[string]string // archive folder → its name on disk
	used    nameSet           // lower-case names on disk, for case clashes
}

func newNameMap(windows bool) *nameMap {
	return &nameMap{windows: windows, dirs: map[string]string{}, used: newNameSet()}
}

// systemNameMap is the map for the system we run on.
func systemNameMap() *nameMap { return newNameMap(runtime.GOOS == "windows") }

// Map returns the on-disk name (slash-separated, relative) for the clean
// archive name, and a reason when it differs. A folder that appears again
// (as the parent of later entries, or twice) keeps its first mapping.
func (m *nameMap) Map(name string, dir bool) (string, string) {
	if !m.windows {
		return name, ""
	}
	var why []string
	parent, base := path.Split(name)
	parent = strings.TrimSuffix(parent, "/")
	diskParent := parent
	if parent != "" {
		if d, ok := m.dirs[parent]; ok {
			diskParent = d
		} else {
			// An implied folder (no entry of its own): map it now.
			var pwhy string
			diskParent, pwhy = m.Map(parent, true)
			if pwhy != "" {
				why = append(why, fmt.Sprintf("its folder %s is restored as %s (%s)", parent, diskParent, pwhy))
			}
		}
	}
	if d, ok := m.dirs[name]; ok && dir {
		return d, "" // reported when first mapped
	}
	fixed := base
	if trimmed := strings.TrimRight(fixed, ". "); trimmed != fixed {
		fixed = trimmed + strings.Repeat("_", len(fixed)-len(trimmed))
		why = append(why, "Windows drops trailing dots and spaces")
	}
	if dev := winname.Device(fixed); dev != "" {
		fixed = "_" + fixed
		why = append(why, "Windows reserves the name "+dev)
	}
	disk := join(diskParent, fixed)
	if m.used.get(ntfsFold(disk)) != 0 {
		ext := path.Ext(fixed)
		stem := strings.TrimSuffix(fixed, ext)
		for n := 2; ; n++ {
			c := join(diskParent, fmt.Sprintf("%s~%d%s", stem, n, ext))
			if m.used.get(ntfsFold(c)) == 0 {
				disk = c
				break
			}
		}
		why = append(why, "another name differs from it only by case, and Windows names ignore case")
	}
	m.used.put(ntfsFold(disk), 1)
	if dir {
		m.dirs[name] = disk
	}
	if len(why) == 0 { // unchanged, or only inside a renamed folder (reported once)
		return disk, ""
	}
	return disk, strings.Join(why, "; ")
}

// ntfsFold is the key under which NTFS finds a name: it compares names
// upper-cased letter by letter (its $UpCase table), so σ and ς, both Σ,
// are one name there, which lower-casing kept apart (and the second file
// overwrote the first, or was refused with "use --force").
func ntfsFold(s string) string { return strings.ToUpper(s) }

func join(dir, base string) string {
	if dir == "" {
		return base
	}
	return dir + "/" + base
}
