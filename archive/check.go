package archive

import (
	"archive/tar"
	"errors"
	"fmt"
	"hash/maphash"
	"strings"
)

// Which archives lyncbackup accepts is decided in one place, the Checker:
// Write runs every entry it packs through one and Extract every entry it
// reads (verify --identity and restore alike), so a backup never stores,
// and a verify never passes, what a restore would refuse.
//
// Accepted: folders, regular files and symlinks with relative, clean names,
// each name once (a folder may repeat), nothing below a file or a link,
// then the index as the last entry. Link targets are data: any target is
// accepted (absolute, leaving the tree, dangling), because Extract creates
// links only after every file and folder and never writes through one.

// indexRecordKey and indexRecordPrefix form the PAX record of the global
// header that names the index when IndexName is taken by one of the
// archive's own top-level names: comment=lyncbackup-index=NAME. "comment"
// is the POSIX keyword readers ignore, so stock tar stays silent.
const (
	indexRecordKey    = "comment"
	indexRecordPrefix = "lyncbackup-index="
)

// Kind is what an accepted entry is.
type Kind int

// Entry kinds the Checker accepts.
const (
	KindHeader Kind = iota // the global header naming the index
	KindIndex              // the trailing SHA-256 index
	KindDir
	KindFile
	KindLink
)

// Checker validates the entries of one archive, in order.
type Checker struct {
	index   string // the index entry's name
	renamed bool   // a global header named the index
	entries int
	indexed bool    // the index went by: nothing may follow
	seen    nameSet // kind of every name (and implied folder)
}

// NewChecker starts the checks of one archive.
func NewChecker() *Checker { return &Checker{index: IndexName, seen: newNameSet()} }

// IndexEntryName is the name of the archive's index (IndexName unless a
// global header said otherwise).
func (c *Checker) IndexEntryName() string { return c.index }

// validIndexName accepts the names Write may give the index.
func validIndexName(n string) bool {
	if n == IndexName {
		return true
	}
	rest, ok := strings.CutPrefix(n, IndexName+"-")
	if !ok || rest == "" || len(rest) > 9 {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Entry checks hdr and returns its clean name and kind.
func (c *Checker) Entry(hdr *tar.Header) (string, Kind, error) {
	first := c.entries == 0
	c.entries++
	if c.indexed {
		return "", 0, errors.New("read archive: entries after the index")
	}
	if hdr.Typeflag == tar.TypeXGlobalHeader {
		n, ok := strings.CutPrefix(hdr.PAXRecords[indexRecordKey], indexRecordPrefix)
		if !first || !ok || !validIndexName(n) {
			return "", 0, &UnsafeError{hdr.Name, "unexpected global header"}
		}
		c.index, c.renamed = n, true
		return "", KindHeader, nil
	}
	if hdr.Name == c.index && hdr.Typeflag == tar.TypeReg {
		if hdr.Size > MaxIndexSize {
			return "", 0, errors.New("read archive: index too large")
		}
		c.indexed = true
		return hdr.Name, KindIndex, nil
	}
	name, err := CleanName(hdr.Name)
	if err != nil {
		return "", 0, err
	}
	// Write never lets a name take the index's. (Archives without a global
	// header may hold a folder named IndexName: today's format, accepted.)
	if top, _, _ := strings.Cut(name, "/"); c.renamed && top == c.index {
		return "", 0, &UnsafeError{hdr.Name, "has the name of the archive's index"}
	}
	var kind Kind
	switch hdr.Typeflag {
	case tar.TypeDir:
		kind = KindDir
	case tar.TypeReg:
		kind = KindFile
	case tar.TypeSymlink:
		kind = KindLink
		if hdr.Linkname == "" {
			return "", 0, &UnsafeError{hdr.Name, "empty link target"}
		}
		if strings.ContainsRune(hdr.Linkname, 0) {
			return "", 0, &UnsafeError{hdr.Name, "NUL in link target"}
		}
	default:
		return "", 0, &UnsafeError{hdr.Name, fmt.Sprintf("unsupported entry type %q (devices, fifos and hard links are refused)", string(hdr.Typeflag))}
	}
	if kind != KindFile && hdr.Size != 0 {
		return "", 0, &UnsafeError{hdr.Name, "a folder or link with content"}
	}
	if err := checkSeen(c.seen, name, kind); err != nil {
		return "", 0, &UnsafeError{hdr.Name, err.Error()}
	}
	return name, kind, nil
}

// checkSeen refuses a name used twice (folders may repeat), and an entry
// below a file or a symlink of the archive, then records the entry and the
// folders its name implies (so that a later file or link cannot take a
// folder's place).
func checkSeen(seen nameSet, name string, kind Kind) error {
	k := byte('f')
	switch kind {
	case KindDir:
		k = 'd'
	case KindLink:
		k = 'l'
	}
	if prev := seen.get(name); prev != 0 && (prev != 'd' || k != 'd') {
		return errors.New("appears twice")
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		switch seen.get(name[:i]) {
		case 'l':
			return errors.New("path goes through a symlink")
		case 'f':
			return fmt.Errorf("%s is a file, not a folder", name[:i])
		}
	}
	for i := 0; i < len(name); i++ {
		if name[i] == '/' {
			if seen.get(name[:i]) == 0 {
				seen.put(name[:i], 'd')
			}
		}
	}
	seen.put(name, k)
	return nil
}

// nameSet keeps a value per name under a 128-bit keyed hash of the name
// (two hash/maphash seeds, random per set) instead of the name itself: a
// file store of a million files costs the Checker ~40 MB, not ~150 (a
// name, its string header and the map's share of both, for every file
// and folder, for as long as the archive is read).
//
// Two names with one key (~n²/2¹²⁹ for n names: never, in practice) can
// only make checkSeen refuse an archive it should take, never take one it
// should refuse: a file's or link's value is never overwritten (an entry
// whose key holds one is refused), so a real repeat or an entry below a
// file or link still finds it. The nameMap's case clash check is the
// same: a clash that is not one renames a file, with a warning.
type nameSet struct {
	s1, s2 maphash.Seed
	m      map[nameKey]byte
}

type nameKey [2]uint64

func newNameSet() nameSet {
	return nameSet{s1: maphash.MakeSeed(), s2: maphash.MakeSeed(), m: map[nameKey]byte{}}
}

func (n nameSet) key(s string) nameKey {
	return nameKey{maphash.String(n.s1, s), maphash.String(n.s2, s)}
}

// get is the value put under s (0: none; values are never 0).
func (n nameSet) get(s string) byte { return n.m[n.key(s)] }

func (n nameSet) put(s string, v byte) { n.m[n.key(s)] = v }

// indexNameFor returns the index name for an archive with these top-level
// names: IndexName, or IndexName-N when a name takes it (compared without
// case, so that extracting on a case-insensitive file system cannot
// collide either).
func indexNameFor(tops map[string]bool) string {
	taken := func(n string) bool {
		for t := range tops {
			if strings.EqualFold(t, n) {
				return true
			}
		}
		return false
	}
	n := IndexName
	for i := 2; taken(n); i++ {
		n = fmt.Sprintf("%s-%d", IndexName, i)
	}
	return n
}
