package destination

import (
	"context"
	"errors"
	"fmt"
	"github.com/lyncbackup/lyncbackup/internal/netdrive"
	"strings"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/diskfree"
	"github.com/lyncbackup/lyncbackup/internal/oserr"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Finding is one line of a destination check, with the fix that fits its
// cause. ID is stable for scripts (check --json); Name is for people.
type Finding struct {
	ID     string
	Name   string
	Status string // ok, warn, fail
	Detail string
	Fix    string
}

// Stable finding ids.
const (
	IDAccess      = "destination.access"
	IDObjectLock  = "destination.object_lock"
	IDVersioning  = "destination.versioning"
	IDNote        = "destination.note"
	IDMappedDrive = "destination.mapped_drive"
)

// mappedDrive is netdrive.Mapped; tests replace it.
var mappedDrive = netdrive.Mapped

// Check opens d's store, probes it and interprets what it finds (see
// Assess): the destination lines of lyncbackup check.
func Check(ctx context.Context, d config.Destination) []Finding {
	st, err := Open(ctx, d)
	if err != nil {
		return []Finding{openFinding(d.URL, err)}
	}
	p, ok := upload.As[upload.Prober](st)
	if !ok { // every backend probes; a new one must too
		return []Finding{{ID: IDAccess, Name: "destination " + st.String(), Status: "fail",
			Detail: st.String() + " cannot be probed", Fix: "give the backend a Probe (upload.Prober)"}}
	}
	pr, err := p.Probe(ctx)
	fs := Assess(st.String(), pr, err, d.ObjectLock != nil || d.Immutability != nil)
	if dir := LocalPath(d); dir != "" {
		if drive, ok := mappedDrive(dir); ok {
			// Mapped in this logon session only: the scheduled task's
			// session has no such letter, and every night failed with
			// "destination folder … does not exist".
			fs = append(fs, Finding{ID: IDMappedDrive, Name: "destination drive", Status: "warn",
				Detail: fmt.Sprintf("%s is on %s, a network drive mapped in this session", dir, drive),
				Fix:    "use the share's UNC path (file://server/share/…; net use shows it): a scheduled task does not see your mapped drives"})
		}
	}
	if d.CAFile != "" {
		for i := range fs {
			if fs[i].ID == IDAccess && fs[i].Status == "ok" {
				fs[i].Detail += ", trusting the CAs of " + d.CAFile
			}
		}
	}
	return fs
}

// openFinding names why a destination did not open, and the fix for that
// cause: a missing local folder is created, a bad URL is corrected, and
// only a refused login points at the credentials. The cause is read from
// the error's type and the system's code, never from its text: a local
// folder's errors are in the system's language ("Zugriff verweigert",
// "The system cannot find the file specified.") and name the path, which
// may hold any words.
func openFinding(url string, err error) Finding {
	f := Finding{ID: IDAccess, Name: "destination", Status: "fail", Detail: err.Error()}
	var ce *ConfigError
	switch {
	case unknownAuthority(err):
		f.Fix = "this machine does not trust the server's certificate: name its CA in destination.ca_file (a PEM file), or import the CA into the machine's trusted roots"
	case upload.IsCertificateError(err):
		f.Fix = "the server's certificate does not fit (its name or dates): correct destination.url / endpoint, or have the certificate replaced"
	case errors.Is(err, upload.ErrNotFound) || oserr.Missing(err):
		f.Fix = "create it (or correct destination.url); lyncbackup does not create the destination"
	case errors.As(err, &ce) && ce.Setting == settingURL:
		f.Fix = "correct destination.url (file:///path, s3://bucket/prefix, azblob://account/container/prefix)"
	case errors.As(err, &ce) && ce.Setting == settingCredentials:
		f.Fix = fixCredentials
	case errors.As(err, &ce):
		f.Fix = "correct the destination setting the line above names"
	case isFull(err):
		// Before the rights: a full disk is "not writable" too.
		f.Fix = "free space on it (a prune with the retention policy, or a larger disk): the next backup needs room for what changed"
	case oserr.Denied(err) || oserr.ReadOnly(err) || errors.Is(err, upload.ErrNotWritable) && errors.Is(err, upload.ErrDenied):
		f.Fix = "grant this account write, read and delete on it"
	case errors.Is(err, upload.ErrDenied):
		f.Fix = fixCredentials
	default:
		f.Fix = fixUnknown
	}
	return f
}

// Fixes of openFinding that Assess tells apart.
const (
	fixCredentials = "check the credentials in this account's environment (or the SAS / keys named in destination)"
	fixUnknown     = "check destination.url, the network path to it, and the credentials in this account's environment"
)

// isFull reports a refusal for want of room, by the system's code (a
// local folder: diskfree.IsFull). The object stores' refusals have no
// common code for it; theirs fall to the default fix.
func isFull(err error) bool { return diskfree.IsFull(err) }

// Assess interprets a probe: whether the destination exists, takes a
// write, read and delete, and whether object lock / immutability matches
// what the config asks for (wantLock). Every failure names its real cause
// (a missing container is not a permission problem) and its fix.
func Assess(name string, pr upload.ProbeReport, probeErr error, wantLock bool) []Finding {
	label := "destination " + name
	if probeErr != nil {
		f := openFinding(name, probeErr)
		f.Name = label
		if f.Fix == fixUnknown {
			f.Fix = "check that the bucket/container/folder exists and this account may write, read and delete in it"
		}
		return []Finding{f}
	}
	var out []Finding
	notes := pr.Notes
	switch {
	case pr.Missing != "":
		out = append(out, Finding{ID: IDAccess, Name: label, Status: "fail", Detail: pr.Missing,
			Fix: "create the bucket or container (the line above says how), or correct destination.url"})
		// Nothing more to learn from a destination that is not there.
		return append(out, noteFindings(notes)...)
	case !pr.Writable || !pr.Readable || !pr.Deletable:
		var missing []string
		for _, c := range []struct {
			ok   bool
			what string
		}{{pr.Writable, "write"}, {pr.Readable, "read"}, {pr.Deletable, "delete"}} {
			if !c.ok {
				missing = append(missing, c.what)
			}
		}
		detail := "cannot " + strings.Join(missing, ", ") + " a test object"
		for _, n := range pr.Failures {
			detail += ": " + n
		}
		out = append(out, Finding{ID: IDAccess, Name: label, Status: "fail", Detail: detail,
			Fix: "grant this account " + strings.Join(missing, ", ") + " on the destination (delete is needed for pruning)"})
	default:
		out = append(out, Finding{ID: IDAccess, Name: label, Status: "ok", Detail: "wrote, read back and deleted a test object"})
	}
	lock := Finding{ID: IDObjectLock, Name: "object lock / immutability"}
	switch {
	case wantLock && pr.ObjectLock == "disabled":
		lock.Status, lock.Detail = "fail", "configured, but the destination does not support it"
		lock.Fix = "create the bucket with Object Lock enabled (S3) or enable version-level immutability on the container (Azure)"
	case wantLock && pr.ObjectLock == "enabled":
		lock.Status, lock.Detail = "ok", "enabled on the destination"
	case wantLock:
		lock.Status, lock.Detail, lock.Fix = "warn", "configured; the destination reports "+orUnknown(pr.ObjectLock), "verify it in the provider's console"
	case pr.ObjectLock == "enabled":
		lock.Status, lock.Detail = "ok", "enabled on the destination (not requested in the config)"
	case pr.ObjectLock == "n/a":
		lock.Status = "" // the backend's own note says what protects it instead
	default:
		lock.Status, lock.Detail = "warn", "not used: a stolen credential can delete the backups"
		lock.Fix = "consider destination.object_lock (S3) or destination.immutability (Azure)"
	}
	if lock.Status != "" {
		out = append(out, lock)
	}
	if pr.Versioning != "" && pr.Versioning != "n/a" {
		out = append(out, Finding{ID: IDVersioning, Name: "versioning", Status: "ok", Detail: pr.Versioning})
	}
	return append(out, noteFindings(notes)...)
}

func noteFindings(notes []string) []Finding {
	var out []Finding
	for _, n := range notes {
		out = append(out, Finding{ID: IDNote, Name: "destination note", Status: "warn", Detail: n})
	}
	return out
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}
