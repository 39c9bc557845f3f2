// Package local is the file:// destination: a local folder or a mounted
// SMB share. A Put writes to a temporary name beside the final one, fsyncs
// it and renames it into place, so a crash never leaves a half object
// under its final name.
package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/oserr"
	"github.com/lyncbackup/lyncbackup/upload"
)

const tmpMarker = ".lbtmp-"

// Store is a folder holding objects as files.
type Store struct {
	root string
	// walk is filepath.WalkDir; tests inject the read errors a root-run
	// test cannot provoke with permissions.
	walk func(root string, fn fs.WalkDirFunc) error
	// rmdir is removeFolder for the folders List clears; tests count it.
	rmdir func(string) error
}

// PathFromURL turns file:///path (or file://server/share/path on Windows) into a local path.
func PathFromURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", fmt.Errorf("destination URL: %v", err)
	}
	if u.Scheme != "file" {
		return "", fmt.Errorf("destination URL %q: not a file:// URL", raw)
	}
	if u.Fragment != "" || u.RawQuery != "" || u.ForceQuery || strings.HasSuffix(raw, "#") {
		// file:///D:/Backups/Lync#2 is the folder Lync with a fragment:
		// taken as it parses, the backups went to another folder.
		return "", fmt.Errorf("destination URL %q: a # or ? in a folder name is written %%23 or %%3F in a URL (file:///D:/Backups/Lync%%232)", raw)
	}
	p := u.Path
	if runtime.GOOS == "windows" {
		switch {
		case isDrive(u.Host): // file://C:/x, a common spelling of file:///C:/x
			p = u.Host + filepath.FromSlash(p)
		case u.Host != "" && u.Host != "localhost":
			if strings.Trim(p, "/") == "" {
				return "", fmt.Errorf("destination URL %q: a share needs its name (file://server/share/path); a local folder is file:///C:/path", raw)
			}
			p = `\\` + u.Host + filepath.FromSlash(p) // UNC share
		case len(p) >= 3 && p[0] == '/' && p[2] == ':':
			p = filepath.FromSlash(p[1:]) // /C:/x -> C:\x
		default:
			p = filepath.FromSlash(p)
		}
	} else if u.Host != "" && u.Host != "localhost" {
		return "", fmt.Errorf("destination URL %q: %q would be a server (file URLs with a host are only for Windows shares); a folder is file:///absolute/path, a share is mounted and named file:///mount/point", raw, u.Host)
	}
	if p == "" {
		return "", fmt.Errorf("destination URL %q: no absolute path (a folder is file:///absolute/path)", raw)
	}
	if runtime.GOOS == "windows" && len(p) == 2 && isDrive(p) {
		// "D:" is the current folder of drive D, wherever that is.
		return "", fmt.Errorf("destination URL %q: a drive alone is no folder: write file:///%s/ for its root", raw, p)
	}
	return p, nil
}

// isDrive reports whether host is a drive letter with its colon ("C:").
func isDrive(host string) bool {
	return len(host) == 2 && host[1] == ':' && (host[0]|0x20 >= 'a' && host[0]|0x20 <= 'z')
}

// statRoot is os.Stat (tests put the errors of a share whose server is
// away in its place: Wine gives none).
var statRoot = os.Stat

// Open returns a store rooted at dir, which must exist and be a folder.
func Open(dir string) (*Store, error) {
	fi, err := statRoot(dir)
	if err != nil {
		// Below a file, Linux says "not a directory" and Windows "the
		// path was not found": both get the real cause, the file.
		if f := fileAbove(dir); f != "" {
			return nil, fmt.Errorf("destination folder %s cannot exist: %s is a file, not a folder", dir, f)
		}
		if missing(err) {
			return nil, &openError{fmt.Sprintf("destination folder %s does not exist", dir), []error{upload.ErrNotFound, err}}
		}
		return nil, &openError{fmt.Sprintf("destination folder %s: %v", dir, unwrap(err)), []error{err}}
	}
	if !fi.IsDir() {
		return nil, fmt.Errorf("destination %s is not a folder", dir)
	}
	return &Store{root: dir, walk: walkFollowingRoot, rmdir: removeFolder}, nil
}

// openError is why Open failed, in its own words (the path once), and
// the system's error underneath it: what the destination's check makes of
// it is decided by the system's code, which the text in the system's
// language does not tell, and a missing folder is upload.ErrNotFound.
type openError struct {
	msg  string
	errs []error
}

