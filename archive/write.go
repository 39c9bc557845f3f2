// Package archive packs file trees into a tar stream and unpacks them
// safely. Every regular file's SHA-256 is recorded in a trailing entry
// (IndexName, in sha256sum format) so that a restore can check each file,
// and a user with only stock tools can run `sha256sum -c` on it. zstd
// compression wraps the tar stream (see Compress / Decompress).
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
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/oserr"
)

// IndexName is the last entry of every archive: "SHA256  path" per file.
// When one of the archive's own top-level names takes it, the index is
// IndexName-2 (or -3, …) and the archive starts with a PAX global header
// saying so (see Checker).
const IndexName = ".lyncbackup-SHA256SUMS"

// Root is one tree (or single file) to pack, stored under Name in the archive.
type Root struct {
	Path string // on disk
	Name string // top-level name inside the archive (slash-separated, no "..")
}

// Options tune Write.
type Options struct {
	// Skip, when it returns true, leaves the entry (and a directory's
	// contents) out. name is the archive path.
	Skip func(name string, fi fs.FileInfo) bool
	// Tolerant turns unreadable, vanished and changing files into warnings
	// instead of errors (file stores with files in use).
	Tolerant bool
	// Progress is called with the count of file bytes read since the last call.
	Progress func(n int64)
	// TempDir holds the spooled index (default os.TempDir()).
	TempDir string
}

// Stats summarise what Write packed.
type Stats struct {
	Files, Dirs, Links, Skipped int64
	Bytes                       int64 // file content bytes
	Warnings                    []string
}

// MaxWarnings caps the warnings kept in Stats; the rest are counted.
const MaxWarnings = 1000

func (s *Stats) warn(format string, a ...any) {
	if len(s.Warnings) < MaxWarnings {
		s.Warnings = append(s.Warnings, fmt.Sprintf(format, a...))
	} else if len(s.Warnings) == MaxWarnings {
		s.Warnings = append(s.Warnings, "more warnings left out")
	}
}

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

type writer struct {
	ctx   context.Context
	tw    *tar.Writer
	opt   Options
	st    Stats
	index *bufio.Writer
	names map[string]bool // root names, to refuse duplicates
	// chk refuses what Extract would refuse, as the entries are packed.
	chk *Checker
	// newest is the latest modification time of the entries packed: the
	// index's own, so the same tree always packs to the same bytes.
	newest time.Time
}

// Write packs roots into a tar stream on w. It does not close w.
func Write(ctx context.Context, w io.Writer, roots []Root, opt Options) (Stats, error) {
	idxFile, err := os.CreateTemp(opt.TempDir, "lyncbackup-index-*")
	if err != nil {
		return Stats{}, fmt.Errorf("create index spool: %w", err)
	}
	defer os.Remove(idxFile.Name())
	defer idxFile.Close()
	pw := &writer{ctx: ctx, tw: tar.NewWriter(w), opt: opt, index: bufio.NewWriter(idxFile), names: map[string]bool{}, chk: NewChecker()}
	// The index must not take the name of anything the archive holds (a
	// root that is itself a file named IndexName): it then gets another
	// name, which a global header at the start announces to readers.
	tops := map[string]bool{}
	for _, r := range roots {
		top, _, _ := strings.Cut(strings.Trim(path.Clean("/"+filepath.ToSlash(r.Name)), "/"), "/")
		tops[top] = true
	}
	if idx := indexNameFor(tops); idx != IndexName {
		g := &tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", Format: tar.FormatPAX,
			PAXRecords: map[string]string{indexRecordKey: indexRecordPrefix + idx}}
		if _, _, err := pw.chk.Entry(g); err != nil {
			return pw.st, err
		}
		if err := pw.tw.WriteHeader(g); err != nil {
			return pw.st, fmt.Errorf("write archive header: %w", err)
		}
	}
	for _, r := range roots {
		if err := pw.root(r); err != nil {
			return pw.st, err
		}
	}
	if err := pw.index.Flush(); err != nil {
		return pw.st, fmt.Errorf("write index spool: %w", err)
	}
	size, err := idxFile.Seek(0, io.SeekCurrent)
	if err != nil {
		return pw.st, err
	}
	if _, err := idxFile.Seek(0, io.SeekStart); err != nil {
		return pw.st, err
	}
	// The index's time is its newest entry's, not the clock's: a second
	// backup of the same tree packs to the same tar, byte for byte.
	mtime := pw.newest.Truncate(time.Second)
	if mtime.IsZero() {
		mtime = time.Unix(0, 0)
	}
	hdr := &tar.Header{Typeflag: tar.TypeReg, Name: pw.chk.IndexEntryName(), Size: size, Mode: 0o644, ModTime: mtime, Format: tar.FormatPAX}
	if _, _, err := pw.chk.Entry(hdr); err != nil {
		return pw.st, err
	}
	if err := pw.tw.WriteHeader(hdr); err != nil {
		return pw.st, fmt.Errorf("write index: %w", err)
	}
	if _, err := io.Copy(pw.tw, idxFile); err != nil {
		return pw.st, fmt.Errorf("write index: %w", err)
	}
	if err := pw.tw.Close(); err != nil {
		return pw.st, fmt.Errorf("finish tar: %w", err)
	}
	return pw.st, nil
}

