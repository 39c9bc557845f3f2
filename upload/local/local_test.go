package local

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
)

var _ upload.Store = (*Store)(nil)
var _ upload.Janitor = (*Store)(nil)
var _ upload.Prober = (*Store)(nil)

func open(t *testing.T) (*Store, string) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return s, dir
}

// files lists every file below dir, temporary ones included.
func files(t *testing.T, dir string) []string {
	var out []string
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	return out
}

func get(t *testing.T, s *Store, key string, off, n int64) string {
	t.Helper()
	rc, err := s.Get(context.Background(), key, off, n)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestPutGetStatDelete(t *testing.T) {
	s, dir := open(t)
	ctx := context.Background()
	info, err := s.Put(ctx, "h/set/a.tar.zst.age", strings.NewReader("0123456789"), upload.PutOptions{})
	if err != nil || info.Size != 10 || info.Key != "h/set/a.tar.zst.age" {
		t.Fatalf("Put = %+v, %v", info, err)
	}
	for _, c := range []struct {
		off, n int64
		want   string
	}{{0, -1, "0123456789"}, {3, -1, "3456789"}, {3, 4, "3456"}, {0, 0, ""}, {9, 5, "9"}, {20, -1, ""}} {
		if got := get(t, s, "h/set/a.tar.zst.age", c.off, c.n); got != c.want {
			t.Errorf("Get(%d, %d) = %q, want %q", c.off, c.n, got, c.want)
		}
	}
	st, err := s.Stat(ctx, "h/set/a.tar.zst.age")
	if err != nil || st.Size != 10 {
		t.Fatalf("Stat = %+v, %v", st, err)
	}
	// Overwrite replaces.
	if _, err := s.Put(ctx, "h/set/a.tar.zst.age", strings.NewReader("new"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := get(t, s, "h/set/a.tar.zst.age", 0, -1); got != "new" {
		t.Errorf("after overwrite: %q", got)
	}
	if _, err := s.Get(ctx, "h/set/missing", 0, -1); !errors.Is(err, upload.ErrNotFound) {
		t.Errorf("Get missing: %v", err)
	}
	if _, err := s.Stat(ctx, "h/missing"); !errors.Is(err, upload.ErrNotFound) {
		t.Errorf("Stat missing: %v", err)
	}
	s.Put(ctx, "h/keep", strings.NewReader("k"), upload.PutOptions{})
	if err := s.Delete(ctx, "h/set/a.tar.zst.age"); err != nil {
		t.Fatal(err)
	}
	// The emptied set folder is pruned; h stays (it holds "keep"); the root stays.
	if _, err := os.Stat(filepath.Join(dir, "h", "set")); !os.IsNotExist(err) {
		t.Errorf("empty folder not pruned: %v", err)
	}
	if err := s.Delete(ctx, "h/keep"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "h")); !os.IsNotExist(err) {
		t.Errorf("empty host folder not pruned: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("root removed: %v", err)
	}
	if err := s.Delete(ctx, "h/never"); err != nil {
		t.Errorf("Delete missing: %v", err)
	}
}

func TestDeletePrunesWithTrailingSlashAndRelativeRoot(t *testing.T) {
	dir := t.TempDir()
	for _, root := range []string{dir + string(filepath.Separator), relTo(t, dir)} {
		s, err := Open(root)
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := s.Put(ctx, "a/b/c", strings.NewReader("x"), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := s.Delete(ctx, "a/b/c"); err != nil {
			t.Fatal(err)
		}
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("root %q: left %v", root, ents)
		}
		if _, err := os.Stat(dir); err != nil {
			t.Fatalf("root %q removed", root)
		}
	}
}

// relTo makes the working folder dir's parent and returns dir relative to
// it (the package folder and the temp folder can be on different drives
// on Windows, where no relative path joins them).
func relTo(t *testing.T, dir string) string {
	t.Chdir(filepath.Dir(dir))
	return filepath.Base(dir)
}

func TestInvalidKeys(t *testing.T) {
	s, dir := open(t)
	ctx := context.Background()
	for _, k := range []string{"", "/abs", "a/../../x", "..", "a//b", "./a", "a\\b", "a/"} {
		if _, err := s.Put(ctx, k, strings.NewReader("x"), upload.PutOptions{}); err == nil {
			t.Errorf("Put(%q) accepted", k)
		}
		if _, err := s.Get(ctx, k, 0, -1); err == nil {
			t.Errorf("Get(%q) accepted", k)
		}
		if err := s.Delete(ctx, k); err == nil {
			t.Errorf("Delete(%q) accepted", k)
		}
	}
	if f := files(t, filepath.Dir(dir)); len(f) != 0 {
		t.Errorf("files written: %v", f)
	}
}

type failingReader struct{ n int }

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n <= 0 {
		return 0, errors.New("source broke")
	}
	f.n--
	return copy(p, "some data"), nil
}

func TestPutFailureLeavesNothing(t *testing.T) {
	s, dir := open(t)
	if _, err := s.Put(context.Background(), "h/set/a", &failingReader{n: 3}, upload.PutOptions{}); err == nil || !strings.Contains(err.Error(), "source broke") {
		t.Fatalf("Put = %v", err)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("left behind: %v", f)
	}
	// Cancelled mid-stream.
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte("first part"))
		cancel()
		pw.Write([]byte("second part")) // unblocked by Put returning
		pw.Close()
	}()
	_, err := s.Put(ctx, "h/set/b", pr, upload.PutOptions{})
	pr.Close()
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Put = %v", err)
	}
	if f := files(t, dir); len(f) != 0 {
		t.Fatalf("left behind after cancel: %v", f)
	}
	// Not even the folders the Put made.
	if _, err := os.Stat(filepath.Join(dir, "h")); !os.IsNotExist(err) {
		t.Fatalf("a failed Put left its folder (%v)", err)
	}
	// An existing object survives a failed overwrite.
	s.Put(context.Background(), "h/set/c", strings.NewReader("good"), upload.PutOptions{})
	s.Put(context.Background(), "h/set/c", &failingReader{n: 1}, upload.PutOptions{})
	if got := get(t, s, "h/set/c", 0, -1); got != "good" {
		t.Fatalf("failed overwrite damaged the object: %q", got)
	}
}

