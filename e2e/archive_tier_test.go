package e2e

import (
	"context"
	"encoding/json"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

// TestS3ArchiveClassKeepsManifestsOnline: with storage_class GLACIER the
// item objects go to GLACIER, but the manifest, the lease and the chunk
// markers are stored in STANDARD: every listing, restore and thaw reads the
// manifest first. In GLACIER every set listed as damaged, and restore
// --thaw failed on the manifest it needed to know what to thaw.
func TestS3ArchiveClassKeepsManifestsOnline(t *testing.T) {
	e := newS3Env(t, false)
	var mu sync.Mutex
	class := map[string]string{}
	target, _ := url.Parse(e.endpoint)
	rp := httputil.NewSingleHostReverseProxy(target)
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		// A PutObject, or the start of a multipart upload (its parts carry
		// no class).
		if (r.Method == http.MethodPut && !q.Has("partNumber")) || (r.Method == http.MethodPost && q.Has("uploads")) {
			mu.Lock()
			class[strings.TrimPrefix(r.URL.Path, "/"+e.bucket+"/")] = r.Header.Get("X-Amz-Storage-Class")
			mu.Unlock()
		}
		rp.ServeHTTP(w, r)
	}))
	defer rec.Close()
	real := e.endpoint
	e.endpoint = rec.URL
	e.destExtra = "  storage_class: GLACIER\n"
	e.writeConfig()
	id := e.backup()
	mu.Lock()
	manifest := class[e.prefix+"/"+e.host+"/"+id+"/manifest.json"] + class[e.prefix+"/"+e.host+"/"+id+"/lease.json"]
	var glacier int
	for k, c := range class {
		if c == "GLACIER" && !strings.HasSuffix(k, "/manifest.json") && !strings.HasSuffix(k, "/lease.json") {
			glacier++
		}
	}
	mu.Unlock()
	if manifest != "" || glacier == 0 {
		t.Fatalf("manifest and lease stored as %q (want the bucket's default), %d other objects as GLACIER: %v", manifest, glacier, class)
	}
	// The item objects are cold, the manifest is not: list shows the set
	// complete, and restore --thaw asks for the items.
	proxy, err := faultproxy.S3Frozen{Class: "GLACIER", Cold: func(r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		return class[strings.TrimPrefix(r.URL.Path, "/"+e.bucket+"/")] == "GLACIER"
	}}.Start(real)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	e.endpoint = proxy.URL
	e.writeConfig()
	if r := e.run(nil, "list"); r.Code != 0 || strings.Contains(r.Stdout, "damaged") || !strings.Contains(r.Stdout, "complete") {
		t.Errorf("list of a GLACIER set: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if r := e.run(nil, "restore", id, "--thaw"); r.Code != 0 {
		t.Errorf("restore %s --thaw: exit %d\n%s", id, r.Code, r.Stderr)
	}
	// A set written before manifests were kept online: its manifest is
	// cold too. restore ID --thaw starts bringing the manifest back, and
	// says to come back for the items (it failed on the manifest).
	mu.Lock()
	class[e.prefix+"/"+e.host+"/"+id+"/manifest.json"] = "GLACIER"
	mu.Unlock()
	r := e.run(nil, "restore", id, "--thaw")
	if r.Code != 0 || !strings.Contains(r.Stdout+r.Stderr, "is itself in the archive tier") {
		t.Errorf("restore %s --thaw with a cold manifest: exit %d\n%s%s", id, r.Code, r.Stdout, r.Stderr)
	}
}