func (w *writer) root(r Root) error {
	name := strings.Trim(path.Clean("/"+filepath.ToSlash(r.Name)), "/")
	if name == "" || name == "." || strings.Contains(name, "..") {
		return fmt.Errorf("pack %s: invalid archive name %q", r.Path, r.Name)
	}
	if w.names[name] {
		return fmt.Errorf("pack %s: archive name %q used twice", r.Path, name)
	}
	w.names[name] = true
	fi, err := os.Lstat(r.Path)
	if err != nil {
		// A root the user named must exist: that is a config error, not a warning.
		return fmt.Errorf("read %s: %w", r.Path, unwrapPath(err))
	}
	p := r.Path
	if fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 {
		// A root the user named that is a link, a junction or a volume
		// mounted into a folder (D:\LyncShare on another disk) is followed:
		// its content is what they asked for. Stored as itself, it made a
		// complete item of one link entry, every night. Links below it
		// stay links.
		target, err := os.Stat(r.Path)
		if err != nil {
			return fmt.Errorf("read %s: %w", r.Path, unwrapPath(err))
		}
		fi = target
		switch {
		case fi.IsDir() && !strings.HasSuffix(p, string(filepath.Separator)):
			p += string(filepath.Separator) // a path ending in one is followed
		case !fi.IsDir():
			if rp, err := filepath.EvalSymlinks(r.Path); err == nil {
				p = rp // files are opened without following a link
			}
		}
	}
	return w.walk(p, name, fi)
}

// errReplaced is an entry that changed into something else between the
// walk's look and its open.
var errReplaced = errors.New("replaced while being backed up (by a link, a pipe or another file or folder)")

