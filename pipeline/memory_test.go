package pipeline

import (
	"testing"

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

// TestBackupMemory: the chunked format adds its chunk writer's memory
// (for 2 items when parallel is left at its default) to MemoryBudget; the
// archive format needs MemoryBudget alone.
func TestBackupMemory(t *testing.T) {
	for _, c := range []struct {
		format     string
		parallel   int
		part, conc int64
		want       int64
	}{
		{"", 0, 0, 0, MemoryBudget(0, 0, 0)},
		{FormatArchive, 3, 16 << 20, 4, MemoryBudget(3, 16<<20, 4)},
		{FormatChunked, 0, 0, 0, MemoryBudget(0, 0, 0) + chunk.WriteMemory(2, 0)},
		{FormatChunked, 4, 8 << 20, 3, MemoryBudget(4, 8<<20, 3) + chunk.WriteMemory(4, 0)},
	} {
		if got := BackupMemory(c.format, c.parallel, c.part, c.conc); got != c.want {
			t.Errorf("BackupMemory(%q, %d, %d, %d) = %d, want %d", c.format, c.parallel, c.part, c.conc, got, c.want)
		}
	}
}
