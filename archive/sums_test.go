package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// An index in another order than the archive's files (Write never makes
// one) is still taken: each line is found by name.
func TestExtractIndexInAnotherOrder(t *testing.T) {
	files := []entry{reg("a", "1"), reg("b/c", "2"), reg("d", "3"), reg("e", "4")}
	orders := map[string][]int{
		"reversed":           {3, 2, 1, 0},
		"in order, then not": {0, 1, 3, 2},
		"last first":         {3, 0, 1, 2},
	}
	for name, order := range orders {
		t.Run(name, func(t *testing.T) {
			var lines []string
			for _, i := range order {
				lines = append(lines, idxLine(files[i].name, files[i].body))
			}
			data := craft(t, append(append([]entry{}, files...), indexOf(lines...)))
			if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{}); err != nil {
				t.Fatalf("verify: %v", err)
			}
			st, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: filepath.Join(t.TempDir(), "out")})
			if err != nil {
				t.Fatalf("restore: %v", err)
			}
			if st.Files != 4 {
				t.Fatalf("restored %d files, want 4", st.Files)
			}
		})
	}
}

// What a verify keeps per file while it reads an archive: a file store of
// many small files must not cost hundreds of bytes of heap each. The
// archive is made on the fly (nothing of it is held), and the heap is
// measured when the last file has been read, before the index, and again
// when the index has been read. Here this code keeps ~126 bytes per file;
// the code before fileSums and nameSet kept 193 at the first point (maps
// of names) and 358 at the second (a map of the index on top), and the
// Checker's set keyed by the names themselves instead of their hashes
// would keep 158. A restore keeps the same per file (the hasher's sums are
// a fileSums; measured the same way: 124 for 20,000 files, 204 and 381
// with the old maps), and on Windows a key per name more for the case
// clash check (170); restoring enough files to measure that takes Wine
// minutes, so only the verify is measured here.
func TestExtractHeapPerFile(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 100,000 files")
	}
	const n = 100_000
	pr, pw := io.Pipe()
	var before, atIndex, atEnd runtime.MemStats
	// measure runs in the writer when every byte written so far has been
	// read: io.Pipe hands bytes over only as they are read.
	measure := func(tw *tar.Writer, ms *runtime.MemStats) {
		tw.Flush()
		runtime.GC()
		runtime.ReadMemStats(ms)
	}
	go func() {
		tw := tar.NewWriter(pw)
		body := []byte("<x/>")
		sum := sumOf(string(body))
		name := func(i int) string { return fmt.Sprintf("meeting-%04d/content/f%05d.xml", i/1000, i%1000) }
		indexSize := 0
		for i := range n {
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: name(i), Size: int64(len(body)), Mode: 0o644, ModTime: mtime()}); err != nil {
				pw.CloseWithError(err)
				return
			}
			tw.Write(body)
			indexSize += len(indexLine(sum, name(i)))
		}
		measure(tw, &atIndex)
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: IndexName, Size: int64(indexSize), Mode: 0o644, ModTime: mtime()}); err != nil {
			pw.CloseWithError(err)
			return
		}
		for i := range n {
			io.WriteString(tw, indexLine(sum, name(i)))
		}
		measure(tw, &atEnd)
		pw.CloseWithError(tw.Close())
	}()
	runtime.GC()
	runtime.ReadMemStats(&before)
	st, err := Extract(context.Background(), pr, ExtractOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != n {
		t.Fatalf("read %d files, want %d", st.Files, n)
	}
	for _, m := range []struct {
		when string
		ms   runtime.MemStats
	}{{"before the index", atIndex}, {"after the index", atEnd}} {
		perFile := (int64(m.ms.HeapAlloc) - int64(before.HeapAlloc)) / n
		t.Logf("heap %s: %d bytes per file (names of 31 bytes)", m.when, perFile)
		if perFile > 145 {
			t.Errorf("%s a verify holds %d bytes of heap per file; want at most 145", m.when, perFile)
		}
	}
}