// unwrapPath is the system's error without the path the message names
// already. A share whose server is away (Windows' ERROR_BAD_NETPATH,
// which Go counts as not existing) is said so: "The network path was not
// found." reads as a wrong path.
func unwrapPath(err error) error {
	if oserr.NetPathDown(err) {
		return serverAway{err}
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// serverAway is an error of a share whose server cannot be reached, in
// those words.
type serverAway struct{ err error }

func (e serverAway) Error() string { return oserr.ServerAway }
func (e serverAway) Unwrap() error { return e.err }

// lstatEntry and openWalked are os.Lstat and openEntry (tests put the
// errors of a share whose server is away in their place: Wine gives
// none). An entry the walk listed and then cannot find has vanished; one
// whose share's server went away has not, and fails the item (a warning
// for a tolerant one) instead of being left out as deleted.
var (
	lstatEntry = os.Lstat
	openWalked = openEntry
)

// walk packs one entry and, for a directory, its children in packOrder.
func (w *writer) walk(p, name string, fi fs.FileInfo) error {
	if err := w.ctx.Err(); err != nil {
		return err
	}
	if w.opt.Skip != nil && w.opt.Skip(name, fi) {
		w.st.Skipped++
		return nil
	}
	switch {
	case fi.Mode().IsRegular():
		return w.file(p, name, fi)
	case fileLike(fi):
		return w.file(p, name, regularInfo{fi})
	case fi.IsDir():
		if err := w.header(p, fi, name+"/", ""); err != nil {
			return err
		}
		w.st.Dirs++
		ents, err := readDir(p, fi)
		if err != nil {
			if w.opt.Tolerant {
				w.st.warn("%s: cannot list folder: %v", p, unwrapPath(err))
				return nil
			}
			return fmt.Errorf("list %s: %w", p, unwrapPath(err))
		}
		sort.Slice(ents, func(i, j int) bool { return packOrder(ents[i].Name(), ents[j].Name()) < 0 })
		for _, e := range ents {
			cp := filepath.Join(p, e.Name())
			cfi, err := lstatEntry(cp)
			if err != nil {
				if oserr.Missing(err) {
					w.st.warn("%s: vanished before it was read", cp)
					continue
				}
				if w.opt.Tolerant {
					w.st.warn("%s: %v", cp, unwrapPath(err))
					continue
				}
				return fmt.Errorf("read %s: %w", cp, unwrapPath(err))
			}
			if err := w.walk(cp, name+"/"+e.Name(), cfi); err != nil {
				return err
			}
		}
		return nil
	case fi.Mode()&fs.ModeSymlink != 0:
		target, err := os.Readlink(p)
		if err != nil {
			if w.opt.Tolerant {
				w.st.warn("%s: cannot read link: %v", p, unwrapPath(err))
				return nil
			}
			return fmt.Errorf("read link %s: %w", p, unwrapPath(err))
		}
		if err := w.header(p, fi, name, filepath.ToSlash(target)); err != nil {
			return err
		}
		w.st.Links++
		return nil
	default:
		w.st.warn("%s: skipped special file (%s)", p, fi.Mode().Type())
		w.st.Skipped++
		return nil
	}
}

// packOrder orders a folder's children by extension (compared lower-cased),
// then by name. Files of one kind then follow each other in the stream, as
// 7-Zip's solid archives sort them: a file store's small XML files, spread
// by their numbers among presentations and images, compress with each
// other's text in reach instead of a megabyte of images apart (the
// reference corpus's file store in 1.3 MiB zstd frames at the fastest level:
// 469.6 MB instead of 471.2). The order is stable from night to night, so chunks
// still repeat; readers take entries in any order.
func packOrder(a, b string) int {
	if c := strings.Compare(strings.ToLower(path.Ext(a)), strings.ToLower(path.Ext(b))); c != 0 {
		return c
	}
	return strings.Compare(a, b)
}

func (w *writer) header(p string, fi fs.FileInfo, name, link string) error {
	hdr, err := tar.FileInfoHeader(fi, link)
	if err != nil {
		return fmt.Errorf("pack %s: %w", name, err)
	}
	hdr.Name = name
	// Owner names cost a lookup per file and mean nothing on another server.
	hdr.Uname, hdr.Gname = "", ""
	hdr.Format = tar.FormatPAX
	hdr.ModTime = fi.ModTime()
	if hdr.ModTime.After(w.newest) {
		w.newest = hdr.ModTime
	}
	hdr.AccessTime, hdr.ChangeTime = time.Time{}, time.Time{}
	// What a restore would refuse is an error here, not a set that lists
	// as complete and cannot be restored.
	if _, _, err := w.chk.Entry(hdr); err != nil {
		return fmt.Errorf("pack %s: %w", p, err)
	}
	if err := w.tw.WriteHeader(hdr); err != nil {
		return fmt.Errorf("pack %s: %w", name, err)
	}
	return nil
}

// sizedInfo is a FileInfo whose size is what was read.
type sizedInfo struct {
	fs.FileInfo
	size int64
}

func (s sizedInfo) Size() int64 { return s.size }

// smallFile packs a file that fits buf whole: read first, then its header
// with the size read. A read that fails skips the file (as README says of
// a file failing mid-read, and as restic does); one that shrank is stored
// as it was read, named in a warning.
func (w *writer) smallFile(f *os.File, p, name string, fi fs.FileInfo, buf []byte) error {
	n, err := io.ReadFull(f, buf)
	shrank := errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF)
	if err != nil && !shrank {
		if w.opt.Tolerant {
			w.st.warn("%s: not backed up: read failed: %v", p, unwrapPath(err))
			return nil
		}
		return fmt.Errorf("read %s: %w", p, unwrapPath(err))
	}
	if shrank {
		if !w.opt.Tolerant {
			return fmt.Errorf("read %s: file shrank while being read (%d of %d bytes)", p, n, len(buf))
		}
		w.st.warn("%s: shrank while being read, stored as read (%d of %d bytes)", p, n, len(buf))
		fi = sizedInfo{fi, int64(n)}
	}
	if err := w.header(p, fi, name, ""); err != nil {
		return err
	}
	if _, err := w.tw.Write(buf[:n]); err != nil {
		return fmt.Errorf("pack %s: %w", name, err)
	}
	if w.opt.Progress != nil && n > 0 {
		w.opt.Progress(int64(n))
	}
	if after, err := f.Stat(); !shrank && err == nil && (after.Size() != fi.Size() || !after.ModTime().Equal(fi.ModTime())) {
		w.st.warn("%s: changed while being read (copy may be inconsistent)", p)
	}
	sum := sha256.Sum256(buf[:n])
	w.st.Files++
	w.st.Bytes += int64(n)
	if _, err := w.index.WriteString(indexLine(hex.EncodeToString(sum[:]), name)); err != nil {
		return fmt.Errorf("write index spool: %w", err)
	}
	return nil
}

// regularInfo is an entry read as a file although its mode says irregular:
// on Windows, a file behind a reparse point that is no link (WOF-compressed
// with compact, tiered by Azure File Sync or an HSM). Go reports those as
// irregular, and the walk skipped them as special files in a set it called
// complete; opening one reads its data (recalling a tiered file), as
// robocopy does.
type regularInfo struct{ fs.FileInfo }

func (r regularInfo) Mode() fs.FileMode { return r.FileInfo.Mode() &^ fs.ModeIrregular }

// fileLike reports whether an irregular entry is a file to read: not a
// folder (a junction or mount point is one on Windows), pipe, device or
// socket.
func fileLike(fi fs.FileInfo) bool {
	m := fi.Mode()
	return m&fs.ModeIrregular != 0 && m.Type()&^fs.ModeIrregular == 0 && !folderBehind(fi)
}

// entryType is an entry's type for the checks that it is still what the
// walk saw, irregular counted as regular (see regularInfo).
func entryType(m fs.FileMode) fs.FileMode { return m.Type() &^ fs.ModeIrregular }

func (w *writer) file(p, name string, fi fs.FileInfo) error {
	f, err := openWalked(p)
	if err == nil && (!sameEntry(f, fi) || replaced(p, fi)) {
		f.Close()
		f, err = nil, errReplaced
	}
	if err != nil {
		if oserr.Missing(err) {
			w.st.warn("%s: vanished before it was read", p)
			return nil
		}
		if err == errReplaced || replaced(p, fi) {
			// Never read through what was put there since the walk
			// looked: a link to a file outside the tree, a FIFO that
			// would block the run.
			err = errReplaced
		}
		if w.opt.Tolerant {
			w.st.warn("%s: not backed up: %v", p, unwrapPath(err))
			return nil
		}
		return fmt.Errorf("open %s: %w", p, unwrapPath(err))
	}
	defer f.Close()
	bp := copyBufs.Get().(*[]byte)
	defer copyBufs.Put(bp)
	buf := *bp
	if fi.Size() <= int64(len(buf)) {
		return w.smallFile(f, p, name, fi, buf[:fi.Size()])
	}
	if err := w.header(p, fi, name, ""); err != nil {
		return err
	}
	h := sha256.New()
	var done int64
	size := fi.Size()
	var readErr error
	for done < size {
		if err := w.ctx.Err(); err != nil {
			return err
		}
		chunk := buf
		if rem := size - done; rem < int64(len(chunk)) {
			chunk = chunk[:rem]
		}
		n, err := f.Read(chunk)
		if n > 0 {
			h.Write(chunk[:n])
			if _, werr := w.tw.Write(chunk[:n]); werr != nil {
				return fmt.Errorf("pack %s: %w", name, werr)
			}
			done += int64(n)
			if w.opt.Progress != nil {
				w.opt.Progress(int64(n))
			}
		}
		if err != nil {
			if err != io.EOF {
				readErr = err
			}
			break
		}
	}
	if done < size {
		// The file shrank or a read failed after the header promised size
		// bytes: pad with zeros so the tar stays valid, and say so.
		if readErr != nil && !w.opt.Tolerant {
			return fmt.Errorf("read %s: %w", p, unwrapPath(readErr))
		}
		if !w.opt.Tolerant {
			return fmt.Errorf("read %s: file shrank while being read (%d of %d bytes)", p, done, size)
		}
		read := done
		zero := buf[:min(int64(len(buf)), 1<<16)]
		clear(zero)
		for done < size {
			n := min(int64(len(zero)), size-done)
			h.Write(zero[:n])
			if _, err := w.tw.Write(zero[:n]); err != nil {
				return fmt.Errorf("pack %s: %w", name, err)
			}
			done += n
		}
		// Its header promised size bytes before a byte was read (as GNU
		// tar's): the file is stored, and its warning says the copy is
		// damaged (a file that fits the read buffer is read before its
		// header, and skipped instead).
		if readErr != nil {
			w.st.warn("%s: read failed after %d of %d bytes, the rest stored as zeros (the restored copy is damaged): %v", p, read, size, unwrapPath(readErr))
		} else {
			w.st.warn("%s: shrank while being read, stored padded with zeros", p)
		}
	} else if after, err := f.Stat(); err == nil && (after.Size() != size || !after.ModTime().Equal(fi.ModTime())) {
		w.st.warn("%s: changed while being read (copy may be inconsistent)", p)
	}
	w.st.Files++
	w.st.Bytes += size
	line := indexLine(hex.EncodeToString(h.Sum(nil)), name)
	if _, err := w.index.WriteString(line); err != nil {
		return fmt.Errorf("write index spool: %w", err)
	}
	return nil
}

// indexLine formats one sha256sum line, escaping as GNU coreutils does.
func indexLine(sum, name string) string {
	if strings.ContainsAny(name, "\\\n\r") {
		r := strings.NewReplacer("\\", "\\\\", "\n", "\\n", "\r", "\\r")
		return "\\" + sum + "  " + r.Replace(name) + "\n"
	}
	return sum + "  " + name + "\n"
}

// parseIndexLine is indexLine's inverse.
func parseIndexLine(line string) (sum, name string, ok bool) {
	esc := strings.HasPrefix(line, "\\")
	if esc {
		line = line[1:]
	}
	if len(line) < 67 || line[64:66] != "  " {
		return "", "", false
	}
	sum, name = line[:64], line[66:]
	if _, err := hex.DecodeString(sum); err != nil {
		return "", "", false
	}
	if esc {
		var b strings.Builder
		for i := 0; i < len(name); i++ {
			if name[i] == '\\' && i+1 < len(name) {
				i++
				switch name[i] {
				case 'n':
					b.WriteByte('\n')
				case 'r':
					b.WriteByte('\r')
				default:
					b.WriteByte(name[i])
				}
				continue
			}
			b.WriteByte(name[i])
		}
		name = b.String()
	}
	return sum, name, true
}
