package destination

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/upload"
)

func find(fs []Finding, id string) (Finding, bool) {
	for _, f := range fs {
		if f.ID == id {
			return f, true
		}
	}
	return Finding{}, false
}

func TestAssessMissingContainerIsNotAPermissionProblem(t *testing.T) {
	pr := upload.ProbeReport{Versioning: "unknown", ObjectLock: "unknown",
		Notes: []string{`container "backups" does not exist in acct.blob.core.windows.net (create it: az storage container create -n backups)`}}
	fs := Assess("azblob://acct/backups", pr, nil, false)
	f, ok := find(fs, IDAccess)
	if !ok || f.Status != "fail" {
		t.Fatalf("findings %+v", fs)
	}
	if !strings.Contains(f.Detail, "does not exist") || !strings.Contains(f.Detail, "az storage container create") {
		t.Errorf("detail does not name the cause: %q", f.Detail)
	}
	if strings.Contains(f.Fix, "grant") || !strings.Contains(f.Fix, "create") {
		t.Errorf("fix does not fit a missing container: %q", f.Fix)
	}
	if _, ok := find(fs, IDObjectLock); ok {
		t.Errorf("lock advice for a destination that is not there: %+v", fs)
	}
}

func TestAssessMissingRights(t *testing.T) {
	pr := upload.ProbeReport{Exists: true, Writable: true, Readable: true, ObjectLock: "disabled", Notes: []string{"probe delete failed: AccessDenied"}}
	fs := Assess("s3://b", pr, nil, false)
	f, _ := find(fs, IDAccess)
	if f.Status != "fail" || !strings.Contains(f.Detail, "cannot delete") || !strings.Contains(f.Detail, "AccessDenied") || !strings.Contains(f.Fix, "grant this account delete") {
		t.Fatalf("access finding %+v", f)
	}
	if l, _ := find(fs, IDObjectLock); l.Status != "warn" {
		t.Errorf("no lock warning: %+v", fs)
	}
	fs = Assess("s3://b", upload.ProbeReport{Exists: true, Writable: true, Readable: true, Deletable: true, ObjectLock: "disabled"}, nil, true)
	if l, _ := find(fs, IDObjectLock); l.Status != "fail" {
		t.Errorf("lock asked but unsupported: %+v", fs)
	}
	if f, _ := find(fs, IDAccess); f.Status != "ok" {
		t.Errorf("access %+v", f)
	}
}

func TestCheckMissingLocalFolderSaysCreateIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "absent")
	fs := Check(context.Background(), config.Destination{URL: "file://" + filepath.ToSlash(dir)})
	f, _ := find(fs, IDAccess)
	if f.Status != "fail" || !strings.Contains(f.Detail, "does not exist") || !strings.Contains(f.Fix, "create") || strings.Contains(f.Fix, "credential") {
		t.Fatalf("finding %+v", f)
	}
}

func TestOpenFindingFixes(t *testing.T) {
	for _, c := range []struct {
		err  string
		want string
	}{
		{"s3 bucket b does not exist (or is in another region)", "create"},
		{`destination URL "ftp://x": scheme "ftp" is not supported`, "correct destination.url"},
		{"operation error S3: HeadBucket, StatusCode: 403, Forbidden", "credentials"},
		{"folder /x is not writable: permission denied", "grant"},
		// A full disk is no missing right (the fix said to grant some).
		{"folder /x is not writable: write /x/.probe: no space left on device", "free space"},
		{`folder D:\x is not writable: write D:\x\.probe: There is not enough space on the disk.`, "free space"},
		{`s3 head bucket b: cannot reach the server: tls: failed to verify certificate: x509: certificate signed by unknown authority`, "destination.ca_file"},
		{`azure: put (block 0) k: Put "https://h/c/k": tls: failed to verify certificate: x509: certificate signed by unknown authority`, "destination.ca_file"},
		{`tls: failed to verify certificate: x509: certificate is valid for a.example, not b.example`, "correct destination.url"},
	} {
		if f := openFinding("u", errors.New(c.err)); !strings.Contains(f.Fix, c.want) {
			t.Errorf("%q: fix %q, want it to say %q", c.err, f.Fix, c.want)
		}
	}
}

