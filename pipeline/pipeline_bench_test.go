package pipeline

// Whole-pipeline benchmarks (go test -run '^$' -bench . ./pipeline/):
// tar → zstd → age → store and back, on a corpus-like tree
// (bench/benchdata; LYNCBACKUP_BENCH_MB sets its size). "mem" measures the
// pipeline alone; "local" adds a real store writing files.

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"filippo.io/age"

	"github.com/lyncbackup/lyncbackup/bench/benchdata"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// memStore keeps objects in memory (bench only).
type memStore struct {
	mu   sync.Mutex
	objs map[string][]byte
}

func newMemStore() *memStore { return &memStore{objs: map[string][]byte{}} }

func (m *memStore) Put(ctx context.Context, key string, r io.Reader, _ upload.PutOptions) (upload.ObjectInfo, error) {
	var b bytes.Buffer
	if l, ok := r.(interface{ Len() int }); ok {
		// One copy of exactly the object, as a store's client would send
		// it: no growing buffer to profile instead of the pipeline.
		b.Grow(l.Len() + bytes.MinRead)
	}
	n, err := b.ReadFrom(r)
	if err != nil {
		return upload.ObjectInfo{}, err
	}
	m.mu.Lock()
	m.objs[key] = b.Bytes()
	m.mu.Unlock()
	return upload.ObjectInfo{Key: key, Size: n}, nil
}

