package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"
)

// restoreSetEnv backs up items alpha and bravo into one set, moved five
// minutes back so a backup made next is latest, and damages bravo's
// object; fix puts it back.
func restoreSetEnv(t *testing.T) (e *coreEnv, set string, fix func()) {
	e = newCoreEnv(t)
	for _, n := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(e.dir, n), 0o755)
		os.WriteFile(filepath.Join(e.dir, n, "night.txt"), []byte("night 1"), 0o644)
	}
	e.writeConfig(map[string][]string{"alpha": {filepath.Join(e.dir, "a")}, "bravo": {filepath.Join(e.dir, "b")}}, "format: archive\n")
	first := e.backup()
	set = later(t, first, -300, "000001")
	e.moveSet(first, set)
	bravo := e.object(set, "bravo")
	orig, _ := os.ReadFile(bravo)
	bad := append([]byte{}, orig...)
	bad[len(bad)/2] ^= 0x40
	os.WriteFile(bravo, bad, 0o644)
	return e, set, func() { os.WriteFile(bravo, orig, 0o644) }
}

// TestCoreRestoreHintNamesTheSet: a restore of latest that put alpha in
// place and not bravo ended "the rest: restore again with --item bravo",
// flags to add to the same command; once a newer backup was committed,
// that command restored bravo from the newer set: the folder held two
// nights, exit 0, nothing said. The hint (in text and --json), and the
// refusal of the same command again, name the set by its id, and the
// command so named restores bravo of the first night.
func TestCoreRestoreHintNamesTheSet(t *testing.T) {
	e, set, fix := restoreSetEnv(t)
	to := filepath.Join(e.dir, "r")
	want := "in place: alpha; the rest: restore set " + set + " again (by that id, not latest) with --item bravo"
	failsWith(t, e.run("restore", "latest", "--to", to, "--identity", e.key), 1, want)
	// By a prefix of its id, and in the --json document.
	r := e.run("restore", set[:15], "--to", filepath.Join(e.dir, "r2"), "--identity", e.key, "--json")
	var doc struct {
		Error string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || r.Code != 1 ||
		!strings.Contains(doc.Error, "the rest: restore set "+set+" again (by that id, not "+set[:15]+") with --item bravo") {
		t.Fatalf("exit %d, --json error %q (%v)", r.Code, doc.Error, err)
	}
	// The same command again is refused; its advice names the set too.
	failsWith(t, e.run("restore", "--to", to, "--identity", e.key), 1, "holds alpha already", "--item for the other items of set "+set+" (by that id, not latest)")

	// A newer night is backed up, then the hint is followed.
	for _, n := range []string{"a", "b"} {
		os.WriteFile(filepath.Join(e.dir, n, "night.txt"), []byte("night 2"), 0o644)
	}
	e.backup()
	fix()
	m := regexp.MustCompile(`restore set (\S+) again \(by that id, not latest\) with (.*)$`).FindStringSubmatch(want)
	e.mustRun(append([]string{"restore", m[1], "--to", to, "--identity", e.key}, strings.Fields(m[2])...)...)
	for _, p := range []string{"alpha/a/night.txt", "bravo/b/night.txt"} {
		if b, err := os.ReadFile(filepath.Join(to, p)); string(b) != "night 1" {
			t.Errorf("%s: %q, %v; want the first night's", p, b, err)
		}
	}
}

// TestCoreRestoreRefusesAnotherSet: the restore folder records the set
// its items came from (DIR/.lyncbackup-restored-from). After a newer
// backup, "restore latest --item bravo" (the flags of the old hint added
// to the same command) put the second night's bravo beside the first
// night's alpha, exit 0; it is refused, naming both sets, and writes
// nothing. --force restores it there anyway, as before.
func TestCoreRestoreRefusesAnotherSet(t *testing.T) {
	e, set, fix := restoreSetEnv(t)
	to := filepath.Join(e.dir, "r")
	failsWith(t, e.run("restore", "latest", "--to", to, "--identity", e.key), 1, "in place: alpha")
	for _, n := range []string{"a", "b"} {
		os.WriteFile(filepath.Join(e.dir, n, "night.txt"), []byte("night 2"), 0o644)
	}
	newer := e.backup()
	fix()
	failsWith(t, e.run("restore", "latest", "--to", to, "--identity", e.key, "--item", "bravo"), 1,
		"holds alpha restored from set fe01.contoso.com/"+set+"; this restore is of fe01.contoso.com/"+newer,
		"restore "+set+" by that id for the items not there yet", "--force")
	if _, err := os.Lstat(filepath.Join(to, "bravo")); !os.IsNotExist(err) {
		t.Fatalf("the refused restore wrote bravo: %v", err)
	}
	e.mustRun("restore", "latest", "--to", to, "--identity", e.key, "--item", "bravo", "--force")
	for p, want := range map[string]string{"alpha/a/night.txt": "night 1", "bravo/b/night.txt": "night 2"} {
		if b, err := os.ReadFile(filepath.Join(to, p)); string(b) != want {
			t.Errorf("%s: %q, %v; want %q", p, b, err, want)
		}
	}
	rec, _ := os.ReadFile(filepath.Join(to, ".lyncbackup-restored-from"))
	if want := "alpha fe01.contoso.com/" + set + "\nbravo fe01.contoso.com/" + newer + "\n"; !strings.HasSuffix(string(rec), want) {
		t.Errorf("record:\n%s\nwant it to end\n%s", rec, want)
	}
}

// TestCoreRestoreForceIncludeMixes: --force --include wrote one file of
// the second night into alpha, restored from the first, and the record
// said alpha was the second night's: "restore <second> --item bravo" was
// then let through, exit 0, the folder holding two nights. alpha is now
// recorded as mixed, and bravo is refused beside it, naming it so.
func TestCoreRestoreForceIncludeMixes(t *testing.T) {
	e := newCoreEnv(t)
	for _, n := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(e.dir, n), 0o755)
		for _, f := range []string{"x.txt", "y.txt"} {
			os.WriteFile(filepath.Join(e.dir, n, f), []byte("night 1"), 0o644)
		}
	}
	e.writeConfig(map[string][]string{"alpha": {filepath.Join(e.dir, "a")}, "bravo": {filepath.Join(e.dir, "b")}}, "format: archive\n")
	first := e.backup()
	for _, n := range []string{"a", "b"} {
		for _, f := range []string{"x.txt", "y.txt"} {
			os.WriteFile(filepath.Join(e.dir, n, f), []byte("night 2"), 0o644)
		}
	}
	second := e.backup()
	to := filepath.Join(e.dir, "r")
	e.mustRun("restore", first, "--to", to, "--identity", e.key, "--item", "alpha")
	e.mustRun("restore", second, "--to", to, "--identity", e.key, "--include", "alpha/a/x.txt", "--force")
	for p, want := range map[string]string{"alpha/a/x.txt": "night 2", "alpha/a/y.txt": "night 1"} {
		if b, err := os.ReadFile(filepath.Join(to, p)); string(b) != want {
			t.Fatalf("%s: %q, %v; want %q", p, b, err, want)
		}
	}
	h := "fe01.contoso.com/"
	rec, _ := os.ReadFile(filepath.Join(to, ".lyncbackup-restored-from"))
	if want := "\nalpha " + h + first + " " + h + second + "\n"; !strings.HasSuffix(string(rec), want) {
		t.Errorf("record:\n%s\nwant it to end%s", rec, want)
	}
	failsWith(t, e.run("restore", second, "--to", to, "--identity", e.key, "--item", "bravo"), 1,
		"holds alpha (mixed: restored from sets "+h+first+" and "+h+second+" over each other, of no one set); this restore is of "+h+second)
	if _, err := os.Lstat(filepath.Join(to, "bravo")); !os.IsNotExist(err) {
		t.Fatalf("the refused restore wrote bravo: %v", err)
	}
}