// TestOpenFindingFullByCode: a local folder's error is a full disk by its
// system code, not by words in its path: a folder named "quotas" (or
// "disk is full") that this account may not write was told to free space.
func TestOpenFindingFullByCode(t *testing.T) {
	for _, c := range []struct {
		err  error
		want string
	}{
		{fmt.Errorf("folder /srv/quotas/backups is not writable: %w", &fs.PathError{Op: "open", Path: "/srv/quotas/backups/.probe", Err: syscall.EACCES}), "grant"},
		{fmt.Errorf("folder /srv/disk is full/b is not writable: %w", &fs.PathError{Op: "open", Path: "/srv/disk is full/b/.probe", Err: syscall.EACCES}), "grant"},
		{fmt.Errorf("folder /srv/b is not writable: %w", &fs.PathError{Op: "write", Path: "/srv/b/.probe", Err: syscall.ENOSPC}), "free space"},
	} {
		if f := openFinding("u", c.err); !strings.Contains(f.Fix, c.want) {
			t.Errorf("%v: fix %q, want it to say %q", c.err, f.Fix, c.want)
		}
	}
}

// TestAssessLock: the object-lock line for each pairing of what the config
// asks and what the destination reports.
func TestAssessLock(t *testing.T) {
	ok := upload.ProbeReport{Exists: true, Writable: true, Readable: true, Deletable: true}
	for _, c := range []struct {
		want     bool
		reported string
		status   string
		detail   string
	}{
		{true, "disabled", "fail", "configured, but the destination does not support it"},
		{true, "enabled", "ok", "enabled on the destination"},
		{true, "", "warn", "configured; the destination reports unknown"},
		{true, "unknown", "warn", "configured; the destination reports unknown"},
		{false, "enabled", "ok", "enabled on the destination (not requested in the config)"},
		{false, "n/a", "", ""},
		{false, "disabled", "warn", "not used: a stolen credential can delete the backups"},
	} {
		pr := ok
		pr.ObjectLock = c.reported
		l, found := find(Assess("s3://b", pr, nil, c.want), IDObjectLock)
		if found != (c.status != "") || l.Status != c.status || l.Detail != c.detail {
			t.Errorf("asked %v, reported %q: %+v (found %v)", c.want, c.reported, l, found)
		}
	}
	// Versioning is named only when the store knows it.
	pr := ok
	pr.Versioning = "enabled"
	if v, found := find(Assess("s3://b", pr, nil, false), IDVersioning); !found || v.Detail != "enabled" {
		t.Errorf("versioning %+v", v)
	}
	for _, none := range []string{"", "n/a"} {
		pr.Versioning = none
		if v, found := find(Assess("s3://b", pr, nil, false), IDVersioning); found {
			t.Errorf("versioning %q reported: %+v", none, v)
		}
	}
}

// TestCheckLocalFolder: a reachable folder is one "ok" access line; a
// config asking for a lock on it is told the folder reports n/a.
func TestCheckLocalFolder(t *testing.T) {
	u := "file://" + filepath.ToSlash(t.TempDir())
	fs := Check(context.Background(), config.Destination{URL: u})
	if f, _ := find(fs, IDAccess); f.Status != "ok" || f.Detail != "wrote, read back and deleted a test object" {
		t.Fatalf("findings %+v", fs)
	}
	if _, found := find(fs, IDObjectLock); found {
		t.Errorf("lock line for a folder without a lock asked: %+v", fs)
	}
	fs = Check(context.Background(), config.Destination{URL: u, ObjectLock: &config.ObjectLock{Mode: "GOVERNANCE", Days: 1}})
	if l, _ := find(fs, IDObjectLock); l.Status != "warn" || !strings.Contains(l.Detail, "reports n/a") {
		t.Errorf("lock asked of a folder: %+v", fs)
	}
}

// A local destination on a drive mapped in this session is a warning: the
// scheduled task does not see it.
func TestCheckMappedDrive(t *testing.T) {
	old := mappedDrive
	defer func() { mappedDrive = old }()
	dir := t.TempDir()
	mappedDrive = func(p string) (string, bool) { return "Z:", p == dir }
	fs := Check(context.Background(), config.Destination{URL: "file://" + filepath.ToSlash(dir)})
	f, ok := find(fs, IDMappedDrive)
	if !ok || f.Status != "warn" || !strings.Contains(f.Fix, "UNC") {
		t.Fatalf("findings %+v", fs)
	}
}