func (m *memStore) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	m.mu.Lock()
	b, ok := m.objs[key]
	m.mu.Unlock()
	if !ok {
		return nil, upload.ErrNotFound
	}
	b = b[offset:]
	if length >= 0 {
		b = b[:length]
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

func (m *memStore) Stat(ctx context.Context, key string) (upload.ObjectInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, ok := m.objs[key]
	if !ok {
		return upload.ObjectInfo{}, upload.ErrNotFound
	}
	return upload.ObjectInfo{Key: key, Size: int64(len(b))}, nil
}

func (m *memStore) List(ctx context.Context, prefix string, fn func(upload.ObjectInfo) error) error {
	m.mu.Lock()
	var keys []string
	for k := range m.objs {
		if strings.HasPrefix(k, prefix) {
			keys = append(keys, k)
		}
	}
	m.mu.Unlock()
	sort.Strings(keys)
	for _, k := range keys {
		if err := fn(upload.ObjectInfo{Key: k, Size: int64(len(m.objs[k]))}); err != nil {
			return err
		}
	}
	return nil
}

func (m *memStore) Delete(ctx context.Context, key string) error {
	m.mu.Lock()
	delete(m.objs, key)
	m.mu.Unlock()
	return nil
}

func (m *memStore) String() string { return "mem" }

type benchEnv struct {
	tree  string
	bytes int64
	recip []crypto.Recipient
	ids   []age.Identity
}

var (
	benchOnce sync.Once
	benchE    benchEnv
	benchErr  error
	benchDir  string // removed by TestMain
)

// TestMain removes the benchmarks' shared tree when the binary ends.
func TestMain(m *testing.M) {
	code := m.Run()
	if benchDir != "" {
		os.RemoveAll(benchDir)
	}
	os.Exit(code)
}

// setup writes the tree once per test binary run (it takes a while).
func setup(b *testing.B) benchEnv {
	benchOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lyncbackup-bench-")
		if err != nil {
			benchErr = err
			return
		}
		benchDir = dir
		benchE.tree = filepath.Join(dir, "corpus")
		if _, benchErr = benchdata.Tree(benchE.tree, benchdata.Size(64<<20), 1); benchErr != nil {
			return
		}
		filepath.WalkDir(benchE.tree, func(p string, d os.DirEntry, err error) error {
			if err == nil && d.Type().IsRegular() {
				fi, _ := d.Info()
				benchE.bytes += fi.Size()
			}
			return nil
		})
		id, err := age.GenerateX25519Identity()
		if err != nil {
			benchErr = err
			return
		}
		r, err := crypto.ParseRecipient(id.Recipient().String())
		if err != nil {
			benchErr = err
			return
		}
		benchE.recip, benchE.ids = []crypto.Recipient{r}, []age.Identity{id}
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchE
}

// splitExporters makes one path exporter per top-level folder, as a Lync
// server's exports, SQL dumps and file store are separate items.
func splitExporters(b *testing.B, tree string) []exporters.Exporter {
	ents, err := os.ReadDir(tree)
	if err != nil {
		b.Fatal(err)
	}
	var out []exporters.Exporter
	for _, e := range ents {
		out = append(out, exporters.NewPath(e.Name(), filepath.Join(tree, e.Name())))
	}
	return out
}

func runBackup(b *testing.B, e benchEnv, st upload.Store, exps []exporters.Exporter, par int) *catalog.Manifest {
	res, err := Backup(context.Background(), BackupJob{
		Host: "bench", Store: st, Exporters: exps, Recipients: e.recip, Compression: "default",
		Parallel: par, Staging: b.TempDir(),
	})
	if err != nil {
		b.Fatal(err)
	}
	return res.Manifest
}

// BenchmarkBackup: the whole backup of the tree, one item or one per
// top-level folder (two at once), into memory or a local folder.
func BenchmarkBackup(b *testing.B) {
	e := setup(b)
	for _, layout := range []string{"one-item", "split"} {
		for _, dest := range []string{"mem", "local"} {
			b.Run(layout+"/"+dest, func(b *testing.B) {
				b.SetBytes(e.bytes)
				exps := []exporters.Exporter{exporters.NewPath("corpus", e.tree)}
				if layout == "split" {
					exps = splitExporters(b, e.tree)
				}
				var stored int64
				for b.Loop() {
					var st upload.Store = newMemStore()
					if dest == "local" {
						b.StopTimer()
						ls, err := local.Open(b.TempDir())
						if err != nil {
							b.Fatal(err)
						}
						st = ls
						b.StartTimer()
					}
					m := runBackup(b, e, st, exps, 2)
					_, stored, _ = m.Totals()
				}
				b.ReportMetric(float64(stored)/float64(e.bytes), "ratio")
			})
		}
	}
}

// BenchmarkRestore: restore of the whole set from memory into a folder,
// and verify (decrypt, decompress, check every hash, write nothing).
func BenchmarkRestore(b *testing.B) {
	e := setup(b)
	for _, layout := range []string{"one-item", "split"} {
		exps := []exporters.Exporter{exporters.NewPath("corpus", e.tree)}
		if layout == "split" {
			exps = splitExporters(b, e.tree)
		}
		st := newMemStore()
		m := runBackup(b, e, st, exps, 2)
		for _, mode := range []string{"restore", "verify"} {
			b.Run(layout+"/"+mode, func(b *testing.B) {
				b.SetBytes(e.bytes)
				for b.Loop() {
					to := ""
					if mode == "restore" {
						b.StopTimer()
						to = filepath.Join(b.TempDir(), "out")
						b.StartTimer()
					}
					if _, err := Read(context.Background(), ReadJob{Store: st, Manifest: m, Identities: e.ids, To: to, Parallel: 2}); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// BenchmarkBackupChunked: the whole backup of the tree in the chunked
// format into memory, one item or one per top-level folder (two at once).
// cpu-s/GiB is the process's user+system CPU per GiB of files (on a shared
// machine a steadier measure than wall time).
func BenchmarkBackupChunked(b *testing.B) {
	e := setup(b)
	key, err := chunk.NewKey(bytes.Repeat([]byte{1}, 32))
	if err != nil {
		b.Fatal(err)
	}
	for _, layout := range []string{"one-item", "split"} {
		b.Run(layout, func(b *testing.B) {
			b.SetBytes(e.bytes)
			exps := []exporters.Exporter{exporters.NewPath("corpus", e.tree)}
			if layout == "split" {
				exps = splitExporters(b, e.tree)
			}
			var stored int64
			c0 := cpuTime()
			for b.Loop() {
				res, err := Backup(context.Background(), BackupJob{
					Host: "bench", Store: newMemStore(), Exporters: exps, Recipients: e.recip, Compression: "auto",
					Parallel: 2, Staging: b.TempDir(), Format: FormatChunked, ChunkKey: key,
				})
				if err != nil {
					b.Fatal(err)
				}
				_, stored, _ = res.Manifest.Totals()
			}
			b.ReportMetric(float64(stored)/float64(e.bytes), "ratio")
			if c := cpuTime(); c > 0 {
				b.ReportMetric((c-c0).Seconds()/float64(b.N)/(float64(e.bytes)/(1<<30)), "cpu-s/GiB")
			}
		})
	}
}
