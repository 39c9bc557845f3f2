package destination

import (
	"context"
	"crypto/tls"
	"crypto/x509"
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
		Missing: `container "backups" does not exist in acct.blob.core.windows.net (create it: az storage container create -n backups)`}
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
	pr := upload.ProbeReport{Exists: true, Writable: true, Readable: true, ObjectLock: "disabled", Failures: []string{"probe delete failed: AccessDenied"}}
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

// kinds is an error with the text a backend prints and the types it
// unwraps to (sentinels, the SDK's or the system's errors).
type kinds struct {
	text string
	errs []error
}

func (k kinds) Error() string   { return k.text }
func (k kinds) Unwrap() []error { return k.errs }

func TestOpenFindingFixes(t *testing.T) {
	_, schemeErr := Open(context.Background(), config.Destination{URL: "ftp://x"})
	cert := &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}
	name := &tls.CertificateVerificationError{Err: x509.HostnameError{Certificate: &x509.Certificate{}, Host: "b.example"}}
	for _, c := range []struct {
		err  error
		want string
	}{
		{kinds{"s3 bucket b does not exist (or is in another region)", []error{upload.ErrNotFound}}, "create"},
		{schemeErr, "correct destination.url"},
		{kinds{"s3 head bucket b: Forbidden (HTTP 403)", []error{upload.ErrDenied}}, "credentials"},
		{fmt.Errorf("s3://b is %w: %w", upload.ErrNotWritable, kinds{"s3 put k: AccessDenied: Access Denied (HTTP 403)", []error{upload.ErrDenied}}), "grant"},
		{fmt.Errorf("folder /x is %w: %w", upload.ErrNotWritable, &fs.PathError{Op: "open", Path: "/x/.probe", Err: syscall.EACCES}), "grant"},
		// A full disk is no missing right (the fix said to grant some).
		{fmt.Errorf("folder /x is %w: %w", upload.ErrNotWritable, &fs.PathError{Op: "write", Path: "/x/.probe", Err: syscall.ENOSPC}), "free space"},
		{fmt.Errorf("s3 head bucket b: cannot reach the server: %w", cert), "destination.ca_file"},
		{fmt.Errorf("azure: put (block 0) k: %w", cert), "destination.ca_file"},
		{name, "correct destination.url"},
	} {
		if f := openFinding("u", c.err); !strings.Contains(f.Fix, c.want) {
			t.Errorf("%q: fix %q, want it to say %q", c.err, f.Fix, c.want)
		}
	}
}

// localized is a system error as Windows prints it in the system's
// language (FormatMessage), or as any system may word it: the text says
// nothing the code does not.
type localized struct {
	text  string
	errno syscall.Errno
}

func (l localized) Error() string { return l.text }
func (l localized) Unwrap() error { return l.errno }

// TestOpenFindingByCodeNotText: a local folder's error is judged by the
// system's code, whatever its words and the path's: on a German or
// French Windows Server (and in English on Windows: "Access is denied.")
// no English phrase matched and the fix was the generic one, and a path
// holding "no such file" or "403" drew the fix of a missing folder or of
// the credentials.
func TestOpenFindingByCodeNotText(t *testing.T) {
	open := func(path string, l localized) error {
		return fmt.Errorf("destination folder %s: %w", path, &fs.PathError{Op: "CreateFile", Path: path, Err: l})
	}
	probe := func(path string, l localized) error {
		return fmt.Errorf("folder %s is %w: %w", path, upload.ErrNotWritable, fmt.Errorf("put .lyncbackup-probe-1: %w", &fs.PathError{Op: "open", Path: path, Err: l}))
	}
	grant, create, free, unknown := "grant this account write", "create it", "free space", fixUnknown
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"German, access denied", open(`D:\Sicherung`, localized{"Zugriff verweigert", errAccessDenied}), grant},
		{"English Windows, access denied", open(`D:\Backups`, localized{"Access is denied.", errAccessDenied}), grant},
		{"French, write-protected", probe(`E:\lync`, localized{"Le support est protégé en écriture.", errWriteProtect}), grant},
		{"German, missing", open(`D:\Sicherung`, localized{"Das System kann die angegebene Datei nicht finden.", errFileNotFound}), create},
		{"French, disk full", probe(`D:\lync`, localized{"Espace insuffisant sur le disque.", errDiskFull}), free},
		{"a path saying no such file, access denied", open(`/srv/no such file/lync`, localized{"Zugriff verweigert", errAccessDenied}), grant},
		{"a path holding 403, server away", open(`/mnt/lync-403`, localized{"Der Host ist nicht erreichbar", errHostDown}), unknown},
	} {
		t.Run(c.name, func(t *testing.T) {
			if f := openFinding("u", c.err); !strings.Contains(f.Fix, c.want) {
				t.Errorf("%v: fix %q, want it to say %q", c.err, f.Fix, c.want)
			}
		})
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
