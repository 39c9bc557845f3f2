package pipeline

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/internal/durable"
)

// restoredFromName is the file in a restore folder that says which set
// each item folder there was restored from: one line per item, "ITEM
// HOST/SET-ID", after a comment line. An item folder that held files when
// a restore wrote into it (--force) holds what both put there: its line
// names every set, "ITEM HOST/SET-A HOST/SET-B", with "?" for files there
// before of no recorded set ("ITEM ? HOST/SET-B"); it is mixed, of no one
// set. A restore of another set refuses, unless --force, to put its items
// next to item folders of its host (restoredFrom.check): a folder holding
// the CMS of one night and the user data of the next, both restored
// without a word, is not one backup. Another host's items are another
// server's: they are no reason to refuse, and an item folder of the same
// name is refused as one that holds files (checkOtherHosts), never with
// --force for advice.
const restoredFromName = ".lyncbackup-restored-from"

// maxRestoredFrom bounds what is read of the file (a line per item): a
// larger one is refused, not cut (its rewrite would lose the rest).
const maxRestoredFrom = 1 << 20

const restoredFromHeader = "# lyncbackup: the backup set (HOST/SET-ID) each item folder here was restored from\n"

// unrecordedSet stands, in an entry's sets, for files an item folder held
// before a restore wrote into it, of no recorded set.
const unrecordedSet = "?"

// restoredEntry is one line of the file: an item folder and its set, or
// (mixed) the sets whose files it holds, in the order they went in.
type restoredEntry struct {
	Item string
	Sets []string
}

func (e restoredEntry) mixed() bool { return len(e.Sets) > 1 }

// ofHost: a set the entry names is host's.
func (e restoredEntry) ofHost(host string) bool {
	for _, s := range e.Sets {
		if h, _, ok := strings.Cut(s, "/"); ok && h == host {
			return true
		}
	}
	return false
}

// describe is how a refusal names the entry.
func (e restoredEntry) describe() string {
	if !e.mixed() {
		return e.Item + " restored from set " + e.Sets[0]
	}
	var named []string
	unknown := false
	for _, s := range e.Sets {
		if s == unrecordedSet {
			unknown = true
		} else {
			named = append(named, s)
		}
	}
	what := "sets " + strings.Join(named, " and ")
	if len(named) == 1 {
		what = "set " + named[0]
	}
	if unknown {
		what += " over files of no recorded set"
	} else {
		what += " over each other"
	}
	return e.Item + " (mixed: restored from " + what + ", of no one set)"
}

// withSet is sets and s (once).
func withSet(sets []string, s string) []string {
	if slices.Contains(sets, s) {
		return slices.Clone(sets)
	}
	return append(slices.Clone(sets), s)
}

// parseSet: "?" or HOST/SET-ID with a valid host name and set id.
func parseSet(s string) bool {
	if s == unrecordedSet {
		return true
	}
	host, id, ok := strings.Cut(s, "/")
	if !ok || !catalog.ValidName(host) {
		return false
	}
	_, err := catalog.ParseSetID(id)
	return err == nil
}

// parseRestoredFrom reads the file's lines. A line that is not "ITEM SET
// [SET...]" with a valid item name and sets (an edit, a cut write, a later
// line for an item named already) is no entry; it is returned in other,
// as it is, and written back so (the header and blank lines aside).
func parseRestoredFrom(data []byte) (es []restoredEntry, other []string) {
	header := strings.TrimSuffix(restoredFromHeader, "\n")
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" || line == header {
			continue
		}
		if e, ok := parseEntry(line); ok && findEntry(es, e.Item) < 0 {
			es = append(es, e)
		} else {
			other = append(other, line)
		}
	}
	return es, other
}

func parseEntry(line string) (restoredEntry, bool) {
	if strings.HasPrefix(line, "#") {
		return restoredEntry{}, false
	}
	f := strings.Split(line, " ")
	if len(f) < 2 || !catalog.ValidName(f[0]) {
		return restoredEntry{}, false
	}
	e := restoredEntry{Item: f[0]}
	for _, s := range f[1:] {
		if !parseSet(s) || slices.Contains(e.Sets, s) {
			return restoredEntry{}, false
		}
		e.Sets = append(e.Sets, s)
	}
	return e, true
}

// findEntry is the index of item's entry (names compared without case:
// item names are unique so, being folders on Windows), or -1.
func findEntry(es []restoredEntry, item string) int {
	for i, e := range es {
		if strings.EqualFold(e.Item, item) {
			return i
		}
	}
	return -1
}

func formatRestoredFrom(es []restoredEntry, other []string) []byte {
	var b bytes.Buffer
	b.WriteString(restoredFromHeader)
	for _, e := range es {
		fmt.Fprintf(&b, "%s %s\n", e.Item, strings.Join(e.Sets, " "))
	}
	for _, l := range other {
		b.WriteString(l + "\n")
	}
	return b.Bytes()
}

