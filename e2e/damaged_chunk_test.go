package e2e

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/upload"
)

// flipMiddle changes one byte in the middle of b (past the age header),
// keeping its size: bit rot, a flipped byte on a share.
func flipMiddle(b []byte) []byte {
	b = bytes.Clone(b)
	b[len(b)/2] ^= 0x40
	return b
}

// largestChunk is the chunk entry of m with the most stored bytes (a whole
// chunk of the dump, not the tar's tail).
func largestChunk(m *catalog.Manifest) catalog.Chunk {
	var best catalog.Chunk
	for _, it := range m.Items {
		for _, c := range it.Chunks {
			if c.StoredBytes > best.StoredBytes {
				best = c
			}
		}
	}
	return best
}

func entryOf(m *catalog.Manifest, key string) (catalog.Chunk, bool) {
	for _, it := range m.Items {
		for _, c := range it.Chunks {
			if c.Key == key {
				return c, true
			}
		}
	}
	return catalog.Chunk{}, false
}

// TestChunkedDamagedInPlaceStoredAgain: a chunk object damaged in place,
// its size kept (a flipped byte), was reused by every later backup, whose
// sets were "complete" and did not restore the item; verify found it but
// said nothing of a remedy. Now verify says that the sets naming it cannot
// restore the item and that it recorded the damage, and the next backup
// stores the chunk again: that set verifies with the key and restores.
func TestChunkedDamagedInPlaceStoredAgain(t *testing.T) {
	e, src, c, obj := damagedChunkSet(t)

	set2 := e.backup() // reuses the damaged chunk: it cannot know yet
	r := e.run("verify", set2)
	failsWith(t, r, 1, "chunk "+c.Key+": SHA-256 does not match the manifest",
		"every set naming this chunk cannot restore sql",
		"recorded in "+filepath.Join(e.dir, "staging", chunkHost+".damaged-chunks")+" and in the store",
		"the next backup of "+chunkHost+" stores the chunk again")

	set3, e3 := storedAgainAndRestores(t, e, src, c, obj)
	e.mustRun("verify", set3)
	e.mustRun("verify", set3, "--identity", e.key)
	// The records are cleared once the chunk is stored again.
	if _, err := os.Stat(filepath.Join(e.dir, "staging", chunkHost+".damaged-chunks")); !os.IsNotExist(err) {
		t.Errorf("the staging record is left after the chunk was stored again: %v", err)
	}
	if left, _ := os.ReadDir(filepath.Join(e.dest, chunkHost, "chunk-damaged")); len(left) != 0 {
		t.Errorf("store records left after the chunk was stored again: %v", left)
	}
	// Nothing more is stored again: the next night reuses every chunk.
	set4 := e.backup()
	if e4, _ := entryOf(e.manifest(set4), c.Key); e4.SHA256 != e3.SHA256 {
		t.Errorf("set %s names chunk %s with SHA-256 %s, set %s with %s", set4, c.Key, e4.SHA256, set3, e3.SHA256)
	}
	e.mustRun("verify", set4)
}

// TestChunkedDamagedFoundByLsStoredAgain: ls reads every chunk of an item
// as verify --identity does, and met a damaged one with the plain remedy
// (delete the object) without recording it, so the next backup reused the
// damaged chunk again and its set did not restore either. Now ls records
// it as verify and restore do: the next backup stores the chunk again.
func TestChunkedDamagedFoundByLsStoredAgain(t *testing.T) {
	e, src, c, obj := damagedChunkSet(t)
	set2 := e.backup() // reuses the damaged chunk: it cannot know yet
	r := e.run("ls", set2, "--identity", e.key)
	failsWith(t, r, 1, "chunk "+c.Key+": SHA-256 does not match the manifest",
		"every set naming this chunk cannot restore sql",
		"recorded in "+filepath.Join(e.dir, "staging", chunkHost+".damaged-chunks")+" and in the store",
		"the next backup of "+chunkHost+" stores the chunk again")
	set3, _ := storedAgainAndRestores(t, e, src, c, obj)
	e.mustRun("ls", set3, "--identity", e.key)
}

// storedAgainAndRestores runs the next backup of damagedChunkSet's source,
// which must store the damaged chunk c again (the object at obj then hashes
// to the new set's entry), and restores that set: the dump comes back
// whole. It returns the set and its entry for c.
func storedAgainAndRestores(t *testing.T, e *coreEnv, src string, c catalog.Chunk, obj string) (string, catalog.Chunk) {
	t.Helper()
	set := e.backup()
	entry, ok := entryOf(e.manifest(set), c.Key)
	if !ok {
		t.Fatalf("set %s does not name chunk %s: the test needs the same content", set, c.Key)
	}
	stored, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(stored); hex.EncodeToString(sum[:]) != entry.SHA256 {
		t.Fatalf("chunk %s was not stored again: the object does not hash to set %s's entry", c.Key, set)
	}
	to := filepath.Join(e.dir, "restored")
	e.mustRun("restore", set, "--to", to, "--identity", e.key)
	if !sameContent(t, filepath.Join(src, "LyncDB.bak"), filepath.Join(to, "sql", "src", "LyncDB.bak")) {
		t.Error("the restored dump differs from the source")
	}
	return set, entry
}

