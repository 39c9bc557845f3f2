package chunk

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
)

// A chunk object damaged in place, its size kept, is found by a read
// (DamagedError, naming the manifest's SHA-256); once recorded, the next
// discovery does not count it as stored, the writer stores it again over
// the damaged object, and the discovery after the commit takes the newest
// set's entry (the new SHA-256, same size), not the older sets' one, and
// finds the record spent.
func TestDamagedChunkRecordedStoredAgain(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	in := data(400<<10, 23) // one chunk
	st1, err := w.writer(nil).Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.commit("20261126T010000Z-ffffff", st1.Chunks)
	c := st1.Chunks[0]
	w.flipByte(c.Key)

	_, err = Fetch(ctx, w.st, c)
	var de *DamagedError
	if !errors.As(err, &de) || de.Key != c.Key || de.SHA256 != c.SHA256 {
		t.Fatalf("fetch of the damaged chunk: %v, want a DamagedError naming %s and the manifest's SHA-256", err, c.Key)
	}
	file := DamagedFile(t.TempDir(), host)
	rec := RecordDamaged(ctx, w.st, file, host, Damage{Key: de.Key, SHA256: de.SHA256})
	if rec.File != file || !rec.Store || len(rec.Errs) != 0 {
		t.Fatalf("record: %+v", rec)
	}
	// Recording twice keeps one line.
	RecordDamaged(ctx, w.st, file, host, Damage{Key: de.Key, SHA256: de.SHA256})
	if b, _ := os.ReadFile(file); bytes.Count(b, []byte("\n")) != 1 {
		t.Errorf("record file after two records: %q", b)
	}

	// Without the record the chunk counts as stored (what went wrong).
	d := NewDiscovery(host)
	for _, m := range w.manifests() {
		d.Add(m)
	}
	if k, err := d.Known(ctx, w.st); err != nil || k[c.Key].SHA256 != c.SHA256 {
		t.Fatalf("unrecorded: known %+v %v", k[c.Key], err)
	}

	for _, from := range []string{"file", "store"} {
		t.Run(from, func(t *testing.T) {
			f := file
			if from == "store" {
				f = "" // a verify elsewhere: the store's record alone
			}
			dm, err := LoadDamaged(ctx, w.st, f, host)
			if err != nil || !dm[Damage{Key: c.Key, SHA256: c.SHA256}] || len(dm) != 1 {
				t.Fatalf("loaded %v %v", dm, err)
			}
			d := NewDiscovery(host)
			d.Damaged = dm
			for _, m := range w.manifests() {
				d.Add(m)
			}
			known, err := d.Known(ctx, w.st)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := known[c.Key]; ok || len(d.Spent) != 0 {
				t.Fatalf("recorded damaged chunk known: %+v, spent %v", known[c.Key], d.Spent)
			}
		})
	}

	dm, _ := LoadDamaged(ctx, w.st, file, host)
	d = NewDiscovery(host)
	d.Damaged = dm
	for _, m := range w.manifests() {
		d.Add(m)
	}
	known, _ := d.Known(ctx, w.st)
	wr := w.writer(known)
	wr.Rewrite = map[string]bool{c.Key: true}
	w.st.puts.Store(0)
	st2, err := wr.Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	if n := w.st.puts.Load(); n != 1 || len(wr.Rewritten()) != 1 {
		t.Fatalf("%d puts, rewritten %v: want the damaged chunk stored again", n, wr.Rewritten())
	}
	c2 := st2.Chunks[0]
	if c2.Key != c.Key || c2.StoredBytes != c.StoredBytes || c2.SHA256 == c.SHA256 {
		t.Fatalf("stored again: %+v, was %+v (want the same key and size, another SHA-256)", c2, c)
	}
	// A set of the same second with a lower id: the end time decides.
	w.commit("20261126T010000Z-000000", st2.Chunks)
	if out := w.read(st2.Chunks); !bytes.Equal(out, in) {
		t.Fatal("the new set does not restore")
	}

	d = NewDiscovery(host)
	d.Damaged = dm
	ms := w.manifests()
	for _, m := range ms {
		if m.SetID == "20261126T010000Z-000000" {
			m.End = m.End.Add(1)
		}
	}
	for _, m := range ms {
		d.Add(m)
	}
	known, _ = d.Known(ctx, w.st)
	if known[c.Key].SHA256 != c2.SHA256 {
		t.Errorf("after the new set: known SHA-256 %s, want the newest set's %s", known[c.Key].SHA256, c2.SHA256)
	}
	if !d.Spent[Damage{Key: c.Key, SHA256: c.SHA256}] {
		t.Errorf("the record is not spent once the chunk was stored again: %v", d.Spent)
	}
	if err := ClearDamaged(ctx, w.st, file, host, d.Spent); err != nil {
		t.Fatal(err)
	}
	if dm, err := LoadDamaged(ctx, w.st, file, host); err != nil || len(dm) != 0 {
		t.Errorf("after clearing: %v %v", dm, err)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Errorf("record file left: %v", err)
	}
	if _, err := os.Stat(filepath.Join(w.dir, host, "chunk-damaged")); err == nil {
		if left, _ := os.ReadDir(filepath.Join(w.dir, host, "chunk-damaged")); len(left) != 0 {
			t.Errorf("store records left: %v", left)
		}
	}
}

