// Package exporters turns the config into items to back up. It knows Lync /
// Skype for Business (through PowerShell), SQL Server (through sqlcmd), file
// stores, arbitrary commands and plain paths, and it knows the restore
// step that brings each item back (the restore plan, and the run of its
// steps: PlanRun). It never touches storage.
package exporters

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/lyncbackup/lyncbackup/config"
)

// Root is one file or tree of an item, stored under Name in the archive.
type Root struct {
	Path string
	Name string
}

// Item is one unit that becomes one stored object.
type Item struct {
	Name  string // unique within the set; config.ValidName
	Kind  string // the exporter kind that made it
	Roots []Root
	// Skip leaves matching entries out (e.g. Meeting.Active files).
	Skip func(name string, fi fs.FileInfo) bool
	// Tolerant: unreadable / vanishing / changing files become warnings.
	Tolerant bool
	// Meta is kept in the manifest for the restore plan (pool, instance…).
	Meta map[string]string
	// Cleanup runs after the item is stored (or failed), e.g. deleting a .bak.
	Cleanup func() error
	// Warnings the exporter had for this item; they go into the manifest
	// before the packer's own.
	Warnings []string
}

// Env is what every exporter may use.
type Env struct {
	// Staging is a fresh folder for this run; an exporter creates its own
	// subfolder with a unique name inside it.
	Staging string
	Log     *slog.Logger
	// Avoid are folders no path exporter packs: this backup's own staging
	// folder and a local destination. A path that holds one would otherwise
	// store the night's spooled parts, or every earlier set again each night.
	Avoid []string
}

// Exporter produces items.
type Exporter interface {
	Name() string
	Kind() string
	// Export runs the export and returns its items. An error fails this
	// exporter only; the others still run.
	Export(ctx context.Context, env Env) ([]Item, error)
}

// Discovery is what the exporters found about the deployment; it goes into
// the manifest and feeds the restore plan.
type Discovery map[string]any

// Build turns the config into exporters. Lync discovery (pools, file
// stores) happens here, once, when an exporter needs it; it runs
// PowerShell. A config that cannot work (e.g. Persistent Chat on SfB
// 2019) is a *config.Error; an exporter that cannot run here (module
// missing, discovery failed) still comes back and fails when it runs, so
// the others still produce a (partial) set.
func Build(ctx context.Context, cfg *config.Config, env Env) ([]Exporter, Discovery, error) {
	s := &session{cfg: cfg, env: env, disc: Discovery{}}
	out, err := s.build(ctx)
	if err != nil {
		return nil, nil, err
	}
	return out, s.disc, nil
}

