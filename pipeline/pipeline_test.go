package pipeline

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

type fixture struct {
	dir     string
	store   *local.Store
	recips  []crypto.Recipient
	ids     []age.Identity
	staging string
}

func newFixture(t *testing.T) *fixture {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "dest"), 0o755)
	st, err := local.Open(filepath.Join(dir, "dest"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := crypto.GenerateIdentity(filepath.Join(dir, "key.txt"))
	if err != nil {
		t.Fatal(err)
	}
	rs, _ := crypto.ParseRecipients([]string{pub}, "")
	ids, _ := crypto.LoadIdentities(filepath.Join(dir, "key.txt"), nil)
	return &fixture{dir: dir, store: st, recips: rs, ids: ids, staging: filepath.Join(dir, "staging")}
}

func (f *fixture) tree(t *testing.T, name string, files map[string]string) string {
	root := filepath.Join(f.dir, name)
	for p, body := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		os.MkdirAll(filepath.Dir(full), 0o755)
		if err := os.WriteFile(full, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func (f *fixture) job(exps ...exporters.Exporter) BackupJob {
	return BackupJob{Host: "fe01", Store: f.store, Exporters: exps, Recipients: f.recips, Compression: "fastest", Staging: f.staging}
}

func (f *fixture) sets(t *testing.T) []catalog.Set {
	sets, err := (&catalog.Catalog{Store: f.store}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return sets
}

func (f *fixture) storeFiles(t *testing.T) []string {
	var out []string
	filepath.Walk(filepath.Join(f.dir, "dest"), func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			out = append(out, filepath.Base(p))
		}
		return nil
	})
	return out
}

func TestBackupReadRoundTrip(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x.txt": "hello", "sub/y.txt": strings.Repeat("y", 100000)})
	b := f.tree(t, "b", map[string]string{"z.txt": "zed"})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("bravo", b), exporters.NewPath("alpha", a)))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	if res.Partial || m.Status != catalog.StatusComplete || len(m.Items) != 2 || m.Items[0].Name != "alpha" {
		t.Fatalf("manifest %+v", m)
	}
	if m.Items[0].Files != 2 || m.Items[0].PlainBytes != 100005 || m.Recipients[0] != f.recips[0].Text {
		t.Errorf("item %+v", m.Items[0])
	}
	// Each item's duration travels in the result (the e-mail report reads it).
	if len(res.Durations) != len(m.Items) {
		t.Errorf("durations %v for %d items", res.Durations, len(m.Items))
	}
	for _, it := range m.Items {
		if res.Durations[it.Name] <= 0 {
			t.Errorf("item %s: duration %v", it.Name, res.Durations[it.Name])
		}
	}
	// The staging run folder is gone.
	if ents, _ := os.ReadDir(f.staging); len(ents) != 0 {
		t.Errorf("staging left: %v", ents)
	}
	sets := f.sets(t)
	if len(sets) != 1 || !sets[0].Complete() {
		t.Fatalf("sets %+v", sets)
	}
	// Verify without and with identities, then restore.
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m}); err != nil {
		t.Fatal(err)
	}
	reps, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m, Identities: f.ids})
	if err != nil || len(reps) != 2 || reps[0].Files != 2 {
		t.Fatalf("verify: %+v %v", reps, err)
	}
	to := filepath.Join(f.dir, "restore")
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m, Identities: f.ids, To: to, Items: []string{"alpha"}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(filepath.Join(to, "alpha", "a", "sub", "y.txt")); len(got) != 100000 {
		t.Errorf("restored %d bytes", len(got))
	}
	if _, err := os.Stat(filepath.Join(to, "bravo")); err == nil {
		t.Error("restored an item that was not asked for")
	}
	// An item asked for twice (--item alpha --item alpha) is restored
	// once: two readers of it wrote into one partial folder and failed.
	reps, err = Read(context.Background(), ReadJob{Store: f.store, Manifest: m, Identities: f.ids, To: filepath.Join(f.dir, "restore-twice"), Items: []string{"alpha", "alpha"}})
	if err != nil || len(reps) != 1 {
		t.Fatalf("alpha asked for twice: %d reports, %v", len(reps), err)
	}
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m, Identities: f.ids, To: to}); err == nil || !strings.Contains(err.Error(), "not empty") {
		t.Errorf("non-empty restore folder: %v", err)
	}
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m, Items: []string{"charlie"}}); err == nil || !strings.Contains(err.Error(), "charlie") {
		t.Errorf("unknown item: %v", err)
	}
}

func TestBackupPartialAndNothing(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": "x"})
	missing := filepath.Join(f.dir, "missing")
	res, err := Backup(context.Background(), f.job(exporters.NewPath("good", a), exporters.NewPath("bad", missing)))
	if err != nil {
		t.Fatal(err)
	}
	if !res.Partial || res.Manifest.Status != catalog.StatusPartial || len(res.Manifest.Failures) != 1 || res.Manifest.Failures[0].Exporter != "bad" {
		t.Fatalf("partial: %+v", res.Manifest)
	}
	_, err = Backup(context.Background(), f.job(exporters.NewPath("bad", missing)))
	if !errors.Is(err, ErrNothingStored) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("nothing stored: %v", err)
	}
	if sets := f.sets(t); len(sets) != 1 {
		t.Fatalf("a failed backup committed a set: %+v", sets)
	}
}

