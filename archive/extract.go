package archive

import (
	"archive/tar"
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// Dir receives the files. Empty: verify only (hash everything, write nothing).
	Dir string
	// Force allows overwriting existing files.
	Force bool
	// Progress is called with the count of file bytes handled since the last call.
	Progress func(n int64)
}

// ExtractStats summarise an extraction or verification.
type ExtractStats struct {
	Files, Dirs, Links int64
	Bytes              int64
	Warnings           []string
}

// UnsafeError reports an archive entry refused for safety.
type UnsafeError struct{ Name, Why string }

func (e *UnsafeError) Error() string { return fmt.Sprintf("unsafe entry %q: %s", e.Name, e.Why) }

// MaxIndexSize bounds the trailing index we accept.
const MaxIndexSize = 1 << 30

// CleanName checks an archive entry name and returns it cleaned
// (slash-separated, relative, no ".." and no drive or UNC prefix).
func CleanName(name string) (string, error) {
	if name == "" {
		return "", &UnsafeError{name, "empty name"}
	}
	if strings.ContainsRune(name, 0) {
		return "", &UnsafeError{name, "NUL in name"}
	}
	if strings.HasPrefix(name, "/") || strings.HasPrefix(name, "\\") || (len(name) > 1 && name[1] == ':') {
		return "", &UnsafeError{name, "absolute path"}
	}
	if runtime.GOOS == "windows" && strings.Contains(name, "\\") {
		// Backslash is a separator on Windows: "a\..\..\x" must not slip
		// through. Elsewhere it is an ordinary character that Write stores.
		return "", &UnsafeError{name, "backslash in name"}
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", &UnsafeError{name, "'..' in path"}
		}
		if runtime.GOOS == "windows" && strings.ContainsAny(part, ":<>\"|?*") {
			return "", &UnsafeError{name, "character not allowed in a Windows file name"}
		}
	}
	c := path.Clean(name)
	if c == "." {
		return "", &UnsafeError{name, "empty name"}
	}
	return c, nil
}

type dirTime struct {
	path string
	mt   time.Time
	mode fs.FileMode
}

