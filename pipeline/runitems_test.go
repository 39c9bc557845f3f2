package pipeline

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/exporters"
)

// itemsExporter hands out fixed items.
type itemsExporter struct {
	name  string
	items []exporters.Item
}

func (e itemsExporter) Name() string { return e.name }
func (e itemsExporter) Kind() string { return "test" }
func (e itemsExporter) Export(context.Context, exporters.Env) ([]exporters.Item, error) {
	return e.items, nil
}

// Two items with one name fail the run, and runItems returns only once
// its exporters and item workers are done: a worker left sending its
// result (nobody reads it any more) would never end, and neither would
// the export behind it.
func TestRunItemsDuplicateNameLeavesNothingRunning(t *testing.T) {
	var cleaned atomic.Int32
	item := func(name string) exporters.Item {
		return exporters.Item{Name: name, Kind: "test", Cleanup: func() error { cleaned.Add(1); return nil }}
	}
	job := BackupJob{
		Parallel: 1,
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		Exporters: []exporters.Exporter{
			itemsExporter{"one", []exporters.Item{item("a"), item("a"), item("b"), item("c")}},
			itemsExporter{"two", []exporters.Item{item("d"), item("e")}},
		},
	}
	store := func(ctx context.Context, it exporters.Item) (catalog.Item, error) {
		return catalog.Item{Name: it.Name}, ctx.Err()
	}
	_, err := runItems(context.Background(), job, exporters.Env{}, store)
	if err == nil || !strings.Contains(err.Error(), `two items are named "a"`) {
		t.Fatalf("err = %v, want the duplicate name", err)
	}
	// Names that differ only in case are one name on Windows.
	job2 := job
	job2.Exporters = []exporters.Exporter{itemsExporter{"one", []exporters.Item{item("Certs"), item("x"), item("certs")}}}
	_, err = runItems(context.Background(), job2, exporters.Env{}, store)
	if err == nil || !strings.Contains(err.Error(), `two items are named "Certs" and "certs", which differ only in case`) {
		t.Fatalf("err = %v, want the names differing in case", err)
	}
	// Every item handed to a worker was cleaned up, and no goroutine of
	// the run is left (a finishing goroutine may need a moment to exit).
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := runGoroutines()
		if left == "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines of the run still running after it returned:\n%s", left)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Every item an exporter made was cleaned up, handed to a worker or
	// not (the four of "one", the three of job2; "two" never ran).
	if n := cleaned.Load(); n != 7 {
		t.Fatalf("%d items cleaned up, want 7", n)
	}
}

// An interrupted run cleans up the items no worker took: a SQL item
// waiting to be handed over when Ctrl-C came left its .bak (tens of GB,
// in the SQL server's share, outside staging) for good.
func TestInterruptedRunCleansEveryItem(t *testing.T) {
	var cleaned atomic.Int32
	item := func(name string) exporters.Item {
		return exporters.Item{Name: name, Kind: "sql", Cleanup: func() error { cleaned.Add(1); return nil }}
	}
	job := BackupJob{
		Parallel:  1,
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Exporters: []exporters.Exporter{itemsExporter{"sql", []exporters.Item{item("sql-a"), item("sql-b")}}},
	}
	store := func(ctx context.Context, it exporters.Item) (catalog.Item, error) {
		<-ctx.Done() // a long upload, until Ctrl-C
		return catalog.Item{Name: it.Name}, ctx.Err()
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(200*time.Millisecond, cancel)
	runItems(ctx, job, exporters.Env{}, store)
	if n := cleaned.Load(); n != 2 {
		t.Fatalf("%d of 2 items cleaned up after an interrupted run", n)
	}
}

// runGoroutines returns the stacks of goroutines running runItems' workers
// or exportAll.
func runGoroutines() string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "pipeline.exportAll") || strings.Contains(g, "pipeline.runItems.func") {
			out = append(out, g)
		}
	}
	return strings.Join(out, "\n\n")
}