func (s *session) build(ctx context.Context) ([]Exporter, error) {
	var out []Exporter
	cfg := s.cfg
	for i, e := range cfg.Exporters {
		ex, err := buildOne(ctx, s, i, e)
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	if cfg.Lync != nil {
		ex, err := buildLync(ctx, s)
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	s.record()
	return out, nil
}

// buildKind maps an exporter kind to its builder (each kind's own file
// registers itself from init); buildLync expands the lync: shorthand.
var (
	buildKind = map[string]func(ctx context.Context, s *session, idx int, e config.Exporter) ([]Exporter, error){}
	buildLync = func(ctx context.Context, s *session) ([]Exporter, error) {
		return nil, fmt.Errorf("lync exporters are not available in this build")
	}
)

func buildOne(ctx context.Context, s *session, idx int, e config.Exporter) ([]Exporter, error) {
	if e.Kind == "path" {
		return []Exporter{&PathExporter{name: e.Name, paths: e.Paths, exclude: e.Exclude, split: e.Split, strict: e.OnUnreadable == "fail"}}, nil
	}
	b, ok := buildKind[e.Kind]
	if !ok {
		return nil, fmt.Errorf("exporter %s: kind %q is not available in this build", e.Name, e.Kind)
	}
	return b(ctx, s, idx, e)
}

// PathExporter backs up files and folders as they are.
type PathExporter struct {
	name    string
	paths   []string
	exclude []string
	split   bool
	// strict (on_unreadable: fail): a file that cannot be read fails the
	// item. By default it is skipped with a warning naming it, as restic
	// does, so that one always-locked file does not fail every night.
	strict bool
}

// Strict sets on_unreadable: fail (see config.Exporter.OnUnreadable).
func (p *PathExporter) Strict(on bool) *PathExporter { p.strict = on; return p }

// Split makes one item per top-level folder (see config.Exporter.Split).
func (p *PathExporter) Split(on bool) *PathExporter { p.split = on; return p }

// NewPath returns a path exporter (used by tests and the demo).
func NewPath(name string, paths ...string) *PathExporter {
	return &PathExporter{name: name, paths: paths}
}

func (p *PathExporter) Name() string { return p.name }
func (p *PathExporter) Kind() string { return "path" }

// Export checks the paths; the files are streamed later. A path that
// does not exist is an error (a typo in the config, not a locked file);
// by default one that exists but cannot be read is left to the packer,
// which skips it with a warning, unless no path at all can be read.
func (p *PathExporter) Export(ctx context.Context, env Env) ([]Item, error) {
	roots, err := rootsFor(p.paths, !p.strict)
	if err != nil {
		return nil, err
	}
	var skip func(string, fs.FileInfo) bool
	if len(p.exclude) > 0 {
		skip = GlobSkip(p.exclude)
	}
	skip, warnings := avoidSkip(roots, env.Avoid, skip)
	item := func(name string, roots []Root) Item {
		it := Item{Name: name, Kind: "path", Roots: roots, Meta: map[string]string{}, Skip: skip, Tolerant: !p.strict}
		for i, r := range roots {
			it.Meta[fmt.Sprintf("path.%d", i)] = r.Path
		}
		return it
	}
	items := []Item{item(p.name, roots)}
	if p.split {
		if items, err = p.splitItems(roots, skip, item); err != nil {
			return nil, err
		}
	}
	items[0].Warnings = warnings // once, not per split item
	return items, nil
}

// splitItems makes one item per top-level folder of each root, named
// NAME-FOLDER; loose files and non-folder roots stay in the item NAME.
// Archive paths are those of the unsplit item ("root/folder/..."), so
// exclude patterns match the same and the items unpack into one tree.
func (p *PathExporter) splitItems(roots []Root, skip func(string, fs.FileInfo) bool, item func(string, []Root) Item) ([]Item, error) {
	var loose []Root
	var items []Item
	used := map[string]bool{strings.ToLower(p.name): true}
	for _, r := range roots {
		fi, err := os.Stat(r.Path)
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", r.Path, err)
		}
		if !fi.IsDir() {
			loose = append(loose, r)
			continue
		}
		ents, err := os.ReadDir(r.Path)
		if err != nil {
			if !p.strict {
				loose = append(loose, r) // the packer names it in a warning
				continue
			}
			return nil, fmt.Errorf("list %s: %w", r.Path, err)
		}
		for _, e := range ents {
			child := Root{Path: filepath.Join(r.Path, e.Name()), Name: r.Name + "/" + e.Name()}
			info, err := e.Info()
			if err != nil {
				loose = append(loose, child) // vanished or unreadable: the packer reports it
				continue
			}
			if skip != nil && skip(child.Name, info) {
				continue
			}
			if !info.IsDir() {
				loose = append(loose, child)
				continue
			}
			name := splitName(p.name, e.Name(), used)
			items = append(items, item(name, []Root{child}))
		}
	}
	if len(loose) > 0 || len(items) == 0 {
		items = append([]Item{item(p.name, loose)}, items...)
	}
	return items, nil
}

// splitName is NAME-FOLDER made a valid, unused item name.
func splitName(name, folder string, used map[string]bool) string {
	b := []byte(name + "-")
	for _, c := range []byte(folder) {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_':
			b = append(b, c)
		default:
			b = append(b, '_')
		}
	}
	base := string(b[:min(len(b), 90)])
	n := base
	// Case-folded: "Logs" and "logs" (Linux) would be one folder, and one
	// object of a local store, on Windows.
	for i := 2; used[strings.ToLower(n)]; i++ {
		n = fmt.Sprintf("%s-%d", base, i)
	}
	used[strings.ToLower(n)] = true
	return n
}

// RootsFor turns paths into roots named by their last element, made
// unique without case ("config", "config-2"; "Config" after "config" is
// "Config-2", as Windows would take both for one folder), after checking
// each can be read.
func RootsFor(paths []string) ([]Root, error) { return rootsFor(paths, false) }

