package pipeline

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/exporters"
)

// TestVerifyChecksWhatRestoreChecks: a manifest that lies about one of the
// things restore checks (the age prefix's SHA-256, the files' count or
// bytes) fails verify too. Without an identity, verify cannot count files
// or bytes (they are encrypted): it checks everything it can see.
func TestVerifyChecksWhatRestoreChecks(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("data ", 5000), "d/y": "why"})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", a)))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name     string
		lie      func(it *catalog.Item)
		want     string
		storedOK bool // verify without an identity cannot see it
	}{
		{"age prefix", func(it *catalog.Item) { it.AgePrefixSHA256 = strings.Repeat("0", 64) }, "age header does not match", false},
		{"files", func(it *catalog.Item) { it.Files++ }, "holds 2 files, the manifest says 3", true},
		{"plain bytes", func(it *catalog.Item) { it.PlainBytes++ }, "the manifest says", true},
		{"plain bytes, fewer", func(it *catalog.Item) { it.PlainBytes-- }, "manifest's", true},
	} {
		m := *res.Manifest
		m.Items = append([]catalog.Item(nil), m.Items...)
		c.lie(&m.Items[0])
		to := filepath.Join(f.dir, "r-"+strings.ReplaceAll(c.name, " ", "-"))
		for _, job := range []struct {
			name string
			job  ReadJob
			ok   bool
		}{
			{"verify", ReadJob{Store: f.store, Manifest: &m}, c.storedOK},
			{"verify --identity", ReadJob{Store: f.store, Manifest: &m, Identities: f.ids}, false},
			{"restore", ReadJob{Store: f.store, Manifest: &m, Identities: f.ids, To: to}, false},
		} {
			_, err := Read(context.Background(), job.job)
			if job.ok {
				if err != nil {
					t.Errorf("%s, manifest lies about %s: %v", job.name, c.name, err)
				}
				continue
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s, manifest lies about %s: %v, want %q", job.name, c.name, err, c.want)
			}
		}
		if ents, _ := os.ReadDir(to); len(ents) != 0 {
			t.Errorf("%s: a refused restore left %d entries", c.name, len(ents))
		}
	}
	// The truth passes all three.
	for _, job := range []ReadJob{
		{Store: f.store, Manifest: res.Manifest},
		{Store: f.store, Manifest: res.Manifest, Identities: f.ids},
		{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: filepath.Join(f.dir, "r-ok")},
	} {
		if _, err := Read(context.Background(), job); err != nil {
			t.Errorf("%+v: %v", job.To, err)
		}
	}
}

// TestCheckItem: the shared list of checks, one lie at a time.
func TestCheckItem(t *testing.T) {
	it := catalog.Item{StoredBytes: 100, SHA256: strings.Repeat("a", 64), AgePrefixSHA256: strings.Repeat("b", 64), AgePrefixBytes: 10, Files: 2, PlainBytes: 50}
	good := observed{storedBytes: 100, sha256: it.SHA256, prefix: it.AgePrefixSHA256, decoded: true, files: 2, plainBytes: 50}
	if err := checkItem(it, good); err != nil {
		t.Fatal(err)
	}
	for name, o := range map[string]observed{
		"size":   {storedBytes: 99, sha256: it.SHA256, prefix: it.AgePrefixSHA256},
		"sha":    {storedBytes: 100, sha256: strings.Repeat("c", 64), prefix: it.AgePrefixSHA256},
		"prefix": {storedBytes: 100, sha256: it.SHA256, prefix: strings.Repeat("c", 64)},
		"unread": {storedBytes: 100, sha256: it.SHA256},
		"files":  {storedBytes: 100, sha256: it.SHA256, prefix: it.AgePrefixSHA256, decoded: true, files: 3, plainBytes: 50},
		"bytes":  {storedBytes: 100, sha256: it.SHA256, prefix: it.AgePrefixSHA256, decoded: true, files: 2, plainBytes: 51},
	} {
		if err := checkItem(it, o); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestReadCauses: a cancelled restore is "interrupted", a write that fails
// in the restore folder names the folder; neither calls the object damaged.
func TestReadCauses(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("data ", 5000)})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", a)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, job := range []ReadJob{
		{Store: f.store, Manifest: res.Manifest},
		{Store: f.store, Manifest: res.Manifest, Identities: f.ids},
		{Store: f.store, Manifest: res.Manifest, Identities: f.ids, To: filepath.Join(f.dir, "r1")},
	} {
		_, err := Read(ctx, job)
		if err == nil || !strings.Contains(err.Error(), "interrupted") || strings.Contains(err.Error(), "damaged") || strings.Contains(err.Error(), "manifest") {
			t.Errorf("cancelled %q: %v", job.To, err)
		}
	}
}