// TestCoreRestoreOtherHostBeside: a second server's set restored into the
// same folder was refused as "another set", with --force for advice, which
// would write one server's files over the other's item of the same name.
// Another host's items are no reason to refuse; an item folder of the same
// name is refused, naming it another server's, and --force is not offered.
func TestCoreRestoreOtherHostBeside(t *testing.T) {
	e := newCoreEnv(t)
	for _, n := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(e.dir, n), 0o755)
		os.WriteFile(filepath.Join(e.dir, n, "f.txt"), []byte(n), 0o644)
	}
	e.writeConfig(map[string][]string{"alpha": {filepath.Join(e.dir, "a")}, "bravo": {filepath.Join(e.dir, "b")}}, "format: archive\n")
	fe01 := e.backup()
	to := filepath.Join(e.dir, "r")
	e.mustRun("restore", fe01, "--to", to, "--identity", e.key)
	// fe02 backs up bravo and charlie into the same destination.
	e.writeConfig(map[string][]string{"bravo": {filepath.Join(e.dir, "b")}, "charlie": {filepath.Join(e.dir, "a")}}, "format: archive\n")
	cfg, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, []byte(strings.Replace(string(cfg), "host: fe01.contoso.com", "host: fe02.contoso.com", 1)), 0o644)
	fe02 := e.backup()
	e.mustRun("restore", fe02, "--to", to, "--identity", e.key, "--item", "charlie")
	r := e.run("restore", fe02, "--to", to, "--identity", e.key, "--item", "bravo")
	failsWith(t, r, 1, "holds bravo restored from set fe01.contoso.com/"+fe01+", another server's; this restore is of fe02.contoso.com/"+fe02+": restore it into another folder")
	if strings.Contains(r.Stderr, "--force") {
		t.Errorf("--force offered to write fe02's bravo over fe01's: %s", r.Stderr)
	}
	rec, _ := os.ReadFile(filepath.Join(to, ".lyncbackup-restored-from"))
	if want := "\nalpha fe01.contoso.com/" + fe01 + "\nbravo fe01.contoso.com/" + fe01 + "\ncharlie fe02.contoso.com/" + fe02 + "\n"; !strings.HasSuffix(string(rec), want) {
		t.Errorf("record:\n%s\nwant it to end%s", rec, want)
	}
}

