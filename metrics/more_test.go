package metrics

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestFailedItemKindPruneAndSets(t *testing.T) {
	end := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	txt := string(Text(Run{Host: "fe01", Status: "partial", ExitCode: 3, Start: end.Add(-time.Hour), End: end,
		Failures: []Failure{{Name: "cms", Kind: "lync-cms"}},
		Prune:    &Prune{Kept: 14, Deleted: 2, FreedBytes: 1 << 30},
		Sets:     map[string]int{"fe01": 14, "fe02": 3}}, time.Time{}))
	for _, want := range []string{
		`lyncbackup_item_success{host="fe01",item="cms",kind="lync-cms"} 0`,
		`lyncbackup_last_prune_kept_sets{host="fe01"} 14`,
		`lyncbackup_last_prune_deleted_sets{host="fe01"} 2`,
		`lyncbackup_last_prune_freed_bytes{host="fe01"} 1073741824`,
		`lyncbackup_complete_sets{host="fe01"} 14`,
		`lyncbackup_complete_sets{host="fe02"} 3`,
	} {
		if !strings.Contains(txt, want+"\n") {
			t.Errorf("missing %s in\n%s", want, txt)
		}
	}
	// No prune ran, no sets counted: no such series (not a false zero).
	txt = string(Text(Run{Host: "fe01", End: end}, time.Time{}))
	if strings.Contains(txt, "last_prune") || strings.Contains(txt, "complete_sets") {
		t.Errorf("series without data:\n%s", txt)
	}
}

func TestWriteVerify(t *testing.T) {
	dir := t.TempDir()
	tf := filepath.Join(dir, "lyncbackup.prom")
	end := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	if err := WriteVerify(tf, Verify{Host: "fe01", Mode: "full", SetTime: end.Add(-2 * time.Hour), End: end}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "lyncbackup_verify.prom"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		`lyncbackup_last_verify_success_timestamp_seconds{host="fe01",mode="full"} 1795924800.000`,
		`lyncbackup_last_verify_set_timestamp_seconds{host="fe01",mode="full"} 1795917600.000`,
	} {
		if !strings.Contains(string(b), want+"\n") {
			t.Errorf("missing %s in\n%s", want, b)
		}
	}
}

// TestFailedPruneAfterACompleteSet: a run that stored a complete set and
// whose prune after it failed (exit 3) is the last success, and the prune
// failure has its own series; a prune that did all it decided says 1.
func TestFailedPruneAfterACompleteSet(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyncbackup.prom")
	end := time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	if err := Write(path, Run{Host: "fe01", Status: "complete", OK: true, ExitCode: 3, Start: end.Add(-time.Hour), End: end,
		Prune: &Prune{Kept: 2, Deleted: 1, DeleteFailed: 2, Errors: 2}}); err != nil {
		t.Fatal(err)
	}
	fams := parse(t, path)
	h := map[string]string{"host": "fe01"}
	for name, want := range map[string]float64{
		"lyncbackup_last_run_success":               1,
		"lyncbackup_last_success_timestamp_seconds": float64(end.Unix()),
		"lyncbackup_last_run_exit_code":             3,
		"lyncbackup_last_prune_success":             0,
		"lyncbackup_last_prune_delete_failed_sets":  2,
	} {
		if got := value(t, fams, name, h); got != want {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	txt := string(Text(Run{Host: "fe01", Status: "complete", OK: true, End: end, Prune: &Prune{OK: true, Kept: 2}}, time.Time{}))
	if !strings.Contains(txt, `lyncbackup_last_prune_success{host="fe01"} 1`+"\n") {
		t.Errorf("a prune that did all it decided:\n%s", txt)
	}
}
