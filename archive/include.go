package archive

import (
	"fmt"
	"path"
	"strings"
)

// Includer returns the choice of ExtractOptions.Include for a restore of
// some files of an item: an entry is chosen when a pattern (path.Match,
// slash-separated, relative to the item's folder) matches its name or
// the name of a folder above it, so "FileStore/1-WebServices-1" takes
// that folder whole. fold matches without case (Windows, where names are
// one name without case). A pattern path.Match refuses is an error.
func Includer(patterns []string, fold bool) (func(name string) bool, error) {
	pats := make([]string, 0, len(patterns))
	for _, p := range patterns {
		q := strings.Trim(strings.ReplaceAll(p, `\`, "/"), "/")
		if q == "" {
			return nil, fmt.Errorf("--include %q: an empty pattern", p)
		}
		if _, err := path.Match(q, ""); err != nil {
			return nil, fmt.Errorf("--include %q: malformed pattern (an unclosed [ ?)", p)
		}
		if fold {
			q = strings.ToLower(q)
		}
		pats = append(pats, q)
	}
	return func(name string) bool {
		if fold {
			name = strings.ToLower(name)
		}
		for p := name; p != "." && p != "/" && p != ""; p = path.Dir(p) {
			for _, q := range pats {
				if ok, _ := path.Match(q, p); ok {
					return true
				}
			}
		}
		return false
	}, nil
}
