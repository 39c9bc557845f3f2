package pipeline

import (
	"bytes"
	"context"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/upload"
)

// inFormat sets job up to write format (FormatArchive or FormatChunked).
func inFormat(t *testing.T, job BackupJob, format string) BackupJob {
	t.Helper()
	job.Format = format
	if format == FormatChunked {
		key, err := chunk.NewKey(make([]byte, 32))
		if err != nil {
			t.Fatal(err)
		}
		job.ChunkKey = key
	}
	return job
}

// brokenItem is an item whose pack fails after megabytes of it went to
// the store: its first root is 3 MiB of incompressible data, its second
// does not exist. It returns the item and the missing path.
func (f *fixture) brokenItem(t *testing.T) (exporters.Item, string) {
	big := filepath.Join(f.dir, "big")
	os.MkdirAll(big, 0o755)
	b := make([]byte, 3<<20)
	r := rand.New(rand.NewPCG(1, 2))
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	if err := os.WriteFile(filepath.Join(big, "data.bin"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(f.dir, "missing")
	return exporters.Item{Name: "broken", Kind: "path", Roots: []exporters.Root{{Path: big, Name: "big"}, {Path: missing, Name: "missing"}}}, missing
}

// laxStore swallows the read errors of item objects: it stores whatever
// came before the error as if the stream had ended there (a store that
// breaks the Put contract).
type laxStore struct{ upload.Store }

type laxReader struct{ r io.Reader }

func (l laxReader) Read(p []byte) (int, error) {
	n, err := l.r.Read(p)
	if err != nil && err != io.EOF {
		err = io.EOF
	}
	return n, err
}

func (s laxStore) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	if strings.HasSuffix(key, catalog.ObjectSuffix) {
		r = laxReader{r}
	}
	return s.Store.Put(ctx, key, r, o)
}

// TestStoreFailedPack: in both formats, an item whose pack fails half-way
// is a failure naming the packer's cause (not the store's "pipe closed"),
// is not in the manifest, and leaves no item object (the upload was
// aborted, no chunk list written); the other item is committed. And an
// item appears only once its pack ended cleanly too, even when the store
// took a broken stream for a whole one.
func TestStoreFailedPack(t *testing.T) {
	for _, format := range []string{FormatArchive, FormatChunked} {
		t.Run(format, func(t *testing.T) {
			f := newFixture(t)
			good := f.tree(t, "good", map[string]string{"x": "fine"})
			broken, missing := f.brokenItem(t)
			job := inFormat(t, f.job(exporters.NewPath("good", good), itemsExporter{"items", []exporters.Item{broken}}), format)
			res, err := Backup(context.Background(), job)
			if err != nil {
				t.Fatal(err)
			}
			checkBrokenFailed(t, res, missing)
			for _, key := range []string{catalog.ItemKey("fe01", res.Manifest.SetID, "broken"), catalog.ChunksKey("fe01", res.Manifest.SetID, "broken")} {
				if _, err := f.store.Stat(context.Background(), key); !errors.Is(err, upload.ErrNotFound) {
					t.Errorf("the failed item left %s in the store (%v)", key, err)
				}
			}
		})
	}
	t.Run("store takes a broken stream for a whole one", func(t *testing.T) {
		f := newFixture(t)
		good := f.tree(t, "good", map[string]string{"x": "fine"})
		broken, missing := f.brokenItem(t)
		job := f.job(exporters.NewPath("good", good), itemsExporter{"items", []exporters.Item{broken}})
		job.Store = laxStore{f.store}
		res, err := Backup(context.Background(), job)
		if err != nil {
			t.Fatal(err)
		}
		checkBrokenFailed(t, res, missing)
	})
}

// checkBrokenFailed: the run committed "good" and recorded "broken" as a
// failure naming missing.
func checkBrokenFailed(t *testing.T, res BackupResult, missing string) {
	t.Helper()
	m := res.Manifest
	if !res.Partial || len(m.Items) != 1 || m.Items[0].Name != "good" {
		t.Fatalf("partial %v, items %+v: want only the good item stored", res.Partial, m.Items)
	}
	if len(m.Failures) != 1 || m.Failures[0].Exporter != "broken" || !strings.Contains(m.Failures[0].Error, "item broken: read "+missing) {
		t.Fatalf("failures %+v: want the broken item's, naming %s", m.Failures, missing)
	}
}

// shortStore reports one byte less than it stored for item objects and
// chunk lists.
type shortStore struct{ upload.Store }

func (s shortStore) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	info, err := s.Store.Put(ctx, key, r, o)
	if err == nil && (strings.HasSuffix(key, catalog.ObjectSuffix) || strings.HasSuffix(key, catalog.ChunksSuffix)) {
		info.Size--
	}
	return info, err
}

