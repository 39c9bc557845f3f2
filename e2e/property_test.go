package e2e

// The property of issue 13 §1, through the real binary: for random trees
// (links of every kind, odd names, empty folders, hard links, sparse and
// zero-byte files, names that differ only by case), a backup that lists as
// complete verifies with the identity, and restores to the same tree, also
// with --force over an earlier restore.
//
// CI runs a fixed seed and a few trees. Longer, locally:
//
//	LYNCBACKUP_PROPERTY_SEED=$RANDOM LYNCBACKUP_PROPERTY_ROUNDS=50 go test ./e2e/ -run TestPropertyRandomTrees -v

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/archive"
)

func envInt(name string, def int64) int64 {
	if v, err := strconv.ParseInt(os.Getenv(name), 10, 64); err == nil {
		return v
	}
	return def
}

// oddNames are the names a tree draws from, beside plain ones.
var oddNames = []string{
	"with space", " leading space", "trailing space ", "new\nline", "cr\rname", "tab\tname", "back\\slash",
	"-dash", "--", "...", ".hidden", "#hash", "*star?", "colon:name", "quote\"'", "ünïcödé", "名前", "caf\u00e9", "cafe\u0301",
	"☃", strings.Repeat("long", 50), archive.IndexName, archive.IndexName + "-2", "pax_global_header", "././@LongLink",
	"@LongLink", "x.tar", "CON", "nul", "~", "$dollar", "%percent", "a.b.c",
}

// winOddNames are the odd names Windows allows (none of \ / : * ? " < > |
// or control characters, no trailing dot or space, no device names).
var winOddNames = func() []string {
	var out []string
	for _, n := range oddNames {
		switch {
		case strings.ContainsAny(n, "\\/:*?\"<>|\n\r\t"), strings.HasSuffix(n, "."), strings.HasSuffix(n, " "),
			strings.EqualFold(n, "CON"), strings.EqualFold(n, "NUL"):
			continue
		}
		out = append(out, n)
	}
	return out
}()

// windowsTrees: on Windows the trees hold what Windows has without a
// privilege: no symbolic links (creating one needs
// SeCreateSymbolicLinkPrivilege, and Wine 8 only pretends to make them),
// no names that differ only by case, only names Windows allows, and no
// read-only files or folders (attributes are not kept, README "On Windows").
var windowsTrees = runtime.GOOS == "windows"

type treeGen struct {
	rng   *rand.Rand
	root  string
	files []string // regular files made so far (hard link sources)
	dirs  []string
	t     *testing.T
	old   time.Time
	count map[string]int // what was made, for the log
}

func (g *treeGen) name(dir string) string {
	for {
		var n string
		switch g.rng.IntN(4) {
		case 0:
			if windowsTrees {
				n = winOddNames[g.rng.IntN(len(winOddNames))]
				break
			}
			n = oddNames[g.rng.IntN(len(oddNames))]
		default:
			n = fmt.Sprintf("n%d", g.rng.IntN(1000))
		}
		if strings.Contains(n, "/") || strings.Contains(n, "@LongLink") && g.rng.IntN(2) == 0 {
			n = strings.ReplaceAll(n, "/", "_")
		}
		if _, err := os.Lstat(filepath.Join(dir, n)); err != nil {
			return n
		}
	}
}

func (g *treeGen) must(err error) {
	g.t.Helper()
	if err != nil {
		g.t.Fatal(err)
	}
}

