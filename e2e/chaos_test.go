package e2e

// A randomized, seeded test of README's and issue 17's promises under
// crashes: chunked backups of a tree that changes a little each round,
// prunes with a small keep_last, sometimes two backups at once, and one of
// the running processes killed (SIGKILL; TerminateProcess on Windows, and
// in the Wine lane) at a random moment. After every round the invariants
// are checked with the binary: every set list shows as complete verifies
// (every chunk's size and SHA-256), no committed manifest names a missing
// chunk, a clean backup
// succeeds, and every few rounds (and at the end) every complete set
// restores byte-identical to the tree it was made from. At the end a prune
// leaves nothing but complete sets and the chunks they name.
//
// The schedule (which processes start when, which one is killed when) is
// drawn from the seed, and logged: LYNCBACKUP_CHAOS_SEED=N replays it (the
// processes' own timing still varies), LYNCBACKUP_CHAOS_ROUNDS=N runs more
// rounds, LYNCBACKUP_CHAOS_BACKENDS=file,s3,azure adds Azurite
// (docs/TESTING.md). The delays are random inputs, never assertions.

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/upload"
)

const (
	chaosRoundsEnv   = "LYNCBACKUP_CHAOS_ROUNDS"
	chaosSeedEnv     = "LYNCBACKUP_CHAOS_SEED"
	chaosBackendsEnv = "LYNCBACKUP_CHAOS_BACKENDS"
	// chaosRoundsCI is the default: small enough for CI (a round takes
	// ~0.6 s on file://, ~1 s on VersityGW, on 2 cores), large enough that
	// the default seed kills backups and prunes at many points and catches
	// the breakages docs/TESTING.md lists.
	chaosRoundsCI  = 16
	chaosSeedCI    = 1
	chaosRestoreAt = 3 // restore every complete set every this many rounds
)

func chaosEnvInt(t *testing.T, name string, def uint64) uint64 {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, s, err)
	}
	return n
}

func TestChaosKillsAndPrunes(t *testing.T) {
	rounds := int(chaosEnvInt(t, chaosRoundsEnv, chaosRoundsCI))
	seed := chaosEnvInt(t, chaosSeedEnv, chaosSeedCI)
	t.Logf("chaos: seed %d, %d rounds (replay: %s=%d %s=%d)", seed, rounds, chaosSeedEnv, seed, chaosRoundsEnv, rounds)
	// Azurite is left out by default: 2-5 s a round there (file:// and
	// VersityGW ~0.6 and ~1 s); LYNCBACKUP_CHAOS_BACKENDS=file,s3,azure
	// adds it.
	want := strings.Split(cmp.Or(os.Getenv(chaosBackendsEnv), "file,s3"), ",")
	var backends []raceBackend
	for _, b := range raceBackends {
		if slices.Contains(want, b.name) {
			backends = append(backends, b)
		}
	}
	if len(backends) != len(want) {
		t.Fatalf("%s=%q: the backends are file, s3, azure", chaosBackendsEnv, os.Getenv(chaosBackendsEnv))
	}
	forBackendsFormat(t, backends, "chunked", func(t *testing.T, e *raceEnv) {
		c := &chaos{e: e, rng: rand.New(rand.NewPCG(seed, 0x5eed)), trees: map[int]map[string]string{}, setRound: map[string]int{},
			took: map[string]time.Duration{"backup": 500 * time.Millisecond, "prune": 300 * time.Millisecond}, lately: map[string][]time.Duration{}, hits: map[string]int{}, kills: map[string]int{}}
		c.run(rounds)
	})
}

type chaos struct {
	e        *raceEnv
	rng      *rand.Rand
	trees    map[int]map[string]string // round -> the tree's files (item/rel path -> SHA-256)
	setRound map[string]int            // set id -> the round whose tree it holds
	files    int                       // names given to new files so far
	undo     *chaosUndo                // how to undo the last change
	// took is how long a backup and a prune took lately: the shortest of
	// the last 5 that ran to their end (one that waited for a prune does
	// not stretch the scale); start and kill moments are drawn as
	// fractions of it. hits and kills count the kills that found their
	// process running.
	took        map[string]time.Duration
	lately      map[string][]time.Duration
	hits, kills map[string]int
}

