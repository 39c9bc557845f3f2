package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/internal/testsmtp"
)

// refusedPrune is a bucket of four forged sets of fe01 behind a proxy that
// refuses (403 AccessDenied, as credentials without s3:DeleteObject get)
// the delete of the oldest set's manifest (that set is left whole) and of
// the next one's item (that set is left partly deleted); the third deletes.
type refusedPrune struct {
	s                     *testenv.S3Server
	p                     *faultproxy.Proxy
	bucket, from, proxied string
	f                     *forge
	whole, partly, gone   string
	newest                string
	// freed is what a prune keeping the newest set (or two) frees: the
	// deleted set and what went of the partly deleted one.
	freed int64
}

func newRefusedPrune(t *testing.T) *refusedPrune {
	t.Helper()
	s := testenv.VersityGW(t)
	s.SetEnv(t)
	bucket := s.Bucket(t, false)
	st, err := destination.Open(context.Background(), config.Destination{URL: "s3://" + bucket + "/lb", Endpoint: s.Endpoint, PathStyle: true, Region: s.Region})
	if err != nil {
		t.Fatal(err)
	}
	e := &refusedPrune{s: s, bucket: bucket, f: newForge(t, st, "fe01")}
	now := time.Now()
	e.whole = e.f.at(now.AddDate(0, 0, -4))
	e.partly = e.f.at(now.AddDate(0, 0, -3))
	e.gone = e.f.at(now.AddDate(0, 0, -2))
	e.newest = e.f.at(now.AddDate(0, 0, -1))
	sets, err := (&catalog.Catalog{Store: st, NoChunks: true}).List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sets {
		for _, o := range s.Objects {
			if s.ID == e.gone || s.ID == e.partly && o.Key != catalog.ItemKey("fe01", e.partly, "files") {
				e.freed += o.Size
			}
		}
	}
	p, err := faultproxy.Start(s.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	refused := []string{"/lb/" + catalog.ManifestKey("fe01", e.whole), "/lb/" + catalog.ItemKey("fe01", e.partly, "files")}
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if r.Method == http.MethodDelete && slices.ContainsFunc(refused, func(k string) bool { return strings.HasSuffix(r.URL.Path, k) }) {
			return faultproxy.Fault403
		}
		return faultproxy.FaultNone
	})
	e.p, e.proxied = p, p.URL
	e.from = "s3://" + bucket + "/lb?region=" + s.Region + "&endpoint=" + p.URL + "&path_style=true"
	return e
}

// left is what is left of set id: its object keys (under lb/fe01/id/).
func (e *refusedPrune) left(t *testing.T, id string) []string {
	t.Helper()
	out, err := e.s.Client().ListObjectsV2(context.Background(), &s3.ListObjectsV2Input{Bucket: aws.String(e.bucket), Prefix: aws.String("lb/fe01/" + id + "/")})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, o := range out.Contents {
		keys = append(keys, strings.TrimPrefix(*o.Key, "lb/fe01/"+id+"/"))
	}
	return keys
}

func (e *refusedPrune) checkLeft(t *testing.T) {
	t.Helper()
	if got := e.left(t, e.whole); len(got) != 2 {
		t.Errorf("the set whose manifest delete was refused: %v left, want it whole", got)
	}
	if got := e.left(t, e.partly); len(got) != 1 || got[0] != "files"+catalog.ObjectSuffix {
		t.Errorf("the set whose item delete was refused: %v left, want its item alone", got)
	}
	if got := e.left(t, e.gone); len(got) != 0 {
		t.Errorf("the deleted set: %v left", got)
	}
}

