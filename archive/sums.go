package archive

import (
	"bufio"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
)

// fileSums holds what an Extract read of every file, in archive order, to
// hold against the index at the archive's end: the names back to back in
// one buffer and a fixed-size record per file, ~40 bytes and the name's
// length for each, and nothing the garbage collector has to scan. (A map
// of name to hex sum, and a second one for the index, had cost a restore
// ~470 bytes of heap per file: ~140 MB for a file store of 300,000.)
type fileSums struct {
	names []byte
	recs  []sumRec
}

type sumRec struct {
	end int // names[end of the record before:end] is the file's name
	sum [32]byte
}

func (s *fileSums) add(name string, sum [32]byte) {
	s.names = append(s.names, name...)
	s.recs = append(s.recs, sumRec{len(s.names), sum})
}

func (s *fileSums) nameBytes(i int) []byte {
	start := 0
	if i > 0 {
		start = s.recs[i-1].end
	}
	return s.names[start:s.recs[i].end]
}

func (s *fileSums) name(i int) string { return string(s.nameBytes(i)) }

// check reads the archive's index from r and holds every file read to it:
// a malformed line, a mismatch, a file the index names twice or that the
// archive lacks, or a file the index does not name is an error naming the
// file. Write puts the index in the archive's order, and the two are
// compared side by side; an index in another order (no writer of ours made
// one) is still taken, through a map of the names built at the first line
// out of order.
func (s *fileSums) check(r io.Reader) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	next := 0             // in order: the file the next line should name
	var at map[string]int // out of order: file of each name
	var matched []bool
	for sc.Scan() {
		sumHex, name, ok := parseIndexLine(sc.Text())
		var want [32]byte
		if ok {
			_, err := hex.Decode(want[:], []byte(sumHex))
			ok = err == nil
		}
		if !ok {
			return errors.New("read archive: malformed index line")
		}
		i := next
		if at == nil && next < len(s.recs) && string(s.nameBytes(next)) == name {
			next++
		} else {
			if at == nil {
				at = make(map[string]int, len(s.recs))
				for j := range s.recs {
					at[s.name(j)] = j
				}
				matched = make([]bool, len(s.recs))
				for j := range next {
					matched[j] = true
				}
			}
			j, found := at[name]
			if !found {
				return fmt.Errorf("file %s is in the index but missing from the archive", name)
			}
			if matched[j] {
				return fmt.Errorf("file %s is in the index twice", name)
			}
			matched[j] = true
			i = j
		}
		if s.recs[i].sum != want {
			return fmt.Errorf("file %s: SHA-256 mismatch (archive damaged)", name)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read archive index: %w", err)
	}
	for j := next; j < len(s.recs); j++ {
		if matched == nil || !matched[j] {
			return fmt.Errorf("file %s is not in the archive's index", s.name(j))
		}
	}
	return nil
}
