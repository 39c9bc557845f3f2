package pipeline

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/upload"
)

// wholeStore counts the reads of chunk lists: one-request reads
// (upload.WholeReader) and Gets; archived answers every read of a chunk
// list with ErrArchived, as a store with an offline tier does.
type wholeStore struct {
	upload.Store
	whole, gets atomic.Int64
	archived    bool
	archivedErr func(key string) error // the archived error (default: "get KEY: " ErrArchived)
}

func (s *wholeStore) ReadWhole(ctx context.Context, key string, buf []byte) (int64, error) {
	if strings.HasSuffix(key, catalog.ChunksSuffix) {
		s.whole.Add(1)
		if s.archived && s.archivedErr != nil {
			return 0, s.archivedErr(key)
		}
		if s.archived {
			return 0, fmt.Errorf("get %s: %w", key, upload.ErrArchived)
		}
	}
	return upload.ReadWhole(ctx, s.Store, key, buf)
}

func (s *wholeStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if strings.HasSuffix(key, catalog.ChunksSuffix) {
		s.gets.Add(1)
	}
	return s.Store.Get(ctx, key, off, n)
}

// TestChunkListOneRead: restore and verify read an item's chunk list with
// one whole-object read (no Get, so no metadata request first); verify
// fails naming a missing, truncated, extended, corrupted or swapped list,
// restore restores from the manifest's entries and warns naming it; both
// pass on the store's explanation of an archived one (S3's names --thaw).
func TestChunkListOneRead(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("chunked data ", 50000), "y": "why"})
	b := f.tree(t, "b", map[string]string{"z": strings.Repeat("other data ", 40000)})
	job := inFormat(t, f.job(exporters.NewPath("alpha", a), exporters.NewPath("bravo", b)), FormatChunked)
	res, err := Backup(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	m := res.Manifest
	ctx := context.Background()
	for _, c := range []struct {
		name string
		job  ReadJob
	}{
		{"verify", ReadJob{Manifest: m}},
		{"verify --identity", ReadJob{Manifest: m, Identities: f.ids}},
		{"restore", ReadJob{Manifest: m, Identities: f.ids, To: filepath.Join(f.dir, "r")}},
	} {
		ws := &wholeStore{Store: f.store}
		c.job.Store = ws
		if _, err := Read(ctx, c.job); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if ws.whole.Load() != 2 || ws.gets.Load() != 0 {
			t.Errorf("%s of 2 chunked items: %d whole reads and %d Gets of chunk lists, want 2 and 0", c.name, ws.whole.Load(), ws.gets.Load())
		}
	}

	it, _ := m.Item("bravo")
	path := filepath.Join(f.dir, "dest", filepath.FromSlash(it.Key))
	orig, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	other, _ := m.Item("alpha")
	swapped := catalog.ChunkList(other.Chunks)
	corrupted := bytes.Clone(orig)
	corrupted[len(corrupted)/2] ^= 1
	for _, c := range []struct {
		name string
		data []byte // nil: the list is gone
		want string
	}{
		{"missing", nil, "download chunk list: "},
		{"truncated", orig[:len(orig)-1], "is " + strconv.Itoa(len(orig)-1) + " bytes, the manifest's chunk entries make " + strconv.Itoa(len(orig))},
		{"extended", append(bytes.Clone(orig), "x\n"...), "is more than " + strconv.Itoa(len(orig)) + " bytes"},
		{"corrupted", corrupted, "does not match the manifest (corrupted or swapped)"},
		{"swapped", swapped, "chunk list " + it.Key},
	} {
		if c.data == nil {
			os.Remove(path)
		} else {
			os.WriteFile(path, c.data, 0o644)
		}
		for _, ids := range [][]byte{nil, {1}} {
			rj := ReadJob{Store: f.store, Manifest: m, Items: []string{"bravo"}}
			if ids != nil {
				rj.Identities, rj.To = f.ids, filepath.Join(f.dir, "r-"+c.name)
			}
			reps, err := Read(ctx, rj)
			if ids == nil {
				if err == nil || !strings.HasPrefix(err.Error(), "bravo: ") || !strings.Contains(err.Error(), c.want) {
					t.Errorf("%s list (verify): %v, want %q", c.name, err, c.want)
				}
				continue
			}
			// A restore goes on from the manifest's entries, and warns.
			if err != nil || len(reps) != 1 || !reps[0].OK || len(reps[0].Warnings) != 1 ||
				!strings.Contains(reps[0].Warnings[0], c.want) || !strings.Contains(reps[0].Warnings[0], "restored from the manifest's chunk entries instead") {
				t.Errorf("%s list (restore): %v, reports %+v; want restored with a warning holding %q", c.name, err, reps, c.want)
			}
		}
		os.WriteFile(path, orig, 0o644)
	}

	ws := &wholeStore{Store: f.store, archived: true}
	if _, err := Read(ctx, ReadJob{Store: ws, Manifest: m, Items: []string{"bravo"}, Identities: f.ids, To: filepath.Join(f.dir, "r-cold")}); err == nil || !strings.Contains(err.Error(), "download chunk list: get "+it.Key+": "+upload.ErrArchived.Error()+" (run restore with --thaw") {
		t.Errorf("archived list: %v", err)
	}
	// Whether the store's words name --thaw is its error's to say
	// (upload.NamesThaw), not the text's: a key (a host's name) holding
	// "--thaw" left the way back unsaid, and a store that names it in its
	// own words is not told twice.
	ws.archivedErr = func(key string) error {
		return fmt.Errorf("get %s--thaw: %w", key, upload.ErrArchived)
	}
	if _, err := Read(ctx, ReadJob{Store: ws, Manifest: m, Items: []string{"bravo"}, Identities: f.ids, To: filepath.Join(f.dir, "r-cold3")}); err == nil || !strings.Contains(err.Error(), "(run restore with --thaw to start bringing it back)") {
		t.Errorf("archived list whose key holds --thaw: %v, want the way back named", err)
	}
	ws.archivedErr = func(key string) error {
		return thawNamed{fmt.Errorf("get %s: %w: run restore with --thaw, then come back", key, upload.ErrArchived)}
	}
	if _, err := Read(ctx, ReadJob{Store: ws, Manifest: m, Items: []string{"bravo"}, Identities: f.ids, To: filepath.Join(f.dir, "r-cold4")}); err == nil || strings.Count(err.Error(), "--thaw") != 1 {
		t.Errorf("archived list in the store's words: %v, want --thaw named once", err)
	}
}

