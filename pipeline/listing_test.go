package pipeline

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lyncbackup/lyncbackup/archive"
)

// TestListing: entries of items read at once are spooled per item, in the
// order each item gave them, with the count of the entries before each;
// an item is written out whole, one without entries as nothing, and Close
// removes the spools. A temp folder that cannot be written is a
// SpoolError from Flush.
func TestListing(t *testing.T) {
	tmp := t.TempDir()
	t.Setenv("TMPDIR", tmp)
	t.Setenv("TMP", tmp) // Windows
	l := &Listing{Render: func(w io.Writer, item string, n int, e archive.Entry) {
		if n > 0 {
			io.WriteString(w, ",")
		}
		fmt.Fprintf(w, "%s/%s", item, e.Name)
	}}
	var wg sync.WaitGroup
	for _, item := range []string{"a", "b"} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 1000 {
				l.Entry(item, archive.Entry{Name: fmt.Sprint(i), Kind: "file"})
			}
		}()
	}
	wg.Wait()
	if err := l.Flush(); err != nil {
		t.Fatal(err)
	}
	for _, item := range []string{"a", "b"} {
		if n := l.Len(item); n != 1000 {
			t.Errorf("%s: %d entries", item, n)
		}
		var want []string
		for i := range 1000 {
			want = append(want, fmt.Sprintf("%s/%d", item, i))
		}
		var got strings.Builder
		if err := l.WriteItem(&got, item); err != nil {
			t.Fatal(err)
		}
		if got.String() != strings.Join(want, ",") {
			t.Errorf("%s: %.80s…", item, got.String())
		}
	}
	var none strings.Builder
	if err := l.WriteItem(&none, "c"); err != nil || none.Len() != 0 || l.Len("c") != 0 {
		t.Errorf("item without entries: %q, %v", none.String(), err)
	}
	if files, _ := filepath.Glob(filepath.Join(tmp, "lyncbackup-ls-*")); len(files) != 2 {
		t.Errorf("spools %v, want 2", files)
	}
	l.Close()
	if files, _ := filepath.Glob(filepath.Join(tmp, "lyncbackup-ls-*")); len(files) != 0 {
		t.Errorf("left after Close: %v", files)
	}

	missing := filepath.Join(tmp, "missing")
	t.Setenv("TMPDIR", missing)
	t.Setenv("TMP", missing)
	l = &Listing{Render: func(w io.Writer, item string, n int, e archive.Entry) { io.WriteString(w, e.Name) }}
	defer l.Close()
	l.Entry("a", archive.Entry{Name: "x"})
	err := l.Flush()
	var se *SpoolError
	if !errors.As(err, &se) || !errors.Is(err, os.ErrNotExist) || !strings.HasPrefix(err.Error(), "spool the listing: ") {
		t.Fatalf("unwritable temp folder: %v", err)
	}
	if l.Len("a") != 0 {
		t.Error("an entry counted that was not spooled")
	}
}