func (e *openError) Error() string   { return e.msg }
func (e *openError) Unwrap() []error { return e.errs }

// walkFollowingRoot is filepath.WalkDir that enters root also when root is
// a symbolic link, a junction or a volume mounted into a folder (a backup
// disk mounted as D:\Backups): WalkDir looks at its root without following
// it, and saw a file there, so listings found nothing. A path ending in a
// separator is followed, on Linux and on Windows alike; the callback still
// gets root as given.
//
// Links to folders inside root are entered the same way (a host's folder
// moved to another disk and linked back): WalkDir does not follow them, so
// that host's sets were never listed, and its backups failed with "vanished
// before the commit". fn sees such a link as a folder. A link back to a
// folder the walk is already in (a loop) is an error naming it.
func walkFollowingRoot(root string, fn fs.WalkDirFunc) error {
	return walkFollowing(root, []string{root}, fn)
}

// walkFollowing walks dir, which is root or a followed link; stack holds
// the folders the walk went through from root to dir.
func walkFollowing(dir string, stack []string, fn fs.WalkDirFunc) error {
	start := dir
	if !strings.HasSuffix(dir, string(filepath.Separator)) {
		start = dir + string(filepath.Separator)
	}
	return filepath.WalkDir(start, func(p string, d fs.DirEntry, err error) error {
		if p == start {
			p = dir
		}
		if err != nil || p == dir || d.Type()&(fs.ModeSymlink|fs.ModeIrregular) == 0 {
			return fn(p, d, err)
		}
		fi, serr := os.Stat(p)
		if serr != nil || !fi.IsDir() {
			return fn(p, d, err) // a link to a file, or dangling: as it is
		}
		for a := filepath.Dir(p); ; a = filepath.Dir(a) {
			if ai, err := os.Stat(a); err == nil && os.SameFile(ai, fi) {
				return fmt.Errorf("%s links back to %s, which holds it: remove the link", p, a)
			}
			if a == stack[0] || filepath.Dir(a) == a {
				break
			}
		}
		if err := fn(p, fs.FileInfoToDirEntry(fi), nil); err != nil {
			if err == filepath.SkipDir {
				return nil
			}
			return err
		}
		return walkFollowing(p, append(stack, p), func(q string, e fs.DirEntry, err error) error {
			if q == p && err == nil {
				return nil // fn saw it above
			}
			return fn(q, e, err)
		})
	})
}

// removeFolder removes the empty folder p, never a link to a folder (os.Remove
// would remove the link, and the next backup would write where it stood).
func removeFolder(p string) error {
	fi, err := os.Lstat(p)
	if err != nil {
		return err
	}
	if fi.Mode()&(fs.ModeSymlink|fs.ModeIrregular) != 0 || !fi.IsDir() {
		return fmt.Errorf("%s is not a folder", p)
	}
	return os.Remove(p)
}

// fileAbove returns the nearest existing ancestor of path when it is not
// a folder ("" when it is one, or none can be read).
func fileAbove(path string) string {
	for p := filepath.Dir(path); ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil {
			if fi.IsDir() {
				return ""
			}
			return p
		}
		if parent := filepath.Dir(p); parent == p {
			return ""
		}
	}
}

// sysErr is a system error that prints as unwrap does (the system's
// words, without the path the message names already) and still unwraps
// to the error with its code (errno, Windows' ERROR_*), by which the
// cause is judged: the words are in the system's language.
type sysErr struct{ err error }

func (e sysErr) Error() string { return unwrap(e.err).Error() }
func (e sysErr) Unwrap() error { return e.err }

// unwrap is the system's error without the path the message names
// already. A share whose server is away (Windows' ERROR_BAD_NETPATH) is
// said so: "The network path was not found." reads as a wrong path.
func unwrap(err error) error {
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

func (s *Store) String() string { return "file://" + filepath.ToSlash(s.root) }

func (s *Store) path(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return "", fmt.Errorf("invalid key %q", key)
	}
	for _, p := range strings.Split(key, "/") {
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("invalid key %q", key)
		}
	}
	return filepath.Join(s.root, filepath.FromSlash(key)), nil
}

func randSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Put implements upload.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, _ upload.PutOptions) (upload.ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return upload.ObjectInfo{}, err
	}
	tmp := p + tmpMarker + randSuffix()
	made := s.absentDirs(filepath.Dir(p))
	var f *os.File
	// List removes empty folders: one may vanish between MkdirAll and the
	// create, so try again (the new file then keeps it).
	for try := 0; ; try++ {
		if err = os.MkdirAll(filepath.Dir(p), 0o755); err == nil {
			f, err = os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		}
		if err == nil || !missing(err) || try == 3 {
			break
		}
	}
	if err != nil {
		return upload.ObjectInfo{}, fmt.Errorf("put %s: %w", key, sysErr{err})
	}
	fail := func(err error) (upload.ObjectInfo, error) {
		f.Close()
		os.Remove(tmp)
		s.removeEmptyParents(p)
		return upload.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	// 1 MiB writes: io.Copy's 32 KiB chunks cost ~2 s of write syscalls
	// per GiB. (Hiding ReadFrom makes CopyBuffer use our buffer.) The
	// buffers are reused: a chunked backup puts ~900 objects per GiB, and
	// a fresh buffer each was 890 MB of allocation per GiB.
	buf := copyBufs.Get().(*[]byte)
	n, err := io.CopyBuffer(struct{ io.Writer }{f}, ctxReader{ctx, r}, *buf)
	copyBufs.Put(buf)
	if err != nil {
		return fail(err)
	}
	if err := f.Sync(); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(tmp)
		return upload.ObjectInfo{}, fmt.Errorf("put %s: %w", key, err)
	}
	if err := os.Rename(tmp, p); err != nil {
		os.Remove(tmp)
		return upload.ObjectInfo{}, fmt.Errorf("put %s: %w", key, sysErr{err})
	}
	syncFolder(filepath.Dir(p))
	// The folders this Put made (a new set's, a new chunks/xx): each
	// one's entry in its parent, or a power cut may lose a committed
	// set's folder on a file system that does not order these writes.
	for _, d := range made {
		syncFolder(filepath.Dir(d))
	}
	return upload.ObjectInfo{Key: key, Size: n, ModTime: time.Now()}, nil
}

// absentDirs lists dir and the folders above it, below the root, that do
// not exist yet, deepest first.
func (s *Store) absentDirs(dir string) []string {
	var out []string
	for d := dir; len(d) > len(s.root); d = filepath.Dir(d) {
		if _, err := os.Lstat(d); err == nil {
			break
		}
		out = append(out, d)
	}
	return out
}

// syncFolder is syncDir; tests count its calls.
var syncFolder = syncDir

var copyBufs = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return // directories cannot be fsynced there; NTFS journals the rename
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync()
		d.Close()
	}
}

type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Get implements upload.Store.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(p)
	if err != nil {
		if missing(err) {
			return nil, fmt.Errorf("get %s: %w", key, upload.ErrNotFound)
		}
		return nil, fmt.Errorf("get %s: %v", key, unwrap(err))
	}
	if offset > 0 {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			f.Close()
			return nil, fmt.Errorf("get %s: %v", key, err)
		}
	}
	if length < 0 {
		return f, nil
	}
	return struct {
		io.Reader
		io.Closer
	}{io.LimitReader(f, length), f}, nil
}

