package archive

import (
	"archive/tar"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/durable"
)

// ExtractOptions tune Extract.
type ExtractOptions struct {
	// Dir receives the files. Empty: verify only (hash everything, write nothing).
	Dir string
	// Force allows overwriting existing files (restore itself always
	// extracts into a fresh folder and uses Install instead).
	Force bool
	// With CapBytes, MaxBytes is the most file content the archive may
	// hold (the manifest's plain_bytes): a file that would pass it stops
	// the extraction with a *LimitError before any of it is written.
	CapBytes bool
	MaxBytes int64
	// Progress is called with the count of file bytes handled since the last call.
	Progress func(n int64)
	// Include, for a restore, chooses the entries written (nil: all): the
	// others are read and their files hashed against the index all the
	// same, so the archive is checked whole.
	Include func(name string) bool
	// Entry, when set, is called with every folder, file and link as it
	// is read (before its checks end: a listing is only whole once
	// Extract returned nil).
	Entry func(e Entry)
}

// Entry is one folder, file or link of an archive, as ExtractOptions.Entry
// sees it.
type Entry struct {
	Name     string    `json:"name"`
	Kind     string    `json:"kind"` // "dir", "file", "link"
	Size     int64     `json:"size"`
	ModTime  time.Time `json:"mtime"`
	Linkname string    `json:"link,omitempty"`
}

// ExtractStats summarise an extraction or verification.
type ExtractStats struct {
	Files, Dirs, Links int64
	Bytes              int64
	Warnings           []string
	// Written, WrittenBytes: the files (and their bytes) a restore wrote;
	// with ExtractOptions.Include, only those it chose. Chosen counts the
	// entries of every kind Include chose; ChosenDirs and ChosenLinks the
	// folders and links among them.
	Written, WrittenBytes, Chosen int64
	ChosenDirs, ChosenLinks       int64
	// Top, with Include: the first names of the archive's top level (up
	// to maxTop), for saying what there is when nothing was chosen.
	Top []string
	// Parents, with Include: the folders (relative to Dir) a restore made
	// only to hold the chosen entries below them, their entries not chosen
	// themselves. They get the archive's modes and times as any folder
	// does; Install leaves an existing folder of dst as it is for them.
	Parents []string
}

// maxTop bounds ExtractStats.Top.
const maxTop = 12

// topNames is the first two elements of an entry's name ("FileStore/1-
// WebServices-1" of a file below it): what ExtractStats.Top records.
func topNames(name string) string {
	if i := strings.IndexByte(name, '/'); i >= 0 {
		if j := strings.IndexByte(name[i+1:], '/'); j >= 0 {
			return name[:i+1+j]
		}
	}
	return name
}

// WriteError is a failure to write into the restore folder (disk full, no
// permission, read-only file system): a cause on this machine, never a
// sign that the archive is damaged. Extract returns it for every write.
type WriteError struct {
	Op, Path string
	Err      error
}

func (e *WriteError) Error() string {
	err := e.Err
	if pe := (*fs.PathError)(nil); errors.As(err, &pe) && pe.Path == e.Path {
		err = pe.Err // not the path twice
	}
	return e.Op + " " + e.Path + ": " + err.Error()
}

func (e *WriteError) Unwrap() error { return e.Err }

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
	// parent: a folder entry ExtractOptions.Include left out; it exists
	// only when the restore made it to hold chosen entries below it.
	parent bool
}

type pendingLink struct {
	name, target, path string // entry name, link target, where it goes
}

// LimitError stops an archive that holds more file content than its
// manifest says (a decompression bomb, or not the object the manifest
// names) before the excess is written.
type LimitError struct {
	Name  string // the entry that passed the limit
	Limit int64
}

func (e *LimitError) Error() string {
	return fmt.Sprintf("archive holds more than the manifest's %d bytes of files (stopped at %q): damaged, or not the object the manifest names", e.Limit, e.Name)
}

// maxTrailing is what may follow the end-of-archive blocks: zeros up to a
// full tar record (Write adds none; other writers pad to 10240 bytes).
const maxTrailing = 10240

