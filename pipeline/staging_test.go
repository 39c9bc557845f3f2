package pipeline

import (
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// Only the run folders whose owner is gone are removed at the next start:
// never a live run's, never one kept with --keep-staging.
func TestRemoveDeadRuns(t *testing.T) {
	staging := t.TempDir()
	mk := func(name string) string {
		d := filepath.Join(staging, name)
		if err := os.MkdirAll(filepath.Join(d, "cmd", "output"), 0o700); err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(d, "cmd", "output", "big.bin"), make([]byte, 1000), 0o600)
		return d
	}
	live := mk("run-live")
	o, err := ownRun(live)
	if err != nil {
		t.Fatal(err)
	}
	defer o.release()
	dead := mk("run-dead")
	od, err := ownRun(dead)
	if err != nil {
		t.Fatal(err)
	}
	od.release() // as the kernel does when the process dies
	kept := mk("run-kept")
	ok, _ := ownRun(kept)
	ok.release()
	os.WriteFile(filepath.Join(kept, keptName), nil, 0o600)
	oldLegacy := mk("run-old")
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(oldLegacy, past, past)
	newLegacy := mk("run-new")
	other := mk("not-a-run")

	removeDeadRuns(staging, slog.New(slog.DiscardHandler))
	for dir, want := range map[string]bool{live: true, dead: false, kept: true, oldLegacy: false, newLegacy: true, other: true} {
		_, err := os.Stat(dir)
		if got := err == nil; got != want {
			t.Errorf("%s: present %v, want %v", filepath.Base(dir), got, want)
		}
	}
}