// rootsFor is RootsFor; with tolerant, a path that exists but cannot be
// read is kept (the packer skips it with a warning naming it) as long as
// at least one path can be read.
func rootsFor(paths []string, tolerant bool) ([]Root, error) {
	used := map[string]bool{} // names given, lower case
	var roots []Root
	var unreadable []error
	for _, p := range paths {
		if err := checkReadable(p); err != nil {
			if !tolerant || !errors.Is(err, errUnreadable) {
				return nil, err
			}
			unreadable = append(unreadable, err)
		}
		base := filepath.Base(filepath.Clean(p))
		if base == "." || base == string(filepath.Separator) || base == "" || strings.HasSuffix(base, ":\\") || strings.HasSuffix(base, ":") {
			base = "root"
		}
		name := base
		for n := 2; used[strings.ToLower(name)]; n++ {
			name = fmt.Sprintf("%s-%d", base, n)
		}
		used[strings.ToLower(name)] = true
		roots = append(roots, Root{Path: p, Name: name})
	}
	if len(unreadable) == len(paths) && len(paths) > 0 {
		return nil, fmt.Errorf("no path can be read: %w", errors.Join(unreadable...))
	}
	return roots, nil
}

// avoidSkip adds to skip the folders of avoid that lie inside one of the
// roots (by their archive names), with a warning for each one left out.
func avoidSkip(roots []Root, avoid []string, skip func(string, fs.FileInfo) bool) (func(string, fs.FileInfo) bool, []string) {
	fold := func(s string) string { return s }
	if runtime.GOOS == "windows" {
		fold = strings.ToLower
	}
	var abs []string
	for _, a := range avoid {
		if a, err := filepath.Abs(a); err == nil {
			abs = append(abs, a)
		}
	}
	var folders []string // each once, none inside another
	for i, a := range abs {
		if slices.Contains(abs[:i], a) || slices.ContainsFunc(abs, func(b string) bool { return inside(b, a) }) {
			continue
		}
		folders = append(folders, a)
	}
	names := map[string]bool{}
	var warnings []string
	for _, a := range folders {
		for _, r := range roots {
			rp, err := filepath.Abs(r.Path)
			if err != nil {
				continue
			}
			if !inside(rp, a) {
				continue
			}
			// (On Windows Rel ignores case, and names are compared
			// without it below: the walk gives the names on disk.)
			rel, _ := filepath.Rel(rp, a)
			name := r.Name + "/" + filepath.ToSlash(rel)
			names[fold(name)] = true
			warnings = append(warnings, fmt.Sprintf("%s left out: it is this backup's own staging or destination folder", a))
		}
	}
	if len(names) == 0 {
		return skip, nil
	}
	return func(name string, fi fs.FileInfo) bool {
		if fi.IsDir() && names[fold(name)] {
			return true
		}
		return skip != nil && skip(name, fi)
	}, warnings
}

// inside reports whether p lies strictly inside the folder dir (both
// absolute and clean).
func inside(dir, p string) bool {
	rel, err := filepath.Rel(dir, p)
	return err == nil && rel != "." && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) && !filepath.IsAbs(rel)
}

// GlobSkip matches exclude patterns against the base name and the archive
// path ("/"-separated). On Windows, where names are case-insensitive,
// matching is too (`*.tmp` skips X.TMP) and a "\" in a pattern is a
// separator, as Windows users write paths.
func GlobSkip(patterns []string) func(string, fs.FileInfo) bool {
	return globSkip(patterns, runtime.GOOS == "windows")
}

func globSkip(patterns []string, windows bool) func(string, fs.FileInfo) bool {
	norm := func(s string) string { return s }
	if windows {
		norm = func(s string) string { return strings.ToLower(strings.ReplaceAll(s, `\`, "/")) }
	}
	pats := make([]string, len(patterns))
	for i, p := range patterns {
		pats[i] = norm(p)
	}
	return func(name string, fi fs.FileInfo) bool {
		name = norm(name)
		base := path.Base(name)
		for _, p := range pats {
			if ok, _ := path.Match(p, base); ok {
				return true
			}
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
}