// Extract reads a tar stream (made by Write) from r. With opt.Dir set it
// writes the files below Dir, refusing unsafe entries and existing files
// (unless Force); without it, it only hashes. Either way every entry passes
// the same Checker as Write's, every file's SHA-256 is checked against the
// archive's index, and a missing index, a file missing from it or a
// mismatch is an error naming the file. Links are created last, after
// every file and folder, so nothing is ever written through one.
//
// r may be any stream of the archive's bytes (one object, or the
// concatenated plaintexts of its chunks); Extract reads r only up to the
// end of the archive and a tar record of zero padding, and refuses more.
func Extract(ctx context.Context, r io.Reader, opt ExtractOptions) (ExtractStats, error) {
	x, err := newExtractor(r, opt)
	if err != nil {
		return ExtractStats{}, err
	}
	if x.hs == nil {
		// A verify hashes through a copy buffer; a restore reads into the
		// hasher's buffers instead.
		bp := copyBufs.Get().(*[]byte)
		defer copyBufs.Put(bp)
		x.buf = *bp
	}
	err = x.entries(ctx)
	if x.hs != nil {
		// The hasher never outlives Extract.
		x.hs.wait()
	}
	if x.fl != nil {
		// Nor the flusher: every file written is on the disk, or closed
		// when the restore failed.
		if ferr := x.fl.wait(); err == nil {
			err = ferr
		}
	}
	if err != nil {
		return x.st, err
	}
	if !x.indexed {
		return x.st, errors.New("read archive: no file index at the end (truncated, or not made by lyncbackup)")
	}
	if err := checkTrailing(r); err != nil {
		return x.st, err
	}
	// Links only now: every file and folder exists, so none is written
	// through a link, whatever it points to.
	for _, l := range x.links {
		if err := x.link(l); err != nil {
			return x.st, err
		}
	}
	x.st.Parents = setDirTimes(x.tg.root, x.dirs)
	if x.tg.root != "" && durable.Enabled() {
		// The folders' entries last (their modes and times are set):
		// once Extract returns, the tree is on the disk whole, and
		// moving it into place (Install) cannot show a file that a
		// power loss would empty.
		if err := syncFolders(x.tg.root, x.folders()); err != nil {
			return x.st, err
		}
	}
	return x.st, nil
}

// folders lists the folders a restore made or wrote into, for
// syncFolders.
func (x *extractor) folders() []string {
	var out []string
	for d := range x.made {
		out = append(out, d)
	}
	for _, d := range x.dirs {
		if fi, err := os.Lstat(d.path); err == nil && fi.IsDir() {
			out = append(out, d.path)
		}
	}
	for _, l := range x.links {
		if l.path != "" {
			out = append(out, filepath.Dir(l.path))
		}
	}
	return out
}

// extractor is the state of one Extract.
type extractor struct {
	opt ExtractOptions
	tr  *tar.Reader
	chk *Checker
	tg  targets // tg.root is "" for a verify
	buf []byte  // a verify's copy buffer
	hs  *hasher // hashes the files a restore writes (nil: a verify)
	// fl flushes the files a restore writes to the disk (nil: a verify).
	fl *flusher
	// made holds the folders of files written so far: checkParents found
	// no link on their path and MkdirAll made what was missing, so
	// another file there needs neither again (the archive's links are
	// only created at the end, and the Checker refuses entries below a
	// link). A folder entry is not enough: MkdirAll follows a link that
	// is in the way.
	made map[string]bool
	st   ExtractStats
	sums fileSums // a verify's: what it read of every file
	// dirs get their modes and times, and links are created, once every
	// file is written.
	dirs    []dirTime
	links   []pendingLink
	indexed bool // the index was read and every file checked against it
}

// newExtractor creates the restore folder, when there is one.
func newExtractor(r io.Reader, opt ExtractOptions) (*extractor, error) {
	x := &extractor{opt: opt, tr: tar.NewReader(r), chk: NewChecker(), made: map[string]bool{}}
	if opt.Dir != "" {
		abs, err := filepath.Abs(opt.Dir)
		if err != nil {
			return nil, err
		}
		x.tg.root = abs
		if err := os.MkdirAll(abs, 0o755); err != nil {
			return nil, &WriteError{"create", abs, err}
		}
		x.hs = newHasher()
		x.fl = newFlusher()
	}
	return x, nil
}

// entries reads the archive's entries up to the end of the tar stream,
// each checked by the Checker and handled by its kind.
func (x *extractor) entries(ctx context.Context) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		hdr, err := x.tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
		name, kind, err := x.chk.Entry(hdr)
		if err != nil {
			return err
		}
		if err := x.entry(hdr, name, kind); err != nil {
			return err
		}
	}
}