// A delete the store refuses is not reported as done: prune's summary, its
// --json document and its log name the sets really deleted, the sets not
// deleted with the cause, a set left partly deleted, and only the bytes
// really freed.
func TestPruneDeleteRefused(t *testing.T) {
	e := newRefusedPrune(t)
	// A dry run tries no delete: its table says what the policy decided.
	r := testbin.MustRun(t, "", e.s.Env(), "prune", "--from", e.from, "--keep-last", "1", "--dry-run")
	for _, id := range []string{e.whole, e.partly, e.gone} {
		if row := tableRow(t, r.Stdout, id); !regexp.MustCompile(`\scomplete\s+delete(\s|$)`).MatchString(row) || strings.Contains(row, "failed") {
			t.Errorf("dry run: the row of set %s is %q, want the action delete", id, row)
		}
	}
	r = testbin.Run(t, "", e.s.Env(), "prune", "--from", e.from, "--keep-last", "1")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	e.checkLeft(t)
	// Each set's row says what became of it, not only the decision: it
	// said "delete" for the two sets still there.
	for id, want := range map[string]string{e.whole: "delete failed (left whole)", e.partly: "delete failed (partly deleted)", e.gone: "delete", e.newest: "keep"} {
		row := tableRow(t, r.Stdout, id)
		if !regexp.MustCompile(`\scomplete\s+` + regexp.QuoteMeta(want) + `(\s{2}|$)`).MatchString(row) {
			t.Errorf("the row of set %s is %q, want the action %q", id, row, want)
		}
	}
	re := regexp.MustCompile(`(?m)^1 set\(s\) kept, deleted 1 \((\d+) bytes\), delete failed for 2 set\(s\): fe01/` + e.whole +
		` \(left whole\), fe01/` + e.partly + ` \(partly deleted, 1 object\(s\) left\)$`)
	if !re.MatchString(r.Stdout) {
		t.Errorf("summary line not found:\n%s", r.Stdout)
	}
	for _, want := range []string{"error: delete set fe01/" + e.whole + ": ", "error: delete set fe01/" + e.partly + ": ", "AccessDenied", "partly deleted"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, r.Stdout)
		}
	}

	if !strings.Contains(r.Stdout, "deleted 1 ("+strconv.FormatInt(e.freed, 10)+" bytes)") {
		t.Errorf("freed bytes: want %d:\n%s", e.freed, r.Stdout)
	}

	e = newRefusedPrune(t)
	r = testbin.Run(t, "", e.s.Env(), "prune", "--from", e.from, "--keep-last", "1", "--json")
	if r.Code != 1 {
		t.Fatalf("--json: exit %d, want 1\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var doc struct {
		OK        bool `json:"ok"`
		ExitCode  int  `json:"exit_code"`
		Decisions []struct {
			SetID   string `json:"set_id"`
			Keep    bool   `json:"keep"`
			Outcome string `json:"outcome"`
		} `json:"decisions"`
		Kept         int      `json:"kept"`
		Deleted      int      `json:"deleted"`
		DeletedSets  []string `json:"deleted_sets"`
		FreedBytes   int64    `json:"freed_bytes"`
		DeleteFailed []struct {
			Set         string `json:"set"`
			Error       string `json:"error"`
			Partly      bool   `json:"partly_deleted"`
			ObjectsLeft int    `json:"objects_left"`
		} `json:"delete_failed"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil {
		t.Fatalf("%v\n%s", err, r.Stdout)
	}
	if doc.OK || doc.ExitCode != 1 || doc.Kept != 1 || doc.Deleted != 1 || !slices.Equal(doc.DeletedSets, []string{"fe01/" + e.gone}) {
		t.Errorf("--json: ok %v exit %d kept %d deleted %d %v", doc.OK, doc.ExitCode, doc.Kept, doc.Deleted, doc.DeletedSets)
	}
	if doc.FreedBytes != e.freed {
		t.Errorf("--json: freed_bytes %d, want %d (the deleted set, and the manifest of the partly deleted one)", doc.FreedBytes, e.freed)
	}
	if len(doc.DeleteFailed) != 2 || doc.DeleteFailed[0].Set != "fe01/"+e.whole || doc.DeleteFailed[0].Partly || doc.DeleteFailed[0].ObjectsLeft != 2 ||
		doc.DeleteFailed[1].Set != "fe01/"+e.partly || !doc.DeleteFailed[1].Partly || doc.DeleteFailed[1].ObjectsLeft != 1 ||
		!strings.Contains(doc.DeleteFailed[0].Error, "AccessDenied") || !strings.Contains(doc.DeleteFailed[1].Error, "AccessDenied") {
		t.Errorf("--json: delete_failed %+v", doc.DeleteFailed)
	}
	outcomes := map[string]string{}
	for _, d := range doc.Decisions {
		outcomes[d.SetID] = d.Outcome
	}
	if want := map[string]string{e.whole: "left_whole", e.partly: "partly_deleted", e.gone: "deleted", e.newest: "kept"}; !maps.Equal(outcomes, want) {
		t.Errorf("--json: decisions' outcomes %v, want %v", outcomes, want)
	}
	e.checkLeft(t)
}

// tableRow is the row of set id in prune's decision table.
func tableRow(t *testing.T, out, id string) string {
	t.Helper()
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, id+" ") {
			return strings.TrimRight(l, " ")
		}
	}
	t.Errorf("no row of set %s in:\n%s", id, out)
	return ""
}

// The prune after a backup reports, mails and meters what it really did.
// The backup's set is committed complete, so the run exits 3 (it was 1):
// --json says not ok, status complete, exit 3, the error and the prune
// object name the prune; the metrics count the backup as the last success
// (they said last_run_success 0, and the "no good backup" alert sent the
// admin to the wrong cause) and the prune as failed; the mail and the log
// name the prune.
func TestPruneAfterBackupDeleteRefused(t *testing.T) {
	e := newRefusedPrune(t)
	r, prom, logf, smtpSrv := e.backupPruneFails(t)
	const cause = "backup committed, but the prune after it failed: "
	var sum backupPruneJSON
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil || sum.Prune == nil {
		t.Fatalf("backup --json: %v\n%s", err, r.Stdout)
	}
	if !slices.Equal(sum.Prune.Deleted, []string{"fe01/" + e.gone}) || len(sum.Prune.DeleteFailed) != 2 ||
		sum.Prune.DeleteFailed[0].Set != "fe01/"+e.whole || sum.Prune.DeleteFailed[1].Set != "fe01/"+e.partly || !sum.Prune.DeleteFailed[1].Partly {
		t.Errorf("backup --json prune: deleted %v, delete_failed %+v", sum.Prune.Deleted, sum.Prune.DeleteFailed)
	}
	if sum.Prune.FreedBytes != e.freed {
		t.Errorf("backup --json prune: freed_bytes %d, want %d", sum.Prune.FreedBytes, e.freed)
	}
	if sum.OK || sum.ExitCode != 3 || sum.Status != "complete" || sum.SetID == "" || !strings.HasPrefix(sum.Error, cause) || !strings.Contains(sum.Error, "AccessDenied") {
		t.Errorf("backup --json: ok %v exit_code %d status %q set_id %q error %q", sum.OK, sum.ExitCode, sum.Status, sum.SetID, sum.Error)
	}
	if sum.Prune.OK || len(sum.Prune.Errors) != 2 {
		t.Errorf("backup --json prune: ok %v errors %q", sum.Prune.OK, sum.Prune.Errors)
	}
	if want := "lyncbackup: " + cause; !strings.Contains(r.Stderr, want) {
		t.Errorf("stderr lacks %q:\n%s", want, r.Stderr)
	}
	e.checkLeft(t)
	mails := smtpSrv.Mails()
	if len(mails) != 1 {
		t.Fatalf("mails: %d (stderr %s)", len(mails), r.Stderr)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if subj, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject")); err != nil || !strings.Contains(subj, "COMPLETE fe01: "+cause) {
		t.Errorf("mail subject %q: want the prune named", subj)
	}
	body, _ := io.ReadAll(msg.Body)
	// The body may be quoted-printable: compare it unwrapped.
	text := strings.NewReplacer("=\r\n", "", "=\n", "", "\r\n", "\n").Replace(string(body))
	for _, want := range []string{"Exit code:  3\n", "Error: " + cause, "deleted 1 (", ": fe01/" + e.gone + "; delete failed for 2 set(s): fe01/" + e.whole + " (left whole), fe01/" + e.partly + " (partly deleted, 1 object(s) left)", "AccessDenied"} {
		if !strings.Contains(text, want) {
			t.Errorf("mail lacks %q:\n%s", want, text)
		}
	}
	logText, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	// Each set's log record says what became of it (it said action=delete
	// for the two sets still there, at INFO).
	for _, want := range []string{"deleted=1 delete_failed=2 freed_bytes=" + strconv.FormatInt(e.freed, 10) + " ",
		`level=WARN msg="prune decision" set=fe01/` + e.whole + ` status=complete action=delete outcome=left_whole `,
		`level=WARN msg="prune decision" set=fe01/` + e.partly + ` status=complete action=delete outcome=partly_deleted `,
		`level=INFO msg="prune decision" set=fe01/` + e.gone + ` status=complete action=delete outcome=deleted `,
		`level=WARN msg="run partial" command=backup exit_code=3 `, `err="` + cause} {
		if !strings.Contains(string(logText), want) {
			t.Errorf("log lacks %q:\n%s", want, logText)
		}
	}
	data, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	txt := string(data)
	for _, want := range []string{`lyncbackup_last_prune_deleted_sets{host="fe01"} 1`, `lyncbackup_last_prune_delete_failed_sets{host="fe01"} 2`,
		`lyncbackup_last_prune_freed_bytes{host="fe01"} ` + strconv.FormatInt(e.freed, 10),
		`lyncbackup_last_prune_success{host="fe01"} 0`, `lyncbackup_last_run_success{host="fe01"} 1`,
		`lyncbackup_last_run_exit_code{host="fe01"} 3`, `lyncbackup_last_run_status{host="fe01",status="complete"} 1`} {
		if !strings.Contains(txt, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, txt)
		}
	}
	// The last success is this run (its end): the file had none before.
	m := regexp.MustCompile(`(?m)^lyncbackup_last_success_timestamp_seconds\{host="fe01"\} ([0-9.]+)$`).FindStringSubmatch(txt)
	if m == nil {
		t.Fatalf("no last success in the metrics:\n%s", txt)
	}
	if ts, _ := strconv.ParseFloat(m[1], 64); time.Since(time.UnixMilli(int64(ts*1000))) > 10*time.Minute || ts <= 0 {
		t.Errorf("lyncbackup_last_success_timestamp_seconds %s, want this run's end\n%s", m[1], txt)
	}
}