// TestS3ArchivedManifestStatus: a set written before manifests were kept
// online (storage_class GLACIER then archived the manifest too) lists as
// archived, not damaged, in text and --json, with the command that thaws
// it; a prune whose policy would drop it leaves it and every chunk it may
// name (its manifest cannot be read now: nothing says which are its), and
// still prunes the set no rule keeps.
func TestS3ArchivedManifestStatus(t *testing.T) {
	e := newS3Env(t, false)
	e.format = "chunked"
	e.writeConfig()
	sets := archivedSets(t, e.remoteEnv, e.backup, filepath.Join(e.src, "Topology", "meeting-content.bin"))
	m := e.manifestAt(sets[0]) // before it goes cold
	manifest := "/" + e.bucket + "/" + e.prefix + "/" + e.host + "/" + sets[0] + "/manifest.json"
	proxy, err := faultproxy.S3Frozen{Class: "GLACIER", Cold: func(r *http.Request) bool { return r.URL.Path == manifest }}.Start(e.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	e.endpoint = proxy.URL
	e.writeConfig()
	checkArchivedSet(t, e.remoteEnv, sets, m, e.keys)
}

// TestAzureArchivedManifestStatus: the same on Azure (Azurite answers a
// read of an Archive-tier blob with BlobArchived): the old set's manifest
// blob set to the Archive tier, as an access_tier: Archive destination
// stored it before manifests were kept online.
func TestAzureArchivedManifestStatus(t *testing.T) {
	e := newAzEnv(t)
	e.format = "chunked"
	e.writeConfig()
	sets := archivedSets(t, e.remoteEnv, e.backup, filepath.Join(e.src, "FileStore", "recording.bin"))
	ctx := context.Background()
	b := e.az.Client(e.container).NewBlobClient(e.prefix + "/" + e.host + "/" + sets[0] + "/manifest.json")
	dl, err := b.DownloadStream(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, err := catalog.ParseManifest(dl.Body)
	dl.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.SetTier(ctx, blob.AccessTierArchive, nil); err != nil {
		t.Fatal(err)
	}
	checkArchivedSet(t, e.remoteEnv, sets, m, func() []string { return e.blobs(false) })
}

// archivedSets makes three chunked sets, each with other content in the
// big file, so that the first set's chunks are its own, and returns their
// ids, oldest first.
func archivedSets(t *testing.T, e *remoteEnv, backup func(...string) string, big string) []string {
	t.Helper()
	var sets []string
	for seed := range byte(3) {
		if seed > 0 {
			f, err := os.Create(big)
			if err != nil {
				t.Fatal(err)
			}
			io.CopyN(f, rand.NewChaCha8([32]byte{seed}), 3<<20)
			f.Close()
		}
		sets = append(sets, backup())
	}
	return sets
}

// checkArchivedSet checks list, list --json and prune --keep-last 1 over
// sets (oldest first), the oldest one's manifest (m) in an archive tier;
// keys lists the store's objects (raw, under e.prefix).
func checkArchivedSet(t *testing.T, e *remoteEnv, sets []string, m *catalog.Manifest, keys func() []string) {
	t.Helper()
	old, mid, newest := sets[0], sets[1], sets[2]
	r := e.run(nil, "list")
	row := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(e.host) + `\s+` + old + `\s+\S+ \S+\s+(\S+)`).FindStringSubmatch(r.Stdout)
	if r.Code != 0 || row == nil || row[1] != "archived" || !strings.Contains(r.Stdout, "restore "+old+" --thaw") {
		t.Errorf("list with the old set's manifest archived: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = e.run(nil, "list", "--json")
	var doc struct {
		Sets []struct {
			SetID  string `json:"set_id"`
			Status string `json:"status"`
			Hint   string `json:"hint"`
		} `json:"sets"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || r.Code != 0 {
		t.Fatalf("list --json: exit %d, %v\n%s", r.Code, err, r.Stdout)
	}
	for _, s := range doc.Sets {
		want := "complete"
		if s.SetID == old {
			want = "archived"
			if !strings.Contains(s.Hint, "restore "+old+" --thaw") {
				t.Errorf("list --json: the archived set's hint %q does not name restore %s --thaw", s.Hint, old)
			}
		}
		if s.Status != want {
			t.Errorf("list --json: set %s is %s, want %s", s.SetID, s.Status, want)
		}
	}

	// keep_last 1 would drop both older sets: the archived one stays,
	// with every object and chunk; the middle one goes.
	before := map[string]bool{}
	for _, k := range keys() {
		before[k] = true
	}
	r = e.run(nil, "prune", "--keep-last", "1", "--json")
	rep := decodeReport(t, r.Stdout)
	for _, d := range rep.Decisions {
		switch d.ID {
		case old:
			if !d.Keep || d.Status != "archived" || !strings.Contains(strings.Join(d.Reasons, "; "), "--thaw") {
				t.Errorf("prune's decision on the archived set: %+v", d)
			}
		case mid:
			if d.Keep {
				t.Errorf("prune kept the middle set: %+v", d)
			}
		case newest:
			if !d.Keep {
				t.Errorf("prune dropped the newest set: %+v", d)
			}
		}
	}
	after := map[string]bool{}
	for _, k := range keys() {
		after[k] = true
	}
	for _, it := range m.Items {
		for _, c := range it.Chunks {
			if !after[e.prefix+"/"+c.Key] {
				t.Errorf("prune deleted chunk %s of the archived set", c.Key)
			}
		}
	}
	for k := range before {
		if strings.Contains(k, "/"+old+"/") && !after[k] {
			t.Errorf("prune deleted %s of the archived set", k)
		}
	}
	if after[e.prefix+"/"+e.host+"/"+mid+"/manifest.json"] {
		t.Errorf("the middle set, which no rule keeps, was not pruned (exit %d): %s", r.Code, r.Stderr)
	}
}

// manifestAt reads set's manifest from the bucket (not through the tool
// or a proxy).
func (e *s3Env) manifestAt(set string) *catalog.Manifest {
	e.t.Helper()
	out, err := e.srv.Client().GetObject(context.Background(), &s3.GetObjectInput{Bucket: aws.String(e.bucket), Key: aws.String(e.prefix + "/" + e.host + "/" + set + "/manifest.json")})
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Body.Close()
	m, err := catalog.ParseManifest(out.Body)
	if err != nil {
		e.t.Fatal(err)
	}
	return m
}

// TestS3VerifyArchivedSet: verify all and verify SET name a set whose
// manifest is in an archive tier as archived, with the restore SET --thaw
// that brings it back (as list does), not the store's raw error; such a
// set is one verify cannot read, a failed set (exit 1), as a damaged one
// is, and verify all still verifies the others.
func TestS3VerifyArchivedSet(t *testing.T) {
	e := newS3Env(t, false)
	e.format = "chunked"
	e.writeConfig()
	sets := archivedSets(t, e.remoteEnv, e.backup, filepath.Join(e.src, "Topology", "meeting-content.bin"))
	old := sets[0]
	manifest := "/" + e.bucket + "/" + e.prefix + "/" + e.host + "/" + old + "/manifest.json"
	proxy, err := faultproxy.S3Frozen{Class: "GLACIER", Cold: func(r *http.Request) bool { return r.URL.Path == manifest }}.Start(e.endpoint)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	e.endpoint = proxy.URL
	e.writeConfig()
	thaw := "restore " + old + " --thaw"

	r := e.run(nil, "verify", "all")
	if r.Code != 1 || !strings.Contains(r.Stderr, old+" is archived") || !strings.Contains(r.Stderr, thaw) {
		t.Errorf("verify all with %s archived: exit %d, want 1 naming it archived and %q\n%s%s", old, r.Code, thaw, r.Stdout, r.Stderr)
	}
	for _, id := range sets[1:] {
		if !strings.Contains(r.Stdout+r.Stderr, "verified set "+e.host+"/"+id) {
			t.Errorf("verify all did not verify %s:\n%s%s", id, r.Stdout, r.Stderr)
		}
	}
	r = e.run(nil, "verify", "all", "--json")
	var doc struct {
		ExitCode int `json:"exit_code"`
		Sets     []struct {
			SetID string `json:"set_id"`
			Error string `json:"error"`
		} `json:"sets"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || r.Code != 1 || doc.ExitCode != 1 {
		t.Fatalf("verify all --json: exit %d, %v\n%s", r.Code, err, r.Stdout)
	}
	for _, s := range doc.Sets {
		if (s.SetID == old) != strings.Contains(s.Error, thaw) {
			t.Errorf("verify all --json: set %s: error %q", s.SetID, s.Error)
		}
	}

	r = e.run(nil, "verify", old)
	if r.Code != 1 || !strings.Contains(r.Stderr, old+" is archived") || !strings.Contains(r.Stderr, thaw) {
		t.Errorf("verify %s (archived): exit %d, want 1 naming it archived and %q\n%s%s", old, r.Code, thaw, r.Stdout, r.Stderr)
	}
}

// TestS3VerifyLatestNewestUnverifiable: a scheduled verify latest answers
// "is my newest backup good?". When the newest set cannot be verified,
// damaged or archived alike, it fails (exit 1) in one line naming that set,
// why (for an archived one, the restore SET-ID --thaw that brings it back)
// and the newest complete set to verify by id; it verifies nothing older
// and never reports success. With the newest archived it warned and
// verified the older set, exit 0.
func TestS3VerifyLatestNewestUnverifiable(t *testing.T) {
	e := newS3Env(t, false)
	e.format = "chunked"
	e.writeConfig()
	sets := archivedSets(t, e.remoteEnv, e.backup, filepath.Join(e.src, "Topology", "meeting-content.bin"))
	mid, newest := sets[1], sets[2]
	direct := e.endpoint
	manifest := "/" + e.bucket + "/" + e.prefix + "/" + e.host + "/" + newest + "/manifest.json"
	proxy, err := faultproxy.S3Frozen{Class: "GLACIER", Cold: func(r *http.Request) bool { return r.URL.Path == manifest }}.Start(direct)
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	e.endpoint = proxy.URL
	e.writeConfig()
	r := e.run(nil, "verify", "latest")
	failsWith(t, r, 1, "verify latest: the newest set", newest, "archived", "restore "+newest+" --thaw", "newest complete set is "+mid)
	if strings.Contains(r.Stdout, "verified set") {
		t.Errorf("verify latest reported a verified set:\n%s", r.Stdout)
	}
	checkLatestJSON(t, e.run(nil, "verify", "latest", "--json"), newest, "restore "+newest+" --thaw")

	// The same newest set, online again but damaged.
	e.endpoint = direct
	e.writeConfig()
	if _, err := e.srv.Client().PutObject(context.Background(), &s3.PutObjectInput{Bucket: aws.String(e.bucket),
		Key: aws.String(e.prefix + "/" + e.host + "/" + newest + "/manifest.json"), Body: strings.NewReader("{not json")}); err != nil {
		t.Fatal(err)
	}
	r = e.run(nil, "verify", "latest")
	failsWith(t, r, 1, "verify latest: the newest set", newest, "damaged", "newest complete set is "+mid)
	if strings.Contains(r.Stdout, "verified set") {
		t.Errorf("verify latest reported a verified set:\n%s", r.Stdout)
	}
	checkLatestJSON(t, e.run(nil, "verify", "latest", "--json"), newest, "damaged")
}

// checkLatestJSON checks verify latest --json over a newest set it cannot
// verify: not ok, exit 1, the newest set's id and an error saying why.
func checkLatestJSON(t *testing.T, r testbin.Result, newest, why string) {
	t.Helper()
	var doc struct {
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		SetID    string `json:"set_id"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal([]byte(r.Stdout), &doc); err != nil || r.Code != 1 || doc.OK || doc.ExitCode != 1 || doc.SetID != newest || !strings.Contains(doc.Error, why) {
		t.Errorf("verify latest --json: exit %d, %v, %+v, want set %s and %q\n%s", r.Code, err, doc, newest, why, r.Stdout)
	}
}
