package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
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
	e.proxied = p.URL
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
	r := testbin.Run(t, "", e.s.Env(), "prune", "--from", e.from, "--keep-last", "1")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	e.checkLeft(t)
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
		OK           bool     `json:"ok"`
		ExitCode     int      `json:"exit_code"`
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
	e.checkLeft(t)
}

// The prune after a backup reports, mails and meters what it really did.
func TestPruneAfterBackupDeleteRefused(t *testing.T) {
	e := newRefusedPrune(t)
	work := t.TempDir()
	prom := filepath.Join(work, "lyncbackup.prom")
	logf := filepath.Join(work, "lyncbackup.log")
	smtpSrv := testsmtp.Start(t, "lb@contoso.com", "mail-secret-42")
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
	r := testbin.Run(t, "", append(e.s.Env(), "LB_PFT_SMTP_PASS=mail-secret-42"), "backup", "--config", cfg, "--json", "--progress=never")
	if r.Code != 1 {
		t.Fatalf("exit %d, want 1 (backup committed, prune failed)\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var sum struct {
		Prune *struct {
			Deleted      []string `json:"deleted"`
			DeleteFailed []struct {
				Set    string `json:"set"`
				Partly bool   `json:"partly_deleted"`
			} `json:"delete_failed"`
			FreedBytes int64 `json:"freed_bytes"`
		} `json:"prune"`
	}
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
	e.checkLeft(t)
	mails := smtpSrv.Mails()
	if len(mails) != 1 {
		t.Fatalf("mails: %d (stderr %s)", len(mails), r.Stderr)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(mails[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(msg.Body)
	// The body may be quoted-printable: compare it unwrapped.
	text := strings.NewReplacer("=\r\n", "", "=\n", "", "\r\n", "\n").Replace(string(body))
	for _, want := range []string{"deleted 1 (", ": fe01/" + e.gone + "; delete failed for 2 set(s): fe01/" + e.whole + " (left whole), fe01/" + e.partly + " (partly deleted, 1 object(s) left)", "AccessDenied"} {
		if !strings.Contains(text, want) {
			t.Errorf("mail lacks %q:\n%s", want, text)
		}
	}
	logText, err := os.ReadFile(logf)
	if err != nil {
		t.Fatal(err)
	}
	if want := "deleted=1 delete_failed=2 freed_bytes=" + strconv.FormatInt(e.freed, 10) + " "; !strings.Contains(string(logText), want) {
		t.Errorf("log lacks %q:\n%s", want, logText)
	}
	data, err := os.ReadFile(prom)
	if err != nil {
		t.Fatal(err)
	}
	txt := string(data)
	for _, want := range []string{`lyncbackup_last_prune_deleted_sets{host="fe01"} 1`, `lyncbackup_last_prune_delete_failed_sets{host="fe01"} 2`,
		`lyncbackup_last_prune_freed_bytes{host="fe01"} ` + strconv.FormatInt(e.freed, 10)} {
		if !strings.Contains(txt, want+"\n") {
			t.Errorf("metrics lack %q:\n%s", want, txt)
		}
	}
}
