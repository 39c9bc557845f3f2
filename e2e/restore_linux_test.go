package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"unicode"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// TestCoreRestoreHintAfterForce: a restore --force that put one item in
// place and stopped another half-way (a folder of the earlier restore is
// another file system: the move into it fails) ends with a hint whose
// command finishes the restore once the cause is gone. After --force that
// command needs --force too (the item's folder holds part of it): the
// hint without it was refused, "not empty".
func TestCoreRestoreHintAfterForce(t *testing.T) {
	e, set := alphaBetaSet(t)
	to := filepath.Join(e.dir, "r")
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	s := filepath.Join(to, "alpha", "a", "s")
	testenv.TmpfsAt(t, s, "1m")
	r := e.run("restore", set, "--to", to, "--identity", e.key, "--force")
	m := regexp.MustCompile(`in place: beta; the rest: restore again with ([^\n]*)`).FindStringSubmatch(r.Stderr)
	if r.Code != 1 || m == nil {
		t.Fatalf("exit %d, no hint: %s", r.Code, r.Stderr)
	}
	if err := syscall.Unmount(s, 0); err != nil { // the cause gone
		t.Fatal(err)
	}
	r = e.run(append([]string{"restore", set, "--to", to, "--identity", e.key}, strings.Fields(m[1])...)...)
	if r.Code != 0 {
		t.Fatalf("the restore the hint names (%s) fails: %s", m[1], lastLine(r.Stderr))
	}
	for p, want := range map[string]string{"alpha/a/1.txt": "1", "alpha/a/s/2.txt": "2", "beta/b/x.txt": "x"} {
		if got, err := os.ReadFile(filepath.Join(to, p)); err != nil || string(got) != want {
			t.Errorf("%s: %q, %v", p, got, err)
		}
	}
}

// TestCoreRestoreHintKeepsInclude: a restore --include that put one item
// in place and failed another (its object damaged) prints a hint that,
// run verbatim in a shell once the object is good again, restores the
// failed item's included files only. The hint dropped --include, so
// following it restored the whole item; a pattern with a glob and a space
// must reach the program as typed, so it is quoted.
func TestCoreRestoreHintKeepsInclude(t *testing.T) {
	e := newCoreEnv(t)
	mk := func(name string) string {
		d := filepath.Join(e.dir, name)
		for _, f := range []string{"keep it/in.txt", "skip/out.txt"} {
			os.MkdirAll(filepath.Join(d, filepath.Dir(f)), 0o755)
			os.WriteFile(filepath.Join(d, f), []byte(name+" "+f), 0o644)
		}
		return d
	}
	e.writeConfig(map[string][]string{"alpha": {mk("a")}, "bravo": {mk("b")}}, "format: archive\n")
	set := e.backup()
	bravo := e.object(set, "bravo")
	orig, _ := os.ReadFile(bravo)
	bad := append([]byte{}, orig...)
	bad[len(bad)/2] ^= 0x40
	os.WriteFile(bravo, bad, 0o644)
	to := filepath.Join(e.dir, "r")
	r := e.run("restore", set, "--to", to, "--identity", e.key, "--include", "*/keep it/*")
	m := regexp.MustCompile(`in place: alpha; the rest: restore again with ([^\n]*)`).FindStringSubmatch(r.Stderr)
	if r.Code != 1 || m == nil {
		t.Fatalf("exit %d, no hint: %s", r.Code, r.Stderr)
	}
	os.WriteFile(bravo, orig, 0o644) // a good copy back
	q := func(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }
	line := strings.Join([]string{q(testbin.Path(t)), "restore", q(set), "--to", q(to), "--identity", q(e.key), m[1]}, " ")
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir, cmd.Env = e.dir, append(os.Environ(), e.env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the hint's command (%s) fails: %v\n%s", line, err, out)
	}
	for _, item := range []string{"alpha/a", "bravo/b"} {
		if _, err := os.Stat(filepath.Join(to, item, "keep it", "in.txt")); err != nil {
			t.Errorf("%s: the included file is not restored: %v", item, err)
		}
		if _, err := os.Lstat(filepath.Join(to, item, "skip")); err == nil {
			t.Errorf("%s: skip/ restored, which --include did not choose (hint: %s)", item, m[1])
		}
	}
}

