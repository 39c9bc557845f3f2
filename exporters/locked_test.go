package exporters_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// TestPathExporterLockedFile (Windows): a file another process holds open
// with no sharing (a live log, an open .bak) is, for a path exporter, a
// warning naming the file and the item is committed; with
// on_unreadable: fail the item fails. (Unix has no such locks; there the
// truth tests use an unreadable file.)
func TestPathExporterLockedFile(t *testing.T) {
	if runtime.GOOS != "windows" {
		t.Skip("mandatory file locks are a Windows thing (the Wine lane runs this)")
	}
	src := filepath.Join(t.TempDir(), "Logs")
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.MkdirAll(src, 0o755))
	must(os.WriteFile(filepath.Join(src, "old.log"), []byte("old"), 0o644))
	live := filepath.Join(src, "live.log")
	must(os.WriteFile(live, []byte("in use"), 0o644))
	exporters.HoldLocked(t, live)
	dir := t.TempDir()
	pub, err := crypto.GenerateIdentity(filepath.Join(dir, "id.txt"))
	must(err)
	recips, err := crypto.ParseRecipients([]string{pub}, "")
	must(err)
	must(os.MkdirAll(filepath.Join(dir, "store"), 0o755))
	store, err := local.Open(filepath.Join(dir, "store"))
	must(err)
	for _, c := range []struct {
		opt  string
		fail bool
	}{{"", false}, {", on_unreadable: fail", true}} {
		cfg, err := config.Parse([]byte("host: fs\nencryption: {recipients: [x]}\ndestination: {url: 'file:///x'}\nexporters:\n"+
			"  - {kind: path, name: logs, paths: ['"+src+"']"+c.opt+"}\n"), os.LookupEnv)
		must(err)
		exps, disc, err := exporters.Build(context.Background(), cfg, exporters.Env{Staging: dir})
		must(err)
		res, err := pipeline.Backup(context.Background(), pipeline.BackupJob{
			Host: "fs", Store: store, Exporters: exps, Discovery: disc, Recipients: recips,
			Compression: "fastest", Staging: filepath.Join(dir, "staging"),
		})
		if c.fail {
			if err == nil && !res.Partial && len(res.Manifest.Failures) == 0 {
				t.Errorf("on_unreadable: fail: the locked file did not fail the item: %+v", res.Manifest)
			}
			continue
		}
		must(err)
		m := res.Manifest
		if res.Partial || len(m.Items) != 1 || m.Items[0].Files != 1 {
			t.Fatalf("warn: manifest %+v", m)
		}
		if w := strings.Join(m.Items[0].Warnings, "\n"); !strings.Contains(w, live) {
			t.Errorf("no warning naming %s:\n%s", live, w)
		}
	}
}