// TestS3ChunkedDamagedInPlaceStoredAgain: the same on S3 (VersityGW, a
// bucket with object lock: the PUT over the locked chunk makes a new
// version), found by a restore with the config, then by a verify from the
// URL alone on another machine (recorded only in the store).
func TestS3ChunkedDamagedInPlaceStoredAgain(t *testing.T) {
	e := newS3Env(t, true)
	e.format = "chunked"
	e.destExtra = "  object_lock: {mode: GOVERNANCE, days: 1, legal_hold: false}\n"
	e.writeConfig()
	ctx := context.Background()
	cl := e.srv.Client()
	get := func(k string) []byte {
		t.Helper()
		out, err := cl.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(e.prefix + "/" + k)})
		if err != nil {
			t.Fatal(err)
		}
		defer out.Body.Close()
		b, err := io.ReadAll(out.Body)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	damage := func(k string) {
		t.Helper()
		if _, err := cl.PutObject(ctx, &s3.PutObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(e.prefix + "/" + k), Body: bytes.NewReader(flipMiddle(get(k)))}); err != nil {
			t.Fatal(err)
		}
	}
	manifest := func(set string) *catalog.Manifest {
		t.Helper()
		m, err := catalog.ParseManifest(bytes.NewReader(e.manifestOf(t, set)))
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	restore := func(set string, extra []string, from string) (string, int, string) {
		to := filepath.Join(e.dir, "restore-"+set+from[:min(len(from), 2)])
		args := []string{"restore", set, "--to", to, "--identity", e.key}
		if from != "" {
			args = append(args, "--from", from)
		}
		r := e.run(extra, args...)
		return to, r.Code, r.Stdout + r.Stderr
	}
	bare := []string{"LYNCBACKUP_CONFIG=" + filepath.Join(e.dir, "absent.yaml")}

	for round, how := range []string{"restore", "verify --from"} {
		set1 := e.backup()
		c := largestChunk(manifest(set1))
		damage(c.Key)
		set2 := e.backup()
		var code int
		var out string
		if how == "restore" {
			_, code, out = restore(set2, nil, "")
		} else {
			r := e.run(bare, "verify", set2, "--from", e.fromURL(), "--identity", e.key)
			code, out = r.Code, r.Stdout+r.Stderr
		}
		if code != 1 || !strings.Contains(out, "chunk "+c.Key) || !strings.Contains(out, "cannot restore "+e.item) ||
			!strings.Contains(out, "the next backup of "+e.host+" stores the chunk again") {
			t.Fatalf("round %d: %s of %s: exit %d, want 1 naming the damaged chunk %s and its remedy:\n%s", round, how, set2, code, c.Key, out)
		}
		set3 := e.backup()
		e3, ok := entryOf(manifest(set3), c.Key)
		if !ok {
			t.Fatalf("set %s does not name chunk %s", set3, c.Key)
		}
		if sum := sha256.Sum256(get(c.Key)); hex.EncodeToString(sum[:]) != e3.SHA256 {
			t.Fatalf("round %d (%s): chunk %s was not stored again", round, how, c.Key)
		}
		if r := e.run(nil, "verify", set3, "--identity", e.key); r.Code != 0 {
			t.Fatalf("verify %s: exit %d\n%s%s", set3, r.Code, r.Stdout, r.Stderr)
		}
		e.restoreAndCompare("", nil)
		for _, k := range e.keys() {
			if strings.Contains(k, "/chunk-damaged/") {
				t.Errorf("round %d: store record %s left after the chunk was stored again", round, k)
			}
		}
		// The next round changes the source, so it damages another chunk.
		os.WriteFile(filepath.Join(e.src, "Topology", "round.txt"), []byte(strings.Repeat("x", round+1)), 0o644)
		f, _ := os.OpenFile(e.bulky, os.O_WRONLY, 0)
		f.WriteAt([]byte{byte(round + 1)}, 4<<20)
		f.Close()
	}
}