// backupPruneFails runs `backup --json` of e's source through the proxy,
// with retention {keep_last: 2, after_backup: true}, metrics (prom), a log
// file (logf) and a mail to smtpSrv on every run, and wants exit 3: the
// backup committed, the prune after it failed.
func (e *refusedPrune) backupPruneFails(t *testing.T) (r testbin.Result, prom, logf string, smtpSrv *testsmtp.Server) {
	t.Helper()
	work := t.TempDir()
	prom = filepath.Join(work, "lyncbackup.prom")
	logf = filepath.Join(work, "lyncbackup.log")
	smtpSrv = testsmtp.Start(t, "lb@contoso.com", "mail-secret-42")
	cfg := writeConfig(t, work, `host: fe01
staging: `+yamlQuote(filepath.Join(work, "staging"))+`
exporters: [{kind: path, name: files, paths: [`+yamlQuote(e.f.src)+`]}]
encryption: {recipients: [`+yamlQuote(e.f.pub)+`]}
destination:
  url: `+yamlQuote("s3://"+e.bucket+"/lb")+`
  endpoint: `+yamlQuote(e.proxied)+`
  region: `+e.s.Region+`
  path_style: true
retention: {keep_last: 2, after_backup: true}
metrics: {textfile: `+yamlQuote(prom)+`}
log: {file: `+yamlQuote(logf)+`}
notify:
  on: always
  email: {server: `+smtpSrv.Addr+`, from: lb@contoso.com, to: [ops@contoso.com], username: lb@contoso.com, password_env: LB_PFT_SMTP_PASS, ca_file: `+yamlQuote(smtpSrv.CertFile)+`}
`)
	r = testbin.Run(t, "", append(e.s.Env(), "LB_PFT_SMTP_PASS=mail-secret-42"), "backup", "--config", cfg, "--json", "--progress=never")
	if r.Code != 3 {
		t.Fatalf("exit %d, want 3 (backup committed, prune failed)\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	return r, prom, logf, smtpSrv
}

// A prune after a backup that fails before it decides anything (the
// store refuses the listing) is a failed prune after a stored backup, as
// a refused delete is: exit 3, the backup the last success in the
// metrics, the prune failed; the mail's retention line says that nothing
// was decided or deleted (it said "0 set(s) kept, deleted 0", as if the
// destination held no sets); nothing is deleted.
func TestPruneAfterBackupListingRefused(t *testing.T) {
	e := newRefusedPrune(t)
	var committed atomic.Bool
	e.p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		switch {
		case r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/manifest.json"):
			committed.Store(true) // this run's manifest: the set is committed
		case committed.Load() && r.Method == http.MethodGet && r.URL.Query().Has("list-type"):
			return faultproxy.Fault403
		}
		return faultproxy.FaultNone
	})
	r, prom, logf, smtpSrv := e.backupPruneFails(t)
	var sum backupPruneJSON
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil || sum.Prune == nil {
		t.Fatalf("backup --json: %v\n%s", err, r.Stdout)
	}
	if sum.OK || sum.ExitCode != 3 || sum.Status != "complete" || !strings.HasPrefix(sum.Error, "backup committed, but the prune after it failed: ") || !strings.Contains(sum.Error, "AccessDenied") {
		t.Errorf("backup --json: ok %v exit_code %d status %q error %q", sum.OK, sum.ExitCode, sum.Status, sum.Error)
	}
	if sum.Prune.OK || len(sum.Prune.Deleted) != 0 || len(sum.Prune.Errors) != 1 || !strings.Contains(sum.Prune.Errors[0], "AccessDenied") {
		t.Errorf("backup --json prune: %+v", *sum.Prune)
	}
	for _, id := range []string{e.whole, e.partly, e.gone, e.newest} {
		if got := e.left(t, id); len(got) != 2 {
			t.Errorf("set %s: %v left, want it whole", id, got)
		}
	}
	mails := smtpSrv.Mails()
	if len(mails) != 1 {
		t.Fatalf("mails: %d (stderr %s)", len(mails), r.Stderr)
	}
	text := strings.NewReplacer("=\r\n", "", "=\n", "", "\r\n", "\n").Replace(string(mails[0].Data))
	for _, want := range []string{"Exit code:  3\n", "\nRetention\n  - prune failed before deciding anything: nothing was deleted (the cause below)\n  - error: ", "AccessDenied"} {
		if !strings.Contains(text, want) {
			t.Errorf("mail lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "0 set(s) kept") {
		t.Errorf("the mail counts sets the prune never listed:\n%s", text)
	}
	logText, _ := os.ReadFile(logf)
	for _, want := range []string{`msg="prune after backup failed before deciding anything"`, `msg="run partial" command=backup exit_code=3 `} {
		if !strings.Contains(string(logText), want) {
			t.Errorf("log lacks %q:\n%s", want, logText)
		}
	}
	data, _ := os.ReadFile(prom)
	for _, want := range []string{`lyncbackup_last_prune_success{host="fe01"} 0`, `lyncbackup_last_run_success{host="fe01"} 1`, `lyncbackup_last_run_exit_code{host="fe01"} 3`} {
		if !strings.Contains(string(data), want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, data)
		}
	}
}

// backupPruneJSON is what these tests read of `backup --json` after a prune
// that failed: the run, and its prune object.
type backupPruneJSON struct {
	OK       bool   `json:"ok"`
	ExitCode int    `json:"exit_code"`
	Status   string `json:"status"`
	SetID    string `json:"set_id"`
	Error    string `json:"error"`
	Prune    *struct {
		OK           bool     `json:"ok"`
		Kept         int      `json:"kept"`
		Errors       []string `json:"errors"`
		Deleted      []string `json:"deleted"`
		DeleteFailed []struct {
			Set    string `json:"set"`
			Partly bool   `json:"partly_deleted"`
		} `json:"delete_failed"`
		FreedBytes int64 `json:"freed_bytes"`
	} `json:"prune"`
}
