package exporters_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// vanishing wraps an exporter so that one file is deleted between the
// folder listing and its open (as a meeting ending would).
type vanishing struct {
	exporters.Exporter
	victim string
}

func (v vanishing) Export(ctx context.Context, env exporters.Env) ([]exporters.Item, error) {
	its, err := v.Exporter.Export(ctx, env)
	for i := range its {
		inner := its[i].Skip
		its[i].Skip = func(name string, fi fs.FileInfo) bool {
			if strings.HasSuffix(name, "/vanish.txt") {
				os.Remove(v.victim)
			}
			return inner(name, fi)
		}
	}
	return its, err
}

// growing appends to grow.bin while its first chunk is being packed.
type growing struct {
	pipeline.NoProgress
	once sync.Once
	path string
}

func (g *growing) Read(name string, n int64) {
	if n == 1<<20 {
		g.once.Do(func() {
			f, _ := os.OpenFile(g.path, os.O_WRONLY|os.O_APPEND, 0)
			f.Write([]byte("appended while read"))
			f.Close()
		})
	}
}

// TestFileStoreInUse streams a file store with a Meeting.Active lock, a
// FIFO, a file removed mid-walk and a file growing while read: the set is
// complete, the skips and warnings are in the manifest, and a restore
// gives back everything else.
func TestFileStoreInUse(t *testing.T) {
	share := filepath.Join(t.TempDir(), "LyncShare")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(filepath.Join(share, "1-WebServices-1", "CollabContent", "meeting1"), 0o755))
	must(os.WriteFile(filepath.Join(share, "a.txt"), []byte("hello\n"), 0o644))
	must(os.WriteFile(filepath.Join(share, "1-WebServices-1", "CollabContent", "meeting1", "Meeting.Active"), []byte("locked"), 0o644))
	must(os.WriteFile(filepath.Join(share, "1-WebServices-1", "CollabContent", "meeting1", "slides.pptx"), []byte("slides"), 0o644))
	must(os.WriteFile(filepath.Join(share, "MEETING.ACTIVE"), []byte("locked"), 0o644))
	must(os.WriteFile(filepath.Join(share, "grow.bin"), make([]byte, 3<<20), 0o644))
	must(os.WriteFile(filepath.Join(share, "vanish.txt"), []byte("gone soon"), 0o644))
	if runtime.GOOS == "windows" {
		// A live file held open with no sharing (Windows only): a warning
		// naming it, not a failed item.
		must(os.WriteFile(filepath.Join(share, "live.log"), []byte("in use"), 0o644))
		exporters.HoldLocked(t, filepath.Join(share, "live.log"))
	} else {
		must(mkfifo(filepath.Join(share, "pipe")))
	}

	dir := t.TempDir()
	idFile := filepath.Join(dir, "id.txt")
	pub, err := crypto.GenerateIdentity(idFile)
	must(err)
	recips, err := crypto.ParseRecipients([]string{pub}, "")
	must(err)
	must(os.MkdirAll(filepath.Join(dir, "store"), 0o755))
	store, err := local.Open(filepath.Join(dir, "store"))
	must(err)

	cfg, err := config.Parse([]byte("host: fs\nencryption: {recipients: [x]}\ndestination: {url: 'file:///x'}\nlync: {powershell: none, exporters: [filestore], filestores: ['"+share+"']}\n"), os.LookupEnv)
	must(err)
	exps, disc, err := exporters.Build(context.Background(), cfg, exporters.Env{Staging: dir})
	must(err)
	if len(exps) != 1 {
		t.Fatalf("exporters %v", exps)
	}
	res, err := pipeline.Backup(context.Background(), pipeline.BackupJob{
		Host: "fs", Store: store, Exporters: []exporters.Exporter{vanishing{exps[0], filepath.Join(share, "vanish.txt")}},
		Discovery: disc, Recipients: recips, Compression: "fastest", Staging: filepath.Join(dir, "staging"),
		Progress: &growing{path: filepath.Join(share, "grow.bin")},
	})
	must(err)
	m := res.Manifest
	if res.Partial || m.Status != "complete" || len(m.Items) != 1 {
		t.Fatalf("manifest %+v", m)
	}
	it := m.Items[0]
	if it.Kind != "filestore" || it.Meta["store"] != share || it.Meta["share"] != "LyncShare" {
		t.Errorf("item %+v", it)
	}
	// a.txt, grow.bin, slides.pptx: the locks, the FIFO and the vanished file are not files in the set.
	if it.Files != 3 || it.PlainBytes != 3<<20+6+6 {
		t.Errorf("files %d bytes %d", it.Files, it.PlainBytes)
	}
	warn := strings.Join(it.Warnings, "\n")
	wants := []string{
		filepath.Join(share, "vanish.txt") + ": vanished before it was read",
		filepath.Join(share, "grow.bin") + ": changed while being read",
	}
	if runtime.GOOS == "windows" {
		wants = append(wants, filepath.Join(share, "live.log")+": not backed up: ")
	} else {
		wants = append(wants, filepath.Join(share, "pipe")+": skipped special file")
	}
	for _, w := range wants {
		if !strings.Contains(warn, w) {
			t.Errorf("warning %q missing from:\n%s", w, warn)
		}
	}
	if strings.Contains(warn, "Meeting.Active") || strings.Contains(warn, "MEETING.ACTIVE") {
		t.Errorf("Meeting.Active is skipped silently, not a warning:\n%s", warn)
	}

	ids, err := crypto.LoadIdentities(idFile, nil)
	must(err)
	to := filepath.Join(dir, "restore")
	_, err = pipeline.Read(context.Background(), pipeline.ReadJob{Store: store, Manifest: m, Identities: ids, To: to})
	must(err)
	base := filepath.Join(to, it.Name, "LyncShare")
	if b, err := os.ReadFile(filepath.Join(base, "a.txt")); err != nil || string(b) != "hello\n" {
		t.Errorf("a.txt: %q %v", b, err)
	}
	if _, err := os.Stat(filepath.Join(base, "1-WebServices-1", "CollabContent", "meeting1", "slides.pptx")); err != nil {
		t.Error(err)
	}
	for _, gone := range []string{"MEETING.ACTIVE", "1-WebServices-1/CollabContent/meeting1/Meeting.Active", "vanish.txt", "pipe", "live.log"} {
		if _, err := os.Lstat(filepath.Join(base, filepath.FromSlash(gone))); !os.IsNotExist(err) {
			t.Errorf("%s restored: %v", gone, err)
		}
	}
}

