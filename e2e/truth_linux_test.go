package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// TestTruthDiskFull: a restore onto a full disk (a 1 MiB tmpfs) says the
// disk is full and never blames the object, every time.
func TestTruthDiskFull(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	junk := make([]byte, 4<<20)
	rand.Read(junk)
	os.WriteFile(filepath.Join(src, "big.bin"), junk, 0o644)
	e.writeConfig(map[string][]string{"files": {src}}, "")
	set := e.backup()
	tiny := testenv.Tmpfs(t, "1m")
	for i := range 3 {
		to := filepath.Join(tiny, "r", string(rune('a'+i)))
		r := e.run("restore", set, "--to", to, "--identity", e.key)
		failsWith(t, r, 1, "no space left on device", "restore folder")
		for _, lie := range []string{"damaged", "truncated", "swapped", "manifest", "corrupt"} {
			if strings.Contains(r.Stderr, lie) {
				t.Errorf("run %d blames the object (%s): %s", i, lie, r.Stderr)
			}
		}
		os.RemoveAll(to)
	}
}

// TestTruthBackupDiskFull: a backup onto a full destination fails with
// exit 1 saying "no space left on device", in both formats, never that it
// was interrupted or "context canceled" (a chunked backup reported the
// cancellation of an upload that the full disk had stopped).
func TestTruthBackupDiskFull(t *testing.T) {
	for _, format := range []string{"chunked", "archive"} {
		t.Run(format, func(t *testing.T) {
			e := newCoreEnv(t)
			src := filepath.Join(e.dir, "src")
			os.MkdirAll(src, 0o755)
			junk := make([]byte, 12<<20) // ~9 chunks in flight against a 2 MiB disk
			rand.Read(junk)
			os.WriteFile(filepath.Join(src, "big.bin"), junk, 0o644)
			e.dest = testenv.Tmpfs(t, "2m")
			e.writeConfig(map[string][]string{"files": {src}}, "format: "+format+"\n")
			for i := range 3 {
				r := e.run("backup")
				failsWith(t, r, 1, "no space left on device")
				for _, lie := range []string{"context canceled", "interrupted"} {
					if strings.Contains(r.Stderr, lie) {
						t.Errorf("run %d says %q: %s", i, lie, r.Stderr)
					}
				}
			}
		})
	}
}

