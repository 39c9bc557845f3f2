package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/retention"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// forge makes real backup sets (tar | zstd | age, manifest last) with a fake
// clock, so a test can have months of history without waiting for it.
type forge struct {
	t        *testing.T
	store    upload.Store
	host     string
	src      string
	staging  string
	recips   []crypto.Recipient
	pub      string
	identity string
	lockDays int
}

func newForge(t *testing.T, st upload.Store, host string) *forge {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "src")
	os.MkdirAll(filepath.Join(src, "sub"), 0o755)
	os.WriteFile(filepath.Join(src, "Topology.xml"), []byte("<Topology/>"), 0o644)
	os.WriteFile(filepath.Join(src, "sub", "a.txt"), []byte(strings.Repeat("lync ", 100)), 0o644)
	id := filepath.Join(dir, "identity.txt")
	pub, err := crypto.GenerateIdentity(id)
	if err != nil {
		t.Fatal(err)
	}
	recips, err := crypto.ParseRecipients([]string{pub}, "")
	if err != nil {
		t.Fatal(err)
	}
	return &forge{t: t, store: st, host: host, src: src, staging: filepath.Join(dir, "staging"), recips: recips, pub: pub, identity: id}
}

// at commits one set started at the given time and returns its id.
func (f *forge) at(when time.Time) string {
	f.t.Helper()
	job := pipeline.BackupJob{
		Host: f.host, Store: f.store, Exporters: []exporters.Exporter{exporters.NewPath("files", f.src)},
		Recipients: f.recips, Compression: "fastest", Parallel: 1, Staging: f.staging,
		Now: func() time.Time { return when },
	}
	if f.lockDays > 0 {
		job.LockMode, job.LockDays = "GOVERNANCE", f.lockDays
	}
	res, err := pipeline.Backup(context.Background(), job)
	if err != nil {
		f.t.Fatalf("forge set at %v: %v", when, err)
	}
	return res.Manifest.SetID
}

type listed struct {
	Sets []struct {
		Host   string `json:"host"`
		SetID  string `json:"set_id"`
		Status string `json:"status"`
	} `json:"sets"`
}

// listSets runs the binary's list --json and returns id -> status.
func listSets(t *testing.T, env []string, from string) map[string]string {
	t.Helper()
	r := testbin.MustRun(t, "", env, "list", "--json", "--from", from)
	var l listed
	if err := json.Unmarshal([]byte(r.Stdout), &l); err != nil {
		t.Fatalf("list --json: %v\n%s", err, r.Stdout)
	}
	out := map[string]string{}
	for _, s := range l.Sets {
		out[s.SetID] = s.Status
	}
	return out
}

func fileURL(dir string) string { return "file://" + filepath.ToSlash(dir) }

func localDest(t *testing.T) (*local.Store, string) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "backups")
	os.MkdirAll(dir, 0o755)
	st, err := local.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	return st, dir
}

// gfsHistory forges one set a day for 40 days and one a month (on the 15th)
// for 13 months before that, at an hour 12 h away from now so no set sits
// on a boundary. (The 15th two months back is always at least 44 days ago.)
func gfsHistory(f *forge, loc *time.Location, now time.Time) []time.Time {
	nl := now.In(loc)
	hour := (nl.Hour() + 12) % 24
	var times []time.Time
	for d := 1; d <= 40; d++ {
		day := nl.AddDate(0, 0, -d)
		times = append(times, time.Date(day.Year(), day.Month(), day.Day(), hour, 0, 0, 0, loc))
	}
	for m := 2; m <= 14; m++ {
		mo := time.Date(nl.Year(), nl.Month()-time.Month(m), 15, hour, 0, 0, 0, loc)
		times = append(times, mo)
	}
	for _, at := range times {
		f.at(at)
	}
	return times
}

// expectGFS computes by hand what keep_daily 7, keep_monthly 6, min_age 10d
// keep of one-set-a-day history: the 7 newest sets, the newest set of each
// of the 6 newest months, and everything younger than 10 days.
func expectGFS(times []time.Time, loc *time.Location, now time.Time) map[int64]bool {
	sorted := slices.Clone(times)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].After(sorted[j]) })
	keep := map[int64]bool{}
	for _, at := range sorted[:7] {
		keep[at.Unix()] = true
	}
	months := map[int]bool{}
	for _, at := range sorted {
		l := at.In(loc)
		k := l.Year()*100 + int(l.Month())
		if !months[k] && len(months) < 6 {
			months[k] = true
			keep[at.Unix()] = true
		}
	}
	for _, at := range sorted {
		if at.After(now.In(loc).AddDate(0, 0, -10)) {
			keep[at.Unix()] = true
		}
	}
	return keep
}