// TestChunkedDamagedChunkRemedy: where the damage cannot be recorded (a
// verify on another machine, from the URL, whose store refuses the record),
// the line says that every set naming the chunk cannot restore the item and
// that deleting the object gets it stored again (and what to do where a
// lock refuses the delete); done, the next set verifies with the key and
// restores.
func TestChunkedDamagedChunkRemedy(t *testing.T) {
	e, src, c, obj := damagedChunkSet(t)
	set2 := e.backup() // reuses the damaged chunk: it cannot know yet

	// A file where the store's records go: the record's write fails (as
	// with a read-only credential), and no config names a staging folder.
	block := filepath.Join(e.dest, chunkHost, "chunk-damaged")
	if err := os.WriteFile(block, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	bare := []string{"LYNCBACKUP_CONFIG=" + filepath.Join(e.dir, "absent.yaml")}
	r := testbin.Run(t, e.dir, bare, "verify", set2, "--from", "file://"+filepath.ToSlash(e.dest))
	failsWith(t, r, 1, "chunk "+c.Key+": SHA-256 does not match the manifest",
		"every set naming this chunk cannot restore sql",
		"delete the object "+c.Key+" and the next backup of "+chunkHost+" stores the chunk again",
		"move the chunk key file")
	os.Remove(block)

	os.Remove(obj)
	set3 := e.backup()
	e.mustRun("verify", set3, "--identity", e.key)
	to := filepath.Join(e.dir, "restored")
	e.mustRun("restore", set3, "--to", to, "--identity", e.key)
	if !sameContent(t, filepath.Join(src, "LyncDB.bak"), filepath.Join(to, "sql", "src", "LyncDB.bak")) {
		t.Error("the restored dump differs from the source")
	}
}

// TestDamagedChunkStoredAgainEveryBackend: on a folder, S3 (VersityGW) and
// Azure (Azurite), a committed chunk damaged in place (size kept) is found
// by verify, which records it, and the next backup writes it again over the
// damaged object under the same key: its set verifies and restores.
func TestDamagedChunkStoredAgainEveryBackend(t *testing.T) {
	forBackendsFormat(t, raceBackends, "chunked", func(t *testing.T, e *raceEnv) {
		ctx := context.Background()
		big := randomFile(t, filepath.Join(e.dir, "alpha", "recording.bin"), 5<<20, 13)
		backup := func() *catalog.Manifest {
			t.Helper()
			r := e.run("backup", "--progress=never", "--json")
			var sum struct {
				SetID string `json:"set_id"`
			}
			if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &sum) != nil {
				t.Fatalf("backup: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
			}
			rc, err := e.store.Get(ctx, catalog.ManifestKey(raceHost, sum.SetID), 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			m, err := catalog.ParseManifest(rc)
			if err != nil {
				t.Fatal(err)
			}
			return m
		}
		read := func(k string) []byte {
			t.Helper()
			rc, err := e.store.Get(ctx, k, 0, -1)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			b, err := io.ReadAll(rc)
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		c := largestChunk(backup())
		if _, err := e.store.Put(ctx, c.Key, bytes.NewReader(flipMiddle(read(c.Key))), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		m2 := backup()
		v := e.run("verify", m2.SetID)
		if v.Code != 1 || !strings.Contains(v.Stderr, "chunk "+c.Key) || !strings.Contains(v.Stderr, "the next backup of "+raceHost+" stores the chunk again") {
			t.Fatalf("verify %s: exit %d, want 1 naming %s and that it is recorded\n%s", m2.SetID, v.Code, c.Key, v.Stderr)
		}
		m3 := backup()
		c3, ok := entryOf(m3, c.Key)
		if !ok {
			t.Fatalf("set %s does not name %s", m3.SetID, c.Key)
		}
		if sum := sha256.Sum256(read(c.Key)); hex.EncodeToString(sum[:]) != c3.SHA256 {
			t.Fatalf("chunk %s was not stored again", c.Key)
		}
		if v := e.run("verify", m3.SetID, "--identity", e.key); v.Code != 0 {
			t.Fatalf("verify %s --identity: exit %d\n%s", m3.SetID, v.Code, v.Stderr)
		}
		to := filepath.Join(e.dir, "restored")
		if rr := e.run("restore", m3.SetID, "--to", to, "--identity", e.key); rr.Code != 0 {
			t.Fatalf("restore: exit %d\n%s", rr.Code, rr.Stderr)
		}
		if got, err := os.ReadFile(filepath.Join(to, "alpha", "alpha", "recording.bin")); err != nil || !bytes.Equal(got, big) {
			t.Fatalf("the restored file differs: %v", err)
		}
	})
}

// damagedChunkSet backs up a 5 MiB dump from src to a folder store and
// flips a byte in the middle of the set's largest chunk object (obj, of
// chunk c), keeping its size.
func damagedChunkSet(t *testing.T) (e *coreEnv, src string, c catalog.Chunk, obj string) {
	t.Helper()
	e = newCoreEnv(t)
	src = filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	randomFile(t, filepath.Join(src, "LyncDB.bak"), 5<<20, 11)
	e.writeConfig(map[string][]string{"sql": {src}}, "")
	c = largestChunk(e.manifest(e.backup()))
	obj = filepath.Join(e.dest, filepath.FromSlash(c.Key))
	good, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obj, flipMiddle(good), 0o644); err != nil {
		t.Fatal(err)
	}
	return e, src, c, obj
}