// fill makes 1..8 entries in dir, recursing to depth.
func (g *treeGen) fill(dir string, depth int) {
	for i, n := 0, 1+g.rng.IntN(8); i < n; i++ {
		name := g.name(dir)
		p := filepath.Join(dir, name)
		if g.count == nil {
			g.count = map[string]int{}
		}
		for _, o := range oddNames {
			if o == name {
				g.count["odd names"]++
			}
		}
		k := g.rng.IntN(11)
		if windowsTrees && k >= 6 { // no case pairs or links: a file instead
			k = 2
		}
		switch {
		case k < 2 && depth > 0: // a folder, maybe empty
			g.must(os.Mkdir(p, 0o755))
			g.dirs = append(g.dirs, p)
			g.count["folders"]++
			if g.rng.IntN(3) > 0 {
				g.fill(p, depth-1)
			}
		case k < 4: // zero-byte or small file
			b := make([]byte, g.rng.IntN(3)*g.rng.IntN(5000))
			for i := range b {
				b[i] = byte(g.rng.Uint32())
			}
			mode := []fs.FileMode{0o644, 0o600, 0o755, 0o444}[g.rng.IntN(4)]
			if windowsTrees {
				mode = 0o644
			}
			g.must(os.WriteFile(p, b, mode))
			g.files = append(g.files, p)
			if len(b) == 0 {
				g.count["zero-byte files"]++
			} else {
				g.count["files"]++
			}
		case k == 4: // sparse: holes and a few data blocks
			f, err := os.Create(p)
			g.must(err)
			size := int64(1+g.rng.IntN(8)) << 20
			g.must(f.Truncate(size))
			for j := 0; j < 3; j++ {
				_, err := f.WriteAt([]byte(fmt.Sprintf("block %d", j)), g.rng.Int64N(size-16))
				g.must(err)
			}
			g.must(f.Close())
			g.files = append(g.files, p)
			g.count["sparse files"]++
		case k == 5 && len(g.files) > 0: // hard link to an earlier file
			g.must(os.Link(g.files[g.rng.IntN(len(g.files))], p))
			g.count["hard links"]++
		case k == 6: // the same name in another case, beside it
			g.must(os.WriteFile(p, []byte("lower"), 0o644))
			if up := filepath.Join(dir, strings.ToUpper(name)); up != p {
				if _, err := os.Lstat(up); err != nil {
					g.must(os.WriteFile(up, []byte("UPPER"), 0o644))
					g.count["names differing by case"]++
				}
			}
		default: // a link of some kind
			var target string
			switch g.rng.IntN(8) {
			case 0:
				target = "/etc/hostname"
			case 1:
				target = "/no/such/absolute"
			case 2:
				target = strings.Repeat("../", 1+g.rng.IntN(6)) + "outside"
			case 3:
				target = "dangling-" + strconv.Itoa(g.rng.IntN(100))
			case 4:
				target = ".."
			case 5:
				target = "."
			case 6:
				target = g.root // absolute, into the tree itself
			default:
				if len(g.files) > 0 { // relative to a file of the tree
					rel, err := filepath.Rel(dir, g.files[g.rng.IntN(len(g.files))])
					g.must(err)
					target = rel
				} else {
					target = "x"
				}
			}
			g.must(os.Symlink(target, p))
			g.count["links"]++
		}
	}
}

// everyKind makes one entry of each kind in dir, so that every round
// covers them all whatever the draw (on Windows trees: the kinds they
// have, no case-only pairs, links or newlines in names).
func (g *treeGen) everyKind(dir string) {
	p := func(n string) string { return filepath.Join(dir, n) }
	g.must(os.Mkdir(p("empty folder"), 0o755))
	g.dirs = append(g.dirs, p("empty folder"))
	g.must(os.WriteFile(p("zero"), nil, 0o644))
	g.must(os.WriteFile(p("Readme"), []byte("mixed"), 0o644))
	if !windowsTrees {
		g.must(os.WriteFile(p("README"), []byte("upper"), 0o644))
		g.must(os.WriteFile(p("readme"), []byte("lower"), 0o644))
	}
	g.must(os.Link(p("Readme"), p("hard link to Readme")))
	f, err := os.Create(p("sparse"))
	g.must(err)
	g.must(f.Truncate(4 << 20))
	_, err = f.WriteAt([]byte("middle"), 2<<20)
	g.must(err)
	g.must(f.Close())
	if windowsTrees {
		g.files = append(g.files, p("zero"), p("Readme"), p("sparse"))
		g.must(os.WriteFile(p(" odd ünï 名前 and "+archive.IndexName), []byte("odd"), 0o644))
		return
	}
	g.files = append(g.files, p("zero"), p("Readme"), p("README"), p("readme"), p("sparse"))
	for n, target := range map[string]string{"abs": "/etc/hostname", "abs dir": "/etc", "leaves": "../../../outside", "dangling": "nothing here",
		"dot": ".", "dotdot": "..", "to file": "Readme", "to folder": "empty folder", "chain": "to file", "loop a": "loop b", "loop b": "loop a"} {
		g.must(os.Symlink(target, p(n)))
	}
	g.must(os.WriteFile(p("new\nline\\ and "+archive.IndexName), []byte("odd"), 0o644))
}

