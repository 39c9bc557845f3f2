package main

import (
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/retention"
)

// TestPruneSummaryLine: the line the mail shows for the prune after a
// backup says what was deleted, what failed and what stays locked; a
// prune that decided nothing says so instead of "0 set(s) kept".
func TestPruneSummaryLine(t *testing.T) {
	ps := pruneSummary{Kept: 3, Deleted: []string{"h/a"}, FreedBytes: 2048, ChunksDeleted: 4,
		DeleteFailed: []retention.SetFailure{{Set: "h/b"}},
		lockedText:   "2 chunk(s) no set uses (10 bytes) not deleted: still locked"}
	got := ps.Summary()
	for _, want := range []string{"3 set(s) kept, deleted 1 (", ": h/a", "h/b", "4 chunk(s) no set uses deleted", "; 2 chunk(s) no set uses (10 bytes) not deleted: still locked"} {
		if !strings.Contains(got, want) {
			t.Errorf("summary %q lacks %q", got, want)
		}
	}
	if got := (pruneSummary{undecided: true}).Summary(); strings.Contains(got, "kept") || !strings.Contains(got, "before deciding") {
		t.Errorf("undecided: %q", got)
	}
}