// thawNamed is an archived error that names restore --thaw (S3's).
type thawNamed struct{ error }

func (e thawNamed) Unwrap() error { return e.error }
func (thawNamed) NamesThaw() bool { return true }

// TestKnownChunksFromManifests: the chunks a backup may reuse carry what
// their manifests say (size, SHA-256), read as the listing goes: none is
// left to be fetched and hashed again as an object no manifest names.
func TestKnownChunksFromManifests(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("chunked data ", 50000)})
	job := inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked)
	res, err := Backup(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	known, unread, _, err := knownChunks(context.Background(), f.store, res.Manifest.Host, nil)
	it, _ := res.Manifest.Item("alpha")
	if err != nil || len(known) != len(it.Chunks) || len(unread) != 0 {
		t.Fatalf("known %d chunks, the set has %d; %d manifests unread: %v", len(known), len(it.Chunks), len(unread), err)
	}
	for _, c := range it.Chunks {
		if k := known[c.Key]; k.SHA256 != c.SHA256 || k.PlainBytes != c.PlainBytes {
			t.Errorf("chunk %s known as %+v, the manifest says %+v", c.Key, k.Chunk, c)
		}
	}
}

// A set written before chunk ids were keyed by the recipients, after a key
// change, names chunks stored for the earlier key while its manifest names
// the new one. Restoring it with the new key says that the earlier key is
// needed too, rather than only "wrong identity file?"; a key of none of
// the set's recipients gets the plain message.
func TestRestoreNamesEarlierRecipients(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": strings.Repeat("chunked data ", 50000)})
	res, err := Backup(context.Background(), inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked))
	if err != nil {
		t.Fatal(err)
	}
	newPub, err := crypto.GenerateIdentity(filepath.Join(f.dir, "new.txt"))
	if err != nil {
		t.Fatal(err)
	}
	newIDs, _ := crypto.LoadIdentities(filepath.Join(f.dir, "new.txt"), nil)
	m := *res.Manifest
	m.Recipients = []string{newPub} // what such a set's manifest says
	_, err = Read(context.Background(), ReadJob{Store: f.store, Manifest: &m, Identities: newIDs, To: filepath.Join(f.dir, "r1")})
	if err == nil || !strings.Contains(err.Error(), "stored for earlier recipients") || !strings.Contains(err.Error(), "put the earlier key in the identity file too") {
		t.Fatalf("restore with the set's own key: %v, want the earlier key named as needed", err)
	}
	crypto.GenerateIdentity(filepath.Join(f.dir, "other.txt"))
	otherIDs, _ := crypto.LoadIdentities(filepath.Join(f.dir, "other.txt"), nil)
	_, err = Read(context.Background(), ReadJob{Store: f.store, Manifest: &m, Identities: otherIDs, To: filepath.Join(f.dir, "r2")})
	if err == nil || !strings.Contains(err.Error(), "wrong identity file?") || strings.Contains(err.Error(), "earlier recipients") ||
		!strings.Contains(err.Error(), "the set is encrypted to "+newPub) {
		t.Fatalf("restore with a key of no recipient: %v, want the wrong-identity message naming the set's recipients", err)
	}
}