// FuzzFileSumsCheck holds fileSums.check against the rule it implements,
// written plainly with maps: every line well formed, no name twice, every
// name a file with its sum, every file named. The script lists the
// archive's files ("f NAME BODY"), then the index ("i NAME BODY" for a
// line, "r TEXT" for a raw one), in any order.
func FuzzFileSumsCheck(f *testing.F) {
	f.Add("f a 1\nf b 2\ni a 1\ni b 2\n")
	f.Add("f a 1\nf b 2\ni b 2\ni a 1\n")
	f.Add("f a 1\nf b 2\ni a 1\ni a 1\ni b 2\n")
	f.Add("f a 1\ni a 2\n")
	f.Add("f a 1\nf b 2\ni a 1\n")
	f.Add("f a 1\ni a 1\ni c 3\n")
	f.Add("f a 1\nr garbage\n")
	f.Add("f a\\b 1\ni a\\b 1\n")
	f.Fuzz(func(t *testing.T, script string) {
		var s fileSums
		files := map[string]string{}
		var index strings.Builder
		for _, line := range strings.Split(script, "\n") {
			parts := strings.SplitN(line, " ", 3)
			if len(parts) < 2 {
				continue
			}
			body := ""
			if len(parts) == 3 {
				body = parts[2]
			}
			switch parts[0] {
			case "f":
				if _, ok := files[parts[1]]; ok || strings.ContainsAny(parts[1], "\r\n") {
					continue // an archive's names are unique (the Checker)
				}
				files[parts[1]] = sumOf(body)
				s.add(parts[1], sha256.Sum256([]byte(body)))
			case "i":
				index.WriteString(indexLine(sumOf(body), parts[1]))
			case "r":
				index.WriteString(parts[1] + " " + body + "\n")
			}
		}
		want := true
		named := map[string]bool{}
		for _, line := range strings.Split(strings.TrimSuffix(index.String(), "\n"), "\n") {
			if index.Len() == 0 {
				break
			}
			sum, name, ok := parseIndexLine(line)
			if !ok || named[name] || files[name] == "" || !strings.EqualFold(files[name], sum) {
				want = false
				break
			}
			named[name] = true
		}
		if len(named) != len(files) {
			want = false
		}
		err := s.check(strings.NewReader(index.String()))
		if (err == nil) != want {
			t.Fatalf("check = %v, want ok=%v\nfiles %v\nindex %q", err, want, files, index.String())
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error %q", err)
		}
	})
}

// A restore with Include writes only the chosen entries, and still checks
// every file against the index: a left-out file whose bytes differ from its
// index line fails the restore as a written one would.
func TestExtractInclude(t *testing.T) {
	files := []entry{reg("a", "1"), reg("keep/b", "2"), reg("keep/sub/c", "3"), reg("d", "4")}
	var lines []string
	for _, f := range files {
		lines = append(lines, idxLine(f.name, f.body))
	}
	include := func(name string) bool { return name == "keep" || strings.HasPrefix(name, "keep/") }
	data := craft(t, append(append([]entry{}, files...), indexOf(lines...)))
	out := filepath.Join(t.TempDir(), "out")
	st, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: out, Include: include})
	if err != nil {
		t.Fatal(err)
	}
	if st.Files != 4 || st.Written != 2 || st.WrittenBytes != 2 {
		t.Fatalf("stats %+v: want 4 files read, 2 written", st)
	}
	if strings.Join(st.Top, ",") != "a,keep/b,keep/sub,d" {
		t.Errorf("Top %v, want the first two levels of every name", st.Top)
	}
	var got []string
	filepath.WalkDir(out, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(out, p)
			got = append(got, filepath.ToSlash(rel))
		}
		return nil
	})
	if strings.Join(got, ",") != "keep/b,keep/sub/c" {
		t.Fatalf("restored %v, want keep/b and keep/sub/c", got)
	}
	// A left-out file that does not match the index.
	bad := append([]entry{}, files...)
	bad[3] = reg("d", "X")
	data = craft(t, append(bad, indexOf(lines...)))
	if _, err := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: filepath.Join(t.TempDir(), "out2"), Include: include}); err == nil || !strings.Contains(err.Error(), "d") {
		t.Fatalf("a left-out file failing its index line: %v", err)
	}
}
