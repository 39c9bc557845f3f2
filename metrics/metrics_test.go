package metrics

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

func parse(t *testing.T, path string) map[string]*dto.MetricFamily {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("textfile does not parse: %v\n%s", err, data)
	}
	return fams
}

func value(t *testing.T, fams map[string]*dto.MetricFamily, name string, lbl map[string]string) float64 {
	t.Helper()
	f, ok := fams[name]
	if !ok {
		t.Fatalf("metric %s missing", name)
	}
	if f.GetType() != dto.MetricType_GAUGE {
		t.Errorf("%s is %v, want gauge", name, f.GetType())
	}
next:
	for _, m := range f.Metric {
		for k, v := range lbl {
			found := false
			for _, lp := range m.Label {
				if lp.GetName() == k && lp.GetValue() == v {
					found = true
				}
			}
			if !found {
				continue next
			}
		}
		return m.GetGauge().GetValue()
	}
	t.Fatalf("metric %s%v missing", name, lbl)
	return 0
}

func TestWriteParsesAndCarriesLastSuccess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lyncbackup.prom")
	start := time.Date(2026, 11, 25, 2, 30, 0, 0, time.UTC)
	good := Run{Host: `fe01 "pool\a"`, Status: "complete", OK: true, ExitCode: 0, Start: start, End: start.Add(95*time.Second + 250*time.Millisecond),
		Items: []Item{{Name: "csconfig", Kind: "csconfig", Files: 1, PlainBytes: 1000, StoredBytes: 600},
			{Name: "filestore", Kind: "filestore", Files: 10, PlainBytes: 5 << 30, StoredBytes: 3 << 30, Warnings: 2}}}
	if err := Write(path, good); err != nil {
		t.Fatal(err)
	}
	fams := parse(t, path)
	h := map[string]string{"host": good.Host}
	want := map[string]float64{
		"lyncbackup_last_run_timestamp_seconds":     float64(good.End.UnixMilli()) / 1000,
		"lyncbackup_last_success_timestamp_seconds": float64(good.End.UnixMilli()) / 1000,
		"lyncbackup_last_run_duration_seconds":      95.25,
		"lyncbackup_last_run_success":               1,
		"lyncbackup_last_run_exit_code":             0,
		"lyncbackup_last_run_read_bytes":            1000 + 5<<30,
		"lyncbackup_last_run_stored_bytes":          600 + 3<<30,
		"lyncbackup_last_run_items":                 2,
		"lyncbackup_last_run_files":                 11,
	}
	for name, w := range want {
		if got := value(t, fams, name, h); got != w {
			t.Errorf("%s = %v, want %v", name, got, w)
		}
	}
	if v := value(t, fams, "lyncbackup_item_stored_bytes", map[string]string{"item": "filestore", "kind": "filestore"}); v != 3<<30 {
		t.Errorf("item_stored_bytes = %v", v)
	}
	if v := value(t, fams, "lyncbackup_item_warnings", map[string]string{"item": "filestore"}); v != 2 {
		t.Errorf("item_warnings = %v", v)
	}
	if v := value(t, fams, "lyncbackup_last_run_status", map[string]string{"status": "complete"}); v != 1 {
		t.Errorf("status complete = %v", v)
	}

	// A failed run keeps the previous success time and reports the failure.
	bad := Run{Host: good.Host, Status: "partial", ExitCode: 3, Start: start.Add(24 * time.Hour), End: start.Add(24*time.Hour + time.Minute),
		Items: good.Items[:1], Failed: []string{"rgs"}}
	if err := Write(path, bad); err != nil {
		t.Fatal(err)
	}
	fams = parse(t, path)
	if got := value(t, fams, "lyncbackup_last_success_timestamp_seconds", h); got != float64(good.End.UnixMilli())/1000 {
		t.Errorf("last success after a failed run = %v, want the previous %v", got, float64(good.End.UnixMilli())/1000)
	}
	if got := value(t, fams, "lyncbackup_last_run_success", h); got != 0 {
		t.Errorf("last_run_success = %v", got)
	}
	if got := value(t, fams, "lyncbackup_last_run_exit_code", h); got != 3 {
		t.Errorf("exit code = %v", got)
	}
	if got := value(t, fams, "lyncbackup_item_success", map[string]string{"item": "rgs"}); got != 0 {
		t.Errorf("failed item status = %v", got)
	}
	if got := value(t, fams, "lyncbackup_item_success", map[string]string{"item": "csconfig"}); got != 1 {
		t.Errorf("stored item status = %v", got)
	}
	if got := value(t, fams, "lyncbackup_last_run_status", map[string]string{"status": "partial"}); got != 1 {
		t.Errorf("status partial = %v", got)
	}
	// No temporary files are left next to it.
	ents, _ := os.ReadDir(filepath.Dir(path))
	if len(ents) != 1 {
		t.Errorf("folder holds %d entries, want only the textfile", len(ents))
	}
}

func TestWriteFailsCleanly(t *testing.T) {
	if err := Write(filepath.Join(t.TempDir(), "missing", "x.prom"), Run{}); err == nil {
		t.Fatal("writing into a missing folder succeeded")
	}
}

// TestWriteBareFileName: a textfile named without a folder is written in
// the current folder, its temporary file beside it, not in the system's
// temporary folder (from where the rename may cross file systems; here
// that folder does not exist).
func TestWriteBareFileName(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	gone := filepath.Join(t.TempDir(), "no-such-folder")
	t.Setenv("TMPDIR", gone)
	t.Setenv("TMP", gone)
	t.Setenv("TEMP", gone)
	if err := Write("lyncbackup.prom", Run{Host: "fe01", Status: "complete", OK: true}); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(dir, "lyncbackup.prom")); err != nil || !strings.Contains(string(b), `host="fe01"`) {
		t.Fatalf("textfile: %v %q", err, b)
	}
}

// renameRetrying gets through a rename that fails for a moment (on
// Windows: the collector holding the file open while it reads it), and
// gives the last error when it keeps failing.
func TestRenameRetrying(t *testing.T) {
	dir := t.TempDir()
	from, to := filepath.Join(dir, "a.tmp"), filepath.Join(dir, "x", "m.prom")
	os.WriteFile(from, []byte("m 1\n"), 0o644)
	go func() { // the target's folder appears after a while
		time.Sleep(150 * time.Millisecond)
		os.Mkdir(filepath.Join(dir, "x"), 0o755)
	}()
	if err := renameRetrying(from, to, 20, 50*time.Millisecond); err != nil {
		t.Fatalf("rename that fails for a moment: %v", err)
	}
	if b, _ := os.ReadFile(to); string(b) != "m 1\n" {
		t.Fatalf("moved %q", b)
	}
	if err := renameRetrying(filepath.Join(dir, "gone"), to, 3, time.Millisecond); err == nil {
		t.Fatal("a rename that keeps failing succeeded")
	}
}
