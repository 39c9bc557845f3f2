package e2e

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCoreChunkKeyUnreadable: a chunk key that is there but cannot be read
// (no read access; on Windows another process holding it open, as an
// antivirus scan may) fails check and the backup (exit 1) with one line
// naming the cause and the fix, never the advice to delete it: deleting
// it would cost the deduplication against every chunk stored. No key is
// made over or beside it, and once it can be read again the next backup
// reuses the stored chunks. The backup failed with the system's read
// error, and check told to delete the file. As root on Linux it runs as
// nobody, whom mode 000 stops.
func TestCoreChunkKeyUnreadable(t *testing.T) {
	if asNobody(t) {
		return
	}
	e := newCoreEnv(t)
	e.oneFileSource(strings.Repeat("meeting ", 200000), "")
	e.mustRun("backup")
	keyFile := filepath.Join(e.dir, "staging", "fe01.contoso.com.chunkkey")
	before, err := os.ReadFile(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	cause, fix, release := unreadableKey(t, keyFile)

	r := e.run("check")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[FAIL] chunk key: chunk key "+keyFile+" cannot be read: "+cause+"\n       fix: "+fix+"\n") ||
		strings.Contains(r.Stdout, "delete "+keyFile) || strings.Contains(r.Stdout, "delete it") {
		t.Errorf("check with an unreadable chunk key: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = e.run("backup")
	failsWith(t, r, 1, "chunk key "+keyFile+" cannot be read: "+cause+" (")
	if strings.Contains(r.Stderr, "delete") {
		t.Errorf("the backup says to delete the key:\n%s", r.Stderr)
	}

	release()
	if after, err := os.ReadFile(keyFile); err != nil || !bytes.Equal(before, after) {
		t.Errorf("the key file changed: %v", err)
	}
	if keys, _ := filepath.Glob(filepath.Join(e.dir, "staging", "*chunkkey*")); len(keys) != 1 {
		t.Errorf("key files in staging: %v", keys)
	}
	if r := e.mustRun("backup"); strings.Contains(r.Stderr, "chunk key") {
		t.Errorf("the backup once the key is readable again:\n%s", r.Stderr)
	}
}
