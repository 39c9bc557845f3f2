package pipeline

import (
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
)

func TestMemoryBudget(t *testing.T) {
	for _, c := range []struct {
		parallel         int
		part, conc, want int64
	}{
		{0, 0, 0, 112 << 20},       // the defaults: 48 + 2*4*8 MiB
		{2, 8 << 20, 3, 112 << 20}, // the same, spelled out
		{4, 16 << 20, 5, 48<<20 + 4*6*16<<20},
		{1, 0, 0, 48<<20 + 4*8<<20},
	} {
		if got := MemoryBudget(c.parallel, c.part, c.conc); got != c.want {
			t.Errorf("MemoryBudget(%d, %d, %d) = %d MiB, want %d MiB", c.parallel, c.part, c.conc, got>>20, c.want>>20)
		}
	}
}

// TestBackupMemory: the archive format needs MemoryBudget; the chunked
// format its chunk writer's memory (for 2 items when parallel is left at
// its default, with the level's encoder tables), a part buffer and 16 MiB.
func TestBackupMemory(t *testing.T) {
	for _, c := range []struct {
		format, level string
		parallel      int
		part, conc    int64
		want          int64
	}{
		{"", "", 0, 0, 0, MemoryBudget(0, 0, 0)},
		{FormatArchive, "best", 3, 16 << 20, 4, MemoryBudget(3, 16<<20, 4)},
		{FormatChunked, "", 0, 0, 0, 24<<20 + chunk.WriteMemory(2, 0, "")},
		{FormatChunked, "auto", 4, 16 << 20, 3, 32<<20 + chunk.WriteMemory(4, 0, "auto")},
		{FormatChunked, "best", 2, 8 << 20, 3, 24<<20 + chunk.WriteMemory(2, 0, "best")},
	} {
		if got := BackupMemory(c.format, c.level, c.parallel, c.part, c.conc); got != c.want {
			t.Errorf("BackupMemory(%q, %q, %d, %d, %d) = %d, want %d", c.format, c.level, c.parallel, c.part, c.conc, got, c.want)
		}
	}
	// The defaults, in MiB: 16 + 8 + 2 chunkers of 2 + 8 slots of 4 + 12
	// idle + 3 x 2 encoders of (2 + 1/8 + 5/4).
	if got, want := BackupMemory(FormatChunked, "auto", 0, 0, 0), int64(16<<20+8<<20+2*2<<20+8*4<<20+12<<20+6*(2<<20+128<<10+5<<18)); got != want {
		t.Errorf("the chunked default: %d MiB, want %d MiB", got>>20, want>>20)
	}
	if chunk.WriteMemory(2, 0, "best")-chunk.WriteMemory(2, 0, "fastest") != 6*(1<<25+1<<21-1<<18) {
		t.Error("best's encoder tables (32 + 2 MiB per state) are not counted against fastest's (256 KiB)")
	}
}

// TestReadMemory: a set of chunked items needs each item's read-ahead, the
// idle chunk buffers, a part buffer and 16 MiB (72 MiB by default); a set
// with an item in one object needs MemoryBudget if that is more; sets
// without a manifest (incomplete) count as chunked.
func TestReadMemory(t *testing.T) {
	chunked := &catalog.Manifest{Items: []catalog.Item{{Name: "a", Layout: catalog.LayoutChunked}}}
	mixed := &catalog.Manifest{Items: []catalog.Item{{Name: "a", Layout: catalog.LayoutChunked}, {Name: "b"}}}
	for _, c := range []struct {
		name       string
		parallel   int
		part, conc int64
		ms         []*catalog.Manifest
		want       int64
	}{
		{"defaults", 0, 0, 0, []*catalog.Manifest{chunked}, 72 << 20},
		{"no manifest", 2, 8 << 20, 3, []*catalog.Manifest{nil}, 72 << 20},
		{"four items", 4, 8 << 20, 3, []*catalog.Manifest{chunked}, 16<<20 + 8<<20 + 4*16<<20 + 16<<20},
		{"an archive item", 0, 0, 0, []*catalog.Manifest{mixed}, MemoryBudget(0, 0, 0)},
		{"an archive set among others", 2, 8 << 20, 3, []*catalog.Manifest{chunked, nil, mixed}, MemoryBudget(2, 8<<20, 3)},
		{"archive, small parts", 2, 1 << 20, 1, []*catalog.Manifest{mixed}, 16<<20 + 1<<20 + 2*16<<20 + 16<<20},
	} {
		if got := ReadMemory(c.parallel, c.part, c.conc, c.ms...); got != c.want {
			t.Errorf("%s: ReadMemory = %d MiB, want %d MiB", c.name, got>>20, c.want>>20)
		}
	}
	if chunk.IdleMemory != 16<<20 {
		t.Errorf("chunk.IdleMemory is %d MiB: the cases above assume 16", chunk.IdleMemory>>20)
	}
}
