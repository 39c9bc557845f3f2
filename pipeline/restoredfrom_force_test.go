package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/exporters"
)

// twoSets backs up alpha {x.txt, y.txt} and bravo {z.txt} twice, the files
// changed in between ("1" then "2"); host is the backups' host.
func twoSets(t *testing.T, host string) (f *fixture, one, two ReadJob, to string) {
	f = newFixture(t)
	a := f.tree(t, "a", map[string]string{"x.txt": "1", "y.txt": "1"})
	b := f.tree(t, "b", map[string]string{"z.txt": "1"})
	job := f.job(exporters.NewPath("alpha", a), exporters.NewPath("bravo", b))
	job.Host = host
	r1, err := Backup(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(a, "x.txt"), filepath.Join(a, "y.txt"), filepath.Join(b, "z.txt")} {
		os.WriteFile(p, []byte("2"), 0o644)
	}
	r2, err := Backup(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	to = filepath.Join(f.dir, "r")
	one = ReadJob{Store: f.store, Identities: f.ids, To: to, Manifest: r1.Manifest}
	two = ReadJob{Store: f.store, Identities: f.ids, To: to, Manifest: r2.Manifest}
	return f, one, two, to
}

func recordOf(t *testing.T, to string) string {
	t.Helper()
	b, _ := os.ReadFile(filepath.Join(to, restoredFromName))
	return strings.TrimPrefix(string(b), restoredFromHeader)
}

// --force with --include over alpha restored from set one writes one file
// of set two into alpha, which still holds set one's y.txt: the record
// said alpha was set two's, and a restore of set two's bravo was let
// through (review). alpha is recorded as mixed, and the restore beside it
// is refused, naming it so.
func TestRestoredFromForceIncludeMixes(t *testing.T) {
	_, one, two, to := twoSets(t, "fe01")
	one.Items = []string{"alpha"}
	if _, err := Read(context.Background(), one); err != nil {
		t.Fatal(err)
	}
	j := two
	j.Items, j.Force = []string{"alpha"}, true
	j.Include = func(item, name string) bool { return item == "alpha" && !strings.HasSuffix(name, "y.txt") }
	if _, err := Read(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	s1, s2 := "fe01/"+one.Manifest.SetID, "fe01/"+two.Manifest.SetID
	if got, want := recordOf(t, to), "alpha "+s1+" "+s2+"\n"; got != want {
		t.Fatalf("record %q, want %q", got, want)
	}
	j = two
	j.Items = []string{"bravo"}
	_, err := Read(context.Background(), j)
	if want := "holds alpha (mixed: restored from sets " + s1 + " and " + s2 + " over each other, of no one set); this restore is of " + s2; err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("set two's bravo beside a mixed alpha: %v\nwant …%s", err, want)
	}
}

// Plain --force over an item folder of files of no recorded set (an older
// restore, a copy by hand) records it as mixed with "?"; --force of the
// same set over its own folder keeps one set.
func TestRestoredFromForceOverUnrecorded(t *testing.T) {
	_, one, two, to := twoSets(t, "fe01")
	os.MkdirAll(filepath.Join(to, "bravo"), 0o755)
	os.WriteFile(filepath.Join(to, "bravo", "old.txt"), nil, 0o644)
	j := one
	j.Items, j.Force = []string{"alpha", "bravo"}, true
	if _, err := Read(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	s1 := "fe01/" + one.Manifest.SetID
	if got, want := recordOf(t, to), "alpha "+s1+"\nbravo ? "+s1+"\n"; got != want {
		t.Fatalf("record %q, want %q", got, want)
	}
	j.Items = []string{"alpha"}
	if _, err := Read(context.Background(), j); err != nil {
		t.Fatal(err)
	}
	if got, want := recordOf(t, to), "alpha "+s1+"\nbravo ? "+s1+"\n"; got != want {
		t.Fatalf("record after --force of the same set: %q, want %q", got, want)
	}
	j = two
	j.Items = []string{"alpha"}
	if _, err := Read(context.Background(), j); err == nil || !strings.Contains(err.Error(), "; bravo (mixed: restored from set "+s1+" over files of no recorded set, of no one set)") {
		t.Fatalf("got %v", err)
	}
}

// A --force restore of set two's bravo over set one's bravo killed before
// bravo is moved into place (claim written, no settle) left the record
// saying bravo was set two's while it held set one's files, and a restore
// of set two's alpha was let through (review). The claim says mixed.
func TestRestoredFromForceKilled(t *testing.T) {
	_, one, two, to := twoSets(t, "fe01")
	one.Items = []string{"bravo"}
	if _, err := Read(context.Background(), one); err != nil {
		t.Fatal(err)
	}
	// What Read does for --force up to the first file, then the process dies.
	rec, err := readRestoredFrom(to)
	if err != nil {
		t.Fatal(err)
	}
	if err := rec.claim(two.Manifest, []string{"bravo"}); err != nil {
		t.Fatal(err)
	}
	j := two
	j.Items = []string{"alpha"}
	if _, err := Read(context.Background(), j); err == nil || !strings.Contains(err.Error(), "holds bravo (mixed: ") {
		b, _ := os.ReadFile(filepath.Join(to, "bravo", "b", "z.txt"))
		t.Errorf("set two's alpha beside bravo holding set one's z.txt (%q): %v", b, err)
	}
}

// Another host's set into the same folder: another server's items are no
// reason to refuse (review: refused, and --force offered); an item folder
// of the same name is refused, --force not offered.
func TestRestoredFromOtherHost(t *testing.T) {
	f, one, _, to := twoSets(t, "fe01")
	// fe02's backup into the same store.
	c := f.tree(t, "c", map[string]string{"w.txt": "3"})
	job := f.job(exporters.NewPath("bravo", c), exporters.NewPath("charlie", c))
	job.Host = "fe02"
	r, err := Backup(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	other := ReadJob{Store: f.store, Identities: f.ids, To: to, Manifest: r.Manifest}
	one.Items = []string{"alpha", "bravo"}
	if _, err := Read(context.Background(), one); err != nil {
		t.Fatal(err)
	}
	j := other
	j.Items = []string{"charlie"}
	if _, err := Read(context.Background(), j); err != nil {
		t.Fatalf("fe02's charlie beside fe01's alpha and bravo: %v", err)
	}
	j.Items = []string{"bravo"}
	_, err = Read(context.Background(), j)
	want := "holds bravo restored from set fe01/" + one.Manifest.SetID + ", another server's; this restore is of fe02/" + r.Manifest.SetID + ": restore it into another folder"
	if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "--force") {
		t.Fatalf("fe02's bravo over fe01's: %v\nwant …%s, no --force", err, want)
	}
	if got, want := recordOf(t, to), "alpha fe01/"+one.Manifest.SetID+"\nbravo fe01/"+one.Manifest.SetID+"\ncharlie fe02/"+r.Manifest.SetID+"\n"; got != want {
		t.Fatalf("record %q, want %q", got, want)
	}
}

// The record is readable by every account (review: 0600, another account
// could not restore into a shared folder), and with --force one that
// cannot be read is a warning, not a failure.
func TestRestoredFromShared(t *testing.T) {
	_, one, _, to := twoSets(t, "fe01")
	one.Items = []string{"alpha"}
	if _, err := Read(context.Background(), one); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(to, restoredFromName)
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
		t.Fatalf("record mode %v, want 0644", fi.Mode().Perm())
	}
	// A record that cannot be read: a folder in its place does (a read
	// fails for every account, root too, and on Windows).
	os.Remove(p)
	os.MkdirAll(filepath.Join(p, "x"), 0o755)
	j := one
	j.Items = []string{"bravo"}
	if _, err := Read(context.Background(), j); err == nil {
		t.Fatal("restored without --force beside a record that cannot be read")
	}
	var warned []string
	j.Force, j.Warn = true, func(m string) { warned = append(warned, m) }
	if _, err := Read(context.Background(), j); err != nil {
		t.Fatalf("--force beside a record that cannot be read: %v", err)
	}
	if len(warned) != 1 || !strings.Contains(warned[0], restoredFromName) || !strings.Contains(warned[0], "--force restores without it") {
		t.Fatalf("warnings %q", warned)
	}
}
