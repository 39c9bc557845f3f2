package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/upload"
)

// lockNights backs src up to st on nights consecutive nights (the backing-up
// machine's clock a day later each night, so each night's set is locked a
// day later than the last: 30 days from its time), nothing changing in
// between. After each night after the first it asks writes() how many
// retention writes the store was sent so far, and locked(key) how long a
// chunk of that night's set is locked; it returns the nights (1-based
// after the first) that sent any.
func lockNights(t *testing.T, st upload.Store, src string, nights int, writes func() int, locked func(key string) time.Time) []int {
	t.Helper()
	dir := t.TempDir()
	pub, err := crypto.GenerateIdentity(filepath.Join(dir, "identity.txt"))
	if err != nil {
		t.Fatal(err)
	}
	recips, err := crypto.ParseRecipients([]string{pub}, "")
	if err != nil {
		t.Fatal(err)
	}
	key, err := chunk.NewKey(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	// Whole seconds, as the stores keep lock dates: night 4 then needs
	// exactly the date night 1 extended to, not a fraction of a second more.
	start := time.Now().UTC().Truncate(time.Second)
	var busy []int
	last := 0
	for n := range nights {
		night := start.AddDate(0, 0, n)
		res, err := pipeline.Backup(context.Background(), pipeline.BackupJob{
			Host: "fe01", Store: st, Exporters: []exporters.Exporter{exporters.NewPath("files", src)},
			Recipients: recips, Compression: "fastest", Parallel: 1, Staging: filepath.Join(dir, "staging"),
			Format: pipeline.FormatChunked, ChunkKey: key, LockMode: "GOVERNANCE", LockDays: 30,
			Now: func() time.Time { return night },
		})
		if err != nil {
			t.Fatalf("night %d: %v", n, err)
		}
		if n > 0 && res.ReusedChunks == 0 {
			t.Fatalf("night %d reused no chunk", n)
		}
		w := writes()
		if n > 0 && w > last {
			busy = append(busy, n)
		}
		last = w
		// Every chunk of the night's set is locked at least as long as the set.
		need := res.Manifest.Lock.RetainUntil
		for _, it := range res.Manifest.Items {
			for _, c := range it.Chunks {
				if u := locked(c.Key); u.Before(need.Add(-time.Second)) {
					t.Errorf("night %d: chunk %s locked until %v, before its set's %v", n, c.Key, u, need)
				}
			}
		}
	}
	return busy
}

// A chunk reused night after night has its lock extended to what the
// night's set needs plus the slack (30 lock days: 3 days), so it is
// extended once every 4 nights, not every night: on S3 a reused chunk
// cost a PutObjectRetention every night before (7 of 7 nights). Each
// night's chunks stay locked at least as long as its set.
func TestS3ChunkedLockExtendedWithSlack(t *testing.T) {
	e := newS3Env(t, true)
	e.srv.SetEnv(t)
	p := e.throughProxy(t)
	ctx := context.Background()
	st, err := destination.Open(ctx, config.Destination{URL: e.url(), Endpoint: p.URL, PathStyle: true, Region: e.srv.Region,
		ObjectLock: &config.ObjectLock{Mode: "GOVERNANCE", Days: 30}})
	if err != nil {
		t.Fatal(err)
	}
	writes := func() int {
		n := 0
		for _, r := range p.Requests() {
			if r.Method == http.MethodPut && strings.Contains(r.URL, "/chunks/") && strings.Contains(r.URL, "retention") {
				n++
			}
		}
		return n
	}
	locked := func(k string) time.Time {
		out, err := e.srv.Client().GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(e.bucket), Key: aws.String(e.prefix + "/" + k)})
		if err != nil || out.Retention == nil {
			t.Fatalf("retention of %s: %v", k, err)
		}
		return aws.ToTime(out.Retention.RetainUntilDate)
	}
	busy := lockNights(t, st, e.src, 8, writes, locked)
	if want := []int{1, 5}; !slices.Equal(busy, want) {
		t.Errorf("nights that sent a PutObjectRetention for chunks: %v, want %v (a 3-day slack)", busy, want)
	}
}

// The same on Azure: Set Immutability Policy on a reused chunk once every
// 4 nights. Azurite keeps no immutability policy (it answers 501), so a
// proxy records the policies sent (with an upload or Set Immutability
// Policy), answers the latter, and reports them in Get Properties.
func TestAzureChunkedLockExtendedWithSlack(t *testing.T) {
	az := testenv.Azurite(t)
	cont := az.Container(t)
	target, err := url.Parse(strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	policy := map[string]time.Time{} // blob path: until
	sets := 0                        // Set Immutability Policy calls on chunks
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodHead {
			mu.Lock()
			if u, ok := policy[resp.Request.URL.Path]; ok {
				resp.Header.Set("x-ms-immutability-policy-until-date", u.Format(http.TimeFormat))
				resp.Header.Set("x-ms-immutability-policy-mode", "unlocked")
			}
			mu.Unlock()
		}
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("x-ms-immutability-policy-until-date"); v != "" && r.Method == http.MethodPut {
			u, err := http.ParseTime(v)
			if err != nil {
				t.Errorf("policy date %q: %v", v, err)
			}
			mu.Lock()
			if q := r.URL.Query().Get("comp"); q == "" || q == "blocklist" || q == "immutabilityPolicies" {
				policy[r.URL.Path] = u
			}
			if r.URL.Query().Get("comp") == "immutabilityPolicies" && strings.Contains(r.URL.Path, "/chunks/") {
				sets++
			}
			mu.Unlock()
			if r.URL.Query().Get("comp") == "immutabilityPolicies" {
				w.Header().Set("x-ms-immutability-policy-until-date", v)
				w.Header().Set("x-ms-immutability-policy-mode", "unlocked")
				w.WriteHeader(http.StatusOK)
				return
			}
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	for _, kv := range az.KeyEnv() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx := context.Background()
	st, err := destination.Open(ctx, config.Destination{URL: "azblob://" + cont + "/lb", Endpoint: srv.URL + "/" + testenv.AzuriteAccount,
		Immutability: &config.Immutability{Days: 30}})
	if err != nil {
		t.Fatal(err)
	}
	src := newForge(t, st, "fe01").src
	writes := func() int {
		mu.Lock()
		defer mu.Unlock()
		return sets
	}
	locked := func(k string) time.Time {
		mu.Lock()
		defer mu.Unlock()
		return policy["/"+testenv.AzuriteAccount+"/"+cont+"/lb/"+k]
	}
	busy := lockNights(t, st, src, 8, writes, locked)
	if want := []int{1, 5}; !slices.Equal(busy, want) {
		t.Errorf("nights that sent a Set Immutability Policy for chunks: %v, want %v (a 3-day slack)", busy, want)
	}
}
