package archive

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLongPathsRoundTrip: a file whose full path is well over Windows'
// 260-character MAX_PATH is backed up and restored (Go adds \\?\ where the
// Windows API needs it; the Wine lane runs this on Windows).
func TestLongPathsRoundTrip(t *testing.T) {
	src := t.TempDir()
	deep := src
	for i := 0; i < 6; i++ {
		deep = filepath.Join(deep, strings.Repeat(string(rune('a'+i)), 60))
	}
	if err := os.MkdirAll(deep, 0o755); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(deep, "long-file-name.txt")
	if len(file) < 300 {
		t.Fatalf("path only %d characters", len(file))
	}
	if err := os.WriteFile(file, []byte("deep"), 0o644); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	st, err := Write(context.Background(), &buf, []Root{{Path: src, Name: "t"}}, Options{TempDir: t.TempDir()})
	if err != nil || st.Files != 1 || len(st.Warnings) != 0 {
		t.Fatalf("write: %+v %v", st, err)
	}
	to := t.TempDir()
	if _, err := Extract(context.Background(), &buf, ExtractOptions{Dir: to}); err != nil {
		t.Fatal(err)
	}
	rel, _ := filepath.Rel(src, file)
	got := filepath.Join(to, "t", rel)
	if b, err := os.ReadFile(got); err != nil || string(b) != "deep" {
		t.Fatalf("%s (%d characters): %q %v", got, len(got), b, err)
	}
}
