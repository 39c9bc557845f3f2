// Package uploadtest holds checks every upload.Store backend's tests run
// against a real store, so the backends keep the same contract.
package uploadtest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/upload"
)

// Folders checks st's upload.Folderer on a small tree of objects: the
// folders directly under a prefix, sorted, without prefix or slash; none
// under a leaf folder or a missing one.
func Folders(t *testing.T, st upload.Store) {
	t.Helper()
	f, ok := upload.As[upload.Folderer](st)
	if !ok {
		t.Fatalf("%s does not name its folders", st)
	}
	ctx := context.Background()
	for _, k := range []string{"b/3/w", "a/2/y", "a/1/x", "a/chunks/00/z", "readme", "a/top"} {
		if _, err := st.Put(ctx, k, strings.NewReader(k), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for prefix, want := range map[string][]string{
		"":          {"a", "b"},
		"a/":        {"1", "2", "chunks"},
		"a/chunks/": {"00"},
		"a/1/":      nil,
		"zz/":       nil,
	} {
		got, err := f.Folders(ctx, prefix)
		if err != nil {
			t.Fatalf("Folders(%q): %v", prefix, err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Folders(%q) = %q, want %q", prefix, got, want)
		}
	}
}