// times sets fixed random times on every file and folder (folders last,
// deepest first), so the comparison also proves mtimes survive.
func (g *treeGen) times() {
	filepath.WalkDir(g.root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			tm := g.old.Add(time.Duration(g.rng.IntN(1e6)) * time.Second)
			os.Chtimes(p, tm, tm)
		}
		return nil
	})
	for i := len(g.dirs) - 1; i >= 0; i-- {
		tm := g.old.Add(time.Duration(g.rng.IntN(1e6)) * time.Second)
		os.Chtimes(g.dirs[i], tm, tm)
	}
	// Some read-only folders (made so last: their contents exist).
	for i := len(g.dirs) - 1; i >= 0 && !windowsTrees; i-- {
		if g.rng.IntN(8) == 0 {
			fi, _ := os.Stat(g.dirs[i])
			os.Chmod(g.dirs[i], 0o555)
			os.Chtimes(g.dirs[i], fi.ModTime(), fi.ModTime())
		}
	}
}

// writable undoes read-only folders so that t.TempDir can clean up.
func writable(root string) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// On Windows the trees are windowsTrees; the names Windows refuses and
// case clashes are archive.TestExtractWindowsNames.
func TestPropertyRandomTrees(t *testing.T) {
	seed := uint64(envInt("LYNCBACKUP_PROPERTY_SEED", 20261129))
	rounds := int(envInt("LYNCBACKUP_PROPERTY_ROUNDS", 2))
	perRound := 3 // trees per backup: one item each
	for round := 0; round < rounds; round++ {
		t.Run(fmt.Sprintf("seed%d-round%d", seed, round), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, uint64(round)))
			e := newCoreEnv(t)
			items := map[string][]string{}
			var roots []string
			made := map[string]int{}
			for i := 0; i < perRound; i++ {
				root := filepath.Join(e.dir, fmt.Sprintf("tree%d", i), "src")
				os.MkdirAll(root, 0o755)
				t.Cleanup(func() { writable(root) })
				g := &treeGen{rng: rng, root: root, t: t, old: time.Date(2015, 1, 2, 3, 4, 5, 0, time.UTC)}
				if i == 0 {
					g.everyKind(root)
				}
				g.fill(root, 3)
				g.times()
				for k, v := range g.count {
					made[k] += v
				}
				paths := []string{root}
				if i == 0 { // a root that is a file named like the index
					f := filepath.Join(e.dir, "tree0", archive.IndexName)
					os.WriteFile(f, []byte("user data\n"), 0o644)
					paths = append(paths, f)
				}
				items[fmt.Sprintf("tree%d", i)] = paths
				roots = append(roots, root)
			}
			t.Logf("made %v", made)
			e.writeConfig(items, "compression: {level: fastest}\n")
			set := e.backup()
			l := e.list()
			if len(l) != 1 || l[0].Status != "complete" || l[0].Items != perRound {
				t.Fatalf("list: %+v (the generator makes only trees a backup must take)", l)
			}
			e.mustRun("verify", set, "--identity", e.key)
			to := filepath.Join(e.dir, "restore")
			t.Cleanup(func() { writable(to) })
			e.mustRun("restore", set, "--to", to, "--identity", e.key)
			for i, root := range roots {
				compareTrees(t, root, filepath.Join(to, fmt.Sprintf("tree%d", i), "src"))
			}
			if b, _ := os.ReadFile(filepath.Join(to, "tree0", archive.IndexName)); string(b) != "user data\n" {
				t.Errorf("the file named like the index restored as %q", b)
			}
			// Again with --force over the first restore: the same trees.
			e.mustRun("restore", set, "--to", to, "--identity", e.key, "--force")
			for i, root := range roots {
				compareTrees(t, root, filepath.Join(to, fmt.Sprintf("tree%d", i), "src"))
			}
		})
	}
}