// entry handles one checked entry: the index is read, a folder created, a
// file written and hashed, a link kept for the end.
func (x *extractor) entry(hdr *tar.Header, name string, kind Kind) error {
	switch kind {
	case KindHeader:
		return nil
	case KindIndex:
		// The index is the last entry (the Checker refuses any after
		// it): every file has been read, and a restore's are hashed
		// once the hasher is done.
		sums := &x.sums
		if x.hs != nil {
			sums = x.hs.wait()
		}
		if err := sums.check(x.tr); err != nil {
			return err
		}
		x.indexed = true
		return nil
	}
	if x.opt.Entry != nil {
		e := Entry{Name: name, Size: hdr.Size, ModTime: hdr.ModTime}
		switch kind {
		case KindDir:
			e.Kind = "dir"
		case KindFile:
			e.Kind = "file"
		case KindLink:
			e.Kind, e.Linkname = "link", hdr.Linkname
		}
		x.opt.Entry(e)
	}
	if x.tg.root != "" && x.opt.Include != nil {
		if top := topNames(name); len(x.st.Top) < maxTop && !slices.Contains(x.st.Top, top) {
			x.st.Top = append(x.st.Top, top)
		}
		if !x.opt.Include(name) {
			return x.skip(hdr, name, kind)
		}
		x.st.Chosen++
		switch kind {
		case KindDir:
			x.st.ChosenDirs++
		case KindLink:
			x.st.ChosenLinks++
		}
	}
	target, err := x.target(hdr, name, kind)
	if err != nil {
		return err
	}
	switch kind {
	case KindDir:
		return x.dir(hdr, target)
	case KindFile:
		return x.file(hdr, name, target)
	case KindLink:
		x.links = append(x.links, pendingLink{name, hdr.Linkname, target})
		x.st.Links++
	}
	return nil
}

// skip reads an entry a restore leaves out (ExtractOptions.Include): a
// file is hashed for the index check as a written one is, nothing is
// created.
func (x *extractor) skip(hdr *tar.Header, name string, kind Kind) error {
	switch kind {
	case KindDir:
		x.st.Dirs++
		// Its mode and time, for the case a chosen entry below it makes
		// it (it would be 0755 and dated now).
		if target, _, err := x.tg.path(name, true); err == nil {
			x.dirs = append(x.dirs, dirTime{target, hdr.ModTime, fs.FileMode(hdr.Mode).Perm(), true})
		}
	case KindLink:
		x.st.Links++
	case KindFile:
		if x.opt.CapBytes && hdr.Size > x.opt.MaxBytes-x.st.Bytes {
			return &LimitError{name, x.opt.MaxBytes}
		}
		if err := x.hashCopy(hdr, name, nil, ""); err != nil {
			return err
		}
		x.st.Files++
		x.st.Bytes += hdr.Size
	}
	return nil
}

// target is where an entry goes below the restore folder ("" for a
// verify). A name no Windows file may have is renamed (a warning); an
// entry outside the folder or under a link is refused.
func (x *extractor) target(hdr *tar.Header, name string, kind Kind) (string, error) {
	if x.tg.root == "" {
		return "", nil
	}
	target, renamed, err := x.tg.path(name, kind == KindDir)
	if err != nil {
		return "", &UnsafeError{hdr.Name, err.Error()}
	}
	if renamed != "" {
		x.st.Warnings = append(x.st.Warnings, renamed)
	}
	if !x.made[filepath.Dir(target)] {
		if err := checkParents(x.tg.root, target); err != nil {
			return "", &UnsafeError{hdr.Name, err.Error()}
		}
	}
	return target, nil
}

// dir creates a folder entry; its mode and times are set at the end.
func (x *extractor) dir(hdr *tar.Header, target string) error {
	x.st.Dirs++
	if target == "" {
		return nil
	}
	if err := os.MkdirAll(target, 0o755); err != nil {
		return &WriteError{"create", target, err}
	}
	x.dirs = append(x.dirs, dirTime{target, hdr.ModTime, fs.FileMode(hdr.Mode).Perm(), false})
	return nil
}

// file writes (or for a verify only hashes) a file entry, unless it would
// take the archive past the manifest's size.
func (x *extractor) file(hdr *tar.Header, name, target string) error {
	if x.opt.CapBytes && hdr.Size > x.opt.MaxBytes-x.st.Bytes {
		return &LimitError{name, x.opt.MaxBytes}
	}
	if target != "" {
		if err := x.writeFile(hdr, name, target); err != nil {
			return err
		}
		x.st.Written++
		x.st.WrittenBytes += hdr.Size
	} else {
		sum, err := hashFile(x.tr, hdr, x.opt, x.buf)
		if err != nil {
			return err
		}
		x.sums.add(name, sum)
	}
	x.st.Files++
	x.st.Bytes += hdr.Size
	return nil
}

// link creates a link entry kept for the end (nothing for a verify). On
// Windows, where a symlink needs a privilege, one not created is a warning.
func (x *extractor) link(l pendingLink) error {
	if l.path == "" {
		return nil
	}
	if err := checkParents(x.tg.root, l.path); err != nil {
		return &UnsafeError{l.name, err.Error()}
	}
	if err := os.MkdirAll(filepath.Dir(l.path), 0o755); err != nil {
		return &WriteError{"create", filepath.Dir(l.path), err}
	}
	if x.opt.Force {
		if fi, err := os.Lstat(l.path); err == nil {
			if fi.IsDir() {
				return fmt.Errorf("restore %s: a folder is in the way", l.path)
			}
			os.Remove(l.path)
		}
	}
	if err := os.Symlink(filepath.FromSlash(l.target), l.path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("restore %s: already exists (use --force to overwrite)", l.path)
		}
		if runtime.GOOS == "windows" {
			x.st.Warnings = append(x.st.Warnings, fmt.Sprintf("%s: symlink not created (%v); it pointed to %s", l.path, err, l.target))
			return nil
		}
		return &WriteError{"restore link", l.path, err}
	}
	return nil
}

