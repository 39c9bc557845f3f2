package catalog

import (
	"context"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/upload/local"
)

// A destination URL one folder off names where the sets are; an empty or
// unrelated destination gets no hint.
func TestMisplaced(t *testing.T) {
	ctx := context.Background()
	const id = "20261125T020000Z-a1b2c3"
	cases := []struct {
		name string
		keys []string
		want string // "" = no hint
	}{
		{"empty", nil, ""},
		{"unrelated", []string{"docs/readme.txt", "docs/more/x.txt"}, ""},
		{"the sets", []string{"fe01/" + id + "/manifest.json"}, ""}, // not asked for in real use; no off-by-one
		{"a host folder", []string{id + "/manifest.json", "chunks/ab/ab.zst.age"}, "folder of one host"},
		{"a host folder with chunks only", []string{"chunks/ab/ab.zst.age", "chunk-locks/x"}, "folder of one host"},
		{"above the sets", []string{"sets/fe01/" + id + "/manifest.json", "other/readme.txt"}, `in its folder "sets": add /sets`},
		{"above a folder of non-sets", []string{"sets/fe01/notaset/x"}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := newStore(t)
			for _, k := range c.keys {
				put(t, st, k, "x")
			}
			got := Misplaced(ctx, st)
			if c.want == "" && got != "" {
				t.Fatalf("hint %q for %v", got, c.keys)
			}
			if c.want != "" && !strings.Contains(got, c.want) {
				t.Fatalf("hint %q, want it to say %q", got, c.want)
			}
		})
	}
}

// Misplaced makes a bounded number of folder listings, however many
// folders the destination holds.
func TestMisplacedBounded(t *testing.T) {
	st := &countFolders{Store: newStore(t)}
	for i := range 60 {
		put(t, st.Store, "d"+strings.Repeat("x", i%7)+string(rune('a'+i%26))+"/h"+string(rune('a'+i/26))+"/notaset/x", "x")
	}
	if got := Misplaced(context.Background(), st); got != "" {
		t.Fatalf("hint %q", got)
	}
	if st.n > misplacedLookups {
		t.Fatalf("%d folder listings, limit %d", st.n, misplacedLookups)
	}
}

// countFolders counts the folder listings made through it.
type countFolders struct {
	*local.Store
	n int
}

func (c *countFolders) Folders(ctx context.Context, prefix string) ([]string, error) {
	c.n++
	return c.Store.Folders(ctx, prefix)
}
