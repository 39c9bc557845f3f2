package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
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

// TestChunkedDamagedChunkRemedy: a chunk object damaged in place, its size
// kept (a flipped byte), is reused by the next backup; verify named it but
// gave no remedy. Now the line says that every set naming it cannot
// restore the item and that deleting the object gets it stored again
// (and what to do where a lock refuses the delete); done, the next set
// verifies with the key and restores.
func TestChunkedDamagedChunkRemedy(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	randomFile(t, filepath.Join(src, "LyncDB.bak"), 5<<20, 11)
	e.writeConfig(map[string][]string{"sql": {src}}, "")
	set1 := e.backup()
	c := largestChunk(e.manifest(set1))
	obj := filepath.Join(e.dest, filepath.FromSlash(c.Key))
	good, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(obj, flipMiddle(good), 0o644); err != nil {
		t.Fatal(err)
	}

	set2 := e.backup() // reuses the damaged chunk: it cannot know yet
	r := e.run("verify", set2)
	failsWith(t, r, 1, "chunk "+c.Key+": SHA-256 does not match the manifest",
		"every set naming this chunk cannot restore sql",
		"delete the object "+c.Key+" and the next backup of "+chunkHost+" stores the chunk again",
		"move the chunk key file")

	os.Remove(obj)
	set3 := e.backup()
	e.mustRun("verify", set3, "--identity", e.key)
	to := filepath.Join(e.dir, "restored")
	e.mustRun("restore", set3, "--to", to, "--identity", e.key)
	if !sameContent(t, filepath.Join(src, "LyncDB.bak"), filepath.Join(to, "sql", "src", "LyncDB.bak")) {
		t.Error("the restored dump differs from the source")
	}
}
