package e2e

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// TestCoreCheckStagingFull: check fails (exit 1) on a staging folder whose
// disk is full, naming the cause and the fix, as the backup then fails on
// its first write. It said "[ OK ] staging folder: … writable" and exited
// 0: creating the empty file it probed with succeeds on a full disk. A
// disk with little room left is a warning saying how much.
func TestCoreCheckStagingFull(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource("content", "")
	staging := filepath.Join(e.dir, "staging")
	os.MkdirAll(staging, 0o700)
	testenv.TmpfsAt(t, staging, "256k")
	testenv.FillDisk(t, filepath.Join(staging, "fill"))
	r := e.run("check")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[FAIL] staging folder: "+staging+": no space left on device\n       fix: free space on that disk") {
		t.Errorf("check with a full staging disk: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := e.run("backup"); r.Code != 1 || !strings.Contains(r.Stderr, "no space left on device") {
		t.Errorf("backup with a full staging disk: exit %d\n%s", r.Code, r.Stderr)
	}
	// With room, but less than a backup may stage: a warning, exit 0.
	os.Remove(filepath.Join(staging, "fill"))
	r = e.run("check")
	if r.Code != 0 || !strings.Contains(r.Stdout, "[WARN] staging folder: "+staging+" writable, 256.0 KiB free: less than 1.0 GiB;") {
		t.Errorf("check with 256 KiB free on the staging disk: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestCoreLogFileFull: a log file that stops taking writes (/dev/full; a
// full disk) does not lose the run's log: one line says so on stderr and
// every record goes there instead (metrics written, run finished); the
// exit code stays the run's own. slog dropped the write errors, so the
// run ended 0 with its log nowhere. check fails on a log folder whose disk
// is full (creating an empty file there succeeded).
func TestCoreLogFileFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full:", err)
	}
	e := newCoreEnv(t)
	prom := filepath.Join(e.dir, "lyncbackup.prom")
	e.oneFileSource("content", "log: {file: /dev/full}\nmetrics: {textfile: "+coreQuote(prom)+"}\n")
	r := e.run("backup", "--quiet")
	notice := "lyncbackup: warning: log file /dev/full: write: no space left on device; the rest of this run's log goes to stderr\n"
	if r.Code != 0 || strings.Count(r.Stderr, "log file /dev/full") != 1 || !strings.HasPrefix(r.Stderr, notice) {
		t.Fatalf("backup with its log on /dev/full: exit %d\n%s", r.Code, r.Stderr)
	}
	for _, want := range []string{`msg="run started" command=backup`, `msg="set committed"`, `msg="metrics written"`, `msg="run finished" command=backup exit_code=0`} {
		if !strings.Contains(r.Stderr, want) {
			t.Errorf("stderr lacks the record %s:\n%s", want, r.Stderr)
		}
	}

	// The same on a full disk, and check says so first.
	logs := testenv.Tmpfs(t, "256k")
	testenv.FillDisk(t, filepath.Join(logs, "fill"))
	logFile := filepath.Join(logs, "lyncbackup.log")
	e.oneFileSource("content", "log: {file: "+coreQuote(logFile)+"}\n")
	r = e.run("check")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[FAIL] log file: cannot write in "+logs+": no space left on device\n       fix: free space on that disk") {
		t.Errorf("check with the log folder's disk full: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = e.run("backup")
	if r.Code != 0 || strings.Count(r.Stderr, "log file "+logFile+": write: no space left on device; the rest of this run's log goes to stderr") != 1 || !strings.Contains(r.Stderr, `msg="run finished"`) {
		t.Errorf("backup with its log on a full disk: exit %d\n%s", r.Code, r.Stderr)
	}
}

// TestCoreLogFileCutOff: a record the full disk cut off partway stays on
// its own line: the next run's first record was appended to it, one line
// that was neither record nor JSON. A failed run whose log went to stderr
// prints its error there once (it came twice: the "run failed" record and
// the "lyncbackup: …" line).
func TestCoreLogFileCutOff(t *testing.T) {
	e := newCoreEnv(t)
	logs := testenv.Tmpfs(t, "256k")
	logFile := filepath.Join(logs, "lyncbackup.log")
	// One 4000-byte record: the file's page has 96 bytes left, so the next
	// record is written partway once the rest of the disk is full.
	pad := `{"msg":"earlier","pad":"` + strings.Repeat("x", 4000-len(`{"msg":"earlier","pad":""}`)-1) + `"}` + "\n"
	if err := os.WriteFile(logFile, []byte(pad), 0o640); err != nil {
		t.Fatal(err)
	}
	testenv.FillDisk(t, filepath.Join(logs, "fill"))
	src := e.oneFileSource("content", "log: {file: "+coreQuote(logFile)+", format: json}\n")
	os.RemoveAll(src) // the backup fails
	r := e.run("backup")
	if r.Code != 1 || !strings.Contains(r.Stderr, "log file "+logFile+": write: no space left on device") {
		t.Fatalf("failed backup with its log on a full disk: exit %d\n%s", r.Code, r.Stderr)
	}
	if n := strings.Count(r.Stderr, "nothing was backed up"); n != 1 {
		t.Errorf("the run's error is on stderr %d times, want once:\n%s", n, r.Stderr)
	}
	if b, _ := os.ReadFile(logFile); len(b) <= len(pad) || b[len(b)-1] == '\n' {
		t.Fatalf("no record was cut off (the test's premise): %d bytes, %q", len(b), b[len(pad):])
	}

	os.Remove(filepath.Join(logs, "fill"))
	e.oneFileSource("content", "log: {file: "+coreQuote(logFile)+", format: json}\n")
	if r := e.run("backup"); r.Code != 0 {
		t.Fatalf("backup with room: exit %d\n%s", r.Code, r.Stderr)
	}
	b, _ := os.ReadFile(logFile)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	var started, cut int
	for _, l := range lines[1:] {
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			cut++
			continue
		}
		if rec["msg"] == "run started" {
			started++
		}
	}
	if started != 1 || cut != 1 {
		t.Errorf("log after the cut-off record: %d whole \"run started\" records (want 1), %d lines not JSON (want 1, the cut one):\n%s", started, cut, b[len(pad):])
	}
}

// TestCoreCheckStagingNamedFull: a staging folder that cannot be written
// for another reason is not called full because its path says "disk is
// full": check said "[FAIL] … read-only file system / fix: free space on
// that disk", matching the error's text, path included.
func TestCoreCheckStagingNamedFull(t *testing.T) {
	e := newCoreEnv(t)
	staging := filepath.Join(e.dir, "disk is full", "staging")
	os.MkdirAll(staging, 0o700)
	testenv.TmpfsAt(t, staging, "256k")
	if err := syscall.Mount("", staging, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount the tmpfs read-only: %v", err)
	}
	e.oneFileSource("content", "")
	cfg := filepath.Join(e.dir, "lyncbackup.yaml")
	b, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(cfg, []byte(strings.Replace(string(b), coreQuote(filepath.Join(e.dir, "staging")), coreQuote(staging), 1)), 0o600)
	r := e.run("check")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[FAIL] staging folder: "+staging+": read-only file system\n       fix: give this account write access or choose another staging folder") {
		t.Errorf("check with a read-only staging folder under \"disk is full\": exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestCoreChunkKeyEmptyUnwritable: an empty chunk key that cannot be
// opened for writing, its file system mounted read-only, fails check with
// the backup's own error and the fix once: make the file system writable,
// not delete the file (which fails there too; it said so before session
// 23); check warned that the next backup would fill it and the backup
// failed with "…; writing a new key into it failed: …".
func TestCoreChunkKeyEmptyUnwritable(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource("content", "")
	staging := filepath.Join(e.dir, "staging")
	os.MkdirAll(staging, 0o700)
	testenv.TmpfsAt(t, staging, "1m")
	keyFile := filepath.Join(staging, "fe01.contoso.com.chunkkey")
	os.WriteFile(keyFile, nil, 0o600)
	old := time.Now().Add(-time.Hour)
	os.Chtimes(keyFile, old, old)
	if err := syscall.Mount("", staging, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount the tmpfs read-only: %v", err)
	}
	// The fix once, on the fix line.
	want := "chunk key " + keyFile + " is empty (a run was stopped while making it) and a new key cannot be written into it: open " + keyFile + ": read-only file system\n       fix: the staging folder's file system takes no writes: make it writable"
	r := e.run("check")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[FAIL] chunk key: "+want) || strings.Count(r.Stdout, "the next backup writes a new key into the file") != 1 || strings.Contains(r.Stdout, "delete "+keyFile) {
		t.Errorf("check with an empty chunk key that cannot be written: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestCoreCheckDestinationNamedMissing: a destination folder that takes
// no file is judged by the system's code, not by the words of its path:
// a read-only folder under "no such file" was told to be created ("fix:
// create it"), as the error's text, path included, held those words. (On
// a German or French Windows Server the system's own words matched
// nothing: destination unit test TestOpenFindingByCodeNotText.)
func TestCoreCheckDestinationNamedMissing(t *testing.T) {
	e := newCoreEnv(t)
	e.dest = filepath.Join(e.dir, "no such file (403)", "dest")
	os.MkdirAll(e.dest, 0o755)
	testenv.TmpfsAt(t, e.dest, "256k")
	if err := syscall.Mount("", e.dest, "", syscall.MS_REMOUNT|syscall.MS_RDONLY, ""); err != nil {
		t.Skipf("cannot remount the tmpfs read-only: %v", err)
	}
	e.oneFileSource("content", "")
	r := e.run("check")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[FAIL] destination file://"+e.dest+": folder "+e.dest+" is not writable: put .lyncbackup-probe-") ||
		!strings.Contains(r.Stdout, ": read-only file system\n       fix: grant this account write, read and delete on it\n") {
		t.Errorf("check of a read-only destination under \"no such file (403)\": exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}