// Stat implements upload.Store.
func (s *Store) Stat(ctx context.Context, key string) (upload.ObjectInfo, error) {
	p, err := s.path(key)
	if err != nil {
		return upload.ObjectInfo{}, err
	}
	fi, err := os.Stat(p)
	if err != nil {
		if missing(err) {
			return upload.ObjectInfo{}, fmt.Errorf("stat %s: %w", key, upload.ErrNotFound)
		}
		return upload.ObjectInfo{}, fmt.Errorf("stat %s: %v", key, unwrap(err))
	}
	return upload.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Folders implements upload.Folderer: the folders of one directory.
func (s *Store) Folders(ctx context.Context, prefix string) ([]string, error) {
	dir := s.root
	if prefix != "" {
		p, err := s.path(strings.TrimSuffix(prefix, "/"))
		if err != nil {
			return nil, err
		}
		dir = p
	}
	ents, err := os.ReadDir(dir)
	if missing(err) && prefix != "" {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("list %s: %v", prefix, unwrap(err))
	}
	var out []string
	for _, e := range ents {
		switch {
		case e.IsDir():
			out = append(out, e.Name())
		case e.Type()&(fs.ModeSymlink|fs.ModeIrregular) != 0:
			// A link to a folder (a host's folder on another disk) is one,
			// as the listing's walk takes it.
			if fi, err := os.Stat(filepath.Join(dir, e.Name())); err == nil && fi.IsDir() {
				out = append(out, e.Name())
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// List implements upload.Store. Temporary files of unfinished Puts are not listed.
//
// Empty folders it walks through at or below prefix are removed: a set folder left empty by a
// failed or killed run (or by a crash between a delete and its folder's
// removal) holds nothing and would otherwise stay for ever.
func (s *Store) List(ctx context.Context, prefix string, fn func(upload.ObjectInfo) error) error {
	var keys []upload.ObjectInfo
	var dirs []string
	children := map[string]int{} // entries the walk saw in each folder
	err := s.walk(s.root, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(s.root, p)
		key := filepath.ToSlash(rel)
		if err != nil {
			// Gone since its folder was read (a concurrent delete): it is
			// not there. Anything else (an unreadable set folder) must not
			// make sets silently disappear from list and prune.
			if p != s.root && missing(err) {
				return nil
			}
			if p == s.root {
				return err
			}
			return fmt.Errorf("cannot read %s: %v", key, unwrap(err))
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if p != s.root {
			children[filepath.Dir(p)]++
		}
		if d.IsDir() {
			if p != s.root && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			// Only folders at or below the prefix: the ones above it (a
			// host folder, for a set's listing) are shared with the
			// listings running beside this one, and on Windows an attempt
			// to remove a folder (DELETE access) makes it unreadable to
			// them meanwhile ("Sharing violation").
			if p != s.root && strings.HasPrefix(key+"/", prefix) {
				dirs = append(dirs, p)
			}
			return nil
		}
		if !strings.HasPrefix(key, prefix) || strings.Contains(path.Base(key), tmpMarker) {
			return nil
		}
		fi, err := d.Info()
		if missing(err) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("cannot read %s: %v", key, unwrap(err))
		}
		keys = append(keys, upload.ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return fmt.Errorf("list %s: %v", prefix, unwrap(err))
	}
	// Deepest first, so that a host folder emptied by its last set goes
	// too. Only folders the walk found empty are tried: on Windows even a
	// failed attempt (DELETE access) makes the folder unreadable to a
	// listing beside this one for that moment ("Sharing violation").
	for i := len(dirs) - 1; i >= 0; i-- {
		if children[dirs[i]] > 0 || s.rmdir(dirs[i]) != nil {
			continue
		}
		children[filepath.Dir(dirs[i])]--
		// A top folder of the listed range went (a set folder left empty):
		// the folders above it go too if that emptied them. Only then is
		// removing a shared folder tried.
		if rel, err := filepath.Rel(s.root, filepath.Dir(dirs[i])); err == nil && !strings.HasPrefix(filepath.ToSlash(rel)+"/", prefix) {
			s.removeEmptyParents(dirs[i])
		}
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].Key < keys[j].Key })
	for _, k := range keys {
		if err := fn(k); err != nil {
			return err
		}
	}
	return nil
}

// Delete implements upload.Store; empty parent folders are removed too.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	if err := os.Remove(p); err != nil && !missing(err) {
		return fmt.Errorf("delete %s: %v", key, unwrap(err))
	}
	s.removeEmptyParents(p)
	return nil
}

// removeEmptyParents removes the folders above p that are empty, up to
// (not including) the root.
func (s *Store) removeEmptyParents(p string) {
	for dir := filepath.Dir(p); dir != s.root && strings.HasPrefix(dir, s.root); dir = filepath.Dir(dir) {
		if removeFolder(dir) != nil {
			break
		}
	}
}

// AbortStale removes temporary files of Puts that never finished (a crash),
// and the folders that leaves empty (a killed backup's set folder, whose
// objects prune deleted while the file was still there), as Delete does.
func (s *Store) AbortStale(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	n := 0
	err := s.walk(s.root, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			return nil // best effort: what cannot be read now is tried next time
		}
		rel, _ := filepath.Rel(s.root, p)
		if d.IsDir() {
			// Only the folders on the way to prefix and below it: another
			// host's chunk folders are not this sweep's to read.
			key := filepath.ToSlash(rel)
			if p != s.root && !strings.HasPrefix(key+"/", prefix) && !strings.HasPrefix(prefix, key+"/") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasPrefix(filepath.ToSlash(rel), prefix) || !strings.Contains(d.Name(), tmpMarker) {
			return nil
		}
		if fi, err := d.Info(); err == nil && fi.ModTime().Before(olderThan) {
			if os.Remove(p) == nil {
				n++
				s.removeEmptyParents(p)
			}
		}
		return nil
	})
	return n, err
}

// Probe implements upload.Prober.
func (s *Store) Probe(ctx context.Context) (upload.ProbeReport, error) {
	rep := upload.ProbeReport{Exists: true, Versioning: "n/a", ObjectLock: "n/a"}
	key := ".lyncbackup-probe-" + randSuffix()
	data := "lyncbackup probe " + time.Now().UTC().Format(time.RFC3339)
	if _, err := s.Put(ctx, key, strings.NewReader(data), upload.PutOptions{}); err != nil {
		return rep, fmt.Errorf("folder %s is %w: %w", s.root, upload.ErrNotWritable, err)
	}
	rep.Writable = true
	rc, err := s.Get(ctx, key, 0, -1)
	if err == nil {
		b, _ := io.ReadAll(rc)
		rc.Close()
		rep.Readable = string(b) == data
	}
	if err := s.Delete(ctx, key); err == nil {
		rep.Deletable = true
	}
	rep.Notes = append(rep.Notes, "local folders have no object lock: protect them with share permissions or use S3/Azure for immutability")
	return rep, nil
}

// missing reports a file or folder that is not there. On Windows, Go also
// counts ERROR_BAD_NETPATH ("the network path was not found": the server
// of \\nas\backups is down or its name does not resolve) as not existing;
// that is the NAS being away, not the object, and must not read as a
// missing object, a successful delete or an empty folder.
func missing(err error) bool { return oserr.Missing(err) }

// Now implements upload.Clock: the modification time of a temporary file
// written in the folder and removed at once. On a share that is the file
// server's clock, which stamps every object; a listing never shows the
// file (tmpMarker). Where the top folder takes no file (a share where the
// service account may write only below its host's folder), the first
// folder below it that does (a host's) tells the time: the same clock.
// Where no folder takes a file because the destination is read-only for
// this account (the top and every folder below it refused as read-only,
// at most maxClockProbes of them), the error wraps upload.ErrReadOnly.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	t, first := s.probeTime(s.root)
	if first == nil {
		return t, nil
	}
	// Read-only only when every folder was tried and refused a file as
	// read-only: a share where this account may write only its own host's
	// folder, past the probes' limit, is not (prune there works).
	everyOne := readOnly(first)
	ents, err := os.ReadDir(s.root)
	if err != nil {
		everyOne = false
	}
	tried := 0
	for _, e := range ents {
		if !e.IsDir() || strings.Contains(e.Name(), tmpMarker) {
			continue
		}
		if tried == maxClockProbes {
			everyOne = false
			break
		}
		tried++
		t, err := s.probeTime(filepath.Join(s.root, e.Name()))
		if err == nil {
			return t, nil
		}
		everyOne = everyOne && readOnly(err)
	}
	if everyOne {
		return time.Time{}, fmt.Errorf("learn the time of %s: %w (no file can be written in it: %w)", s, upload.ErrReadOnly, first)
	}
	return time.Time{}, fmt.Errorf("learn the time of %s: %w", s, first)
}

// readOnly reports a refusal to create a file: no permission (the
// account may only read; on Windows, access denied), a file system
// mounted read-only, or on Windows a write-protected medium.
func readOnly(err error) bool { return oserr.Denied(err) || oserr.ReadOnly(err) }

// maxClockProbes bounds the folders below the top Now tries.
const maxClockProbes = 16

// createProbe creates Now's temporary file (a variable for the tests).
var createProbe = func(p string) (*os.File, error) {
	return os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
}

// probeTime writes a temporary file in dir, reads its modification time
// and removes it.
func (s *Store) probeTime(dir string) (time.Time, error) {
	p := filepath.Join(dir, "clock"+tmpMarker+randSuffix())
	f, err := createProbe(p)
	if err != nil {
		return time.Time{}, err
	}
	fi, err := f.Stat()
	f.Close()
	os.Remove(p)
	if err != nil {
		return time.Time{}, err
	}
	return fi.ModTime().UTC(), nil
}