// slowStore holds the Put of an item object or a chunk open until the run
// is cancelled.
type slowStore struct {
	upload.Store
	started chan struct{}
	once    *sync.Once
}

func (s slowStore) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	if strings.HasSuffix(key, ".zst.age") { // <item>.tar.zst.age, <id>.zst.age
		buf := make([]byte, 4096)
		io.ReadFull(r, buf)
		s.once.Do(func() { close(s.started) })
		<-ctx.Done()
	}
	return s.Store.Put(ctx, key, r, o)
}

// TestBackupCancelledCommitsNothing: in both formats, a run cancelled
// while an item uploads says interrupted and leaves no object.
func TestBackupCancelledCommitsNothing(t *testing.T) {
	for _, format := range []string{FormatArchive, FormatChunked} {
		t.Run(format, func(t *testing.T) {
			f := newFixture(t)
			a := f.tree(t, "a", map[string]string{"x": strings.Repeat("data", 1<<20)})
			ctx, cancel := context.WithCancel(context.Background())
			job := inFormat(t, f.job(exporters.NewPath("a", a)), format)
			started := make(chan struct{})
			job.Store = slowStore{f.store, started, new(sync.Once)}
			go func() { <-started; cancel() }()
			_, err := Backup(ctx, job)
			if err == nil || !strings.Contains(err.Error(), "interrupted") {
				t.Fatalf("cancelled backup: %v", err)
			}
			if files := f.storeFiles(t); len(files) != 0 {
				t.Fatalf("left in the store: %v", files)
			}
		})
	}
}

func TestReadDamaged(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("a", 50000)})
	b := f.tree(t, "b", map[string]string{"y": strings.Repeat("b", 70000)})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", a), exporters.NewPath("bravo", b)))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	path := func(item string) string {
		return filepath.Join(f.dir, "dest", filepath.FromSlash(catalog.ItemKey("fe01", m.SetID, item)))
	}
	orig, _ := os.ReadFile(path("bravo"))
	other, _ := os.ReadFile(path("alpha"))
	flipped := append([]byte{}, orig...)
	flipped[len(flipped)/2] ^= 1
	for name, data := range map[string][]byte{"truncated": orig[:len(orig)/2], "corrupted": flipped, "swapped": other, "empty": nil, "longer": append(append([]byte{}, orig...), 0)} {
		os.WriteFile(path("bravo"), data, 0o644)
		for _, ids := range [][]age.Identity{nil, f.ids} {
			reps, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m, Identities: ids})
			if err == nil || !strings.HasPrefix(err.Error(), "bravo: ") {
				t.Errorf("%s (identities %v): %v", name, ids != nil, err)
			}
			if len(reps) == 2 && (!reps[0].OK || reps[1].OK) {
				t.Errorf("%s: reports %+v", name, reps)
			}
		}
	}
	os.Remove(path("bravo"))
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m}); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("missing object: %v", err)
	}
	os.WriteFile(path("bravo"), orig, 0o644)
	// The wrong identity is said plainly.
	otherKey := filepath.Join(f.dir, "other.txt")
	crypto.GenerateIdentity(otherKey)
	wrong, _ := crypto.LoadIdentities(otherKey, nil)
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: m, Identities: wrong}); err == nil || !strings.Contains(err.Error(), "identit") {
		t.Errorf("wrong identity: %v", err)
	}
}

// failingStore refuses every item object and chunk after reading a little
// of it (the run's lease and markers, small objects, go through).
type failingStore struct{ upload.Store }

func (s failingStore) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	if !strings.HasSuffix(key, ".zst.age") { // <item>.tar.zst.age, <id>.zst.age
		return s.Store.Put(ctx, key, r, o)
	}
	io.ReadFull(r, make([]byte, 10))
	return upload.ObjectInfo{}, errors.New("disk says no")
}

// TestBackupReportsTheStoreError: in both formats, a store that gives up
// early is the error reported (not the packer's "pipe closed"), and the
// packer is not left blocked on the pipe.
func TestBackupReportsTheStoreError(t *testing.T) {
	for _, format := range []string{FormatArchive, FormatChunked} {
		t.Run(format, func(t *testing.T) {
			f := newFixture(t)
			a := f.tree(t, "a", map[string]string{"x": strings.Repeat("data", 1<<20)})
			job := inFormat(t, f.job(exporters.NewPath("a", a)), format)
			job.Store = failingStore{f.store}
			_, err := Backup(context.Background(), job)
			if err == nil || !strings.Contains(err.Error(), "item a: ") || !strings.Contains(err.Error(), "disk says no") {
				t.Fatalf("got %v, want the store's error", err)
			}
		})
	}
}

