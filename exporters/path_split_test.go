package exporters

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

func TestPathSplit(t *testing.T) {
	dir := t.TempDir()
	tree := filepath.Join(dir, "corpus")
	for _, f := range []string{"sql/LcsCDR.bak", "filestore/a/1.xml", "exports/x.zip", "top.txt", "meeting ü/m.txt", "skipme/y"} {
		p := filepath.Join(tree, filepath.FromSlash(f))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(f), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	single := filepath.Join(dir, "alone.cfg")
	os.WriteFile(single, []byte("x"), 0o644)

	p := &PathExporter{name: "corpus", paths: []string{tree, single}, exclude: []string{"skipme"}, split: true}
	items, err := p.Export(context.Background(), Env{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, it := range items {
		if !config.ValidName(it.Name) {
			t.Errorf("item name %q is not valid", it.Name)
		}
		for _, r := range it.Roots {
			got[it.Name] = append(got[it.Name], r.Name+"="+filepath.ToSlash(strings.TrimPrefix(r.Path, dir)))
		}
	}
	want := map[string][]string{
		"corpus":            {"corpus/top.txt=/corpus/top.txt", "alone.cfg=/alone.cfg"},
		"corpus-exports":    {"corpus/exports=/corpus/exports"},
		"corpus-filestore":  {"corpus/filestore=/corpus/filestore"},
		"corpus-meeting___": {"corpus/meeting ü=/corpus/meeting ü"},
		"corpus-sql":        {"corpus/sql=/corpus/sql"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("split items:\n got %v\nwant %v", got, want)
	}
	if items[0].Name != "corpus" {
		t.Errorf("the loose-file item should come first, got %q", items[0].Name)
	}

	// Without split: one item, as before.
	p.split = false
	items, err = p.Export(context.Background(), Env{})
	if err != nil || len(items) != 1 || items[0].Name != "corpus" || len(items[0].Roots) != 2 {
		t.Fatalf("unsplit: %v %+v", err, items)
	}
}

func TestSplitNameCollisions(t *testing.T) {
	used := map[string]bool{"c": true}
	a, b := splitName("c", "a b", used), splitName("c", "a_b", used)
	if a != "c-a_b" || b != "c-a_b-2" {
		t.Fatalf("got %q and %q", a, b)
	}
	// Folders differing only in case (Linux) get names that do not: on
	// Windows they would be one folder and one object.
	if u, l, c := splitName("c", "Logs", used), splitName("c", "logs", used), splitName("c", "LOGS", used); u != "c-Logs" || l != "c-logs-2" || c != "c-LOGS-3" {
		t.Fatalf("got %q, %q and %q", u, l, c)
	}
	long := splitName("c", strings.Repeat("x", 300), used)
	if !config.ValidName(long) {
		t.Fatalf("%q is not a valid item name", long)
	}
}

func TestSplitOnlyForPath(t *testing.T) {
	_, err := config.Parse([]byte("host: h\nexporters:\n  - {kind: command, name: c, command: [x], split: true}\nencryption: {recipients: [age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq]}\ndestination: {url: 'file:///tmp/x'}\n"), func(string) (string, bool) { return "", false })
	if err == nil || !strings.Contains(err.Error(), "only a path exporter can be split") {
		t.Fatalf("split on a command exporter: got %v", err)
	}
}

// TestFileStoreNames: the item is named by server and share only (a
// store one folder below the share root keeps the same item name), and
// the archive's top folder by the last element, without an admin share's
// "$"; a drive root or nothing at all is "filestore".
func TestFileStoreNames(t *testing.T) {
	for unc, want := range map[string]string{
		`\\fs01.contoso.com\LyncShare`:     "fs01.contoso.com-LyncShare",
		`\\fs01.contoso.com\LyncShare\`:    "fs01.contoso.com-LyncShare",
		`\\fs01.contoso.com\D$\Lync\Share`: "fs01.contoso.com-D",
		`\\fs01\share\1-WebServices-1`:     "fs01-share",
	} {
		if got := fileStoreSlug(unc); got != want {
			t.Errorf("fileStoreSlug(%s) = %q, want %q", unc, got, want)
		}
	}
	for unc, want := range map[string]string{
		`\\fs01\LyncShare`:    "LyncShare",
		`\\fs01\LyncShare\`:   "LyncShare",
		`\\fs01\D$\Lync\Data`: "Data",
		`\\fs01\Share$`:       "Share",
		`LyncShare`:           "LyncShare",
		`D:\`:                 "filestore",
		`\\fs01\$`:            "filestore",
	} {
		if got := shareName(unc); got != want {
			t.Errorf("shareName(%s) = %q, want %q", unc, got, want)
		}
	}
}

// TestFileStoreItemMeta: the item records the store, its share name and,
// only when discovery knows them, the pools using it and its site (an
// empty "pools" would read back as one pool named "").
func TestFileStoreItemMeta(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		st   FileStoreInfo
		want map[string]string
	}{
		{FileStoreInfo{UncPath: dir}, map[string]string{"store": dir, "share": shareName(dir)}},
		{FileStoreInfo{UncPath: dir, Pools: []string{"pool01.contoso.com", "pool02.contoso.com"}, Site: "Redmond"},
			map[string]string{"store": dir, "share": shareName(dir), "pools": "pool01.contoso.com,pool02.contoso.com", "site": "Redmond"}},
	} {
		x := &fileStoreExporter{name: "filestore-x", store: c.st, timeout: time.Minute}
		its, err := x.Export(context.Background(), Env{})
		if err != nil || len(its) != 1 {
			t.Fatalf("%v %v", its, err)
		}
		if !maps.Equal(its[0].Meta, c.want) {
			t.Errorf("meta %q, want %q", its[0].Meta, c.want)
		}
	}
}
