package diskfree

import (
	"fmt"
	"io/fs"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// TestAvailBytesFragments: statfs counts blocks in the fragment size
// (f_frsize), which may differ from f_bsize, the preferred I/O size (an NFS
// mount reports its transfer size there): the free bytes were the free
// blocks times f_bsize. A kernel that leaves f_frsize 0 means f_bsize.
func TestAvailBytesFragments(t *testing.T) {
	for _, c := range []struct {
		st   unix.Statfs_t
		want uint64
	}{
		{unix.Statfs_t{Bavail: 10, Bsize: 1 << 20, Frsize: 4096}, 10 * 4096},
		{unix.Statfs_t{Bavail: 10, Bsize: 4096, Frsize: 4096}, 10 * 4096},
		{unix.Statfs_t{Bavail: 10, Bsize: 4096}, 10 * 4096},
	} {
		if got := availBytes(&c.st); got != c.want {
			t.Errorf("Bavail %d, Bsize %d, Frsize %d: %d bytes, want %d", c.st.Bavail, c.st.Bsize, c.st.Frsize, got, c.want)
		}
	}
}

// TestIsFullQuota: a spent quota (EDQUOT) is a full disk too.
func TestIsFullQuota(t *testing.T) {
	if err := fmt.Errorf("stage: %w", &fs.PathError{Op: "write", Path: "x", Err: syscall.EDQUOT}); !IsFull(err) {
		t.Errorf("IsFull(%v) = false", err)
	}
}
