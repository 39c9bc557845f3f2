package exporters

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

// fileStoreExporter streams one file store share straight into the
// archive (no robocopy copy first). Files in use become warnings in the
// manifest, not a failed run; Meeting.Active files (locked while a
// meeting runs) are left out as Microsoft advises.
type fileStoreExporter struct {
	name    string
	store   FileStoreInfo
	exclude []string
	timeout time.Duration
	// strict: on_unreadable: fail (a file in use fails the item).
	strict bool
}

func newFileStore(s *session, e config.Exporter, st FileStoreInfo, to time.Duration) Exporter {
	return &fileStoreExporter{
		name:    s.uniqueName(e.Name + "-" + fileStoreSlug(st.UncPath)),
		store:   st,
		exclude: e.Exclude,
		timeout: to,
		strict:  e.OnUnreadable == "fail",
	}
}

// fileStoreSlug names a store by server and share: \\fs01\share → fs01-share.
func fileStoreSlug(unc string) string {
	p := strings.Trim(strings.ReplaceAll(unc, `\`, "/"), "/")
	parts := strings.Split(p, "/")
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return safeName(strings.Join(parts, "-"))
}

// shareName is the archive name of the store's tree (its last element).
func shareName(unc string) string {
	p := strings.TrimRight(strings.ReplaceAll(unc, `\`, "/"), "/")
	if i := strings.LastIndex(p, "/"); i >= 0 {
		p = p[i+1:]
	}
	p = strings.TrimSuffix(p, "$")
	if p == "" || strings.HasSuffix(p, ":") {
		return "filestore"
	}
	return safeName(p)
}

func (f *fileStoreExporter) Name() string { return f.name }
func (f *fileStoreExporter) Kind() string { return "filestore" }

// IsMeetingActive reports a Meeting.Active lock file (any case: the share
// is on Windows).
func IsMeetingActive(name string) bool {
	return strings.EqualFold(filepath.Base(filepath.FromSlash(name)), "Meeting.Active")
}

// Export checks that the share can be read (an unreachable server can
// hang an SMB call for long, hence the timeout) and returns the tree.
func (f *fileStoreExporter) Export(ctx context.Context, env Env) ([]Item, error) {
	done := make(chan error, 1)
	go func() { done <- checkReadable(f.store.UncPath) }()
	select {
	case err := <-done:
		if err != nil {
			return nil, fmt.Errorf("file store %s: %w", f.store.UncPath, err)
		}
	case <-time.After(f.timeout):
		return nil, fmt.Errorf("file store %s: not reachable within %s", f.store.UncPath, f.timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	var userSkip func(string, fs.FileInfo) bool
	if len(f.exclude) > 0 {
		userSkip = GlobSkip(f.exclude)
	}
	meta := map[string]string{"store": f.store.UncPath, "share": shareName(f.store.UncPath)}
	if len(f.store.Pools) > 0 {
		meta["pools"] = strings.Join(f.store.Pools, ",")
	}
	if f.store.Site != "" {
		meta["site"] = f.store.Site
	}
	return []Item{{
		Name:  f.name,
		Kind:  "filestore",
		Roots: []Root{{Path: f.store.UncPath, Name: meta["share"]}},
		Skip: func(name string, fi fs.FileInfo) bool {
			if !fi.IsDir() && IsMeetingActive(name) {
				return true
			}
			return userSkip != nil && userSkip(name, fi)
		},
		Tolerant: !f.strict,
		Meta:     meta,
	}}, nil
}

func init() {
	restorers["filestore"] = func(it PlanItem, pc *planCtx) []Step {
		// meta.share is one name inside the item's folder (BuildPlan's
		// checkItemPaths). meta.store, the share the files go back to, is
		// not checked: it is wherever the store was (any UNC path or
		// folder), and the plan shows it for the admin to read before
		// running the step (README: a forged set names its own).
		src := filepath.Join(pc.dir, it.Name, it.Meta["share"])
		dst := it.Meta["store"]
		// /XO: a file that is newer on the share (it survived, or changed
		// since the backup) is never replaced, unless asked.
		opts := "/E /COPY:DAT /XO /R:2 /W:5 /NP"
		keep := "Files newer on the share than in the backup are kept (robocopy /XO); --overwrite-newer replaces them."
		if pc.opt.OverwriteNewer {
			opts = "/E /COPY:DAT /R:2 /W:5 /NP"
			keep = "Asked with --overwrite-newer: files on the share are replaced by the backup's, newer or not."
		}
		return []Step{{Phase: 2, Title: "Copy the file store back to " + dst, Run: true, Files: []string{src},
			Commands: []string{
				"robocopy " + PSQuote(src) + " " + PSQuote(dst) + " " + opts,
				"if ($LASTEXITCODE -ge 8) { throw \"robocopy failed with exit code $LASTEXITCODE\" }",
			},
			Notes: []string{
				"To the same path and share name as before; create the share first if the server is new.",
				keep,
				"Enable-CsTopology resets its permissions.",
			},
			OnFailure: "Check that the share exists and this account may write to it; robocopy exit codes 0-7 are success."}}
	}
}