// chaosUndo puts back the 16 bytes the last change wrote over.
type chaosUndo struct {
	path string
	off  int
	old  []byte
}

// chaosProc is one process of a round's schedule.
type chaosProc struct {
	args  []string
	at    time.Duration // start, after the round's start
	r     *running
	label string
	ended chan time.Duration // its end, after the round's start
}

func (c *chaos) run(rounds int) {
	e := c.e
	// The backups' own prune (after_backup) keeps 4 sets, the prunes of
	// the rounds 1 or 2: a round's prune forgets the sets of two rounds
	// ago while its backup, after an undone change, names their chunks.
	cfg, err := os.ReadFile(e.config)
	if err != nil || !strings.Contains(string(cfg), "keep_last: 2,") {
		e.t.Fatalf("config %s: %v\n%s", e.config, err, cfg)
	}
	if err := os.WriteFile(e.config, []byte(strings.Replace(string(cfg), "keep_last: 2,", "keep_last: 4,", 1)), 0o600); err != nil {
		e.t.Fatal(err)
	}
	c.initTree()
	for round := 1; round <= rounds; round++ {
		if round > 1 {
			c.changeTree()
		}
		c.trees[round] = c.hashTree()
		procs, victim, killAt, frac := c.schedule()
		desc := make([]string, len(procs))
		for i, p := range procs {
			desc[i] = fmt.Sprintf("%s@%s", p.label, p.at.Round(time.Millisecond))
		}
		kill := "no kill"
		if victim >= 0 {
			kill = fmt.Sprintf("kill %s at %s (%.2f of a %s's recent run)", procs[victim].label, killAt.Round(time.Millisecond), frac, procs[victim].args[0])
		}
		e.t.Logf("round %d: %s; %s", round, strings.Join(desc, ", "), kill)
		c.play(round, procs, victim, killAt)
		c.check(round, round%chaosRestoreAt == 0)
	}
	c.final(rounds)
	e.t.Logf("kills that found their process running: %d of %d backups, %d of %d prunes", c.hits["backup"], c.kills["backup"], c.hits["prune"], c.kills["prune"])
}

// initTree fills the two items with incompressible files of a few chunks.
func (c *chaos) initTree() {
	for _, item := range []string{"alpha", "bravo"} {
		dir := filepath.Join(c.e.dir, item)
		os.RemoveAll(dir)
		os.MkdirAll(dir, 0o755)
		for range 2 {
			c.newFile(item, 1<<20+c.rng.IntN(2<<20))
		}
	}
}

func (c *chaos) newFile(item string, n int) {
	c.files++
	randomFile(c.e.t, filepath.Join(c.e.dir, item, fmt.Sprintf("f%03d.bin", c.files)), n, c.rng.Uint64())
}

// changeTree changes the tree a little: a few bytes in one file (one chunk
// changes), and sometimes a new file or one file less (chunks of older sets
// become unreferenced); or it undoes the last change of a few bytes.
func (c *chaos) changeTree() {
	item := []string{"alpha", "bravo"}[c.rng.IntN(2)]
	names := c.fileNames(item)
	if u := c.undo; u != nil && c.rng.IntN(2) == 0 {
		// The last change undone: the tree of two rounds ago comes back,
		// and with it chunks that only older sets (which a prune may be
		// forgetting right now) name.
		c.undo = nil
		if b, err := os.ReadFile(u.path); err == nil {
			copy(b[u.off:], u.old)
			if err := os.WriteFile(u.path, b, 0o644); err != nil {
				c.e.t.Fatal(err)
			}
			return
		}
	}
	p := filepath.Join(c.e.dir, item, names[c.rng.IntN(len(names))])
	b, err := os.ReadFile(p)
	if err != nil {
		c.e.t.Fatal(err)
	}
	off := c.rng.IntN(len(b) - 16)
	c.undo = &chaosUndo{path: p, off: off, old: slices.Clone(b[off : off+16])}
	for i := range 16 {
		b[off+i] = byte(c.rng.Uint32())
	}
	if err := os.WriteFile(p, b, 0o644); err != nil {
		c.e.t.Fatal(err)
	}
	switch c.rng.IntN(4) {
	case 0:
		c.newFile(item, 512<<10+c.rng.IntN(2<<20))
	case 1:
		if len(names) > 1 {
			os.Remove(filepath.Join(c.e.dir, item, names[c.rng.IntN(len(names))]))
		}
	}
}