// restoredFrom is a restore folder's record, read under its lock.
type restoredFrom struct {
	dir     string
	entries []restoredEntry
	// other: the file's lines that are no entry, kept as they are.
	other []string
	// was: the entries before this restore; held: the item folders
	// this restore writes that held files before it.
	was  []restoredEntry
	held map[string]bool
}

// readRestoredFrom reads dir's record (none yet: no entries). It is never
// read through a link, as the lock file is not.
func readRestoredFrom(dir string) (*restoredFrom, error) {
	r := &restoredFrom{dir: dir}
	p := filepath.Join(dir, restoredFromName)
	fi, err := os.Lstat(p)
	switch {
	case errors.Is(err, os.ErrNotExist):
		return r, nil
	case err != nil:
		return nil, fmt.Errorf("restore folder %s: %w", dir, err)
	case !fi.Mode().IsRegular():
		return nil, fmt.Errorf("restore folder %s: %w", dir, errNotPlain(p))
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("restore folder %s: %w", dir, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxRestoredFrom+1))
	if err != nil {
		return nil, fmt.Errorf("restore folder %s: read %s: %w", dir, p, err)
	}
	if len(data) > maxRestoredFrom {
		return nil, fmt.Errorf("restore folder %s: %s is over 1 MiB, more than lyncbackup writes there (a line per item folder): it is not its record of the set each item folder came from; move it out of the folder and restore again", dir, p)
	}
	r.entries, r.other = parseRestoredFrom(data)
	return r, nil
}

// holdsFiles: dir/item exists and is not an empty folder.
func holdsFiles(dir, item string) bool {
	p := ItemDir(dir, item)
	if _, err := os.Lstat(p); err != nil {
		return false
	}
	ents, err := os.ReadDir(p)
	return err != nil || len(ents) > 0
}

// check refuses a restore of another set than the one (or ones) the item
// folders of its host in place came from: its items would sit beside
// theirs. A mixed item folder is of no one set: every restore beside it is
// refused. Only entries whose folder holds files count, and only of m's
// host (another host's are another server's). namedAs is as FinishHint's.
func (r *restoredFrom) check(m *catalog.Manifest, namedAs string) error {
	this := m.Host + "/" + m.SetID
	var order, mixed []string
	bySet := map[string][]string{}
	for _, e := range r.entries {
		if !e.ofHost(m.Host) || !e.mixed() && e.Sets[0] == this || !holdsFiles(r.dir, e.Item) {
			continue
		}
		if e.mixed() {
			mixed = append(mixed, e.describe())
			continue
		}
		s := e.Sets[0]
		if bySet[s] == nil {
			order = append(order, s)
		}
		bySet[s] = append(bySet[s], e.Item)
	}
	if len(order)+len(mixed) == 0 {
		return nil
	}
	var held []string
	for _, s := range order {
		held = append(held, strings.Join(bySet[s], ", ")+" restored from set "+s)
	}
	held = append(held, mixed...)
	named := "set " + m.SetID
	if notByID(m.SetID, namedAs) {
		named += " (" + namedAs + ")"
	}
	// The set to finish the folder from, when one of this host's is.
	other := ""
	if len(order) == 1 && len(mixed) == 0 {
		if id, ok := strings.CutPrefix(order[0], m.Host+"/"); ok {
			other = "restore " + id + " by that id for the items not there yet, "
		}
	}
	return fmt.Errorf("restore folder %s holds %s; this restore is of %s/%s, and would put another backup's items beside them (%srestore %s into another folder, or use --force to restore it there anyway)",
		r.dir, strings.Join(held, "; "), m.Host, m.SetID, other, named)
}

// checkOtherHosts refuses, without --force, an item of this restore
// whose folder holds files restored from another host's sets only: another
// server's item of the same name. --force is not offered: it would write
// one server's files over another's.
func (r *restoredFrom) checkOtherHosts(m *catalog.Manifest, items []string) error {
	var there []string
	for _, it := range items {
		i := findEntry(r.entries, it)
		if i < 0 || r.entries[i].ofHost(m.Host) || !holdsFiles(r.dir, it) {
			continue
		}
		e := r.entries[i]
		if slices.Equal(e.Sets, []string{unrecordedSet}) {
			continue // no host named: the usual refusal
		}
		there = append(there, e.describe())
	}
	if len(there) == 0 {
		return nil
	}
	return fmt.Errorf("restore folder %s holds %s, another server's; this restore is of %s/%s: restore it into another folder (a folder per server)",
		r.dir, strings.Join(there, "; "), m.Host, m.SetID)
}

// entryFor is what the record says of an item that this restore writes
// into: m's set alone when its folder was empty or absent before, else the
// sets it held before (unrecorded files: "?") and m's, mixed.
func (r *restoredFrom) entryFor(m *catalog.Manifest, item string) restoredEntry {
	this := m.Host + "/" + m.SetID
	var sets []string
	if r.held[item] {
		if i := findEntry(r.was, item); i >= 0 {
			sets = r.was[i].Sets
		} else {
			sets = []string{unrecordedSet}
		}
	}
	return restoredEntry{Item: item, Sets: withSet(sets, this)}
}

