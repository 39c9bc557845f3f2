package pipeline

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
)

// TestSeal: a run's manifest lists its items by name, is partial when
// anything failed, never ends before it started, and is the chunked
// format only when an item is chunked; a run that stored nothing has no
// set, and says why when a failure explains it.
func TestSeal(t *testing.T) {
	start := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	fresh := func() *catalog.Manifest {
		return &catalog.Manifest{Format: catalog.FormatArchive, Start: start}
	}
	items := []catalog.Item{{Name: "c"}, {Name: "a"}, {Name: "b"}}

	m := fresh()
	if err := seal(m, runOutcome{items: append([]catalog.Item(nil), items...)}, start.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, it := range m.Items {
		names = append(names, it.Name)
	}
	if strings.Join(names, ",") != "a,b,c" || m.Status != catalog.StatusComplete || !m.End.Equal(start.Add(time.Hour)) || m.Format != catalog.FormatArchive {
		t.Errorf("complete run: items %v, status %q, end %v, format %d", names, m.Status, m.End, m.Format)
	}

	m = fresh()
	fail := catalog.Failure{Exporter: "x", Error: "boom"}
	chunked := catalog.Item{Name: "a", Layout: catalog.LayoutChunked, Chunks: []catalog.Chunk{{Key: "k"}}}
	if err := seal(m, runOutcome{items: []catalog.Item{chunked}, failures: []catalog.Failure{fail}}, start.Add(-time.Minute)); err != nil {
		t.Fatal(err)
	}
	if m.Status != catalog.StatusPartial || !m.End.Equal(start) || len(m.Failures) != 1 || m.Format != catalog.FormatVersion {
		t.Errorf("partial chunked run whose clock went back: status %q, end %v, failures %v, format %d", m.Status, m.End, m.Failures, m.Format)
	}

	if err := seal(fresh(), runOutcome{}, start); !errors.Is(err, ErrNothingStored) {
		t.Errorf("nothing stored: %v", err)
	}
	if err := seal(fresh(), runOutcome{failures: []catalog.Failure{fail}}, start); !errors.Is(err, ErrNothingStored) || !strings.Contains(err.Error(), "boom") {
		t.Errorf("nothing stored, one failure: %v", err)
	}
}