// A key that opens nothing of a set: the error names the set's public
// keys, so the admin can find the identity that matches (archive items go
// through another reader than chunks).
func TestWrongIdentityNamesRecipients(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x": "archive data"})
	res, err := Backup(context.Background(), f.job(exporters.NewPath("alpha", a)))
	if err != nil {
		t.Fatal(err)
	}
	crypto.GenerateIdentity(filepath.Join(f.dir, "other.txt"))
	other, _ := crypto.LoadIdentities(filepath.Join(f.dir, "other.txt"), nil)
	for _, to := range []string{"", filepath.Join(f.dir, "r")} {
		_, err = Read(context.Background(), ReadJob{Store: f.store, Manifest: res.Manifest, Identities: other, To: to})
		if err == nil || !strings.Contains(err.Error(), "wrong identity file?") || !strings.Contains(err.Error(), "the set is encrypted to "+f.recips[0].Text) {
			t.Errorf("read to %q with another key: %v, want the set's recipient named", to, err)
		}
	}
}

// TestUnreadManifestsChunksNotRewritten: a backup that cannot read one of
// its host's committed manifests (damaged, archived, a read error) sees
// that set's chunks as orphans. A local folder records no SHA-256 for an
// object (nor did S3 and Azure before the record), so such an orphan was
// stored again over: other bytes (age is randomised) under a name the
// unread manifest hashed, and that set no longer restored once its
// manifest could be read again. They are now adopted as they are, and the
// run says which manifest it could not read.
func TestUnreadManifestsChunksNotRewritten(t *testing.T) {
	f := newFixture(t)
	noise := make([]byte, 5<<20) // several chunks of the chunker's ~1 MiB
	rand.NewChaCha8([32]byte{1}).Read(noise)
	a := f.tree(t, "a", map[string]string{"x": string(noise)})
	job := inFormat(t, f.job(exporters.NewPath("alpha", a)), FormatChunked)
	ctx := context.Background()
	res, err := Backup(ctx, job)
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join(f.dir, "dest")
	it, _ := res.Manifest.Item("alpha")
	before := map[string][]byte{}
	for _, c := range it.Chunks {
		b, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(c.Key)))
		if err != nil {
			t.Fatal(err)
		}
		before[c.Key] = b
	}
	if len(before) < 2 {
		t.Fatalf("the set names %d chunks, want several", len(before))
	}
	mk := filepath.Join(root, filepath.FromSlash(catalog.ManifestKey(res.Manifest.Host, res.Manifest.SetID)))
	good, err := os.ReadFile(mk)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mk, []byte("{not a manifest"), 0o644); err != nil {
		t.Fatal(err)
	}
	var logBuf bytes.Buffer
	job.Log = slog.New(slog.NewTextHandler(&logBuf, nil))
	if _, err := Backup(ctx, job); err != nil {
		t.Fatal(err)
	}
	for k, b := range before {
		now, err := os.ReadFile(filepath.Join(root, filepath.FromSlash(k)))
		if err != nil || !bytes.Equal(now, b) {
			t.Errorf("chunk %s of the set whose manifest was unread was written again (%v)", k, err)
		}
	}
	if !strings.Contains(logBuf.String(), "could not be read") || !strings.Contains(logBuf.String(), res.Manifest.SetID) {
		t.Errorf("the run did not name the manifest it could not read:\n%s", logBuf.String())
	}
	// The set restores once its manifest is back.
	if err := os.WriteFile(mk, good, 0o644); err != nil {
		t.Fatal(err)
	}
	reps, err := Read(ctx, ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids})
	if err != nil {
		t.Fatalf("verify of the first set after the second backup: %v", err)
	}
	for _, r := range reps {
		if !r.OK {
			t.Errorf("verify of the first set after the second backup: %s: %s", r.Name, r.Error)
		}
	}
}
