package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

// runTo runs the binary with stdout going to out.
func (e *coreEnv) runTo(out *os.File, args ...string) testbin.Result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var se bytes.Buffer
	cmd, err := testbin.Start(e.t, func() *exec.Cmd {
		cmd := exec.CommandContext(ctx, testbin.Path(e.t), args...)
		cmd.Dir = e.dir
		cmd.Env = append(os.Environ(), e.env...)
		cmd.Stdout, cmd.Stderr = out, &se
		return cmd
	})
	if err == nil {
		err = cmd.Wait()
	}
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		e.t.Fatalf("run %v: %v", args, err)
	}
	return testbin.Result{Stderr: se.String(), Code: code}
}

// TestCoreStdoutReaderGone: `lyncbackup backup | head -1` — the reader of
// stdout leaves before the backup ends. The run goes on to its end
// (retention, metrics, the log's last line) and exits 0: it was killed by
// SIGPIPE right after its commit before.
func TestCoreStdoutReaderGone(t *testing.T) {
	e := newCoreEnv(t)
	prom := filepath.Join(e.dir, "m.prom")
	logf := filepath.Join(e.dir, "run.log")
	e.oneFileSource(strings.Repeat("lync ", 1000), "metrics: {textfile: "+coreQuote(prom)+"}\nlog: {file: "+coreQuote(logf)+"}\nretention: {keep_last: 5, after_backup: true}\n")
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	res := e.runTo(w, "backup", "--progress=never")
	w.Close()
	if res.Code != 0 {
		t.Fatalf("backup with nobody reading stdout: exit %d\n%s", res.Code, res.Stderr)
	}
	if _, err := os.Stat(prom); err != nil {
		t.Errorf("no metrics written: %v", err)
	}
	if b, _ := os.ReadFile(logf); !strings.Contains(string(b), "run finished") {
		t.Errorf("the log does not end the run:\n%s", b)
	}
	if sets := e.list(); len(sets) != 1 {
		t.Errorf("%d sets, want 1", len(sets))
	}
}

// TestCoreRestoreIncludeNoMatchJSON: a restore whose --include matches no
// file exits 1, and its JSON document says so (it said ok, exit 0).
func TestCoreRestoreIncludeNoMatchJSON(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSet("content")
	r := e.run("restore", "latest", "--to", filepath.Join(e.dir, "out"), "--identity", e.key, "--include", "zzz", "--json")
	var doc struct {
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("not one JSON document: %v\n%s", err, r.Stdout)
	}
	if r.Code != 1 || doc.OK || doc.ExitCode != 1 || !strings.Contains(doc.Error, "no file matches --include zzz") {
		t.Fatalf("exit %d, document %+v\n%s", r.Code, doc, r.Stderr)
	}
}
