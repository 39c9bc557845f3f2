package pipeline

import (
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
)

// --item matches an item name without case when exactly one item has it
// (Windows admins type CsConfig for csconfig), and an item named twice,
// in either spelling, is read once.
func TestSelectItemsWithoutCase(t *testing.T) {
	m := &catalog.Manifest{SetID: "s", Items: []catalog.Item{{Name: "csconfig"}, {Name: "filestore"}}}
	got, err := selectItems(m, []string{"CsConfig", "csconfig", "FILESTORE"})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range got {
		names = append(names, it.Name)
	}
	if strings.Join(names, " ") != "csconfig filestore" {
		t.Fatalf("selected %q, want csconfig filestore, each once", names)
	}
	// An earlier version's set with two names differing only in case:
	// the exact name, or nothing.
	m.Items = append(m.Items, catalog.Item{Name: "CsConfig"})
	if got, err := selectItems(m, []string{"CsConfig"}); err != nil || len(got) != 1 || got[0].Name != "CsConfig" {
		t.Fatalf("exact name: %v, %v", got, err)
	}
	if _, err := selectItems(m, []string{"CSCONFIG"}); err == nil || !strings.Contains(err.Error(), `has no item "CSCONFIG"`) {
		t.Fatalf("ambiguous without case: %v, want no item chosen", err)
	}
}