// progressLog records the totals announced and the bytes counted per item.
type progressLog struct {
	mu                  sync.Mutex
	total, read, stored map[string]int64
}

func newProgressLog() *progressLog {
	return &progressLog{total: map[string]int64{}, read: map[string]int64{}, stored: map[string]int64{}}
}

func (p *progressLog) ItemStart(name string, total int64) {
	p.mu.Lock()
	p.total[name] = total
	p.mu.Unlock()
}

func (p *progressLog) Read(name string, n int64) {
	p.mu.Lock()
	p.read[name] += n
	p.mu.Unlock()
}

func (p *progressLog) Stored(name string, n int64) {
	p.mu.Lock()
	p.stored[name] += n
	p.mu.Unlock()
}

func (p *progressLog) ItemDone(string, error) {}

// TestReadProgress: restore counts towards the plaintext size; a verify
// without identities (which only hashes the stored object) towards the
// stored size, so its progress can reach 100%.
func TestReadProgress(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x.txt": strings.Repeat("x", 300000), "y.txt": "why"})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", a)))
	if err != nil {
		t.Fatal(err)
	}
	it := res.Manifest.Items[0]
	for _, c := range []struct {
		name        string
		job         ReadJob
		total, read int64
	}{
		{"verify without identities", ReadJob{Store: f.store, Manifest: res.Manifest}, it.StoredBytes, it.StoredBytes},
		{"verify with identities", ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids}, it.PlainBytes, it.PlainBytes},
		{"restore", ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: filepath.Join(f.dir, "r")}, it.PlainBytes, it.PlainBytes},
	} {
		p := newProgressLog()
		c.job.Progress = p
		if _, err := Read(context.Background(), c.job); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if p.total["alpha"] != c.total || p.read["alpha"] != c.read || p.stored["alpha"] != it.StoredBytes {
			t.Errorf("%s: total %d read %d stored %d; want total %d read %d stored %d",
				c.name, p.total["alpha"], p.read["alpha"], p.stored["alpha"], c.total, c.read, it.StoredBytes)
		}
	}
}

// TestRestoreChecksTheRightThing: a restore of an item whose manifest
// records the age prefix refuses a same-size object from another set by
// its header, before writing a file; a manifest without the prefix (older
// sets) falls back to the whole object's SHA-256; verify always hashes the
// whole object.
func TestRestoreChecksTheRightThing(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("same data ", 20000)})
	first, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", a)))
	if err != nil {
		t.Fatal(err)
	}
	second, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", a)))
	if err != nil {
		t.Fatal(err)
	}
	it := first.Manifest.Items[0]
	if it.AgePrefixBytes <= 0 || it.AgePrefixBytes >= it.StoredBytes || len(it.AgePrefixSHA256) != 64 {
		t.Fatalf("item without a usable age prefix: %+v", it)
	}
	path := func(m *catalog.Manifest) string {
		return filepath.Join(f.dir, "dest", filepath.FromSlash(m.Items[0].Key))
	}
	orig, _ := os.ReadFile(path(first.Manifest))
	other, _ := os.ReadFile(path(second.Manifest))
	if len(other) != len(orig) {
		// The same data to the same recipients: only the keys differ.
		t.Fatalf("the two objects differ in size (%d, %d)", len(orig), len(other))
	}
	os.WriteFile(path(first.Manifest), other, 0o644)
	defer os.WriteFile(path(first.Manifest), orig, 0o644)

	noPrefix := *first.Manifest
	noPrefix.Items = []catalog.Item{it}
	noPrefix.Items[0].AgePrefixSHA256, noPrefix.Items[0].AgePrefixBytes = "", 0
	for _, c := range []struct {
		name string
		job  ReadJob
		want string
	}{
		{"restore", ReadJob{Store: f.store, Manifest: first.Manifest, Identities: f.ids, To: filepath.Join(f.dir, "r1")}, "age header does not match"},
		{"restore of an older manifest", ReadJob{Store: f.store, Manifest: &noPrefix, Identities: f.ids, To: filepath.Join(f.dir, "r2")}, "SHA-256 does not match"},
		{"verify with identities", ReadJob{Store: f.store, Manifest: first.Manifest, Identities: f.ids}, "SHA-256 does not match"},
		{"verify", ReadJob{Store: f.store, Manifest: first.Manifest}, "SHA-256 does not match"},
	} {
		p := newProgressLog()
		c.job.Progress = p
		_, err := Read(context.Background(), c.job)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
		if c.job.To != "" {
			if ents, _ := os.ReadDir(c.job.To); len(ents) != 0 {
				t.Errorf("%s left %d entries in the restore folder", c.name, len(ents))
			}
		}
		if c.name == "restore" && p.read["alpha"] != 0 {
			t.Errorf("restore wrote %d bytes before refusing the header", p.read["alpha"])
		}
	}
}