func (c *chaos) fileNames(item string) []string {
	ents, err := os.ReadDir(filepath.Join(c.e.dir, item))
	if err != nil {
		c.e.t.Fatal(err)
	}
	var out []string
	for _, en := range ents {
		out = append(out, en.Name())
	}
	return out
}

// hashTree hashes every file of both items, keyed as a restore lays them
// out below --to (item/<source folder's name>/file).
func (c *chaos) hashTree() map[string]string {
	out := map[string]string{}
	for _, item := range []string{"alpha", "bravo"} {
		for k, v := range hashFiles(c.e.t, filepath.Join(c.e.dir, item)) {
			out[item+"/"+item+"/"+k] = v
		}
	}
	return out
}

// hashFiles maps every regular file below root (slash path) to its
// SHA-256: treeOf's map, hashed (a round's tree is kept for the rounds
// after it, its contents are not).
func hashFiles(t *testing.T, root string) map[string]string {
	t.Helper()
	out := treeOf(t, root)
	for k, v := range out {
		sum := sha256.Sum256([]byte(v))
		out[k] = hex.EncodeToString(sum[:])
	}
	return out
}

// schedule draws a round: the processes, their start times, which one is
// killed (-1: none) and when. Kill moments span a whole backup's run.
func (c *chaos) schedule() (procs []*chaosProc, victim int, killAt time.Duration, frac float64) {
	backup := func(at time.Duration) *chaosProc {
		return &chaosProc{args: []string{"backup", "--progress=never"}, at: at, label: "backup"}
	}
	prune := func(at time.Duration) *chaosProc {
		keep := 1 + c.rng.IntN(2)
		return &chaosProc{args: []string{"prune", "--grace", "1s", "--keep-last", strconv.Itoa(keep)}, at: at, label: "prune(keep " + strconv.Itoa(keep) + ")"}
	}
	// A start within the first f of a backup's run as long as the last
	// one took (the machine's speed sets the scale, the seed the fraction).
	in := func(f float64) time.Duration { return time.Duration(c.rng.Float64() * f * float64(c.took["backup"])) }
	switch c.rng.IntN(6) {
	case 0, 5: // a backup, a prune while it runs (twice as likely: the window of issue 17)
		procs = []*chaosProc{backup(0), prune(in(0.8))}
	case 1: // a prune, a backup while it runs
		procs = []*chaosProc{prune(0), backup(in(0.3))}
	case 2: // two backups at once (one is refused), and a prune
		procs = []*chaosProc{backup(0), backup(in(0.5)), prune(in(1))}
	case 3: // a backup alone (its after_backup prune)
		procs = []*chaosProc{backup(0)}
	default: // two prunes and a backup
		procs = []*chaosProc{prune(0), backup(in(0.3)), prune(in(1))}
	}
	for i, p := range procs {
		p.label = fmt.Sprintf("%s#%d", p.label, i)
	}
	victim = -1
	if c.rng.IntN(6) != 0 {
		// Anywhere in the victim's run as long as the last ones took, a
		// little past it sometimes (a kill that finds it ended is a no-op).
		victim = c.rng.IntN(len(procs))
		frac = c.rng.Float64() * 1.1
		killAt = procs[victim].at + time.Duration(frac*float64(c.took[procs[victim].args[0]]))
	}
	return procs, victim, killAt, frac
}

