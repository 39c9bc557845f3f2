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
)

// restoredFromName is the file in a restore folder that says which set
// each item folder there was restored from: one line per item, "ITEM
// HOST/SET-ID", after a comment line. A restore of another set refuses,
// unless --force, to put its items next to them (restoredFrom.check): a
// folder holding the CMS of one night and the user data of the next, both
// restored without a word, is not one backup.
const restoredFromName = ".lyncbackup-restored-from"

// maxRestoredFrom bounds what is read of the file (a line per item).
const maxRestoredFrom = 1 << 20

const restoredFromHeader = "# lyncbackup: the backup set (HOST/SET-ID) each item folder here was restored from\n"

// restoredEntry is one line of the file: an item folder and its set.
type restoredEntry struct {
	Item, Host, SetID string
}

func (e restoredEntry) set() string { return e.Host + "/" + e.SetID }

// parseRestoredFrom reads the file's lines. A line that is not "ITEM
// HOST/SET-ID" with a valid item and host name and set id (an edit, a
// cut write) is left out, as is a later line for an item named already.
func parseRestoredFrom(data []byte) []restoredEntry {
	var out []restoredEntry
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		item, set, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		host, id, ok := strings.Cut(set, "/")
		if !ok || !catalog.ValidName(item) || !catalog.ValidName(host) {
			continue
		}
		if _, err := catalog.ParseSetID(id); err != nil {
			continue
		}
		if findEntry(out, item) >= 0 {
			continue
		}
		out = append(out, restoredEntry{Item: item, Host: host, SetID: id})
	}
	return out
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

func formatRestoredFrom(es []restoredEntry) []byte {
	var b bytes.Buffer
	b.WriteString(restoredFromHeader)
	for _, e := range es {
		fmt.Fprintf(&b, "%s %s\n", e.Item, e.set())
	}
	return b.Bytes()
}

// restoredFrom is a restore folder's record, read under its lock.
type restoredFrom struct {
	dir     string
	entries []restoredEntry
	// was: the entries before this restore; empty: the item folders
	// this restore writes that were empty or absent before it.
	was   []restoredEntry
	empty map[string]bool
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
	data, err := io.ReadAll(io.LimitReader(f, maxRestoredFrom))
	if err != nil {
		return nil, fmt.Errorf("restore folder %s: read %s: %w", dir, p, err)
	}
	r.entries = parseRestoredFrom(data)
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
// folders in place came from: its items would sit beside theirs. Only
// entries whose folder holds files count. namedAs is as FinishHint's.
func (r *restoredFrom) check(m *catalog.Manifest, namedAs string) error {
	this := m.Host + "/" + m.SetID
	var order []string
	bySet := map[string][]string{}
	for _, e := range r.entries {
		if e.set() == this || !holdsFiles(r.dir, e.Item) {
			continue
		}
		if bySet[e.set()] == nil {
			order = append(order, e.set())
		}
		bySet[e.set()] = append(bySet[e.set()], e.Item)
	}
	if len(order) == 0 {
		return nil
	}
	var held []string
	for _, s := range order {
		held = append(held, strings.Join(bySet[s], ", ")+" restored from set "+s)
	}
	named := "set " + m.SetID
	if notByID(m.SetID, namedAs) {
		named += " (" + namedAs + ")"
	}
	// The set to finish the folder from, when one of this host's is.
	other := ""
	if id, ok := strings.CutPrefix(order[0], m.Host+"/"); ok && len(order) == 1 {
		other = "restore " + id + " by that id for the items not there yet, "
	}
	return fmt.Errorf("restore folder %s holds %s; this restore is of %s/%s, and would put another backup's items beside them (%srestore %s into another folder, or use --force to restore it there anyway)",
		r.dir, strings.Join(held, "; "), m.Host, m.SetID, other, named)
}

// claim records, before a file is written, that items come from m's set:
// a restore stopped on the way (a full disk, a killed process) leaves the
// record saying so. settle then puts it right.
func (r *restoredFrom) claim(m *catalog.Manifest, items []string) error {
	r.was = append([]restoredEntry(nil), r.entries...)
	r.empty = map[string]bool{}
	for _, it := range items {
		r.empty[it] = !holdsFiles(r.dir, it)
		e := restoredEntry{Item: it, Host: m.Host, SetID: m.SetID}
		if i := findEntry(r.entries, it); i >= 0 {
			r.entries[i] = e
		} else {
			r.entries = append(r.entries, e)
		}
	}
	return r.write()
}

// settle records what the restore did: an item put in place, or whose
// folder, empty before, now holds part of it (a move into place that
// failed half-way), is of this set; another item of this restore keeps
// what the record said before; an entry whose folder holds nothing (an
// item folder removed since) goes. No entry left: no file.
func (r *restoredFrom) settle(m *catalog.Manifest, reports []ItemReport) error {
	var out []restoredEntry
	mine := map[string]bool{}
	for _, rep := range reports {
		mine[strings.ToLower(rep.Name)] = true
		if rep.InPlace || r.empty[rep.Name] && holdsFiles(r.dir, rep.Name) {
			out = append(out, restoredEntry{Item: rep.Name, Host: m.Host, SetID: m.SetID})
		} else if i := findEntry(r.was, rep.Name); i >= 0 && holdsFiles(r.dir, rep.Name) {
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
// when there is no entry.
func (r *restoredFrom) write() error {
	p := filepath.Join(r.dir, restoredFromName)
	if len(r.entries) == 0 {
		if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("remove %s: %w", p, err)
		}
		return nil
	}
	f, err := os.CreateTemp(r.dir, restoredFromName+".*.tmp")
	if err != nil {
		return fmt.Errorf("record the set in %s: %w", p, err)
	}
	_, err = f.Write(formatRestoredFrom(r.entries))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), p)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("record the set in %s: %w", p, err)
	}
	return nil
}
