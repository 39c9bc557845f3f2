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
	// --force: restored anyway, over set one's bravo: the record says
	// bravo holds both (--force replaces and adds files, removes none).
	if err := read(ReadJob{Manifest: m2, Items: []string{"bravo"}, Force: true}); err != nil {
		t.Fatal(err)
	}
	if got, want := record(), "alpha fe01/"+m1.SetID+"\nbravo fe01/"+m1.SetID+" fe01/"+m2.SetID+"\n"; got != want {
		t.Fatalf("record %q, want %q", got, want)
	}
	// Now bravo is of no one set: no set is offered to finish it from.
	err = read(ReadJob{Manifest: m1, Items: []string{"alpha"}})
	if err == nil || !strings.Contains(err.Error(), "holds bravo (mixed: restored from sets fe01/"+m1.SetID+" and fe01/"+m2.SetID+" over each other, of no one set); this restore is of fe01/"+m1.SetID+", and would put another backup's items beside them (restore set "+m1.SetID+" into another folder") {
		t.Fatalf("restore of set one beside a mixed bravo: %v", err)
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

// The record's lines: an item and its set, or (mixed) its sets, "?" for
// files of no recorded set. A line that is no entry (an edit, a cut write,
// an item named already) is kept as it is when the record is written again
// (review: such lines, and all past 1 MiB, were lost on the rewrite).
func TestParseRestoredFrom(t *testing.T) {
	data := "# comment\r\nalpha fe01/20261201T172427Z-6fb165\r\n\nbad line\nbravo fe01/not-an-id\n../x fe01/20261201T172427Z-6fb165\nALPHA fe02/20261201T172427Z-6fb166\ncharlie fe01.contoso.com/20261202T000000Z-000000\n" +
		"delta ? fe01/20261201T172427Z-6fb165\necho fe01/20261201T172427Z-6fb165 fe02/20261201T172427Z-6fb166\nfox fe01/20261201T172427Z-6fb165 fe01/20261201T172427Z-6fb165\ngolf fe01/20261201T172427Z-6fb165 \n" + restoredFromHeader
	want := []restoredEntry{
		{"alpha", []string{"fe01/20261201T172427Z-6fb165"}},
		{"charlie", []string{"fe01.contoso.com/20261202T000000Z-000000"}},
		{"delta", []string{"?", "fe01/20261201T172427Z-6fb165"}},
		{"echo", []string{"fe01/20261201T172427Z-6fb165", "fe02/20261201T172427Z-6fb166"}},
	}
	wantOther := []string{"# comment", "bad line", "bravo fe01/not-an-id", "../x fe01/20261201T172427Z-6fb165", "ALPHA fe02/20261201T172427Z-6fb166",
		"fox fe01/20261201T172427Z-6fb165 fe01/20261201T172427Z-6fb165", "golf fe01/20261201T172427Z-6fb165 "}
	got, other := parseRestoredFrom([]byte(data))
	if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(other, wantOther) {
		t.Fatalf("got %+v\n%q\nwant %+v\n%q", got, other, want, wantOther)
	}
	if got, o := parseRestoredFrom(formatRestoredFrom(want, wantOther)); !reflect.DeepEqual(got, want) || !reflect.DeepEqual(o, wantOther) {
		t.Fatalf("round trip: %+v %q", got, o)
	}
}

// A record rewritten keeps the lines it does not read; one over 1 MiB is
// refused, naming the file and what to do, not cut.
func TestRestoredFromKeepsWhatItDoesNotRead(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, restoredFromName)
	os.WriteFile(p, []byte("note: restored by hand\nalpha fe01/20261201T172427Z-6fb165\n"), 0o644)
	r, err := readRestoredFrom(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := r.claim(&catalog.Manifest{Host: "fe01", SetID: "20261201T172427Z-6fb165"}, []string{"bravo"}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(p)
	if want := restoredFromHeader + "alpha fe01/20261201T172427Z-6fb165\nbravo fe01/20261201T172427Z-6fb165\nnote: restored by hand\n"; string(b) != want {
		t.Fatalf("record %q\nwant %q", b, want)
	}
	os.WriteFile(p, append(b, strings.Repeat("x", maxRestoredFrom)...), 0o644)
	if _, err := readRestoredFrom(dir); err == nil || !strings.Contains(err.Error(), p+" is over 1 MiB") || !strings.Contains(err.Error(), "move it out of the folder") {
		t.Fatalf("a record over 1 MiB: %v", err)
	}
}

// FuzzParseRestoredFrom: the file is whatever the restore folder holds;
// every entry parsed is valid, and what is written back reads the same.
func FuzzParseRestoredFrom(f *testing.F) {
	f.Add([]byte(restoredFromHeader + "alpha fe01/20261201T172427Z-6fb165\n"))
	f.Add([]byte("a b/c\n\r\n# x\nalpha fe01/20261201T172427Z-6fb165 extra\n"))
	f.Add([]byte("alpha ? fe01/20261201T172427Z-6fb165 fe02/20261201T172427Z-6fb165\nALPHA ?\r\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, other := parseRestoredFrom(data)
		for _, e := range es {
			if strings.ContainsAny(e.Item, " /\n\r") || len(e.Sets) == 0 {
				t.Fatalf("entry %+v", e)
			}
			for _, s := range e.Sets {
				if strings.ContainsAny(s, " \n\r") || s != unrecordedSet && strings.Count(s, "/") != 1 {
					t.Fatalf("entry %+v", e)
				}
			}
		}
		again, o := parseRestoredFrom(formatRestoredFrom(es, other))
		if !reflect.DeepEqual(again, es) || !reflect.DeepEqual(o, other) {
			t.Fatalf("round trip: %+v %q, then %+v %q", es, other, again, o)
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

// TestCheckImportFiles: the files a plan imports must come from its set
// by the folder's record; an item folder the record does not name (no
// record at all, or restored by hand) is the admin's word; another host's
// set is refused without advice to run its plan here; a path outside the
// folder is not judged.
func TestCheckImportFiles(t *testing.T) {
	dir := t.TempDir()
	m := &catalog.Manifest{Host: "fe01", SetID: "20261201T010203Z-aaaaaa"}
	files := []string{filepath.Join(dir, "csconfig", "CsConfiguration.zip"), filepath.Join(dir, "userdata", "u.zip"), filepath.Join(filepath.Dir(dir), "elsewhere.zip")}
	if err := CheckImportFiles(dir, m, files); err != nil {
		t.Errorf("no record: %v", err)
	}
	write := func(lines string) {
		if err := os.WriteFile(filepath.Join(dir, restoredFromName), []byte(restoredFromHeader+lines), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("csconfig fe01/20261201T010203Z-aaaaaa\nother fe01/20261130T010203Z-bbbbbb\n")
	if err := CheckImportFiles(dir, m, files); err != nil {
		t.Errorf("this set's files, and an item the plan does not import from another: %v", err)
	}
	write("csconfig fe01/20261201T010203Z-aaaaaa\nuserdata fe01/20261130T010203Z-bbbbbb\n")
	err := CheckImportFiles(dir, m, files)
	if err == nil || !strings.Contains(err.Error(), "userdata restored from set fe01/20261130T010203Z-bbbbbb") ||
		!strings.Contains(err.Error(), "run the plan of set 20261130T010203Z-bbbbbb instead") || strings.Contains(err.Error(), "csconfig") {
		t.Errorf("another set's userdata: %v", err)
	}
	write("csconfig fe02/20261201T010203Z-aaaaaa\n")
	err = CheckImportFiles(dir, m, files)
	if err == nil || !strings.Contains(err.Error(), "csconfig restored from set fe02/20261201T010203Z-aaaaaa") || strings.Contains(err.Error(), "run the plan of set") {
		t.Errorf("another host's csconfig: %v", err)
	}
	write("csconfig ? fe01/20261201T010203Z-aaaaaa\n")
	if err := CheckImportFiles(dir, m, files); err == nil || !strings.Contains(err.Error(), "csconfig (mixed: restored from set fe01/20261201T010203Z-aaaaaa over files of no recorded set") {
		t.Errorf("mixed csconfig: %v", err)
	}
}
