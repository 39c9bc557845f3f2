package pipeline

import "testing"

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
