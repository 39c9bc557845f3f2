package logfile

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// Below the size the file is appended to; at it, the files shift by one
// and the oldest beyond Keep goes.
func TestOpenRotates(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "lyncbackup.log")
	f, note, err := Open(log, 10)
	if err != nil || note != "" {
		t.Fatalf("new file: %v, note %q", err, note)
	}
	f.WriteString("night 1\n") // 8 bytes: below 10
	f.Close()
	f, note, err = Open(log, 10)
	if err != nil || note != "" {
		t.Fatalf("below the size: %v, note %q", err, note)
	}
	f.WriteString("night 2\n")
	f.Close()
	if got := read(log); got != "night 1\nnight 2\n" {
		t.Fatalf("appended: %q", got)
	}
	for i := 3; i <= 6; i++ {
		f, note, err = Open(log, 10)
		if err != nil || !strings.Contains(note, "rotated") || !strings.Contains(note, log+".1") {
			t.Fatalf("night %d: %v, note %q", i, err, note)
		}
		fmt.Fprintf(f, "night %d, a long line\n", i)
		f.Close()
	}
	want := map[string]string{
		log:        "night 6, a long line\n",
		log + ".1": "night 5, a long line\n",
		log + ".2": "night 4, a long line\n",
		log + ".3": "night 3, a long line\n",
	}
	for p, w := range want {
		if got := read(p); got != w {
			t.Errorf("%s: %q, want %q", filepath.Base(p), got, w)
		}
	}
	if _, err := os.Stat(log + ".4"); err == nil {
		t.Error("more than Keep rotated files")
	}
	// The oldest lines (nights 1 and 2) went with the fourth rotation.
}

// A rotation that cannot happen leaves the file, says why, and the run
// still logs.
func TestOpenRotationFails(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "lyncbackup.log")
	write(t, log, "0123456789 old lines\n")
	// A folder where the oldest rotated file goes, with something in it.
	os.MkdirAll(filepath.Join(log+".3", "x"), 0o755)
	f, note, err := Open(log, 10)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new\n")
	f.Close()
	if !strings.Contains(note, "not rotated") {
		t.Errorf("note %q, want the reason it was not rotated", note)
	}
	if got := read(log); got != "0123456789 old lines\nnew\n" {
		t.Errorf("log %q, want the old lines and the new one", got)
	}
}

// TestOpenSizeLimit: a file of exactly maxSize bytes is rotated, one byte
// less is not; maxSize 0 means DefaultMaxSize, not "rotate every run".
func TestOpenSizeLimit(t *testing.T) {
	dir := t.TempDir()
	log := filepath.Join(dir, "lyncbackup.log")
	write(t, log, "01234567\n")
	f, note, err := Open(log, 10)
	if err != nil || note != "" {
		t.Fatalf("9 bytes of 10: %v, note %q", err, note)
	}
	f.WriteString("9")
	f.Close()
	f, note, err = Open(log, 10)
	if err != nil || !strings.Contains(note, "rotated at 10 bytes") {
		t.Fatalf("10 bytes of 10: %v, note %q", err, note)
	}
	f.Close()
	if got := read(log + ".1"); got != "01234567\n9" {
		t.Errorf("rotated file %q", got)
	}
	write(t, log, "a small log\n")
	f, note, err = Open(log, 0)
	if err != nil || note != "" {
		t.Fatalf("maxSize 0 (the default, %d bytes): %v, note %q", DefaultMaxSize, err, note)
	}
	f.Close()
}

// failAfter takes n writes, then fails every one with err.
type failAfter struct {
	n   int
	got []string
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	f.n--
	f.got = append(f.got, string(p))
	return len(p), nil
}

// TestFallback: once a write to the log file fails, notice is called once
// with its error, and that record and every later one go to alt, whole.
func TestFallback(t *testing.T) {
	file := &failAfter{n: 2, err: fmt.Errorf("write x: no space left on device")}
	var alt strings.Builder
	var notices []error
	w := NewFallback(file, &alt, func(err error) { notices = append(notices, err) })
	for i := range 5 {
		if n, err := fmt.Fprintf(w, "record %d\n", i); err != nil || n != len("record 0\n") {
			t.Fatalf("record %d: %d, %v", i, n, err)
		}
		if w.Failed() != (i >= 2) {
			t.Errorf("after record %d: Failed() = %v", i, w.Failed())
		}
	}
	if strings.Join(file.got, "") != "record 0\nrecord 1\n" {
		t.Errorf("file got %q", file.got)
	}
	if alt.String() != "record 2\nrecord 3\nrecord 4\n" {
		t.Errorf("alt got %q", alt.String())
	}
	if len(notices) != 1 || notices[0] != file.err {
		t.Errorf("notices: %v", notices)
	}
	var none *Fallback
	if none.Failed() {
		t.Error("a nil Fallback has failed")
	}
}

// TestOpenAfterCutOffRecord: a file whose last record was cut off (a write
// that failed partway on a full disk) gets a line end before this run's
// first record, and note says so; the next run's first record was appended
// to the cut one, one line that was neither record.
func TestOpenAfterCutOffRecord(t *testing.T) {
	log := filepath.Join(t.TempDir(), "lyncbackup.log")
	write(t, log, `{"msg":"whole"}`+"\n"+`{"time":"x","level":"`)
	f, note, err := Open(log, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(`{"msg":"run started"}` + "\n")
	f.Close()
	if got, want := read(log), `{"msg":"whole"}`+"\n"+`{"time":"x","level":"`+"\n"+`{"msg":"run started"}`+"\n"; got != want {
		t.Errorf("log after a cut-off record:\n%q\nwant\n%q", got, want)
	}
	if !strings.Contains(note, "last line was cut off") {
		t.Errorf("note %q", note)
	}
	// A file that ends a line is appended to as it is.
	f, note, err = Open(log, 0)
	if err != nil || note != "" {
		t.Fatalf("%v, note %q", err, note)
	}
	f.Close()
	if got := read(log); !strings.HasSuffix(got, "}\n") || strings.HasSuffix(got, "\n\n") {
		t.Errorf("a whole file changed: %q", got)
	}
}