// claim records, before a file is written, that items come from m's set
// (mixed with what a folder held already, see entryFor): a restore stopped
// on the way (a full disk, a killed process) leaves the record saying so.
// settle then puts it right.
func (r *restoredFrom) claim(m *catalog.Manifest, items []string) error {
	r.was = slices.Clone(r.entries)
	r.held = map[string]bool{}
	for _, it := range items {
		r.held[it] = holdsFiles(r.dir, it)
		e := r.entryFor(m, it)
		if i := findEntry(r.entries, it); i >= 0 {
			r.entries[i] = e
		} else {
			r.entries = append(r.entries, e)
		}
	}
	return r.write()
}

// settle records what the restore did: an item it moved into place, or
// began to (a move that failed half-way), is entryFor's; another item of
// this restore keeps what the record said before; an entry whose folder
// holds nothing (an item folder removed since) goes. No entry left: no
// file.
func (r *restoredFrom) settle(m *catalog.Manifest, reports []ItemReport) error {
	var out []restoredEntry
	mine := map[string]bool{}
	for _, rep := range reports {
		mine[strings.ToLower(rep.Name)] = true
		if !holdsFiles(r.dir, rep.Name) {
			continue
		}
		if rep.InPlace || rep.installing {
			out = append(out, r.entryFor(m, rep.Name))
		} else if i := findEntry(r.was, rep.Name); i >= 0 {
			out = append(out, r.was[i])
		}
	}
	for _, e := range r.was {
		if !mine[strings.ToLower(e.Item)] && findEntry(out, e.Item) < 0 && holdsFiles(r.dir, e.Item) {
			out = append(out, e)
		}
	}
	slices.SortFunc(out, func(a, b restoredEntry) int { return strings.Compare(strings.ToLower(a.Item), strings.ToLower(b.Item)) })
	r.entries = out
	return r.write()
}

// write replaces the file at once (a temporary file beside it, renamed
// over it: a link in its place is replaced, never followed), or removes it
// when there is no entry and no other line. It is readable by every
// account, as the item folders' files are: another one restoring into the
// same folder reads it.
func (r *restoredFrom) write() error {
	p := filepath.Join(r.dir, restoredFromName)
	if len(r.entries) == 0 && len(r.other) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		return nil
	}
	f, err := os.CreateTemp(r.dir, restoredFromName+".*.tmp")
	if err != nil {
		return fmt.Errorf("record the set in %s: %w", p, err)
	}
	err = f.Chmod(0o644)
	if err == nil {
		_, err = f.Write(formatRestoredFrom(r.entries, r.other))
	}
	if err == nil {
		// On the disk before it replaces the old record, as the items'
		// files are before they move into place.
		err = durable.File(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = durable.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("record the set in %s: %w", p, err)
	}
	if err := durable.Dir(r.dir); err != nil {
		return fmt.Errorf("record the set in %s: flush the folder: %w", p, err)
	}
	return nil
}

// CheckImportFiles refuses to import files of a restore folder that its
// record says came from another set than m's (restore --run-imports): the
// plan of one night would import another night's configuration, users or
// databases. An item folder restored from several sets over each other is
// of no one set, and refused too. Files of an item folder the record does
// not name (restored by hand, or by a version before the record) are the
// admin's word, as before. files are paths under dir (the steps' Files).
func CheckImportFiles(dir string, m *catalog.Manifest, files []string) error {
	r, err := readRestoredFrom(dir)
	if err != nil {
		return err
	}
	this := m.Host + "/" + m.SetID
	seen := map[string]bool{}
	var wrong []string
	other := ""
	for _, f := range files {
		rel, err := filepath.Rel(dir, f)
		if err != nil || rel == "." || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			continue
		}
		item, _, _ := strings.Cut(filepath.ToSlash(rel), "/")
		i := findEntry(r.entries, item)
		if i < 0 || seen[item] {
			continue
		}
		seen[item] = true
		e := r.entries[i]
		if !e.mixed() && e.Sets[0] == this {
			continue
		}
		wrong = append(wrong, e.describe())
		if !e.mixed() && other == "" {
			if h, id, ok := strings.Cut(e.Sets[0], "/"); ok && h == m.Host {
				other = id
			}
		}
	}
	if len(wrong) == 0 {
		return nil
	}
	advice := "restore set " + m.SetID + " into another folder and run its plan there"
	if other != "" {
		advice = "run the plan of set " + other + " instead (restore " + other + " --run-imports), or " + advice
	}
	return fmt.Errorf("restore folder %s holds %s; this plan is of set %s, and would import another backup's files: %s", dir, strings.Join(wrong, "; "), this, advice)
}
