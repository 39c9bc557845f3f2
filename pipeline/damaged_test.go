package pipeline

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/exporters"
)

// A chunk damaged in place (same size): verify without and with a key and
// restore name what it costs and the remedy, once per chunk; told of it
// (ReadJob.Damaged), they say what the hook says, and without a hook that
// deleting the object gets it stored again, and what to do under a lock.
func TestDamagedChunkNamesRemedy(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("chunked data ", 50000)})
	res, err := Backup(context.Background(), inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked))
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	c := m.Items[0].Chunks[0]
	p := filepath.Join(f.dir, "dest", filepath.FromSlash(c.Key))
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.Clone(b)
	b[len(b)/2] ^= 1
	os.WriteFile(p, b, 0o644)
	for i, job := range []ReadJob{
		{Store: f.store, Manifest: m},
		{Store: f.store, Manifest: m, Identities: f.ids},
		{Store: f.store, Manifest: m, Identities: f.ids, To: filepath.Join(f.dir, "r")},
	} {
		_, err := Read(context.Background(), job)
		want := "every set naming this chunk cannot restore alpha: delete the object " + c.Key + " and the next backup of " + m.Host + " stores the chunk again"
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "move the chunk key file") {
			t.Errorf("job %d: %v\nwant %q", i, err, want)
		}
		var told []*chunk.DamagedError
		job.Damaged = func(d *chunk.DamagedError) string { told = append(told, d); return "RECORDED" }
		_, err = Read(context.Background(), job)
		if err == nil || !strings.HasSuffix(err.Error(), "cannot restore alpha: RECORDED") || len(told) != 1 || told[0].Key != c.Key || told[0].SHA256 != c.SHA256 {
			t.Errorf("job %d with a hook: %v, told %v", i, err, told)
		}
	}
}