// FuzzDamagedRecords: the staging file and the store's marker keys are
// read back from outside the process; any bytes are taken without panic,
// and what is read back is a chunk key of the host with a SHA-256.
func FuzzDamagedRecords(f *testing.F) {
	f.Add([]byte("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"), "x.y")
	f.Add([]byte("garbage\n\n \r\n"), host+"/chunk-damaged/ab.cd")
	f.Fuzz(func(t *testing.T, data []byte, key string) {
		for _, d := range parseDamagedFile(host, data) {
			if _, ok := catalog.ParseChunkKey(host, d.Key); !ok || !catalog.IsHex64(d.SHA256) {
				t.Fatalf("record %+v", d)
			}
		}
		if d, ok := parseDamagedMark(host, key); ok {
			if DamagedMarkKey(host, d) != key {
				t.Fatalf("marker %q read as %+v", key, d)
			}
		}
	})
}

// lockedPuts refuses every Put as a store does over an immutable blob
// (Azure BlobImmutableDueToPolicy).
type lockedPuts struct{ upload.Store }

func (l lockedPuts) Put(ctx context.Context, key string, r io.Reader, o upload.PutOptions) (upload.ObjectInfo, error) {
	return upload.ObjectInfo{}, fmt.Errorf("azure: put %s: BlobImmutableDueToPolicy (HTTP 409): %w", key, upload.ErrLocked)
}

// A recorded damaged chunk the store refuses to write over (Azure
// immutability): the item fails naming the damage, the lock and what to do.
func TestDamagedChunkLockedNamesRemedy(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	in := data(400<<10, 29)
	st1, err := w.writer(nil).Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	key := st1.Chunks[0].Key
	wr := &Writer{Store: lockedPuts{w.st}, Host: host, Key: w.key, Recipients: w.rs, Compression: "fastest",
		Rewrite: map[string]bool{key: true}, KeyFile: "/var/lib/lyncbackup/" + host + ".chunkkey"}
	_, err = wr.Write(ctx, bytes.NewReader(in), nil)
	if err == nil || !errors.Is(err, upload.ErrLocked) {
		t.Fatalf("write: %v, want the lock", err)
	}
	for _, want := range []string{"store damaged chunk " + key + " again", "refuses to write over it while it is locked", "BlobImmutableDueToPolicy", "cannot restore this item", "move the chunk key file /var/lib/lyncbackup/" + host + ".chunkkey aside"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
}

// A record whose chunk is intact after all (made from a faulty read) does
// not get the chunk written again, which would break every set naming it:
// the backup reads it once more, keeps it and spends the record.
func TestDamagedRecordOfIntactChunkKeepsIt(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	in := data(400<<10, 31)
	st1, err := w.writer(nil).Write(ctx, bytes.NewReader(in), nil)
	if err != nil {
		t.Fatal(err)
	}
	w.commit("20261126T010000Z-aaaaaa", st1.Chunks)
	c := st1.Chunks[0]
	dm := Damage{Key: c.Key, SHA256: c.SHA256}
	RecordDamaged(ctx, w.st, "", host, dm)
	d := NewDiscovery(host)
	d.Damaged, _ = LoadDamaged(ctx, w.st, "", host)
	for _, m := range w.manifests() {
		d.Add(m)
	}
	known, err := d.Known(ctx, w.st)
	if err != nil {
		t.Fatal(err)
	}
	if known[c.Key].SHA256 != c.SHA256 || !d.Spent[dm] {
		t.Fatalf("intact recorded chunk: known %+v, spent %v: want it kept and the record spent", known[c.Key], d.Spent)
	}
}