// TestTruthCtrlC: SIGINT while a restore waits for the rest of an object
// stops it at once and says "interrupted", never "damaged" or "truncated",
// and leaves nothing in the restore folder. The object is served through a
// FIFO: the test knows the restore has read half of it, and the rest never
// comes until the restore has gone.
func TestTruthCtrlC(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	junk := make([]byte, 2<<20)
	rand.Read(junk)
	os.WriteFile(filepath.Join(src, "big.bin"), junk, 0o644)
	e.writeConfig(map[string][]string{"files": {src}}, "format: archive\n") // stalls the one object
	set := e.backup()
	obj := e.object(set, "files")
	data, err := os.ReadFile(obj)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(obj)
	if err := syscall.Mkfifo(obj, 0o644); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	for _, verify := range []bool{false, true} {
		to := filepath.Join(e.dir, "out")
		args := []string{"restore", set, "--to", to, "--identity", e.key}
		if verify {
			args = []string{"verify", set, "--identity", e.key}
		}
		cmd := exec.Command(testbin.Path(t), args...)
		cmd.Dir, cmd.Env = e.dir, append(os.Environ(), e.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		// Opening the FIFO waits for the restore to open it; the write
		// returns once all but a pipe buffer of it has been read.
		w, err := os.OpenFile(obj, os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(data[:len(data)/2]); err != nil {
			t.Fatal(err)
		}
		cmd.Process.Signal(os.Interrupt)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-time.After(2 * time.Minute):
			cmd.Process.Kill()
			<-done
			w.Close()
			t.Fatalf("%v did not stop on SIGINT while its download waited", args[0])
		}
		w.Close()
		ee, _ := err.(*exec.ExitError)
		// An interrupted run exits 130 on every command (README: exit codes).
		if ee == nil || ee.ExitCode() != 130 {
			t.Errorf("%s after SIGINT: %v, want exit 130\n%s", args[0], err, stderr.String())
		}
		msg := stderr.String()
		if !strings.Contains(msg, "interrupted") {
			t.Errorf("%s after SIGINT does not say interrupted: %s", args[0], msg)
		}
		for _, lie := range []string{"damaged", "truncated", "swapped", "manifest", "corrupt"} {
			if strings.Contains(msg, lie) {
				t.Errorf("%s after SIGINT blames the object (%s): %s", args[0], lie, msg)
			}
		}
		if ents, _ := os.ReadDir(to); len(ents) != 0 {
			t.Errorf("an interrupted restore left %d entries in %s", len(ents), to)
		}
	}
}

// TestTruthUnreadableFile: a file the backup cannot read is skipped with a
// warning naming it (log, manifest, --json); the set is complete, exit 0,
// and retention runs after it. on_unreadable: fail keeps the strict mode.
// As root the backup runs as nobody, for whom mode 000 means unreadable.
func TestTruthUnreadableFile(t *testing.T) {
	base, err := os.MkdirTemp("", "lyncbackup-unreadable-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o777)
	e := newCoreEnv(t)
	// Everything the backup touches lives under base, open to nobody.
	e.dir = base
	e.dest = filepath.Join(base, "dest")
	e.config = filepath.Join(base, "lyncbackup.yaml")
	e.env = []string{"LYNCBACKUP_CONFIG=" + e.config}
	src := filepath.Join(base, "src")
	for _, d := range []string{e.dest, filepath.Join(src, "sub"), filepath.Join(base, "staging")} {
		os.MkdirAll(d, 0o777)
		os.Chmod(d, 0o777)
	}
	os.Chmod(src, 0o755)
	os.WriteFile(filepath.Join(src, "a.txt"), []byte("kept"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "b.txt"), []byte("kept too"), 0o644)
	locked := filepath.Join(src, "sub", "locked.db")
	os.WriteFile(locked, []byte("cannot read me"), 0o000)
	os.Chmod(locked, 0o000)

	bin := testbin.Path(t)
	if os.Geteuid() == 0 {
		// The built binary's folder is private: nobody needs a copy.
		data, _ := os.ReadFile(bin)
		bin = filepath.Join(base, "lyncbackup")
		os.WriteFile(bin, data, 0o755)
	}
	run := func(args ...string) testbin.Result {
		cmd := exec.Command(bin, args...)
		cmd.Dir, cmd.Env = base, append(os.Environ(), e.env...)
		if os.Geteuid() == 0 {
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		}
		var so, se bytes.Buffer
		cmd.Stdout, cmd.Stderr = &so, &se
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return testbin.Result{Stdout: so.String(), Stderr: se.String(), Code: code}
	}
	if f, err := os.Open(locked); err == nil && os.Geteuid() != 0 {
		f.Close()
		t.Skip("mode 000 does not stop this user from reading")
	}
	e.writeConfig(map[string][]string{"files": {src}}, "retention: {keep_last: 1, after_backup: true}\n")
	first := run("backup", "--json")
	if first.Code != 0 {
		t.Fatalf("first backup: exit %d\n%s\n%s", first.Code, first.Stdout, first.Stderr)
	}
	r := run("backup", "--json")
	if r.Code != 0 {
		t.Fatalf("backup with an unreadable file: exit %d, want 0\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var sum struct {
		OK     bool   `json:"ok"`
		Status string `json:"status"`
		SetID  string `json:"set_id"`
		Items  []struct {
			Files    int      `json:"files"`
			Warnings []string `json:"warnings"`
		} `json:"items"`
		Prune *struct {
			Deleted []string `json:"deleted"`
		} `json:"prune"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil {
		t.Fatal(err)
	}
	if !sum.OK || sum.Status != "complete" || len(sum.Items) != 1 || sum.Items[0].Files != 2 ||
		len(sum.Items[0].Warnings) != 1 || !strings.Contains(sum.Items[0].Warnings[0], locked) {
		t.Errorf("--json of a backup with an unreadable file: %s", r.Stdout)
	}
	if !strings.Contains(r.Stderr, "locked.db") || !strings.Contains(r.Stderr, "level=WARN") {
		t.Errorf("the log does not name the unreadable file:\n%s", r.Stderr)
	}
	mf, _ := os.ReadFile(filepath.Join(e.dest, "fe01.contoso.com", sum.SetID, "manifest.json"))
	if !bytes.Contains(mf, []byte("locked.db")) {
		t.Errorf("the manifest does not name the unreadable file:\n%s", mf)
	}
	// Retention ran after it, as after any complete set.
	if sum.Prune == nil || len(sum.Prune.Deleted) != 1 {
		t.Errorf("retention did not run after a set with warnings: %s", r.Stdout)
	}
	out := filepath.Join(base, "out")
	testbin.MustRun(t, base, e.env, "restore", "latest", "--to", out, "--identity", e.key)
	for name, want := range map[string]string{"a.txt": "kept", "sub/b.txt": "kept too"} {
		if b, err := os.ReadFile(filepath.Join(out, "files", "src", name)); err != nil || string(b) != want {
			t.Errorf("restored %s = %q, %v", name, b, err)
		}
	}
	// on_unreadable: fail: the item fails and nothing is committed.
	cfg, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, bytes.Replace(cfg, []byte("{kind: path, name: files,"), []byte("{kind: path, on_unreadable: fail, name: files,"), 1), 0o644)
	r = run("backup")
	if r.Code != 1 || !strings.Contains(r.Stderr, "locked.db") || !strings.Contains(r.Stderr, "permission denied") {
		t.Errorf("on_unreadable: fail: exit %d\n%s", r.Code, r.Stderr)
	}
}