// Extract reads a tar stream (made by Write) from r. With opt.Dir set it
// writes the files below Dir, refusing unsafe entries and existing files
// (unless Force); without it, it only hashes. Either way every file's
// SHA-256 is checked against the archive's index, and a missing index,
// a file missing from it or a mismatch is an error naming the file.
func Extract(ctx context.Context, r io.Reader, opt ExtractOptions) (ExtractStats, error) {
	var st ExtractStats
	tr := tar.NewReader(r)
	sums := map[string]string{} // name -> hex sha256 of what we read
	var dirs []dirTime
	var index map[string]string
	// seen records every entry's kind by clean name, so that both modes
	// (verify and extract) refuse the same archives: duplicates, entries
	// below a file or through a symlink, and link chains leaving the root.
	seen := map[string]byte{}
	links := map[string]string{}
	root := ""
	if opt.Dir != "" {
		abs, err := filepath.Abs(opt.Dir)
		if err != nil {
			return st, err
		}
		root = abs
		if err := os.MkdirAll(root, 0o755); err != nil {
			return st, fmt.Errorf("create %s: %w", root, err)
		}
	}
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	for {
		if err := ctx.Err(); err != nil {
			return st, err
		}
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return st, fmt.Errorf("read archive: %w", err)
		}
		if index != nil {
			return st, errors.New("read archive: entries after the index")
		}
		if hdr.Name == IndexName && hdr.Typeflag == tar.TypeReg {
			if hdr.Size > MaxIndexSize {
				return st, errors.New("read archive: index too large")
			}
			index, err = readIndex(tr)
			if err != nil {
				return st, err
			}
			continue
		}
		name, err := CleanName(hdr.Name)
		if err != nil {
			return st, err
		}
		if err := checkSeen(seen, name, hdr.Typeflag); err != nil {
			return st, &UnsafeError{hdr.Name, err.Error()}
		}
		target := ""
		if root != "" {
			target = filepath.Join(root, filepath.FromSlash(name))
			if err := checkParents(root, target); err != nil {
				return st, &UnsafeError{hdr.Name, err.Error()}
			}
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			st.Dirs++
			if target != "" {
				if err := os.MkdirAll(target, 0o755); err != nil {
					return st, fmt.Errorf("create %s: %w", target, err)
				}
				dirs = append(dirs, dirTime{target, hdr.ModTime, fs.FileMode(hdr.Mode).Perm()})
			}
		case tar.TypeReg:
			if _, dup := sums[name]; dup {
				return st, &UnsafeError{hdr.Name, "appears twice"}
			}
			sum, err := extractFile(tr, hdr, target, opt, *bp)
			if err != nil {
				return st, err
			}
			sums[name] = sum
			st.Files++
			st.Bytes += hdr.Size
		case tar.TypeSymlink:
			if err := checkLink(name, hdr.Linkname); err != nil {
				return st, &UnsafeError{hdr.Name, err.Error()}
			}
			links[name] = hdr.Linkname
			st.Links++
			if target != "" {
				if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
					return st, fmt.Errorf("create %s: %w", filepath.Dir(target), err)
				}
				if opt.Force {
					if fi, err := os.Lstat(target); err == nil && !fi.IsDir() {
						os.Remove(target)
					}
				}
				if err := os.Symlink(filepath.FromSlash(hdr.Linkname), target); err != nil {
					if errors.Is(err, fs.ErrExist) {
						return st, fmt.Errorf("restore %s: already exists (use --force to overwrite)", target)
					}
					if runtime.GOOS == "windows" {
						st.Warnings = append(st.Warnings, fmt.Sprintf("%s: symlink not created (%v); it pointed to %s", target, err, hdr.Linkname))
						continue
					}
					return st, fmt.Errorf("restore link %s: %w", target, err)
				}
			}
		default:
			return st, &UnsafeError{hdr.Name, fmt.Sprintf("unsupported entry type %q (devices, fifos and hard links are refused)", string(hdr.Typeflag))}
		}
	}
	if index == nil {
		return st, errors.New("read archive: no file index at the end (truncated, or not made by lyncbackup)")
	}
	// Each link was checked alone as it came; together, one link can climb
	// out through another ("t" -> "a/s/../x" with "a/s" -> ".."). Resolve
	// them all now and take back any that escape.
	for name, target := range links {
		if err := resolveInside(links, name, target); err != nil {
			if root != "" {
				os.Remove(filepath.Join(root, filepath.FromSlash(name)))
			}
			return st, &UnsafeError{name, err.Error()}
		}
	}
	for name, sum := range sums {
		want, ok := index[name]
		if !ok {
			return st, fmt.Errorf("file %s is not in the archive's index", name)
		}
		if want != sum {
			return st, fmt.Errorf("file %s: SHA-256 mismatch (archive damaged)", name)
		}
	}
	if len(index) != len(sums) {
		for name := range index {
			if _, ok := sums[name]; !ok {
				return st, fmt.Errorf("file %s is in the index but missing from the archive", name)
			}
		}
	}
	// Directory modes and times last, deepest first: creating their
	// children changed the times, and a read-only folder (0555) must stay
	// writable until its children exist.
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if d.mode != 0 {
			os.Chmod(d.path, d.mode)
		}
		os.Chtimes(d.path, d.mt, d.mt)
	}
	return st, nil
}

func readIndex(r io.Reader) (map[string]string, error) {
	index := map[string]string{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 1<<20)
	for sc.Scan() {
		sum, name, ok := parseIndexLine(sc.Text())
		if !ok {
			return nil, errors.New("read archive: malformed index line")
		}
		index[name] = sum
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read archive index: %w", err)
	}
	return index, nil
}