func TestListOrderPrefixAndTemp(t *testing.T) {
	s, dir := open(t)
	ctx := context.Background()
	keys := []string{"h2/b", "h1/s2/x", "h1/s1/z", "h1/s1/a", "h10/a", "top"}
	for _, k := range keys {
		s.Put(ctx, k, strings.NewReader(k), upload.PutOptions{})
	}
	// A crashed Put's temporary file is invisible.
	os.WriteFile(filepath.Join(dir, "h1", "s1", "m"+tmpMarker+"abc"), []byte("half"), 0o644)
	list := func(prefix string) string {
		var out []string
		if err := s.List(ctx, prefix, func(o upload.ObjectInfo) error {
			if o.Size != int64(len(o.Key)) {
				t.Errorf("%s: size %d", o.Key, o.Size)
			}
			out = append(out, o.Key)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return strings.Join(out, " ")
	}
	cases := map[string]string{
		"":        "h1/s1/a h1/s1/z h1/s2/x h10/a h2/b top",
		"h1/":     "h1/s1/a h1/s1/z h1/s2/x",
		"h1":      "h1/s1/a h1/s1/z h1/s2/x h10/a",
		"h1/s1/":  "h1/s1/a h1/s1/z",
		"h1/s1/z": "h1/s1/z",
		"nope/":   "",
	}
	for prefix, want := range cases {
		if got := list(prefix); got != want {
			t.Errorf("List(%q) = %q, want %q", prefix, got, want)
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := s.List(ctx, "", func(upload.ObjectInfo) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Errorf("callback error: %v after %d", err, n)
	}
}

func TestAbortStale(t *testing.T) {
	s, dir := open(t)
	ctx := context.Background()
	s.Put(ctx, "h/s/obj", strings.NewReader("x"), upload.PutOptions{})
	old := filepath.Join(dir, "h", "s", "a"+tmpMarker+"old")
	fresh := filepath.Join(dir, "h", "s", "b"+tmpMarker+"new")
	other := filepath.Join(dir, "x", "c"+tmpMarker+"old")
	os.MkdirAll(filepath.Dir(other), 0o755)
	for _, p := range []string{old, fresh, other} {
		os.WriteFile(p, []byte("half"), 0o644)
	}
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(old, past, past)
	os.Chtimes(other, past, past)
	n, err := s.AbortStale(ctx, "h/", time.Now().Add(-24*time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("AbortStale = %d, %v", n, err)
	}
	got := strings.Join(files(t, dir), " ")
	if want := "h/s/b" + tmpMarker + "new h/s/obj x/c" + tmpMarker + "old"; got != want {
		t.Fatalf("left %q, want %q", got, want)
	}
}

// TestAbortStaleRemovesEmptiedFolders: a backup killed while it wrote (a
// lease refresh's temporary file) left a temporary file in its set's
// folder; prune deleted the set's objects (the folder stayed: it held the
// file) and then the stale file, but left the folder, empty, and its
// host's: the set's folder outlived its set until the next list or prune.
// Removing the last file of a folder removes the folder, as Delete does.
func TestAbortStaleRemovesEmptiedFolders(t *testing.T) {
	s, dir := open(t)
	ctx := context.Background()
	stale := filepath.Join(dir, "h", "20261201T010000Z-ab12cd", "lease.json"+tmpMarker+"old")
	os.MkdirAll(filepath.Dir(stale), 0o755)
	os.WriteFile(stale, []byte("half"), 0o644)
	past := time.Now().Add(-48 * time.Hour)
	os.Chtimes(stale, past, past)
	if n, err := s.AbortStale(ctx, "h/", time.Now().Add(-24*time.Hour)); err != nil || n != 1 {
		t.Fatalf("AbortStale = %d, %v", n, err)
	}
	if _, err := os.Stat(filepath.Join(dir, "h")); !os.IsNotExist(err) {
		t.Errorf("the emptied set folder and its host's remain (%v)", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the store's folder went: %v", err)
	}
}

func TestOpenAndURL(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing: %v", err)
	}
	f := filepath.Join(dir, "file")
	os.WriteFile(f, nil, 0o644)
	if _, err := Open(f); err == nil || !strings.Contains(err.Error(), "not a folder") {
		t.Errorf("file: %v", err)
	}
	for _, below := range []string{filepath.Join(f, "sub"), filepath.Join(f, "sub", "deeper")} {
		_, err := Open(below)
		if err == nil || !strings.Contains(err.Error(), f+" is a file, not a folder") {
			t.Errorf("path below a file: %v, want the file named as the cause", err)
		}
	}
	if runtime.GOOS == "windows" {
		for in, want := range map[string]string{
			"file:///C:/Backups/lync": `C:\Backups\lync`, "file://C:/Backups": `C:\Backups`, "file://d:/x%20y": `d:\x y`,
			"file://localhost/C:/b": `C:\b`, "file://fs01/backups/lync": `\\fs01\backups\lync`,
		} {
			if got, err := PathFromURL(in); err != nil || got != want {
				t.Errorf("PathFromURL(%q) = %q, %v; want %q", in, got, err, want)
			}
		}
	}
	if runtime.GOOS != "windows" {
		for in, want := range map[string]string{"file:///srv/backups": "/srv/backups", "file://localhost/srv/b": "/srv/b", "file:///a%20b": "/a b"} {
			if got, err := PathFromURL(in); err != nil || got != want {
				t.Errorf("PathFromURL(%q) = %q, %v", in, got, err)
			}
		}
		for _, bad := range []string{"file://server/share", "s3://b/p", "file://", "%zz"} {
			if got, err := PathFromURL(bad); err == nil {
				t.Errorf("PathFromURL(%q) = %q, want error", bad, got)
			}
		}
	}
	s, _ := Open(dir)
	rep, err := s.Probe(context.Background())
	if err != nil || !rep.Writable || !rep.Readable || !rep.Deletable {
		t.Fatalf("Probe = %+v, %v", rep, err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("probe left files: %v", ents)
	}
}

// failingWalk is filepath.WalkDir with the read of folder bad failing as an
// unreadable folder's does (WalkDir's second call with the error), which a
// test running as root or on Windows cannot provoke with permissions.
func failingWalk(bad string, err error) func(string, fs.WalkDirFunc) error {
	return func(root string, fn fs.WalkDirFunc) error {
		return filepath.WalkDir(root, func(p string, d fs.DirEntry, werr error) error {
			if p != bad || werr != nil || !d.IsDir() {
				return fn(p, d, werr)
			}
			if r := fn(p, d, nil); r != nil {
				return r
			}
			if r := fn(p, d, &fs.PathError{Op: "open", Path: p, Err: err}); r != nil {
				return r
			}
			return filepath.SkipDir
		})
	}
}

// An unreadable set folder is an error of List, not a set that silently
// vanishes from list and from prune's decisions; a file deleted while the
// walk runs is simply not listed.
func TestListReportsUnreadableFolders(t *testing.T) {
	s, dir := open(t)
	ctx := context.Background()
	for _, k := range []string{"h/a/x", "h/b/y", "h/c/z"} {
		if _, err := s.Put(ctx, k, strings.NewReader(k), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	s.walk = failingWalk(filepath.Join(dir, "h", "b"), fs.ErrPermission)
	err := s.List(ctx, "h/", func(upload.ObjectInfo) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "h/b") || !strings.Contains(err.Error(), "permission denied") {
		t.Fatalf("list over an unreadable set folder: %v", err)
	}
	// Outside the prefix the folder is never read: no error.
	if err := s.List(ctx, "h/a/", func(upload.ObjectInfo) error { return nil }); err != nil {
		t.Fatalf("list of another prefix: %v", err)
	}
	s.walk = failingWalk(filepath.Join(dir, "h", "b"), fs.ErrNotExist)
	var keys []string
	if err := s.List(ctx, "h/", func(o upload.ObjectInfo) error { keys = append(keys, o.Key); return nil }); err != nil {
		t.Fatalf("list with a folder deleted meanwhile: %v", err)
	}
	if strings.Join(keys, " ") != "h/a/x h/c/z" {
		t.Fatalf("keys %v", keys)
	}
}

// AbortStale stops when its context is cancelled.
func TestAbortStaleHonoursContext(t *testing.T) {
	s, dir := open(t)
	for i := range 3 {
		p := filepath.Join(dir, "h", "s", "obj"+tmpMarker+strconv.Itoa(i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		os.WriteFile(p, []byte("x"), 0o644)
		old := time.Now().Add(-48 * time.Hour)
		os.Chtimes(p, old, old)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	n, err := s.AbortStale(ctx, "h/", time.Now().Add(-24*time.Hour))
	if !errors.Is(err, context.Canceled) || n != 0 {
		t.Fatalf("cancelled AbortStale = %d, %v", n, err)
	}
	if n, err := s.AbortStale(context.Background(), "h/", time.Now().Add(-24*time.Hour)); err != nil || n != 3 {
		t.Fatalf("AbortStale = %d, %v", n, err)
	}
}

// List removes the empty folders it walks through (a failed or killed run's
// set folder), deepest first, and nothing else.
func TestListRemovesEmptyFolders(t *testing.T) {
	s, dir := open(t)
	for _, d := range []string{"fe01/20261125T020000Z-a1b2c3", "fe02/20261126T020000Z-d4e5f6", "fe01/x/y/z"} {
		os.MkdirAll(filepath.Join(dir, filepath.FromSlash(d)), 0o755)
	}
	s.Put(context.Background(), "fe01/20261127T020000Z-000000/manifest.json", strings.NewReader("{}"), upload.PutOptions{})
	n := 0
	if err := s.List(context.Background(), "", func(upload.ObjectInfo) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("List: %d objects, %v", n, err)
	}
	for _, d := range []string{"fe01/20261125T020000Z-a1b2c3", "fe02", "fe01/x"} {
		if _, err := os.Stat(filepath.Join(dir, filepath.FromSlash(d))); !os.IsNotExist(err) {
			t.Errorf("empty folder %s remains (%v)", d, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "fe01", "20261127T020000Z-000000", "manifest.json")); err != nil {
		t.Errorf("the object went: %v", err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Errorf("the root went: %v", err)
	}
	// A Put into a folder that List just removed still succeeds.
	if _, err := s.Put(context.Background(), "fe02/20261126T020000Z-d4e5f6/lease.json", strings.NewReader("{}"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

// A listing of one set's folder (what verify and restore do) removes that
// folder when it is empty, and then the host folder above it if that
// emptied it; a listing of a set that holds objects removes nothing.
func TestListOfAnEmptySetFolder(t *testing.T) {
	s, dir := open(t)
	os.MkdirAll(filepath.Join(dir, "fe01", "20261125T020000Z-a1b2c3"), 0o755)
	os.MkdirAll(filepath.Join(dir, "fe03", "20261125T020000Z-a1b2c3", "sub", "sub"), 0o755)
	if _, err := s.Put(context.Background(), "fe02/20261126T020000Z-d4e5f6/manifest.json", strings.NewReader("{}"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "fe02", "20261127T020000Z-000000"), 0o755)
	list := func(prefix string, want int) {
		t.Helper()
		n := 0
		if err := s.List(context.Background(), prefix, func(upload.ObjectInfo) error { n++; return nil }); err != nil || n != want {
			t.Fatalf("List %s: %d objects (want %d), %v", prefix, n, want, err)
		}
	}
	exists := func(rel string) bool {
		_, err := os.Stat(filepath.Join(dir, filepath.FromSlash(rel)))
		return err == nil
	}
	list("fe02/20261126T020000Z-d4e5f6/", 1)
	if !exists("fe02/20261126T020000Z-d4e5f6/manifest.json") || !exists("fe02/20261127T020000Z-000000") {
		t.Error("a listing of a set with objects removed something")
	}
	list("fe01/20261125T020000Z-a1b2c3/", 0)
	if exists("fe01/20261125T020000Z-a1b2c3") {
		t.Error("the empty set folder remains")
	}
	if exists("fe01") {
		t.Error("the host folder its removal emptied remains")
	}
	list("fe03/20261125T020000Z-a1b2c3/", 0)
	if exists("fe03") {
		t.Error("a set folder holding only empty folders: the host folder remains")
	}
	list("fe02/20261127T020000Z-000000/", 0)
	if exists("fe02/20261127T020000Z-000000") || !exists("fe02/20261126T020000Z-d4e5f6/manifest.json") {
		t.Error("the empty set folder of a host with other sets: not removed, or more went with it")
	}
	if !exists("") {
		t.Error("the root went")
	}
}

func TestFolders(t *testing.T) {
	st, _ := open(t)
	uploadtest.Folders(t, st)
}

// A destination folder that is a symbolic link (on Windows also a junction
// or a volume mounted into a folder: the same reparse point to Go) lists
// its objects. The walk did not enter it: List found nothing, so no set
// was ever listed, restored or pruned, and every backup failed its
// pre-commit check.
// putAndListAtEveryLevel stores key (host/set/object) and checks that a
// listing of the root, the host and the set each finds exactly it.
func putAndListAtEveryLevel(t *testing.T, s *Store, key string) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.Put(ctx, key, strings.NewReader("{}"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	parts := strings.SplitN(key, "/", 3)
	for _, prefix := range []string{"", parts[0] + "/", parts[0] + "/" + parts[1] + "/"} {
		var keys []string
		err := s.List(ctx, prefix, func(o upload.ObjectInfo) error { keys = append(keys, o.Key); return nil })
		if err != nil || len(keys) != 1 || keys[0] != key {
			t.Errorf("List(%q) = %q, %v", prefix, keys, err)
		}
	}
}

func TestSymlinkedRoot(t *testing.T) {
	if runtime.GOOS == "windows" {
		// Links need privileges there, and Wine's stub makes none that
		// work. The walk's start is the same code on both systems.
		t.Skip("symlinks need privileges on Windows (windows lane)")
	}
	real := t.TempDir()
	link := filepath.Join(t.TempDir(), "backups")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	s, err := Open(link)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	const key = "h/20261125T020000Z-a1b2c3/manifest.json"
	putAndListAtEveryLevel(t, s, key)
	tmp := filepath.Join(real, "h", "x"+tmpMarker+"1")
	os.WriteFile(tmp, []byte("x"), 0o644)
	if n, err := s.AbortStale(ctx, "h/", time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("AbortStale through the link: %d, %v", n, err)
	}
}

// A host's folder moved to another disk and linked back is listed, swept
// and pruned through the link, and the link stays when its last set goes;
// a link back to a folder above it is an error, not an endless walk.
func TestSymlinkedHostFolder(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("symlinks need privileges on Windows (windows lane)")
	}
	s, dir := open(t)
	real := t.TempDir()
	link := filepath.Join(dir, "h")
	if err := os.Symlink(real, link); err != nil {
		t.Skip("no symbolic links here:", err)
	}
	ctx := context.Background()
	const key = "h/20261125T020000Z-a1b2c3/manifest.json"
	putAndListAtEveryLevel(t, s, key)
	if hosts, err := s.Folders(ctx, ""); err != nil || len(hosts) != 1 || hosts[0] != "h" {
		t.Errorf("Folders(\"\") = %q, %v: the catalog finds hosts this way", hosts, err)
	}
	if ids, err := s.Folders(ctx, "h/"); err != nil || len(ids) != 1 {
		t.Errorf("Folders(h/) = %q, %v", ids, err)
	}
	os.WriteFile(filepath.Join(real, "x"+tmpMarker+"1"), []byte("x"), 0o644)
	if n, err := s.AbortStale(ctx, "h/", time.Now().Add(time.Hour)); err != nil || n != 1 {
		t.Errorf("AbortStale through the link: %d, %v", n, err)
	}
	if err := s.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := s.List(ctx, "", func(upload.ObjectInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the host folder's link after its last set went: %v, %v", fi, err)
	}
	if _, err := os.Stat(real); err != nil {
		t.Errorf("the linked folder: %v", err)
	}
	if err := os.Symlink(dir, filepath.Join(real, "loop")); err != nil {
		t.Fatal(err)
	}
	err := s.List(ctx, "", func(upload.ObjectInfo) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "links back to") {
		t.Errorf("List with a loop: %v", err)
	}
}

// AbortStale for one host reads only that host's folders, not every other
// host's chunk folders on the share.
func TestAbortStaleStaysInItsHost(t *testing.T) {
	s, dir := open(t)
	ctx := context.Background()
	for _, k := range []string{"fe01/chunks/ab/x", "fe02/chunks/cd/y", "fe03/chunks/ef/z"} {
		if _, err := s.Put(ctx, k, strings.NewReader("x"), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	var visited []string
	inner := s.walk
	s.walk = func(root string, fn fs.WalkDirFunc) error {
		return inner(root, func(p string, d fs.DirEntry, err error) error {
			rel, _ := filepath.Rel(dir, p)
			visited = append(visited, filepath.ToSlash(rel))
			return fn(p, d, err)
		})
	}
	if _, err := s.AbortStale(ctx, "fe01/", time.Now()); err != nil {
		t.Fatal(err)
	}
	for _, v := range visited {
		if strings.HasPrefix(v, "fe02/") || strings.HasPrefix(v, "fe03/") {
			t.Errorf("visited %s", v)
		}
	}
}

// List removes only the folders it found empty: on Windows an attempt on a
// folder that holds something (DELETE access) makes it unreadable to a
// listing beside it for that moment. Every folder at or below the prefix
// was tried.
func TestListTriesOnlyEmptyFolders(t *testing.T) {
	s, dir := open(t)
	ctx := context.Background()
	if _, err := s.Put(ctx, "h/s1/a", strings.NewReader("x"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	os.MkdirAll(filepath.Join(dir, "h", "s2", "empty"), 0o755)
	var tried []string
	s.rmdir = func(p string) error {
		rel, _ := filepath.Rel(dir, p)
		tried = append(tried, filepath.ToSlash(rel))
		return os.Remove(p)
	}
	if err := s.List(ctx, "h/", func(upload.ObjectInfo) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if strings.Join(tried, " ") != "h/s2/empty h/s2" {
		t.Errorf("tried to remove %q, want the empty h/s2/empty, then h/s2", tried)
	}
	if _, err := os.Stat(filepath.Join(dir, "h", "s2")); !os.IsNotExist(err) {
		t.Errorf("the emptied h/s2 stayed: %v", err)
	}
}

// A Put that makes folders syncs each one's entry in its parent, not only
// the object's own folder (a power cut could lose a new set's folder on a
// file system that does not order these writes).
func TestPutSyncsTheFoldersItMade(t *testing.T) {
	s, dir := open(t)
	var synced []string
	old := syncFolder
	syncFolder = func(d string) {
		rel, _ := filepath.Rel(dir, d)
		synced = append(synced, filepath.ToSlash(rel))
	}
	t.Cleanup(func() { syncFolder = old })
	ctx := context.Background()
	if _, err := s.Put(ctx, "h/set1/chunks/ab/x", strings.NewReader("x"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(synced, " "); got != "h/set1/chunks/ab h/set1/chunks h/set1 h ." {
		t.Errorf("synced %q", got)
	}
	synced = nil
	if _, err := s.Put(ctx, "h/set1/chunks/ab/y", strings.NewReader("y"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(synced, " "); got != "h/set1/chunks/ab" {
		t.Errorf("second put into the same folder synced %q", got)
	}
}

// TestNowIsTheFolderClock: Now (upload.Clock) is the modification time the
// folder's file system gives a file written now (a file server's clock on
// a share, which stamps every object), at most that of an object written
// after it, and leaves nothing behind.
func TestNowIsTheFolderClock(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	now, err := st.Now(ctx)
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Put(ctx, "fe01/x", strings.NewReader("x"), upload.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if o, err = st.Stat(ctx, o.Key); err != nil || o.ModTime.Before(now) {
		t.Errorf("an object written after Now (%v) has ModTime %v (%v)", now, o.ModTime, err)
	}
	if d := time.Since(now); d < -time.Second || d > time.Minute {
		t.Errorf("Now %v, this machine %v", now, time.Now())
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "fe01" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

// TestNowBelowAReadOnlyTop: where the top folder takes no file (a share on
// which the service account may write only below its host's folder), Now
// tells the time from a folder below it. Before, Now failed there, and
// with it every lease counted as live for good: prune kept a crashed
// backup's set "in progress" for ever.
func TestNowBelowAReadOnlyTop(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "fe01"), 0o755)
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := createProbe
	t.Cleanup(func() { createProbe = old })
	denied := map[string]bool{dir: true}
	createProbe = func(p string) (*os.File, error) {
		if denied[filepath.Dir(p)] {
			return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrPermission}
		}
		return old(p)
	}
	now, err := st.Now(context.Background())
	if err != nil {
		t.Fatalf("Now with a read-only top folder: %v", err)
	}
	if d := time.Since(now); d < -time.Second || d > time.Minute {
		t.Errorf("Now %v, this machine %v", now, time.Now())
	}
	if entries, _ := os.ReadDir(filepath.Join(dir, "fe01")); len(entries) != 0 {
		t.Errorf("left behind in fe01: %v", entries)
	}
	denied[filepath.Join(dir, "fe01")] = true
	if _, err := st.Now(context.Background()); err == nil || !errors.Is(err, os.ErrPermission) || !errors.Is(err, upload.ErrReadOnly) {
		t.Errorf("Now where no folder takes a file: %v, want the permission error and upload.ErrReadOnly", err)
	}
}

// TestNowOnAReadOnlyFolder: where no folder takes a file because the
// destination is read-only for this account (mounted read-only: EROFS; the
// account may only read: permission denied), Now's error says so
// (upload.ErrReadOnly): list then says an unfinished set's state is
// unknown and why, prune stops at once. Another failure (a full disk) is
// not taken for that.
func TestNowOnAReadOnlyFolder(t *testing.T) {
	dir := t.TempDir()
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := createProbe
	t.Cleanup(func() { createProbe = old })
	for _, c := range []struct {
		err      error
		readOnly bool
	}{{syscall.EROFS, true}, {os.ErrPermission, true}, {syscall.ENOSPC, false}} {
		createProbe = func(p string) (*os.File, error) { return nil, &os.PathError{Op: "open", Path: p, Err: c.err} }
		_, err := st.Now(context.Background())
		if err == nil || !errors.Is(err, c.err) || errors.Is(err, upload.ErrReadOnly) != c.readOnly {
			t.Errorf("%v: Now %v; read-only %v", c.err, err, c.readOnly)
		}
	}
}

// TestNowOwnHostBeyondProbeLimit: a share where this account may write only
// its own host's folder, which comes after more than maxClockProbes other
// hosts' folders, is not read-only (its backups work, and so must prune):
// Now fails without upload.ErrReadOnly. Read-only is said only when every
// folder was tried. (A review finding: prune refused to run there.)
func TestNowOwnHostBeyondProbeLimit(t *testing.T) {
	dir := t.TempDir()
	for i := 1; i <= maxClockProbes+1; i++ {
		os.MkdirAll(filepath.Join(dir, fmt.Sprintf("fe%02d", i)), 0o755)
	}
	os.MkdirAll(filepath.Join(dir, "zz-fe01"), 0o755)
	st, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := createProbe
	t.Cleanup(func() { createProbe = old })
	createProbe = func(p string) (*os.File, error) {
		if filepath.Base(filepath.Dir(p)) == "zz-fe01" {
			return old(p)
		}
		return nil, &os.PathError{Op: "open", Path: p, Err: os.ErrPermission}
	}
	if _, err := st.Now(context.Background()); err == nil || errors.Is(err, upload.ErrReadOnly) {
		t.Errorf("Now with the own host's folder past %d others: %v, want an error that is not upload.ErrReadOnly", maxClockProbes+1, err)
	}
	// With as many folders as are tried, all refused: read-only.
	os.RemoveAll(filepath.Join(dir, "zz-fe01"))
	os.RemoveAll(filepath.Join(dir, fmt.Sprintf("fe%02d", maxClockProbes+1)))
	if _, err := st.Now(context.Background()); !errors.Is(err, upload.ErrReadOnly) {
		t.Errorf("Now where all %d folders refuse: %v, want upload.ErrReadOnly", maxClockProbes, err)
	}
}
