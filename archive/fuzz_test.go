package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// extractBoth runs data through Extract in verify mode and into a fresh
// folder, and fails if anything appears outside that folder, or if the
// extraction accepts what the verification refused.
func extractBoth(t *testing.T, data []byte) {
	_, verr := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{})
	parent := t.TempDir()
	root := filepath.Join(parent, "root")
	st, xerr := Extract(context.Background(), bytes.NewReader(data), ExtractOptions{Dir: root})
	for _, p := range listTree(t, parent) {
		if p != "root" && !strings.HasPrefix(p, "root/") {
			t.Fatalf("wrote outside the restore folder: %s", p)
		}
	}
	// Links are data and may point anywhere; what proves that nothing was
	// written through one is that every file extracted is found by a walk
	// that does not follow links.
	if xerr == nil {
		var files int64
		filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
			if err == nil && fi.Mode().IsRegular() {
				files++
			}
			return nil
		})
		if files != st.Files {
			t.Fatalf("%d files extracted, %d found below the root without following links", st.Files, files)
		}
	}
	if xerr == nil && verr != nil {
		t.Fatalf("extract accepted what verify refused: %v", verr)
	}
	for _, err := range []error{verr, xerr} {
		if err != nil && strings.ContainsAny(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
	}
}

// FuzzExtract feeds raw bytes (tar headers carry checksums, so this mostly
// exercises the reader's framing and the index parser).
func FuzzExtract(f *testing.F) {
	f.Add(craft(f, withIndex(dir("top/"), reg("top/a", "hello"), symlink("top/l", "a"))))
	f.Add(craft(f, withIndex(reg("a", "x"), reg("a", "y"))))
	f.Add(craft(f, fileEntries(reg("a", "x"), indexOf("\\"+sumOf("x")+"  a\\\\b\n"))))
	f.Add(craft(f, withIndex(symlink("a/b/s", "../.."), symlink("t", "a/b/s/../x"))))
	f.Add(craft(f, withIndex(symlink("abs", "/etc"), reg("abs/x", "y"))))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		extractBoth(t, data)
	})
}

// FuzzExtractEntries builds a valid tar from a small script, one entry per
// line: "TYPE NAME [TARGET-OR-BODY]" with TYPE one of f d l h c p; a line
// "!index BAD" replaces the generated index. It reaches the safety checks.
func FuzzExtractEntries(f *testing.F) {
	f.Add("d top/\nf top/a hello\nl top/l a\n")
	f.Add("l a/b/s ../..\nl t a/b/s/../x\n")
	f.Add("l s sub\nd sub/\nf s/x boom\n")
	f.Add("f a x\nf a/b y\n")
	f.Add("f ../x y\nf /abs y\nh b a\nc dev\np fifo\n")
	f.Add("l up ..\nl a/up2 ../..\nf x y\n!index garbage")
	f.Add("l abs /tmp\nf abs/x y\n")
	f.Add("f a/b x\nl a y\n")
	f.Fuzz(func(t *testing.T, script string) {
		var es []entry
		var customIndex *entry
		for _, line := range strings.Split(script, "\n") {
			parts := strings.SplitN(line, " ", 3)
			if len(parts) < 2 || parts[1] == "" || len(es) > 50 {
				continue
			}
			arg := ""
			if len(parts) == 3 {
				arg = parts[2]
			}
			var e entry
			switch parts[0] {
			case "f":
				e = reg(parts[1], arg)
			case "d":
				e = dir(parts[1])
			case "l":
				e = symlink(parts[1], arg)
			case "h":
				e = hardlink(parts[1], arg)
			case "c":
				e = special(parts[1], tar.TypeChar)
			case "p":
				e = special(parts[1], tar.TypeFifo)
			case "!index":
				ix := indexOf(parts[1] + " " + arg)
				customIndex = &ix
				continue
			default:
				continue
			}
			es = append(es, e)
		}
		if customIndex != nil {
			es = append(es, *customIndex)
		} else {
			es = withIndex(es...)
		}
		var b bytes.Buffer
		tw := tar.NewWriter(&b)
		for _, e := range es {
			hdr := &tar.Header{Name: e.name, Linkname: e.link, Typeflag: e.typ, Mode: 0o644, ModTime: mtime(), Format: tar.FormatPAX}
			if e.typ == tar.TypeReg {
				hdr.Size = int64(len(e.body))
			}
			if tw.WriteHeader(hdr) != nil {
				return // names the tar writer cannot encode cannot reach a reader either
			}
			if e.typ == tar.TypeReg {
				tw.Write([]byte(e.body))
			}
		}
		tw.Close()
		extractBoth(t, b.Bytes())
	})
}