// TestCheckContents: the files an archive held are held to the manifest's
// count and bytes, and the message names what held them (the object, or
// the chunks of a chunked item).
func TestCheckContents(t *testing.T) {
	obj := catalog.Item{Files: 2, PlainBytes: 50}
	chunked := catalog.Item{Files: 2, PlainBytes: 50, Layout: catalog.LayoutChunked, Chunks: []catalog.Chunk{{Key: "k"}}}
	for _, c := range []struct {
		it           catalog.Item
		files, bytes int64
		want         string
	}{
		{obj, 2, 50, ""},
		{chunked, 2, 50, ""},
		{obj, 3, 50, "the object holds 3 files, the manifest says 2 (manifest or object altered)"},
		{obj, 2, 49, "the object holds 49 bytes of files, the manifest says 50 (manifest or object altered)"},
		{chunked, 1, 50, "the chunks hold 1 files, the manifest says 2 (manifest or chunks altered)"},
		{chunked, 2, 51, "the chunks hold 51 bytes of files, the manifest says 50 (manifest or chunks altered)"},
	} {
		err := checkContents(c.it, c.files, c.bytes)
		if (err == nil) != (c.want == "") || (err != nil && err.Error() != c.want) {
			t.Errorf("%d files, %d bytes, chunked %v: %v, want %q", c.files, c.bytes, c.it.Chunked(), err, c.want)
		}
	}
}

// TestVerifyChunkedHashesWholeObjects: a chunked set whose manifest names a
// chunk's object with the wrong SHA-256 fails verify, with or without an
// identity (verify hashes every stored object whole), while a restore
// checks each chunk's age prefix and lets age authenticate the rest, which
// the intact object passes.
func TestVerifyChunkedHashesWholeObjects(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("chunked data ", 50000), "y": "why"})
	key, err := chunk.NewKey(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	job := f.job(exporters.NewPath("alpha", a))
	job.Format, job.ChunkKey = FormatChunked, key
	res, err := Backup(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	m := *res.Manifest
	m.Items = append([]catalog.Item(nil), m.Items...)
	it := &m.Items[0]
	if !it.Chunked() || it.Chunks[0].AgePrefixBytes <= 0 {
		t.Fatalf("want a chunked item whose chunks have age prefixes: %+v", it)
	}
	it.Chunks = append([]catalog.Chunk(nil), it.Chunks...)
	it.Chunks[0].SHA256 = strings.Repeat("0", 64)
	for _, c := range []struct {
		name string
		job  ReadJob
		ok   bool
	}{
		{"verify", ReadJob{Store: f.store, Manifest: &m}, false},
		{"verify --identity", ReadJob{Store: f.store, Manifest: &m, Identities: f.ids}, false},
		{"restore", ReadJob{Store: f.store, Manifest: &m, Identities: f.ids, To: filepath.Join(f.dir, "r")}, true},
	} {
		_, err := Read(context.Background(), c.job)
		if c.ok != (err == nil) || (err != nil && !strings.Contains(err.Error(), "SHA-256 does not match")) {
			t.Errorf("%s: %v (want ok %v)", c.name, err, c.ok)
		}
	}
}

// verify, with and without a key, checks a chunk entry's age header hash
// as restore does: a manifest whose prefix hash or length lies passed both
// verify modes and failed the restore.
func TestVerifyChunkAgePrefixAsRestore(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("data ", 5000), "d/y": "why"})
	res, err := Backup(context.Background(), inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked))
	if err != nil {
		t.Fatal(err)
	}
	if res.Manifest.Items[0].Chunks[0].AgePrefixBytes == 0 {
		t.Fatalf("want a format 3 chunked set: %+v", res.Manifest.Items[0].Chunks[0])
	}
	for name, lie := range map[string]func(c *catalog.Chunk){
		"prefix hash":  func(c *catalog.Chunk) { c.AgePrefixSHA256 = strings.Repeat("0", 64) },
		"prefix bytes": func(c *catalog.Chunk) { c.AgePrefixBytes-- },
	} {
		m := *res.Manifest
		m.Items = append([]catalog.Item(nil), m.Items...)
		m.Items[0].Chunks = append([]catalog.Chunk(nil), m.Items[0].Chunks...)
		lie(&m.Items[0].Chunks[0])
		if err := m.Validate(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		_, verr := Read(context.Background(), ReadJob{Store: f.store, Manifest: &m, Checks: &chunk.Checks{}})
		_, ierr := Read(context.Background(), ReadJob{Store: f.store, Manifest: &m, Identities: f.ids})
		_, rerr := Read(context.Background(), ReadJob{Store: f.store, Manifest: &m, Identities: f.ids, To: filepath.Join(f.dir, "r-"+strings.ReplaceAll(name, " ", "-"))})
		if rerr == nil || verr == nil || ierr == nil {
			t.Errorf("%s: verify: %v; verify --identity: %v; restore: %v (all three must refuse)", name, verr, ierr, rerr)
		}
	}
}

// verify all shares one Checks: a later set whose entry for an already
// checked chunk records another size is checked on its own entry (it
// passed on the first set's result).
func TestVerifyAllChecksEachEntry(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("data ", 5000)})
	res, err := Backup(context.Background(), inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked))
	if err != nil {
		t.Fatal(err)
	}
	good := res.Manifest
	bad := *good
	bad.Items = append([]catalog.Item(nil), good.Items...)
	bad.Items[0].Chunks = append([]catalog.Chunk(nil), good.Items[0].Chunks...)
	bad.Items[0].Chunks[0].StoredBytes += 7
	bad.Items[0].StoredBytes += 7
	if err := bad.Validate(); err != nil {
		t.Fatal(err)
	}
	checks := &chunk.Checks{}
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: good, Checks: checks}); err != nil {
		t.Fatal(err)
	}
	if _, err := Read(context.Background(), ReadJob{Store: f.store, Manifest: &bad, Checks: checks}); err == nil {
		t.Error("verify all passed a set whose chunk entry records the wrong size")
	}
}