// TestCoreRestoreHintControlCharacter: a restore whose --include pattern
// holds a control character (here ESC c, which resets the terminal)
// printed it raw in the hint's command, where the terminal acts on it; one
// holding a bidi override (U+202E) printed it raw too, and the terminal
// showed the text after it reversed ("x<RLO>cod.exe" reads "xexe.doc"),
// so the command pasted was not the one read. No shell's form carries
// either to paste: the hint says the flags in words and names the pattern
// escaped, and stderr holds no control or invisible format character but
// the line ends.
func TestCoreRestoreHintControlCharacter(t *testing.T) {
	e := newCoreEnv(t)
	for _, item := range []string{"a", "b"} {
		os.MkdirAll(filepath.Join(e.dir, item, "keep"), 0o755)
		os.WriteFile(filepath.Join(e.dir, item, "keep", "in.txt"), []byte(item), 0o644)
	}
	e.writeConfig(map[string][]string{"alpha": {filepath.Join(e.dir, "a")}, "bravo": {filepath.Join(e.dir, "b")}}, "format: archive\n")
	set := e.backup()
	bravo := e.object(set, "bravo")
	bad, _ := os.ReadFile(bravo)
	bad[len(bad)/2] ^= 0x40
	os.WriteFile(bravo, bad, 0o644)
	for i, c := range []struct{ pattern, said string }{
		{"x\x1bc", `"x\x1bc" holds a control character (U+001B)`},
		{"x\u202ecod.exe", `"x\u202ecod.exe" holds an invisible format character (U+202E)`},
	} {
		r := e.run("restore", set, "--to", filepath.Join(e.dir, "r"+strconv.Itoa(i)), "--identity", e.key, "--include", "*/keep/*", "--include", c.pattern)
		want := `in place: alpha; the rest: bravo: restore again with --item for each, --include for each pattern given (no command to paste: --include's value ` + c.said
		if r.Code != 1 || !strings.Contains(r.Stderr, want) {
			t.Fatalf("exit %d, want 1 and %s\n%q", r.Code, want, r.Stderr)
		}
		if strings.ContainsFunc(strings.ReplaceAll(r.Stderr, "\n", ""), func(r rune) bool { return unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) }) {
			t.Errorf("stderr holds a control or invisible format character: %q", r.Stderr)
		}
	}
}

// TestCoreRestoreIntoMountPoint: an item folder that is another filesystem
// mounted at <--to>/<item> (a disk with room for a big item) is refused up
// front, with and without --force: the item is written beside its folder,
// in <--to>/.lyncbackup-partial-<item> on --to's filesystem, and renamed
// in, which cannot cross filesystems. The old restore counted the empty
// mount point as empty, wrote the whole item on --to's filesystem, and
// failed at the end with "rename …: invalid cross-device link". Nothing is
// written, for no item; the way the line gives (--to on the mount) works.
// A bind mount of --to's own filesystem (same device, another mount:
// Linux refuses that rename too) is refused the same way.
func TestCoreRestoreIntoMountPoint(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (id -u 0) to mount a filesystem at the item folder")
	}
	e, set := alphaBetaSet(t)

	for _, kind := range []string{"tmpfs", "bind"} {
		t.Run(kind, func(t *testing.T) {
			to := filepath.Join(e.dir, "r-"+kind)
			mnt := filepath.Join(to, "alpha")
			os.MkdirAll(mnt, 0o755)
			if kind == "tmpfs" {
				testenv.TmpfsAt(t, mnt, "1m")
			} else {
				src := filepath.Join(e.dir, "bind-src")
				os.MkdirAll(src, 0o755)
				if err := syscall.Mount(src, mnt, "", syscall.MS_BIND, ""); err != nil {
					t.Skipf("cannot bind-mount (needs CAP_SYS_ADMIN): %v", err)
				}
				t.Cleanup(func() { syscall.Unmount(mnt, 0) })
			}
			for _, force := range [][]string{nil, {"--force"}} {
				args := append([]string{"restore", set, "--to", to, "--identity", e.key}, force...)
				r := e.run(args...)
				want := "restore folder " + to + ": " + mnt + " is a mount point (another filesystem than " + to + "): an item is written beside its folder, in " +
					filepath.Join(to, ".lyncbackup-partial-alpha") + ", and then renamed into it, which cannot cross filesystems; restore with --to a folder on that filesystem (the item lands in alpha inside it), or into " + to + " without the mount"
				if r.Code != 1 || !strings.HasSuffix(lastLine(r.Stderr), want) || strings.Count(r.Stderr, "lyncbackup:") != 1 {
					t.Errorf("%v: exit %d, stderr:\n%s\nwant one line with: %s", force, r.Code, r.Stderr, want)
				}
				ents, _ := os.ReadDir(to)
				var names []string
				for _, x := range ents {
					names = append(names, x.Name())
				}
				if len(names) != 1 || names[0] != "alpha" {
					t.Errorf("%v: %s holds %v, want the mount point alone (nothing written, beta neither)", force, to, names)
				}
				if in, _ := os.ReadDir(mnt); len(in) != 0 {
					t.Errorf("%v: the mount holds %d entries, want none", force, len(in))
				}
			}
			// What the line says to do: --to on the mounted filesystem.
			e.mustRun("restore", set, "--to", mnt, "--identity", e.key, "--item", "alpha")
			if got, err := os.ReadFile(filepath.Join(mnt, "alpha", "a", "s", "2.txt")); err != nil || string(got) != "2" {
				t.Errorf("restore --to the mount: %q, %v", got, err)
			}
		})
	}
}

// alphaBetaSet backs up two small items, alpha (1.txt, s/2.txt) and beta
// (x.txt), to a folder store.
func alphaBetaSet(t *testing.T) (*coreEnv, string) {
	t.Helper()
	e := newCoreEnv(t)
	a, b := filepath.Join(e.dir, "a"), filepath.Join(e.dir, "b")
	os.MkdirAll(filepath.Join(a, "s"), 0o755)
	os.WriteFile(filepath.Join(a, "1.txt"), []byte("1"), 0o644)
	os.WriteFile(filepath.Join(a, "s", "2.txt"), []byte("2"), 0o644)
	os.MkdirAll(b, 0o755)
	os.WriteFile(filepath.Join(b, "x.txt"), []byte("x"), 0o644)
	e.writeConfig(map[string][]string{"alpha": {a}, "beta": {b}}, "")
	return e, e.backup()
}
