package catalog

import (
	"bytes"
	"strings"
	"testing"
)

func chunkedManifest() *Manifest {
	m := validManifest("fe01", "20261125T151203Z-a1b2c3", "certs")
	id1, id2 := strings.Repeat("1", 64), "ab"+strings.Repeat("c", 62)
	m.Items = append(m.Items, Item{Name: "sql", Kind: "path", Key: ChunksKey("fe01", m.SetID, "sql"), Layout: LayoutChunked,
		PlainBytes: 10, StoredBytes: 30, Files: 1, SHA256: strings.Repeat("ef", 32),
		Chunks: []Chunk{
			{Key: ChunkKey("fe01", id1), PlainBytes: 5, StoredBytes: 10, SHA256: strings.Repeat("0", 64)},
			{Key: ChunkKey("fe01", id2), PlainBytes: 5, StoredBytes: 20, SHA256: strings.Repeat("1", 64)},
		}})
	return m
}

func TestChunkedManifest(t *testing.T) {
	good := chunkedManifest()
	data, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if it, _ := m.Item("sql"); !it.Chunked() || len(it.Chunks) != 2 || it.Chunks[1].Key != "fe01/chunks/ab/ab"+strings.Repeat("c", 62)+".zst.age" {
		t.Fatalf("round trip: %+v", it)
	}
	if got := string(ChunkList(m.Items[1].Chunks)); got != m.Items[1].Chunks[0].Key+"\n"+m.Items[1].Chunks[1].Key+"\n" {
		t.Errorf("ChunkList = %q", got)
	}
	bad := []struct {
		name string
		mut  func(m *Manifest)
		want string
	}{
		{"format 1", func(m *Manifest) { m.Format = 1 }, "chunked item in a format 1"},
		{"other host's chunk", func(m *Manifest) { m.Items[1].Chunks[0].Key = ChunkKey("fe02", strings.Repeat("1", 64)) }, "invalid key"},
		{"wrong fan-out", func(m *Manifest) { m.Items[1].Chunks[0].Key = "fe01/chunks/22/" + strings.Repeat("1", 64) + ".zst.age" }, "invalid key"},
		{"path escape", func(m *Manifest) { m.Items[1].Chunks[0].Key = "fe01/chunks/11/../../../etc/passwd" }, "invalid key"},
		{"sum", func(m *Manifest) { m.Items[1].StoredBytes = 29 }, "not the sum"},
		{"empty chunk", func(m *Manifest) { m.Items[1].Chunks[0].PlainBytes = 0 }, "invalid size"},
		{"huge chunk", func(m *Manifest) {
			m.Items[1].Chunks[0].StoredBytes = MaxChunkBytes + 1
			m.Items[1].StoredBytes = MaxChunkBytes + 21
		}, "invalid size"},
		{"bad sha", func(m *Manifest) { m.Items[1].Chunks[0].SHA256 = "x" }, "invalid sha256"},
		{"no chunks", func(m *Manifest) { m.Items[1].Chunks = nil; m.Items[1].StoredBytes = 0 }, "without chunks"},
		{"list key", func(m *Manifest) { m.Items[1].Key = ItemKey("fe01", m.SetID, "sql") }, "outside its set"},
		{"archive with chunks", func(m *Manifest) { m.Items[0].Chunks = m.Items[1].Chunks }, "chunks listed for an archive item"},
		{"layout", func(m *Manifest) { m.Items[1].Layout = "packs" }, "unknown layout"},
		{"age prefix", func(m *Manifest) { m.Items[1].AgePrefixBytes = 5; m.Items[1].AgePrefixSHA256 = strings.Repeat("0", 64) }, "age prefix"},
	}
	for _, c := range bad {
		m := chunkedManifest()
		c.mut(m)
		if err := m.Validate(); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.name, err, c.want)
		}
	}
	if _, ok := ParseChunkKey("fe01", "fe01/chunks/11/"+strings.Repeat("1", 64)+".zst.age"); !ok {
		t.Error("ParseChunkKey refuses a good key")
	}
}