// TestFileStoreUnreachable: a share that cannot be read fails that
// store's exporter with its path, not the run.
func TestFileStoreUnreachable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope")
	cfg, err := config.Parse([]byte("host: fs\nencryption: {recipients: [x]}\ndestination: {url: 'file:///x'}\nexporters: [{kind: filestore, paths: ['"+missing+"']}]\n"), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	exps, _, err := exporters.Build(context.Background(), cfg, exporters.Env{Staging: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	_, err = exps[0].Export(context.Background(), exporters.Env{})
	if err == nil || err.Error() != "file store "+missing+": path "+missing+" does not exist" {
		t.Errorf("error %v", err)
	}
}

// TestOnUnreadable: path and file store exporters skip unreadable files
// with a warning by default (Tolerant items) and fail with
// on_unreadable: fail, the same way.
func TestOnUnreadable(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct {
		opt      string
		tolerant bool
	}{{"", true}, {", on_unreadable: warn", true}, {", on_unreadable: fail", false}} {
		cfg, err := config.Parse([]byte("host: fs\nencryption: {recipients: [x]}\ndestination: {url: 'file:///x'}\nexporters:\n"+
			"  - {kind: filestore, paths: ['"+dir+"']"+c.opt+"}\n  - {kind: path, paths: ['"+dir+"']"+c.opt+"}\n"), os.LookupEnv)
		if err != nil {
			t.Fatal(err)
		}
		exps, _, err := exporters.Build(context.Background(), cfg, exporters.Env{Staging: t.TempDir()})
		if err != nil || len(exps) != 2 {
			t.Fatalf("%v %v", exps, err)
		}
		for _, ex := range exps {
			its, err := ex.Export(context.Background(), exporters.Env{})
			if err != nil || len(its) != 1 || its[0].Tolerant != c.tolerant {
				t.Errorf("%s%s: items %+v, %v; want tolerant %v", ex.Kind(), c.opt, its, err, c.tolerant)
			}
		}
	}
}
