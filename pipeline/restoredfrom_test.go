package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/exporters"
)

// A restore folder records the set each item folder came from; a restore
// of another set refuses, naming both, to put its items beside them
// (without the record, "restore latest --item bravo" after a newer backup
// put a second night's bravo beside the first night's alpha, exit 0).
// --force restores anyway, and the record then names each item's set; a
// restore of the same set goes on as before.
func TestRestoredFromRefusesAnotherSet(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x.txt": "1"})
	b := f.tree(t, "b", map[string]string{"y.txt": "1"})
	job := f.job(exporters.NewPath("alpha", a), exporters.NewPath("bravo", b))
	one, err := Backup(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	two, err := Backup(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	m1, m2 := one.Manifest, two.Manifest
	to := filepath.Join(f.dir, "r")
	read := func(rj ReadJob) error {
		rj.Store, rj.Identities, rj.To = f.store, f.ids, to
		_, err := Read(context.Background(), rj)
		return err
	}
	record := func() string {
		b, _ := os.ReadFile(filepath.Join(to, restoredFromName))
		return strings.TrimPrefix(string(b), restoredFromHeader)
	}
	if err := read(ReadJob{Manifest: m1, Items: []string{"alpha"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := record(), "alpha fe01/"+m1.SetID+"\n"; got != want {
		t.Fatalf("record %q, want %q", got, want)
	}
	// The other set: refused, naming both, nothing written.
	err = read(ReadJob{Manifest: m2, Items: []string{"bravo"}, NamedAs: "latest"})
	want := "holds alpha restored from set fe01/" + m1.SetID + "; this restore is of fe01/" + m2.SetID + ", and would put another backup's items beside them (restore " + m1.SetID + " by that id for the items not there yet, restore set " + m2.SetID + " (latest) into another folder, or use --force"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("restore of another set: %v\nwant %s", err, want)
	}
	if _, err := os.Lstat(filepath.Join(to, "bravo")); !os.IsNotExist(err) {
		t.Fatalf("the refused restore wrote bravo: %v", err)
	}
	// The same set: the rest goes in as before.
	if err := read(ReadJob{Manifest: m1, Items: []string{"bravo"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := record(), "alpha fe01/"+m1.SetID+"\nbravo fe01/"+m1.SetID+"\n"; got != want {
		t.Fatalf("record %q, want %q", got, want)
	}
	// --force: restored anyway, the record says so item by item.
	if err := read(ReadJob{Manifest: m2, Items: []string{"bravo"}, Force: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := record(), "alpha fe01/"+m1.SetID+"\nbravo fe01/"+m2.SetID+"\n"; got != want {
		t.Fatalf("record %q, want %q", got, want)
	}
	// Now neither set alone: both named.
	err = read(ReadJob{Manifest: m1, Items: []string{"alpha"}})
	if err == nil || !strings.Contains(err.Error(), "holds bravo restored from set fe01/"+m2.SetID+"; this restore is of fe01/"+m1.SetID+", and would put another backup's items beside them (restore "+m2.SetID+" by that id for the items not there yet, restore set "+m1.SetID+" into another folder") {
		t.Fatalf("restore of set one beside set two's bravo: %v", err)
	}
	// An item folder removed since is no reason to refuse, and leaves the record.
	os.RemoveAll(filepath.Join(to, "alpha"))
	os.RemoveAll(filepath.Join(to, "bravo"))
	if err := read(ReadJob{Manifest: m2, Items: []string{"alpha"}}); err != nil {
		t.Fatal(err)
	}
	if got, want := record(), "alpha fe01/"+m2.SetID+"\n"; got != want {
		t.Fatalf("record %q, want %q", got, want)
	}
}

// A restore that put nothing in place leaves no record (a failed restore
// leaves nothing that looks restored), and keeps an earlier one as it was.
func TestRestoredFromFailedRestore(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x.txt": "1"})
	b := f.tree(t, "b", map[string]string{"y.txt": "1"})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", a), exporters.NewPath("bravo", b)))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	it, _ := m.Item("bravo")
	obj := filepath.Join(f.dir, "dest", filepath.FromSlash(it.Key))
	orig, _ := os.ReadFile(obj)
	bad := append([]byte{}, orig...)
	bad[len(bad)/2] ^= 0x40
	os.WriteFile(obj, bad, 0o644)
	to := filepath.Join(f.dir, "r")
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m, Identities: f.ids, To: to, Items: []string{"bravo"}}); err == nil {
		t.Fatal("a damaged object restored")
	}
	if ents, _ := os.ReadDir(to); len(ents) != 0 {
		t.Fatalf("a failed restore left %s", ents[0].Name())
	}
	reps, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m, Identities: f.ids, To: to})
	if err == nil || len(reps) != 2 || !reps[0].InPlace {
		t.Fatalf("restore with bravo damaged: %v", err)
	}
	b1, _ := os.ReadFile(filepath.Join(to, restoredFromName))
	if want := restoredFromHeader + "alpha fe01/" + m.SetID + "\n"; string(b1) != want {
		t.Fatalf("record %q, want %q", b1, want)
	}
}

// The record is never read through a link (as the restore lock is not).
func TestRestoredFromNotThroughALink(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "elsewhere")
	os.WriteFile(target, []byte("alpha fe01/20261201T172427Z-6fb165\n"), 0o644)
	link := filepath.Join(dir, restoredFromName)
	if err := os.Symlink(target, link); err != nil {
		t.Skipf("no symlink here: %v", err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		// Wine 8's CreateSymbolicLinkW returns success and makes nothing.
		t.Skipf("os.Symlink made no link here: %v", err)
	}
	if _, err := readRestoredFrom(dir); err == nil || !strings.Contains(err.Error(), "not a plain file") {
		t.Fatalf("record through a link: %v", err)
	}
}

func TestParseRestoredFrom(t *testing.T) {
	data := "# comment\r\nalpha fe01/20261201T172427Z-6fb165\r\n\nbad line\nbravo fe01/not-an-id\n../x fe01/20261201T172427Z-6fb165\nALPHA fe02/20261201T172427Z-6fb166\ncharlie fe01.contoso.com/20261202T000000Z-000000\n"
	want := []restoredEntry{{"alpha", "fe01", "20261201T172427Z-6fb165"}, {"charlie", "fe01.contoso.com", "20261202T000000Z-000000"}}
	if got := parseRestoredFrom([]byte(data)); !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
	if got := parseRestoredFrom(formatRestoredFrom(want)); !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip: %+v", got)
	}
}

// FuzzParseRestoredFrom: the file is whatever the restore folder holds;
// every entry parsed is valid, and what is written back reads the same.
func FuzzParseRestoredFrom(f *testing.F) {
	f.Add([]byte(restoredFromHeader + "alpha fe01/20261201T172427Z-6fb165\n"))
	f.Add([]byte("a b/c\n\r\n# x\nalpha fe01/20261201T172427Z-6fb165 extra\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es := parseRestoredFrom(data)
		for _, e := range es {
			if strings.ContainsAny(e.Item+e.Host+e.SetID, " /\n\r") {
				t.Fatalf("entry %+v", e)
			}
		}
		if again := parseRestoredFrom(formatRestoredFrom(es)); !reflect.DeepEqual(again, es) && len(es) > 0 {
			t.Fatalf("round trip: %+v, then %+v", es, again)
		}
	})
}

// Item folders of two sets (after a --force): both named, and no one set
// offered to finish the folder from.
func TestRestoredFromTwoSetsInPlace(t *testing.T) {
	dir := t.TempDir()
	for _, it := range []string{"alpha", "bravo"} {
		os.MkdirAll(filepath.Join(dir, it), 0o755)
		os.WriteFile(filepath.Join(dir, it, "f"), nil, 0o644)
	}
	os.WriteFile(filepath.Join(dir, restoredFromName), []byte("alpha fe01/20261201T000000Z-00000a\nbravo fe01/20261202T000000Z-00000b\n"), 0o644)
	r, err := readRestoredFrom(dir)
	if err != nil {
		t.Fatal(err)
	}
	err = r.check(&catalog.Manifest{Host: "fe01", SetID: "20261203T000000Z-00000c"}, "")
	want := "holds alpha restored from set fe01/20261201T000000Z-00000a; bravo restored from set fe01/20261202T000000Z-00000b; this restore is of fe01/20261203T000000Z-00000c, and would put another backup's items beside them (restore set 20261203T000000Z-00000c into another folder, or use --force to restore it there anyway)"
	if err == nil || !strings.HasSuffix(err.Error(), want) {
		t.Fatalf("got %v\nwant …%s", err, want)
	}
	// The set of bravo: alpha is another's.
	if err := r.check(&catalog.Manifest{Host: "fe01", SetID: "20261202T000000Z-00000b"}, ""); err == nil || !strings.Contains(err.Error(), "holds alpha restored from set fe01/20261201T000000Z-00000a; this") {
		t.Fatalf("got %v", err)
	}
}