// decodeReport reads prune --json: the report, with "policy" in machine
// values and its text in "policy_text" (returned as Report.Policy).
func decodeReport(t *testing.T, out string) retention.Report {
	t.Helper()
	var doc struct {
		retention.Report
		Policy     map[string]any `json:"policy"`
		PolicyText string         `json:"policy_text"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("prune --json: %v\n%s", err, out)
	}
	if doc.Policy == nil || doc.PolicyText == "" {
		t.Fatalf("prune --json without policy / policy_text:\n%s", out)
	}
	rep := doc.Report
	rep.Policy = doc.PolicyText
	return rep
}

func writeConfig(t *testing.T, dir string, body string) string {
	t.Helper()
	p := filepath.Join(dir, "lyncbackup.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func yamlQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

func TestPruneLocalGFS(t *testing.T) {
	st, dir := localDest(t)
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	f := newForge(t, st, "fe01")
	now := time.Now()
	times := gfsHistory(f, loc, now)
	other := newForge(t, st, "fe02")
	otherID := other.at(now.AddDate(-2, 0, 0)) // another host's only, very old, set
	want := expectGFS(times, loc, now)

	cfg := writeConfig(t, t.TempDir(), `host: fe01
exporters: [{kind: path, name: files, paths: [`+yamlQuote(f.src)+`]}]
encryption: {recipients: [`+yamlQuote(f.pub)+`]}
destination: {url: `+yamlQuote(fileURL(dir))+`}
retention: {keep_daily: 7, keep_monthly: 6, min_age: 10d, timezone: Europe/Berlin}
`)
	before := listSets(t, nil, fileURL(dir))
	if len(before) != len(times)+1 {
		t.Fatalf("forged %d sets, list shows %d", len(times)+1, len(before))
	}

	// Dry run: the decisions, and nothing changes.
	r := testbin.MustRun(t, "", nil, "prune", "--config", cfg, "--all-hosts", "--dry-run", "--json")
	rep := decodeReport(t, r.Stdout)
	if !rep.DryRun || len(rep.Decisions) != len(before) {
		t.Fatalf("dry run report: dry_run=%v, %d decisions", rep.DryRun, len(rep.Decisions))
	}
	wantKept := 1 // fe02's newest
	for _, d := range rep.Decisions {
		if d.Host == "fe02" {
			if !d.Keep || !slices.Contains(d.Reasons, "newest") {
				t.Errorf("fe02's only set: keep=%v %v", d.Keep, d.Reasons)
			}
			continue
		}
		if d.Keep != want[d.Time.Unix()] {
			t.Errorf("%s at %s: keep=%v %v, hand-worked answer %v", d.ID, d.Time.In(loc), d.Keep, d.Reasons, !d.Keep)
		}
	}
	for _, k := range want {
		if k {
			wantKept++
		}
	}
	if rep.Kept != wantKept || rep.Deleted != len(before)-wantKept {
		t.Errorf("dry run: kept %d deleted %d, want %d and %d", rep.Kept, rep.Deleted, wantKept, len(before)-wantKept)
	}
	if after := listSets(t, nil, fileURL(dir)); len(after) != len(before) {
		t.Fatalf("dry run changed the store: %d -> %d sets", len(before), len(after))
	}

	// The real prune, as a table.
	r = testbin.MustRun(t, "", nil, "prune", "--config", cfg)
	for _, s := range []string{"SET", "REASONS", "daily 1/7, monthly 1/6, newest", "monthly 6/6", "min_age 10d", "delete", "no rule keeps it", "Europe/Berlin"} {
		if !strings.Contains(r.Stdout, s) {
			t.Errorf("prune output lacks %q:\n%s", s, r.Stdout)
		}
	}
	after := listSets(t, nil, fileURL(dir))
	if len(after) != wantKept {
		t.Errorf("%d sets left, want %d", len(after), wantKept)
	}
	if after[otherID] != "complete" {
		t.Error("fe02's set is gone")
	}
	for _, d := range rep.Decisions {
		if _, ok := after[d.ID]; ok != d.Keep {
			t.Errorf("%s: present after prune %v, decided keep %v", d.ID, ok, d.Keep)
		}
	}
	// What is left restores: verify the oldest kept fe01 set and the newest.
	var oldest string
	for _, d := range rep.Decisions {
		if d.Keep && d.Host == "fe01" && (oldest == "" || d.ID < oldest) {
			oldest = d.ID
		}
	}
	testbin.MustRun(t, "", nil, "verify", oldest, "--from", fileURL(dir), "--host", "fe01", "--identity", f.identity)
	testbin.MustRun(t, "", nil, "verify", "latest", "--from", fileURL(dir), "--host", "fe01", "--identity", f.identity)
	// Nothing is left behind of the deleted sets (no empty folders either).
	entries, _ := os.ReadDir(filepath.Join(dir, "fe01"))
	if len(entries) != wantKept-1 {
		t.Errorf("%d folders under fe01, want %d", len(entries), wantKept-1)
	}
	// A second prune has nothing to do.
	r = testbin.MustRun(t, "", nil, "prune", "--config", cfg)
	if !strings.Contains(r.Stdout, "deleted 0") {
		t.Errorf("second prune:\n%s", r.Stdout)
	}
}

// Flags work without a config (--from), override it, and bad ones are one
// clear line with exit 2.
func TestPruneFlags(t *testing.T) {
	st, dir := localDest(t)
	f := newForge(t, st, "fe01")
	now := time.Now()
	var ids []string
	for d := 5; d >= 1; d-- {
		ids = append(ids, f.at(now.AddDate(0, 0, -d)))
	}
	from := fileURL(dir)

	r := testbin.MustRun(t, "", nil, "prune", "--from", from)
	if !strings.Contains(r.Stdout, "policy is empty") || !strings.Contains(r.Stdout, "deleted 0") {
		t.Errorf("empty policy:\n%s", r.Stdout)
	}
	if n := len(listSets(t, nil, from)); n != 5 {
		t.Fatalf("empty policy deleted sets: %d left", n)
	}

	for _, bad := range [][]string{
		{"--keep-daily", "-1"},
		{"--keep-within", "soon"},
		{"--timezone", "Mars/Olympus"},
		{"--keep-daily", "x"},
		{"extra"},
	} {
		r := testbin.Run(t, "", nil, append([]string{"prune", "--from", from}, bad...)...)
		if r.Code != 2 || strings.Count(strings.TrimSpace(r.Stderr), "\n") != 0 || !strings.HasPrefix(r.Stderr, "lyncbackup: ") {
			t.Errorf("prune %v: exit %d, stderr %q", bad, r.Code, r.Stderr)
		}
	}
	if r := testbin.Run(t, t.TempDir(), nil, "prune"); r.Code != 2 || !strings.Contains(r.Stderr, "--from") {
		t.Errorf("prune without config: exit %d, %q", r.Code, r.Stderr)
	}

	// Config says keep 4, the flag says 2: the flag wins.
	cfg := writeConfig(t, t.TempDir(), `host: fe01
exporters: [{kind: path, name: files, paths: [`+yamlQuote(f.src)+`]}]
encryption: {recipients: [`+yamlQuote(f.pub)+`]}
destination: {url: `+yamlQuote(from)+`}
retention: {keep_last: 4}
`)
	r = testbin.MustRun(t, "", nil, "prune", "--config", cfg, "--keep-last", "2", "--json")
	rep := decodeReport(t, r.Stdout)
	if rep.Deleted != 3 || rep.Kept != 2 || !strings.HasPrefix(rep.Policy, "last 2") {
		t.Errorf("--keep-last 2 over keep_last 4: kept %d deleted %d, policy %q", rep.Kept, rep.Deleted, rep.Policy)
	}
	got := listSets(t, nil, from)
	if len(got) != 2 || got[ids[3]] == "" || got[ids[4]] == "" {
		t.Errorf("left %v, want the two newest", got)
	}
}

// failDeletes is a store whose object deletes fail (a crash after the
// manifest went): what the next prune must clean up.
type failDeletes struct{ upload.Store }

func (f failDeletes) Delete(ctx context.Context, key string) error {
	if strings.HasSuffix(key, catalog.ObjectSuffix) {
		return errors.New("injected crash")
	}
	return f.Store.Delete(ctx, key)
}

func TestPruneCrashBetweenManifestAndObjects(t *testing.T) {
	st, dir := localDest(t)
	f := newForge(t, st, "fe01")
	now := time.Now()
	victim := f.at(now.AddDate(0, 0, -20))
	keep := f.at(now.AddDate(0, 0, -1))
	from := fileURL(dir)

	ap := &retention.Applier{Store: failDeletes{st}, Policy: retention.Policy{Last: 1}}
	if _, err := ap.Run(context.Background()); !errors.Is(err, retention.ErrPartlyFailed) {
		t.Fatalf("injected crash: err %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "fe01", victim, "files"+catalog.ObjectSuffix)); err != nil {
		t.Fatalf("the crash should have left the objects: %v", err)
	}
	got := listSets(t, nil, from)
	if got[victim] != "incomplete" || got[keep] != "complete" {
		t.Fatalf("after the crash list says %v", got)
	}
	r := testbin.Run(t, "", nil, "verify", victim, "--from", from, "--host", "fe01")
	if r.Code == 0 || !strings.Contains(r.Stderr, "incomplete") {
		t.Errorf("verify of the half-deleted set: exit %d, %q", r.Code, r.Stderr)
	}

	// Its objects were written just now (by the forge): within the grace
	// period the set might still be being written, so it stays.
	r = testbin.MustRun(t, "", nil, "prune", "--from", from, "--keep-last", "1")
	if !strings.Contains(r.Stdout, "in progress") || listSets(t, nil, from)[victim] != "incomplete" {
		t.Fatalf("within grace:\n%s", r.Stdout)
	}
	// A day and a bit later it is garbage.
	old := now.Add(-25 * time.Hour)
	filepath.WalkDir(filepath.Join(dir, "fe01", victim), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			os.Chtimes(p, old, old)
		}
		return nil
	})
	r = testbin.MustRun(t, "", nil, "prune", "--from", from, "--keep-last", "1")
	if !strings.Contains(r.Stdout, "garbage") {
		t.Errorf("past grace:\n%s", r.Stdout)
	}
	if got := listSets(t, nil, from); len(got) != 1 || got[keep] != "complete" {
		t.Fatalf("after the collecting prune: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "fe01", victim)); !os.IsNotExist(err) {
		t.Errorf("the collected set's folder is still there: %v", err)
	}
}

type backupJSON struct {
	OK     bool   `json:"ok"`
	Status string `json:"status"`
	SetID  string `json:"set_id"`
	Prune  *struct {
		Kept    int      `json:"kept"`
		Deleted []string `json:"deleted"`
		Errors  []string `json:"errors"`
	} `json:"prune"`
}

// retention.after_backup prunes after a complete backup, never after a
// partial one.
func TestPruneAfterBackup(t *testing.T) {
	st, dir := localDest(t)
	f := newForge(t, st, "fe01")
	now := time.Now()
	old1 := f.at(now.AddDate(0, 0, -3))
	old2 := f.at(now.AddDate(0, 0, -2))
	extra := filepath.Join(t.TempDir(), "extra")
	os.MkdirAll(extra, 0o755)
	os.WriteFile(filepath.Join(extra, "x.txt"), []byte("x"), 0o644)
	work := t.TempDir()
	cfg := writeConfig(t, work, `host: fe01
staging: `+yamlQuote(filepath.Join(work, "staging"))+`
exporters:
  - {kind: path, name: files, paths: [`+yamlQuote(f.src)+`]}
  - {kind: path, name: extra, paths: [`+yamlQuote(extra)+`]}
encryption: {recipients: [`+yamlQuote(f.pub)+`]}
destination: {url: `+yamlQuote(fileURL(dir))+`}
retention: {keep_last: 2, after_backup: true}
`)
	// A partial backup (one exporter fails): exit 3 and no prune.
	os.RemoveAll(extra)
	r := testbin.Run(t, "", nil, "backup", "--config", cfg, "--json", "--progress=never")
	if r.Code != 3 {
		t.Fatalf("partial backup: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	var sum backupJSON
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil {
		t.Fatalf("backup --json: %v\n%s", err, r.Stdout)
	}
	partial := sum.SetID
	if sum.Status != "partial" || partial == "" {
		t.Fatalf("backup with a missing path: status %q, set %q", sum.Status, partial)
	}
	if sum.Prune != nil {
		t.Errorf("pruned after a partial backup: %+v", sum.Prune)
	}
	if got := listSets(t, nil, fileURL(dir)); len(got) != 3 {
		t.Fatalf("after the partial backup %d sets, want 3 (nothing pruned)", len(got))
	}

	// A complete backup: the policy runs (keep_last 2 of complete sets).
	os.MkdirAll(extra, 0o755)
	os.WriteFile(filepath.Join(extra, "x.txt"), []byte("x"), 0o644)
	r = testbin.MustRun(t, "", nil, "backup", "--config", cfg, "--json", "--progress=never")
	sum = backupJSON{}
	if err := json.Unmarshal([]byte(r.Stdout), &sum); err != nil {
		t.Fatalf("backup --json: %v\n%s", err, r.Stdout)
	}
	if !sum.OK || sum.Prune == nil {
		t.Fatalf("complete backup: ok=%v prune=%+v", sum.OK, sum.Prune)
	}
	// keep_last 2 counts complete sets: the new one and old2. The partial
	// set was kept only while no newer complete set existed.
	sort.Strings(sum.Prune.Deleted)
	want := []string{"fe01/" + old1, "fe01/" + partial}
	sort.Strings(want)
	if !slices.Equal(sum.Prune.Deleted, want) {
		t.Errorf("deleted %v, want %v", sum.Prune.Deleted, want)
	}
	got := listSets(t, nil, fileURL(dir))
	if _, ok := got[old1]; ok || got[old2] != "complete" || got[sum.SetID] != "complete" {
		t.Errorf("after the complete backup: %v", got)
	}
	if len(got) != 2 {
		t.Errorf("%d sets left, want 2: %v", len(got), got)
	}
}

// crashThenCollect injects a crash between manifest and object deletes on
// st: list calls the set incomplete, verify refuses it, a prune within the
// grace period keeps it, and the next prune after grace collects it.
func crashThenCollect(t *testing.T, st upload.Store, env []string, from string) {
	t.Helper()
	f := newForge(t, st, "crash")
	now := time.Now()
	victim := f.at(now.AddDate(0, 0, -20))
	keep := f.at(now.AddDate(0, 0, -1))
	written := time.Now() // the victim's objects are older
	ap := &retention.Applier{Store: failDeletes{st}, Policy: retention.Policy{Last: 1}, Host: "crash"}
	if _, err := ap.Run(context.Background()); !errors.Is(err, retention.ErrPartlyFailed) {
		t.Fatalf("injected crash: err %v", err)
	}
	got := listSets(t, env, from)
	if got[victim] != "incomplete" || got[keep] != "complete" {
		t.Fatalf("after the crash list says %v", got)
	}
	if r := testbin.Run(t, "", env, "verify", victim, "--from", from, "--host", "crash"); r.Code == 0 {
		t.Errorf("verify of the half-deleted set passed")
	}
	// Its objects were just written: a prune with the default grace keeps it.
	r := testbin.MustRun(t, "", env, "prune", "--from", from, "--host", "crash", "--keep-last", "1")
	if !strings.Contains(r.Stdout, "in progress") {
		t.Fatalf("within grace:\n%s", r.Stdout)
	}
	// After the grace period (here 1 s) it is garbage.
	waitStoreAged(t, st, written, time.Second)
	r = testbin.MustRun(t, "", env, "prune", "--from", from, "--host", "crash", "--keep-last", "1", "--grace", "1s")
	if !strings.Contains(r.Stdout, "garbage") {
		t.Errorf("past grace:\n%s", r.Stdout)
	}
	got = listSets(t, env, from)
	if _, ok := got[victim]; ok || got[keep] != "complete" {
		t.Fatalf("after the collecting prune: %v", got)
	}
	n := 0
	st.List(context.Background(), "crash/"+victim+"/", func(upload.ObjectInfo) error { n++; return nil })
	if n != 0 {
		t.Errorf("%d objects of the collected set remain", n)
	}
}

func TestPruneS3ObjectLock(t *testing.T) {
	s := testenv.VersityGW(t)
	s.SetEnv(t)
	ctx := context.Background()
	bucket := s.Bucket(t, true)
	from := "s3://" + bucket + "/lb?region=" + s.Region + "&endpoint=" + s.Endpoint + "&path_style=true"
	st, err := destination.Open(ctx, config.Destination{URL: "s3://" + bucket + "/lb", Endpoint: s.Endpoint, PathStyle: true, Region: s.Region,
		ObjectLock: &config.ObjectLock{Mode: "GOVERNANCE", Days: 1}})
	if err != nil {
		t.Fatal(err)
	}
	env := s.Env()

	// Ten daily sets: one locked for 400 days, one under legal hold, the
	// newest with a 1-day lock (a lock counts from the store's present
	// time, whatever the set's: shorter than the policy's 3 days from the
	// set's time), the others unlocked (S3 refuses a retain-until in the
	// past, so an expired lock cannot be forged).
	f := newForge(t, st, "fe01")
	now := time.Now()
	ids := map[int]string{}
	for d := 10; d >= 1; d-- {
		switch d {
		case 8:
			f.lockDays = 400
		case 1:
			f.lockDays = 1
		default:
			f.lockDays = 0
		}
		ids[d] = f.at(now.AddDate(0, 0, -d).Add(-time.Hour))
	}
	holdKey := "lb/" + catalog.ManifestKey("fe01", ids[6])
	if _, err := s.Client().PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{Bucket: aws.String(bucket), Key: aws.String(holdKey),
		LegalHold: &s3types.ObjectLockLegalHold{Status: s3types.ObjectLockLegalHoldStatusOn}}); err != nil {
		t.Fatalf("legal hold: %v", err)
	}
	// A multipart upload nobody finished.
	if _, err := s.Client().CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: aws.String(bucket), Key: aws.String("lb/fe01/stale.tar.zst.age")}); err != nil {
		t.Fatal(err)
	}
	waitStoreAged(t, st, time.Now(), time.Second)

	cfg := writeConfig(t, t.TempDir(), `host: fe01
exporters: [{kind: path, name: files, paths: [`+yamlQuote(f.src)+`]}]
encryption: {recipients: [`+yamlQuote(f.pub)+`]}
destination:
  url: `+yamlQuote("s3://"+bucket+"/lb")+`
  endpoint: `+yamlQuote(s.Endpoint)+`
  region: `+s.Region+`
  path_style: true
  object_lock: {mode: GOVERNANCE, days: 20}
retention: {keep_daily: 3, timezone: UTC, grace: 1s}
`)
	retainOf := func(key string) time.Time {
		out, err := s.Client().GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(bucket), Key: aws.String("lb/" + key)})
		if err != nil || out.Retention == nil || out.Retention.RetainUntilDate == nil {
			t.Fatalf("retention of %s: %v", key, err)
		}
		return *out.Retention.RetainUntilDate
	}
	// The 400-day lock counts from the store's time when day -8 was forged,
	// not from now: the date the report names is the one the store holds
	// (now's date + 400 was a day short when the forging crossed midnight).
	lockedUntil := retainOf(catalog.ItemKey("fe01", ids[8], "files")).UTC().Format("2006-01-02 15:04")
	// The prune decides by its own clock, read between these two.
	pruneFrom := time.Now()
	r := testbin.MustRun(t, "", env, "prune", "--config", cfg)
	pruneTo := time.Now()
	for _, want := range []string{"locked until " + lockedUntil, "legal hold", "daily 1/3, newest"} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("prune output lacks %q:\n%s", want, r.Stdout)
		}
	}
	got := listSets(t, env, from)
	for d, id := range ids {
		want := d <= 3 || d == 6 || d == 8
		if _, ok := got[id]; ok != want {
			t.Errorf("day -%d: present %v, want %v", d, ok, want)
		}
		if want {
			continue
		}
		// Deleted means every version is gone (an Object Lock bucket is versioned).
		vs, err := s.Client().ListObjectVersions(ctx, &s3.ListObjectVersionsInput{Bucket: aws.String(bucket), Prefix: aws.String("lb/fe01/" + id + "/")})
		if err != nil {
			t.Fatal(err)
		}
		if len(vs.Versions)+len(vs.DeleteMarkers) != 0 {
			t.Errorf("day -%d: %d versions and %d delete markers left", d, len(vs.Versions), len(vs.DeleteMarkers))
		}
	}
	// The kept dailies are locked until their time + 3 days and the slack
	// of 20 lock days (2 days and an hour), every object including the manifest (day
	// -3's date has passed: no lock needed); the newest's 1-day lock grew;
	// the 400-day lock is not shortened.
	//
	// A kept daily also stays until enough newer days can have sets
	// (retention's keptUntil): the d-th newest day goes once 3-d days after
	// the start of the prune's today have passed. Between 00:00 and 01:00
	// UTC the sets, an hour older than d days, fall on the calendar day
	// before, and that date is the later one (the test failed then, from
	// its first day). The prune's today is its own: a test begun before
	// midnight whose prune ran after it wanted the day before's.
	wantUntil := func(d int, pruneNow time.Time) time.Time {
		utc := pruneNow.UTC()
		today := time.Date(utc.Year(), utc.Month(), utc.Day(), 0, 0, 0, 0, time.UTC)
		want := now.AddDate(0, 0, -d).Add(-time.Hour).AddDate(0, 0, 3)
		if floor := today.AddDate(0, 0, 3-d); floor.After(want) {
			want = floor
		}
		return want.AddDate(0, 0, 2).Add(time.Hour)
	}
	for d := 1; d <= 2; d++ {
		wants := []time.Time{wantUntil(d, pruneFrom)}
		if w := wantUntil(d, pruneTo); !w.Equal(wants[0]) {
			wants = append(wants, w)
		}
		for _, k := range []string{catalog.ManifestKey("fe01", ids[d]), catalog.ItemKey("fe01", ids[d], "files")} {
			got := retainOf(k)
			if !slices.ContainsFunc(wants, func(w time.Time) bool { return got.Sub(w).Abs() <= 2*time.Second }) {
				t.Errorf("%s locked until %v, want %v", k, got, wants)
			}
		}
	}
	if got := retainOf(catalog.ItemKey("fe01", ids[8], "files")); got.Before(now.AddDate(0, 0, 390)) {
		t.Errorf("the 400-day lock became %v", got)
	}
	if n, err := s.PendingUploads(ctx, bucket, "lb/"); err != nil || n != 0 {
		t.Errorf("%d stale multipart uploads left (%v)", n, err)
	}
	testbin.MustRun(t, "", env, "verify", "latest", "--from", from, "--host", "fe01", "--identity", f.identity)

	crashThenCollect(t, st, env, from)
}

func TestPruneAzurite(t *testing.T) {
	a := testenv.Azurite(t)
	a.SetEnv(t)
	ctx := context.Background()
	cont := a.Container(t)
	from := "azblob://" + cont + "/lb"
	st, err := destination.Open(ctx, config.Destination{URL: from})
	if err != nil {
		t.Fatal(err)
	}
	env := a.Env()
	f := newForge(t, st, "fe01")
	now := time.Now()
	ids := map[int]string{}
	for d := 6; d >= 1; d-- {
		ids[d] = f.at(now.AddDate(0, 0, -d).Add(-time.Hour))
	}
	r := testbin.MustRun(t, "", env, "prune", "--from", from, "--keep-daily", "2", "--json")
	rep := decodeReport(t, r.Stdout)
	if rep.Kept != 2 || rep.Deleted != 4 || len(rep.Errors) != 0 {
		t.Fatalf("kept %d deleted %d errors %v", rep.Kept, rep.Deleted, rep.Errors)
	}
	got := listSets(t, env, from)
	for d, id := range ids {
		if _, ok := got[id]; ok != (d <= 2) {
			t.Errorf("day -%d: present %v", d, ok)
		}
	}
	n := 0
	st.List(ctx, "fe01/", func(upload.ObjectInfo) error { n++; return nil })
	if n != 2*2 {
		t.Errorf("%d blobs left under fe01/, want 4 (2 sets x item + manifest)", n)
	}
	testbin.MustRun(t, "", env, "verify", "latest", "--from", from, "--identity", f.identity, "--host", "fe01")

	crashThenCollect(t, st, env, from)
}
