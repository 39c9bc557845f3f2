package pipeline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/archive"
	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/upload"
)

// TestLocalCause: a failed read is named by where it happened, first match
// wins in this order: a cancelled context, a write into the restore folder,
// the download, an entry refused for safety or size; anything else is left
// to the caller (the stored bytes failed). Archive objects and chunked items
// both go through localCause.
func TestLocalCause(t *testing.T) {
	live := context.Background()
	done, cancel := context.WithCancel(context.Background())
	cancel()
	full := errors.New("disk full")
	write := fmt.Errorf("extract: %w", &archive.WriteError{Op: "write", Path: "/r/x", Err: full})
	unsafe := &archive.UnsafeError{Name: "../x", Why: "'..' in path"}
	limit := &archive.LimitError{Name: "big", Limit: 10}
	dl := errors.New("connection reset")
	interrupted := func() string { return ": 5 of 9 stored bytes read" }
	for _, c := range []struct {
		name     string
		ctx      context.Context
		err, dl  error
		want     string // "": no local cause
		wantIs   error
		wantSame bool // the error itself, unwrapped
	}{
		{"cancelled beats a write error", done, write, dl, "interrupted: 5 of 9 stored bytes read", ErrInterrupted, false},
		{"write error", live, write, nil, "restore folder: write /r/x: disk full", full, false},
		{"write error beats the download", live, write, dl, "restore folder: write /r/x: disk full", full, false},
		{"download", live, io.ErrUnexpectedEOF, dl, "download: connection reset", dl, false},
		{"download beats an unsafe entry", live, unsafe, dl, "download: connection reset", dl, false},
		{"unsafe entry", live, unsafe, nil, unsafe.Error(), nil, true},
		{"over the manifest's size", live, limit, nil, limit.Error(), nil, true},
		{"damaged bytes: not local", live, errors.New("zstd: bad magic"), nil, "", nil, false},
	} {
		got := localCause(c.ctx, c.err, interrupted, c.dl)
		if c.want == "" {
			if got != nil {
				t.Errorf("%s: %v, want nil", c.name, got)
			}
			continue
		}
		if got == nil || got.Error() != c.want {
			t.Errorf("%s: %v, want %q", c.name, got, c.want)
			continue
		}
		if c.wantIs != nil && !errors.Is(got, c.wantIs) {
			t.Errorf("%s: %v does not wrap %v", c.name, got, c.wantIs)
		}
		if c.wantSame && got != c.err {
			t.Errorf("%s: %v is not the entry's own error", c.name, got)
		}
	}
	called := false
	localCause(live, write, func() string { called = true; return "" }, nil)
	if called {
		t.Error("the interrupted detail was computed for a live context")
	}
}

// TestGetCause: a download that cannot start names an archived object's
// way back (--thaw), a cancelled context, or the store's error.
func TestGetCause(t *testing.T) {
	done, cancel := context.WithCancel(context.Background())
	cancel()
	archived := fmt.Errorf("get x: %w", upload.ErrArchived)
	for _, c := range []struct {
		ctx  context.Context
		err  error
		want string
		is   error
	}{
		{context.Background(), archived, archived.Error() + " (run restore with --thaw to start bringing it back)", upload.ErrArchived},
		{done, archived, archived.Error() + " (run restore with --thaw to start bringing it back)", upload.ErrArchived},
		// The store's words name --thaw already (S3's): not twice.
		{context.Background(), thawNamed{fmt.Errorf("get x: %w: run restore with --thaw, then come back", upload.ErrArchived)}, "get x: " + upload.ErrArchived.Error() + ": run restore with --thaw, then come back", upload.ErrArchived},
		{done, errors.New("context canceled"), "interrupted before the download started", ErrInterrupted},
		{context.Background(), upload.ErrNotFound, "download: " + upload.ErrNotFound.Error(), upload.ErrNotFound},
	} {
		got := getCause(c.ctx, c.err)
		if got.Error() != c.want || !errors.Is(got, c.is) {
			t.Errorf("getCause(%v): %v, want %q wrapping %v", c.err, got, c.want, c.is)
		}
	}
}

// TestWrongIdentityManyRecipients: a wrong-identity error names the set's
// recipients, at most three and how many more; other errors pass as they are.
func TestWrongIdentityManyRecipients(t *testing.T) {
	job := ReadJob{Manifest: &catalog.Manifest{Recipients: []string{"age1a", "age1b", "age1c", "age1d", "age1e"}}}
	err := wrongIdentity(job, fmt.Errorf("decrypt: %w", crypto.ErrWrongIdentity))
	if !errors.Is(err, crypto.ErrWrongIdentity) || !strings.HasSuffix(err.Error(), "; the set is encrypted to age1a, age1b, age1c and 2 more") {
		t.Errorf("five recipients: %v", err)
	}
	job.Manifest.Recipients = job.Manifest.Recipients[:3]
	if err := wrongIdentity(job, crypto.ErrWrongIdentity); !strings.HasSuffix(err.Error(), "; the set is encrypted to age1a, age1b, age1c") {
		t.Errorf("three recipients: %v", err)
	}
	other := errors.New("connection reset")
	if err := wrongIdentity(job, other); err != other {
		t.Errorf("another error changed: %v", err)
	}
}
