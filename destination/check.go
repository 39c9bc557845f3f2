package destination

import (
	"context"
	"errors"
	"fmt"
	"github.com/lyncbackup/lyncbackup/internal/netdrive"
	"io/fs"
	"strings"
	"syscall"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/diskfree"
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
// only a refused login points at the credentials.
func openFinding(url string, err error) Finding {
	f := Finding{ID: IDAccess, Name: "destination", Status: "fail", Detail: err.Error()}
	msg := strings.ToLower(err.Error())
	switch {
	case strings.Contains(msg, "unknown authority") || strings.Contains(msg, "not trusted"):
		f.Fix = "this machine does not trust the server's certificate: name its CA in destination.ca_file (a PEM file), or import the CA into the machine's trusted roots"
	case upload.IsCertificateError(err) || strings.Contains(msg, "x509:") || strings.Contains(msg, "failed to verify certificate"):
		f.Fix = "the server's certificate does not fit (its name or dates): correct destination.url / endpoint, or have the certificate replaced"
	case errors.Is(err, fs.ErrNotExist) || strings.Contains(msg, "does not exist") || strings.Contains(msg, "no such file"):
		f.Fix = "create it (or correct destination.url); lyncbackup does not create the destination"
	case strings.Contains(msg, "not supported") || strings.Contains(msg, "destination url") || strings.Contains(msg, "invalid"):
		f.Fix = "correct destination.url (file:///path, s3://bucket/prefix, azblob://account/container/prefix)"
	case isFull(err, msg):
		// Before the rights: a full disk is "not writable" too.
		f.Fix = "free space on it (a prune with the retention policy, or a larger disk): the next backup needs room for what changed"
	case strings.Contains(msg, "permission denied") || strings.Contains(msg, "not writable"):
		f.Fix = "grant this account write, read and delete on it"
	case isAuth(msg):
		f.Fix = "check the credentials in this account's environment (or the SAS / keys named in destination)"
	default:
		f.Fix = "check destination.url, the network path to it, and the credentials in this account's environment"
	}
	return f
}

// isFull reports a refusal for want of room. An error that carries the
// system's code (a local folder) is judged by that code alone: its text
// names the path, and a folder such as /srv/quotas that this account may
// not write was told to free space. Only an error without one (a remote
// service's answer) is judged by its words.
func isFull(err error, msg string) bool {
	var errno syscall.Errno
	if errors.As(err, &errno) {
		return diskfree.IsFull(err)
	}
	return strings.Contains(msg, "no space left") || strings.Contains(msg, "not enough space") || strings.Contains(msg, "disk is full") || strings.Contains(msg, "quota")
}

func isAuth(msg string) bool {
	for _, w := range []string{"credential", "access denied", "accessdenied", "forbidden", "403", "401", "authoriz", "authenticat", "signature"} {
		if strings.Contains(msg, w) {
			return true
		}
	}
	return false
}

// Assess interprets a probe: whether the destination exists, takes a
// write, read and delete, and whether object lock / immutability matches
// what the config asks for (wantLock). Every failure names its real cause
// (a missing container is not a permission problem) and its fix.
func Assess(name string, pr upload.ProbeReport, probeErr error, wantLock bool) []Finding {
	label := "destination " + name
	if probeErr != nil {
		f := openFinding(name, probeErr)
		f.Name = label
		if f.Fix == "" || strings.HasPrefix(f.Fix, "check destination.url") {
			f.Fix = "check that the bucket/container/folder exists and this account may write, read and delete in it"
		}
		return []Finding{f}
	}
	var out []Finding
	notes := pr.Notes
	switch {
	case !pr.Exists && !pr.Writable:
		detail := "the bucket or container does not exist"
		var rest []string
		for _, n := range notes {
			if strings.Contains(n, "does not exist") {
				detail = n
			} else {
				rest = append(rest, n)
			}
		}
		notes = rest
		out = append(out, Finding{ID: IDAccess, Name: label, Status: "fail", Detail: detail,
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
		var rest []string
		for _, n := range notes {
			if strings.Contains(n, "failed") || strings.Contains(n, "read back") {
				detail += ": " + n
			} else {
				rest = append(rest, n)
			}
		}
		notes = rest
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
