package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// TestCoreLsSpoolFull: ls --json whose listing spool cannot be written
// (TMPDIR full) prints one valid document saying it failed. It printed
// "ok": true, "exit_code": 0, then a listing cut off mid-document.
func TestCoreLsSpoolFull(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	for i := range 3000 {
		os.WriteFile(filepath.Join(src, fmt.Sprintf("file-%04d.txt", i)), []byte("x"), 0o644)
	}
	e.writeConfig(map[string][]string{"files": {src}}, "")
	set := e.backup()
	tmp := filepath.Join(e.dir, "small")
	os.MkdirAll(tmp, 0o755)
	testenv.TmpfsAt(t, tmp, "64k")
	env := append(append([]string{}, e.env...), "TMPDIR="+tmp)
	r := testbin.Run(t, e.dir, env, "ls", set, "--identity", e.key, "--json")
	var doc struct {
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("not one JSON document (exit %d): %v\n%.300s", r.Code, err, r.Stdout)
	}
	if r.Code != 1 || doc.OK || doc.ExitCode != 1 || !strings.Contains(doc.Error, "no space left") {
		t.Errorf("exit %d, %+v", r.Code, doc)
	}
}