// setDirTimes sets the folders' modes and times last, deepest first:
// creating their children changed the times, and a read-only folder (0555)
// must stay writable until its children exist. A folder Include left out
// is set only when a chosen entry below it made it; those are returned,
// relative to root (ExtractStats.Parents).
func setDirTimes(root string, dirs []dirTime) (parents []string) {
	for i := len(dirs) - 1; i >= 0; i-- {
		d := dirs[i]
		if d.parent {
			fi, err := os.Lstat(d.path)
			if err != nil || !fi.IsDir() {
				continue
			}
			if rel, err := filepath.Rel(root, d.path); err == nil {
				parents = append(parents, rel)
			}
		}
		if d.mode != 0 {
			os.Chmod(d.path, d.mode)
		}
		os.Chtimes(d.path, d.mt, d.mt)
	}
	return parents
}

// checkTrailing refuses data after the end of the archive beyond a tar
// record of zeros: a stream that goes on (gigabytes of zeros behind a
// small archive) is stopped instead of being read to its end.
func checkTrailing(r io.Reader) error {
	buf := make([]byte, 4096)
	var n int64
	for {
		k, err := r.Read(buf)
		for _, b := range buf[:k] {
			if b != 0 {
				return errors.New("read archive: data after the end of the archive")
			}
		}
		n += int64(k)
		if n > maxTrailing {
			return errors.New("read archive: data after the end of the archive")
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read archive: %w", err)
		}
	}
}

// hashFile reads a file entry for a verify: its bytes are only hashed.
func hashFile(tr *tar.Reader, hdr *tar.Header, opt ExtractOptions, buf []byte) ([32]byte, error) {
	h := sha256.New()
	var w io.Writer = h
	if opt.Progress != nil {
		w = progressWriter{h, opt.Progress}
	}
	var sum [32]byte
	if _, err := io.CopyBuffer(w, tr, buf); err != nil {
		return sum, fmt.Errorf("read archive at %s: %w", hdr.Name, err)
	}
	h.Sum(sum[:0])
	return sum, nil
}

// hashCopy reads a file entry's bytes into w (nil: a file a restore
// leaves out, ExtractOptions.Include) while x.hs hashes them, in archive
// order with every other file; target names w in a write error.
func (x *extractor) hashCopy(hdr *tar.Header, name string, w io.Writer, target string) error {
	hs := x.hs
	for {
		b := hs.buf()
		n, err := x.tr.Read(b)
		if n > 0 {
			if w != nil {
				if _, werr := w.Write(b[:n]); werr != nil {
					hs.put(b)
					return &WriteError{"write", target, werr}
				}
			}
			if x.opt.Progress != nil {
				x.opt.Progress(int64(n))
			}
			hs.add(b[:n])
		} else {
			hs.put(b)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return fmt.Errorf("read archive at %s: %w", hdr.Name, err)
		}
	}
	hs.end(name)
	return nil
}

// writeFile restores a file entry at target; x.hs hashes its bytes.
func (x *extractor) writeFile(hdr *tar.Header, name, target string) error {
	opt := x.opt
	if dir := filepath.Dir(target); !x.made[dir] {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return &WriteError{"create", dir, err}
		}
		x.made[dir] = true
	}
	flags := os.O_WRONLY | os.O_CREATE | os.O_EXCL
	if opt.Force {
		if fi, err := os.Lstat(target); err == nil && !fi.Mode().IsRegular() {
			if fi.IsDir() {
				return fmt.Errorf("restore %s: a folder is in the way", target)
			}
			os.Remove(target) // a link: never write through it
		}
		flags = os.O_WRONLY | os.O_CREATE | os.O_TRUNC
	}
	f, err := os.OpenFile(target, flags, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("restore %s: already exists (use --force to overwrite)", target)
		}
		return &WriteError{"restore", target, err}
	}
	if err := x.hashCopy(hdr, name, f, target); err != nil {
		f.Close()
		return err
	}
	// Its mode and time are set, and it is flushed to the disk and
	// closed, by the flusher while the next file is written.
	x.fl.add(flushJob{f, target, fs.FileMode(hdr.Mode).Perm(), hdr.ModTime})
	return nil
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
