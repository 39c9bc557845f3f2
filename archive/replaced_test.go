package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"io/fs"
	"testing"
)

// packedNames writes the roots and returns the names packed and the warnings.
func packedNames(t *testing.T, roots []Root, skip func(string, fs.FileInfo) bool) ([]string, []string) {
	t.Helper()
	var buf bytes.Buffer
	st, err := Write(context.Background(), &buf, roots, Options{Skip: skip, Tolerant: true, TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, h.Name)
	}
	return names, st.Warnings
}