// TestStoreSizeMismatch: in both formats, an item whose object (or chunk
// list) the store reports at another size than was sent is a failure, not
// a stored item.
func TestStoreSizeMismatch(t *testing.T) {
	for _, format := range []string{FormatArchive, FormatChunked} {
		t.Run(format, func(t *testing.T) {
			f := newFixture(t)
			a := f.tree(t, "a", map[string]string{"x": "some data"})
			job := inFormat(t, f.job(exporters.NewPath("a", a)), format)
			job.Store = shortStore{f.store}
			res, err := Backup(context.Background(), job)
			if !errors.Is(err, ErrNothingStored) || !strings.Contains(err.Error(), "item a: ") || !strings.Contains(err.Error(), "store reports") {
				t.Fatalf("got %+v, %v: want the item failed on the size the store reported", res.Manifest, err)
			}
		})
	}
}

// chunkThief deletes the first chunk an item's chunk list names, as the
// list is stored: between the chunk's upload and the commit.
type chunkThief struct {
	upload.Store
	once sync.Once
	gone string
}

func (c *chunkThief) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	if strings.HasSuffix(key, ".chunks") {
		b, _ := io.ReadAll(r)
		r = bytes.NewReader(b)
		c.once.Do(func() {
			c.gone = strings.SplitN(string(b), "\n", 2)[0]
			c.Store.Delete(ctx, c.gone)
		})
	}
	return c.Store.Put(ctx, key, r, o)
}

// A chunk that vanished after its upload (a person, another tool) stops
// the commit: checkStored lists the host's chunks. With that check off, no
// test failed: the race tests write the archive format.
func TestChunkGoneBeforeCommitRefused(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("chunked data ", 50000)})
	job := inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked)
	th := &chunkThief{Store: f.store}
	job.Store = th
	_, err := Backup(context.Background(), job)
	if th.gone == "" || err == nil || !strings.Contains(err.Error(), th.gone) || !strings.Contains(err.Error(), "not committed") {
		t.Fatalf("backup after chunk %q vanished: %v", th.gone, err)
	}
	for _, s := range f.sets(t) {
		if s.Manifest != nil {
			t.Fatalf("set %s committed naming a deleted chunk", catalog.ManifestKey(s.Host, s.ID))
		}
	}
}

// otherManifests counts the manifests of hosts other than fe01 read.
type otherManifests struct {
	upload.Store
	n atomic.Int64
}

func (o *otherManifests) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if strings.HasSuffix(key, "/manifest.json") && !strings.HasPrefix(key, "fe01/") {
		o.n.Add(1)
	}
	return o.Store.Get(ctx, key, off, n)
}

// A chunked backup learns its own host's chunks from its host's manifests
// only: the first backup of fe01 beside three hosts of three sets read
// their nine manifests (every backup read every server's).
func TestBackupReadsOnlyItsHostsManifests(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("chunked data ", 50000)})
	for _, h := range []string{"be01", "edge01", "fe02"} {
		for range 3 {
			job := inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked)
			job.Host = h
			if _, err := Backup(context.Background(), job); err != nil {
				t.Fatal(err)
			}
		}
	}
	om := &otherManifests{Store: f.store}
	job := inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked)
	job.Store = om
	if _, err := Backup(context.Background(), job); err != nil {
		t.Fatal(err)
	}
	if n := om.n.Load(); n != 0 {
		t.Errorf("fe01's backup read %d manifests of other hosts", n)
	}
}