// play starts the processes at their times, kills the victim at its time,
// and waits for them all. A process that did not run to its end on its
// own may only have been refused for documented reasons.
func (c *chaos) play(round int, procs []*chaosProc, victim int, killAt time.Duration) {
	e := c.e
	t0 := time.Now()
	type event struct {
		at   time.Duration
		proc int
		kill bool
	}
	var evs []event
	for i, p := range procs {
		evs = append(evs, event{at: p.at, proc: i})
	}
	if victim >= 0 {
		evs = append(evs, event{at: killAt, proc: victim, kill: true})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return int(a.at - b.at) })
	killed := false
	for _, ev := range evs {
		// The delay is an input of the schedule, not a synchronisation.
		time.Sleep(time.Until(t0.Add(ev.at)))
		p := procs[ev.proc]
		if !ev.kill {
			p.r = e.start(nil, p.args...)
			p.ended = make(chan time.Duration, 1)
			go func() {
				<-p.r.done
				p.ended <- time.Since(t0)
			}()
			continue
		}
		c.kills[p.args[0]]++
		select {
		case <-p.r.done:
			e.t.Logf("round %d: %s had ended (exit %d) before its kill", round, p.label, p.r.code)
		default:
			p.r.cmd.Process.Kill()
			killed = true
			c.hits[p.args[0]]++
		}
	}
	for i, p := range procs {
		code := p.r.wait(e.t)
		if i == victim && killed {
			continue
		}
		if code == 0 {
			c.tookNow(p.args[0], <-p.ended-p.at)
			continue
		}
		msg := p.r.stderr.String()
		// Two backups of one host never run at once: the later one is
		// refused (README, "No interleaving …").
		if p.args[0] == "backup" && code == 1 && strings.Contains(msg, chunk.ErrOtherBackup.Error()) {
			continue
		}
		e.t.Errorf("round %d: %s (not killed) exit %d\nstdout: %s\nstderr: %s", round, p.label, code, p.r.stdout.String(), msg)
	}
}

func (c *chaos) tookNow(kind string, d time.Duration) {
	l := append(c.lately[kind], d)
	if len(l) > 5 {
		l = l[1:]
	}
	c.lately[kind] = l
	c.took[kind] = slices.Min(l)
}

type chaosSet struct {
	SetID  string `json:"set_id"`
	Status string `json:"status"`
}