func extractFile(tr *tar.Reader, hdr *tar.Header, target string, opt ExtractOptions, buf []byte) (string, error) {
	h := sha256.New()
	var w io.Writer = h
	var f *os.File
	if target != "" {
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return "", fmt.Errorf("create %s: %w", filepath.Dir(target), err)
		}
		flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
		if opt.Force {
			if fi, err := os.Lstat(target); err == nil && !fi.Mode().IsRegular() {
				if fi.IsDir() {
					return "", fmt.Errorf("restore %s: a folder is in the way", target)
				}
				os.Remove(target) // a link: never write through it
			}
			flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
		}
		var err error
		f, err = os.OpenFile(target, flags, 0o600)
		if err != nil {
			if errors.Is(err, fs.ErrExist) {
				return "", fmt.Errorf("restore %s: already exists (use --force to overwrite)", target)
			}
			return "", fmt.Errorf("restore %s: %w", target, err)
		}
		defer f.Close()
		w = io.MultiWriter(f, h)
	}
	var pw io.Writer = w
	if opt.Progress != nil {
		pw = progressWriter{w, opt.Progress}
	}
	if _, err := io.CopyBuffer(pw, tr, buf); err != nil {
		return "", fmt.Errorf("read archive at %s: %w", hdr.Name, err)
	}
	if f != nil {
		if err := f.Close(); err != nil {
			return "", fmt.Errorf("restore %s: %w", target, err)
		}
		os.Chmod(target, fs.FileMode(hdr.Mode).Perm())
		os.Chtimes(target, hdr.ModTime, hdr.ModTime)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

type progressWriter struct {
	w io.Writer
	f func(int64)
}

func (p progressWriter) Write(b []byte) (int, error) {
	n, err := p.w.Write(b)
	p.f(int64(n))
	return n, err
}

// checkLink refuses a symlink whose target leaves the restore folder.
func checkLink(name, target string) error {
	if target == "" {
		return errors.New("empty link target")
	}
	t := filepath.ToSlash(target)
	if strings.HasPrefix(t, "/") || (len(t) > 1 && t[1] == ':') {
		return fmt.Errorf("link to absolute path %q", target)
	}
	joined := path.Join(path.Dir(name), t)
	if joined == ".." || strings.HasPrefix(joined, "../") {
		return fmt.Errorf("link %q points outside the restore folder", target)
	}
	return nil
}

// checkParents refuses to create target through a symlink below root
// (an earlier entry could have planted one).
func checkParents(root, target string) error {
	rel, err := filepath.Rel(root, target)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return errors.New("outside the restore folder")
	}
	dir := root
	parts := strings.Split(rel, string(filepath.Separator))
	for _, p := range parts[:len(parts)-1] {
		dir = filepath.Join(dir, p)
		fi, err := os.Lstat(dir)
		if err != nil {
			return nil // not created yet: nothing to follow
		}
		if fi.Mode()&fs.ModeSymlink != 0 {
			return errors.New("path goes through a symlink")
		}
	}
	return nil
}

// checkSeen refuses a name used twice (folders may repeat), and an entry
// below a file or a symlink of the archive, then records the entry.
func checkSeen(seen map[string]byte, name string, typ byte) error {
	kind := byte('f')
	if typ == tar.TypeDir {
		kind = 'd'
	} else if typ == tar.TypeSymlink {
		kind = 'l'
	}
	if prev, ok := seen[name]; ok && (prev != 'd' || kind != 'd') {
		return errors.New("appears twice")
	}
	for i := 0; i < len(name); i++ {
		if name[i] != '/' {
			continue
		}
		switch seen[name[:i]] {
		case 'l':
			return errors.New("path goes through a symlink")
		case 'f':
			return fmt.Errorf("%s is a file, not a folder", name[:i])
		}
	}
	seen[name] = kind
	return nil
}

// resolveInside follows target from the folder of link name, expanding the
// archive's own links on the way as the OS would, and fails if the path
// climbs above the root. A loop is left alone: the OS cannot follow it either.
func resolveInside(links map[string]string, name, target string) error {
	stack := strings.Split(path.Dir(name), "/")
	if stack[0] == "." {
		stack = stack[:0]
	}
	pending := strings.Split(filepath.ToSlash(target), "/")
	for hops := 0; len(pending) > 0; {
		c := pending[0]
		pending = pending[1:]
		switch c {
		case "", ".":
			continue
		case "..":
			if len(stack) == 0 {
				return fmt.Errorf("link %q points outside the restore folder", target)
			}
			stack = stack[:len(stack)-1]
			continue
		}
		stack = append(stack, c)
		t, ok := links[strings.Join(stack, "/")]
		if !ok {
			continue
		}
		if hops++; hops > 255 {
			return nil
		}
		stack = stack[:len(stack)-1]
		pending = append(strings.Split(filepath.ToSlash(t), "/"), pending...)
	}
	return nil
}
