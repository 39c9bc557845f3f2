//go:build !windows

package exporters

import (
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// A FIFO named as a path must be refused at once, not block the backup.
func TestCheckReadableRefusesFIFO(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Skipf("mkfifo: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- checkReadable(p) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "not a regular file or folder") {
			t.Fatalf("checkReadable(fifo) = %v, want a 'not a regular file or folder' error", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("checkReadable blocked on a FIFO")
	}
}