// TestCoreRestoreRecordShared: the record was written 0600 and read even
// with --force, so another account could not restore into a shared folder.
// It is 0644, and with --force a record that cannot be read is one warning
// line, the restore done.
func TestCoreRestoreRecordShared(t *testing.T) {
	e := newCoreEnv(t)
	_, set := e.oneFileSet("x")
	to := filepath.Join(e.dir, "r")
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	p := filepath.Join(to, ".lyncbackup-restored-from")
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o644 {
		t.Fatalf("record mode %v, want 0644", fi.Mode().Perm())
	}
	// A folder in its place: no account reads it.
	os.RemoveAll(filepath.Join(to, "alpha"))
	os.Remove(p)
	os.MkdirAll(filepath.Join(p, "x"), 0o755)
	failsWith(t, e.run("restore", set, "--to", to, "--identity", e.key), 1, p+" is not a plain file")
	r := e.mustRun("restore", set, "--to", to, "--identity", e.key, "--force")
	if n := strings.Count(r.Stderr, "lyncbackup: warning: "); n != 1 || !strings.Contains(r.Stderr, p+" is not a plain file") || !strings.Contains(r.Stderr, "--force restores without it") {
		t.Fatalf("stderr:\n%s\nwant one warning line naming the record", r.Stderr)
	}
	if b, err := os.ReadFile(filepath.Join(to, "alpha", "src", "f.txt")); string(b) != "x" {
		t.Fatalf("alpha/src/f.txt: %q, %v", b, err)
	}
}