func (c *chaos) list() []chaosSet {
	e := c.e
	r := e.run("list", "--json")
	var doc struct {
		Sets []chaosSet `json:"sets"`
	}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &doc) != nil {
		e.t.Fatalf("list --json: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	return doc.Sets
}

// check runs after every round, with no process of the round left.
func (c *chaos) check(round int, restore bool) {
	e := c.e
	e.t.Helper()
	c.checkSets(round)
	// A backup after the killed runs succeeds (staging and markers recover).
	r := e.run("backup", "--json", "--progress=never")
	if r.Code != 0 {
		e.t.Fatalf("round %d: the backup after the round: exit %d\n%s%s", round, r.Code, r.Stdout, r.Stderr)
	}
	var doc struct {
		SetID string `json:"set_id"`
	}
	json.Unmarshal([]byte(r.Stdout), &doc)
	c.setRound[doc.SetID] = round
	c.checkSets(round)
	if restore {
		c.restoreAll(round)
	}
}

// checkSets: no set is damaged, every complete one verifies without a key
// (each chunk's size and SHA-256) and names no missing chunk; sets first
// seen now were made of this round's tree.
func (c *chaos) checkSets(round int) {
	e := c.e
	chunks := c.chunkObjects()
	for _, s := range c.list() {
		switch s.Status {
		case "complete", "partial":
		case "incomplete":
			continue
		default:
			e.t.Errorf("round %d: set %s is %s", round, s.SetID, s.Status)
			continue
		}
		if _, ok := c.setRound[s.SetID]; !ok {
			c.setRound[s.SetID] = round
		}
		if s.Status == "partial" {
			e.t.Errorf("round %d: set %s is partial (no item should fail)", round, s.SetID)
		}
		for _, k := range c.manifestChunks(s.SetID) {
			if !chunks[k] {
				e.t.Errorf("round %d: committed set %s names missing chunk %s", round, s.SetID, k)
			}
		}
		if r := e.run("verify", s.SetID, "--progress=never"); r.Code != 0 {
			e.t.Errorf("round %d: verify %s: exit %d\n%s%s", round, s.SetID, r.Code, r.Stdout, r.Stderr)
		}
	}
	if e.t.Failed() {
		e.t.FailNow()
	}
}

// chunkObjects lists the host's chunk objects.
func (c *chaos) chunkObjects() map[string]bool {
	out := map[string]bool{}
	if err := c.e.store.List(context.Background(), catalog.ChunkPrefix(raceHost), func(o upload.ObjectInfo) error {
		out[o.Key] = true
		return nil
	}); err != nil {
		c.e.t.Fatal(err)
	}
	return out
}

func (c *chaos) manifestChunks(id string) []string {
	rc, err := c.e.store.Get(context.Background(), catalog.ManifestKey(raceHost, id), 0, -1)
	if err != nil {
		c.e.t.Fatalf("manifest of %s: %v", id, err)
	}
	defer rc.Close()
	m, err := catalog.ParseManifest(rc)
	if err != nil {
		c.e.t.Fatalf("manifest of %s: %v", id, err)
	}
	var keys []string
	for _, it := range m.Items {
		for _, ch := range it.Chunks {
			keys = append(keys, ch.Key)
		}
	}
	return keys
}

// restoreAll restores every complete set with the identity (restore checks
// every file against the item's index) and compares it with its round's tree.
func (c *chaos) restoreAll(round int) {
	e := c.e
	for _, s := range c.list() {
		if s.Status != "complete" {
			continue
		}
		to := filepath.Join(e.dir, "restore", s.SetID)
		os.RemoveAll(to)
		if r := e.run("restore", s.SetID, "--to", to, "--identity", e.key, "--progress=never"); r.Code != 0 {
			e.t.Fatalf("round %d: restore %s: exit %d\n%s%s", round, s.SetID, r.Code, r.Stdout, r.Stderr)
		}
		got := hashFiles(e.t, to)
		for k := range got {
			if strings.HasPrefix(k, ".lyncbackup") || strings.Contains(k, "/.lyncbackup") {
				delete(got, k)
			}
		}
		want := c.trees[c.setRound[s.SetID]]
		if !maps.Equal(got, want) {
			e.t.Fatalf("round %d: set %s (of round %d) restores another tree:\n got %v\nwant %v", round, s.SetID, c.setRound[s.SetID], got, want)
		}
		os.RemoveAll(to)
	}
}

// final: with every killed run gone and its objects past the grace period,
// a prune leaves only complete sets, the chunks they name, and no marker
// or lease; what is left verifies and restores.
func (c *chaos) final(rounds int) {
	e := c.e
	e.ageObjects()
	if r := e.run("prune", "--grace", "1s", "--keep-last", "2"); r.Code != 0 {
		e.t.Fatalf("the last prune: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	complete := map[string]bool{}
	for _, s := range c.list() {
		if s.Status != "complete" {
			e.t.Errorf("after the last prune set %s is %s", s.SetID, s.Status)
		}
		complete[s.SetID] = true
	}
	referenced := map[string]bool{}
	for id := range complete {
		for _, k := range c.manifestChunks(id) {
			referenced[k] = true
		}
	}
	var stray []string
	err := e.store.List(context.Background(), raceHost+"/", func(o upload.ObjectInfo) error {
		switch {
		case strings.HasPrefix(o.Key, catalog.ChunkPrefix(raceHost)):
			if !referenced[o.Key] {
				stray = append(stray, o.Key+" (a chunk no set names)")
			}
		case strings.HasPrefix(o.Key, chunk.LockPrefix(raceHost)):
			stray = append(stray, o.Key+" (a marker)")
		default:
			rest := strings.TrimPrefix(o.Key, raceHost+"/")
			id, name, _ := strings.Cut(rest, "/")
			if !complete[id] || name == "lease.json" {
				stray = append(stray, o.Key)
			}
		}
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	if len(stray) > 0 {
		e.t.Errorf("after the last prune these remain:\n%s", strings.Join(stray, "\n"))
	}
	c.checkSets(rounds + 1)
	c.restoreAll(rounds + 1)
}
