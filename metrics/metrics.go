// Package metrics writes a Prometheus textfile (for node_exporter's or
// windows_exporter's textfile collector) describing the last backup run.
// The file is replaced atomically, so a scrape never sees half of it.
package metrics

import (
	"bufio"
	"bytes"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Run is what the last backup did.
type Run struct {
	Host   string
	Status string // complete, partial, failed
	// OK: the run stored a complete set (a partial run is not a success;
	// one whose prune after it failed is: Prune.OK says that).
	OK       bool
	ExitCode int
	Start    time.Time
	End      time.Time
	Items    []Item
	// Failed names exporters or items that failed (kind unknown); prefer
	// Failures, which carry the kind.
	Failed []string
	// Failures are the exporters or items that failed, with their kind.
	Failures []Failure
	// Prune is what the prune after the backup did (nil: none ran).
	Prune *Prune
	// Sets counts the complete sets per host in the destination after the
	// run (nil: not counted).
	Sets map[string]int
}

// Failure is an exporter or item that failed.
type Failure struct{ Name, Kind string }

// Prune is what a prune decided and did.
type Prune struct {
	// OK: the prune did all it decided (false: it failed, in part or
	// before deciding anything).
	OK bool
	// Deleted counts the sets wholly deleted, DeleteFailed those the
	// policy let go whose delete failed (left whole or in part).
	Kept, Deleted, DeleteFailed int
	// FreedBytes counts the objects really deleted.
	FreedBytes int64
	Errors     int
}

// Item is one stored item.
type Item struct {
	Name, Kind  string
	Files       int64
	PlainBytes  int64
	StoredBytes int64
	Warnings    int
}

const prefix = "lyncbackup_"

// Text renders the metrics. lastSuccess is the end of the last successful
// run (when this one failed, it is carried over from the previous file so
// the "no good backup for N hours" alert keeps working).
func Text(r Run, lastSuccess time.Time) []byte {
	var b bytes.Buffer
	host := labels("host", r.Host)
	gauge := func(name, help string, lines ...string) {
		fmt.Fprintf(&b, "# HELP %s%s %s\n# TYPE %s%s gauge\n", prefix, name, help, prefix, name)
		for _, l := range lines {
			b.WriteString(prefix + name + l + "\n")
		}
	}
	num := func(v float64) string {
		if v == math.Trunc(v) && math.Abs(v) < 1e15 {
			return strconv.FormatInt(int64(v), 10)
		}
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	ts := func(t time.Time) string {
		if t.IsZero() {
			return "0"
		}
		return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
	}
	var plain, stored, files int64
	for _, it := range r.Items {
		plain += it.PlainBytes
		stored += it.StoredBytes
		files += it.Files
	}
	ok := 0
	if r.OK {
		ok = 1
		lastSuccess = r.End
	}
	gauge("last_run_timestamp_seconds", "Unix time the last backup run ended.", host+" "+ts(r.End))
	gauge("last_run_start_timestamp_seconds", "Unix time the last backup run started.", host+" "+ts(r.Start))
	gauge("last_success_timestamp_seconds", "Unix time the last complete backup ended (0: none known).", host+" "+ts(lastSuccess))
	gauge("last_run_duration_seconds", "Duration of the last backup run.", host+" "+strconv.FormatFloat(r.End.Sub(r.Start).Seconds(), 'f', 3, 64))
	gauge("last_run_success", "1 if the last run stored a complete set (also when the prune after it then failed), else 0.", host+" "+strconv.Itoa(ok))
	gauge("last_run_exit_code", "Exit code of the last run (0 ok, 1 failure, 2 usage/config, 3 partial).", host+" "+strconv.Itoa(r.ExitCode))
	var statusLines []string
	for _, s := range []string{"complete", "partial", "failed"} {
		v := 0
		if r.Status == s {
			v = 1
		}
		statusLines = append(statusLines, labels("host", r.Host, "status", s)+" "+strconv.Itoa(v))
	}
	gauge("last_run_status", "1 for the status of the last run.", statusLines...)
	gauge("last_run_read_bytes", "Plaintext bytes read by the last run.", host+" "+num(float64(plain)))
	gauge("last_run_stored_bytes", "Bytes stored (compressed, encrypted) by the last run.", host+" "+num(float64(stored)))
	gauge("last_run_files", "Files archived by the last run.", host+" "+num(float64(files)))
	gauge("last_run_items", "Items stored by the last run.", host+" "+strconv.Itoa(len(r.Items)))
	fails := append([]Failure(nil), r.Failures...)
	for _, f := range r.Failed {
		fails = append(fails, Failure{Name: f})
	}
	sort.Slice(fails, func(i, j int) bool { return fails[i].Name < fails[j].Name })
	gauge("last_run_failed_items", "Exporters or items that failed in the last run.", host+" "+strconv.Itoa(len(fails)))
	if p := r.Prune; p != nil {
		pok := 0
		if p.OK {
			pok = 1
		}
		gauge("last_prune_success", "1 if the prune after the last run did all it decided, 0 if it failed (the backup's set is stored all the same: exit code 3).", host+" "+strconv.Itoa(pok))
		gauge("last_prune_kept_sets", "Sets the prune after the last run kept.", host+" "+strconv.Itoa(p.Kept))
		gauge("last_prune_deleted_sets", "Sets the prune after the last run deleted.", host+" "+strconv.Itoa(p.Deleted))
		gauge("last_prune_delete_failed_sets", "Sets the prune after the last run was to delete whose delete failed (left whole or in part).", host+" "+strconv.Itoa(p.DeleteFailed))
		gauge("last_prune_freed_bytes", "Bytes the prune after the last run deleted.", host+" "+num(float64(p.FreedBytes)))
		gauge("last_prune_errors", "Actions of the prune after the last run that failed.", host+" "+strconv.Itoa(p.Errors))
	}
	if len(r.Sets) > 0 {
		hosts := make([]string, 0, len(r.Sets))
		for h := range r.Sets {
			hosts = append(hosts, h)
		}
		sort.Strings(hosts)
		var lines []string
		for _, h := range hosts {
			lines = append(lines, labels("host", h)+" "+strconv.Itoa(r.Sets[h]))
		}
		gauge("complete_sets", "Complete backup sets in the destination, per host, after the last run.", lines...)
	}

	items := append([]Item(nil), r.Items...)
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	var st, rb, sb, wl []string
	for _, it := range items {
		l := labels("host", r.Host, "item", it.Name, "kind", it.Kind)
		st = append(st, l+" 1")
		rb = append(rb, l+" "+num(float64(it.PlainBytes)))
		sb = append(sb, l+" "+num(float64(it.StoredBytes)))
		wl = append(wl, l+" "+strconv.Itoa(it.Warnings))
	}
	for _, f := range fails {
		st = append(st, labels("host", r.Host, "item", f.Name, "kind", f.Kind)+" 0")
	}
	if len(st) > 0 {
		gauge("item_success", "1 if the item was stored by the last run, 0 if it failed.", st...)
	}
	if len(items) > 0 {
		gauge("item_read_bytes", "Plaintext bytes of the item in the last run.", rb...)
		gauge("item_stored_bytes", "Stored bytes of the item in the last run.", sb...)
		gauge("item_warnings", "Warnings (skipped or changed files) of the item in the last run.", wl...)
	}
	return b.Bytes()
}

func labels(kv ...string) string {
	var b strings.Builder
	b.WriteByte('{')
	for i := 0; i+1 < len(kv); i += 2 {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(kv[i])
		b.WriteString(`="`)
		b.WriteString(escape(kv[i+1]))
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String()
}

// escape applies the text format's label value escaping.
func escape(s string) string {
	return strings.NewReplacer(`\`, `\\`, "\n", `\n`, `"`, `\"`).Replace(s)
}

var successLine = regexp.MustCompile(`^` + prefix + `last_success_timestamp_seconds\{[^}]*\}\s+([0-9.eE+-]+)`)

// previousSuccess reads last_success_timestamp_seconds from an existing file.
func previousSuccess(path string) time.Time {
	data, err := os.ReadFile(path)
	if err != nil {
		return time.Time{}
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		if m := successLine.FindStringSubmatch(sc.Text()); m != nil {
			f, err := strconv.ParseFloat(m[1], 64)
			if err != nil || f <= 0 {
				return time.Time{}
			}
			return time.UnixMilli(int64(f * 1000))
		}
	}
	return time.Time{}
}

// Verify is a successful verify.
type Verify struct {
	Host    string
	Mode    string    // stored or full
	SetTime time.Time // when the verified set was taken
	End     time.Time
}

// VerifyText renders the last successful verify.
func VerifyText(v Verify) []byte {
	l := labels("host", v.Host, "mode", v.Mode)
	return []byte(fmt.Sprintf("# HELP %[1]slast_verify_success_timestamp_seconds Unix time the last successful verify ended.\n"+
		"# TYPE %[1]slast_verify_success_timestamp_seconds gauge\n%[1]slast_verify_success_timestamp_seconds%[2]s %.3[3]f\n"+
		"# HELP %[1]slast_verify_set_timestamp_seconds Unix time the set checked by the last successful verify was taken.\n"+
		"# TYPE %[1]slast_verify_set_timestamp_seconds gauge\n%[1]slast_verify_set_timestamp_seconds%[2]s %.3[4]f\n",
		prefix, l, float64(v.End.UnixMilli())/1000, float64(v.SetTime.UnixMilli())/1000))
}

// VerifyPath is the textfile of verify beside the backup's textfile
// (lyncbackup.prom → lyncbackup_verify.prom): its own file, so a backup
// rewriting its own does not erase when the last verify was.
func VerifyPath(textfile string) string {
	return strings.TrimSuffix(textfile, ".prom") + "_verify.prom"
}

// WriteVerify writes the verify textfile beside textfile (see VerifyPath).
func WriteVerify(textfile string, v Verify) error {
	return writeAtomic(VerifyPath(textfile), VerifyText(v))
}

// Write replaces the textfile at path with the metrics of r: written to a
// temporary file in the same folder (whose name the collectors ignore: it
// does not end in .prom), synced, then renamed over path.
func Write(path string, r Run) error {
	return writeAtomic(path, Text(r, previousSuccess(path)))
}

func writeAtomic(path string, text []byte) error {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".*.tmp")
	if err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(text); err != nil {
		f.Close()
		return fmt.Errorf("metrics textfile: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("metrics textfile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	// Collectors run as another user: the file must be readable.
	os.Chmod(tmp, 0o644)
	if err := renameRetrying(tmp, path, 10, 100*time.Millisecond); err != nil {
		return fmt.Errorf("metrics textfile: %w", err)
	}
	return nil
}

// renameRetrying is os.Rename, tried up to tries times pause apart. On
// Windows a rename over a file that another process has open without
// delete sharing (windows_exporter's textfile collector while it reads
// the file, Go's os.Open included) fails with access denied for those
// milliseconds; one failure would leave last night's metrics in place.
func renameRetrying(from, to string, tries int, pause time.Duration) error {
	var err error
	for i := range tries {
		if err = os.Rename(from, to); err == nil {
			return nil
		}
		if i < tries-1 {
			time.Sleep(pause)
		}
	}
	return err
}
