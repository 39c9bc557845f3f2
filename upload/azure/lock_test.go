package azure

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Azurite does not enforce immutability, so these tests check what the
// store sends (headers seen by a proxy) and how it reacts when the server
// reports a blob as immutable (a proxy that rewrites or answers requests).

func immutabilityHeaders(h http.Header) (until, mode, hold string) {
	return h.Get("X-Ms-Immutability-Policy-Until-Date"), h.Get("X-Ms-Immutability-Policy-Mode"), h.Get("X-Ms-Legal-Hold")
}

func TestPutSendsImmutabilityAndLegalHold(t *testing.T) {
	az := testenv.Azurite(t)
	p, err := faultproxy.Start(strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	until := time.Date(2027, 3, 1, 10, 0, 0, 0, time.UTC)
	for _, locked := range []bool{false, true} {
		e := newEnv(t, withProxy(p.URL), func(o *Options) { o.ImmutabilityLocked = locked; o.AccessTier = "Cool" })
		ctx := context.Background()
		small := []byte("manifest")
		big := randBytes(1, 3*int(e.store.blockSize))
		if _, err := e.store.Put(ctx, "s/manifest.json", bytes.NewReader(small), upload.PutOptions{RetainUntil: until, LegalHold: true}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Put(ctx, "s/item", bytes.NewReader(big), upload.PutOptions{RetainUntil: until}); err != nil {
			t.Fatal(err)
		}
		if _, err := e.store.Put(ctx, "s/plain", bytes.NewReader(small), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		wantMode := "Unlocked"
		if locked {
			wantMode = "Locked"
		}
		seen := map[string]bool{}
		for _, r := range p.Requests() {
			if r.Method != "PUT" || !strings.Contains(r.URL, "/"+e.container+"/") {
				continue
			}
			r.URL, _ = url.PathUnescape(r.URL)
			u, mode, hold := immutabilityHeaders(r.Header)
			tier := r.Header.Get("X-Ms-Access-Tier")
			switch {
			case strings.HasSuffix(r.URL, "/s/manifest.json"): // Put Blob
				seen["single"] = true
				if u != "Mon, 01 Mar 2027 10:00:00 GMT" || mode != wantMode || hold != "true" || tier != "Cool" {
					t.Errorf("Put Blob sent until=%q mode=%q hold=%q tier=%q", u, mode, hold, tier)
				}
			case strings.Contains(r.URL, "/s/item?comp=blocklist"):
				seen["commit"] = true
				if u != "Mon, 01 Mar 2027 10:00:00 GMT" || mode != wantMode || hold != "" || tier != "Cool" {
					t.Errorf("Put Block List sent until=%q mode=%q hold=%q tier=%q", u, mode, hold, tier)
				}
			case strings.Contains(r.URL, "/s/item?"): // blocks carry no policy
				seen["block"] = true
				if u != "" || mode != "" || hold != "" {
					t.Errorf("Put Block sent a policy: %q %q %q", u, mode, hold)
				}
			case strings.HasSuffix(r.URL, "/s/plain"):
				seen["plain"] = true
				if u != "" || mode != "" || hold != "" {
					t.Errorf("a Put without RetainUntil sent a policy: %q %q %q", u, mode, hold)
				}
			}
		}
		if len(seen) != 4 {
			t.Fatalf("locked=%v: saw %v", locked, seen)
		}
	}
}

// lockProxy sits in front of Azurite and pretends some blobs are immutable.
type lockProxy struct {
	srv *httptest.Server
	mu  sync.Mutex
	// HEAD answers for blob paths ending in these suffixes get these headers
	heads map[string]http.Header
	// requests to paths ending in these suffixes get this status + error code
	refuse map[string]string
	seen   []string // "METHOD path?query"
	sets   []http.Header
	holds  []string // paths given a legal hold (Set Legal Hold, answered here)
	// versions answers a listing with versions whose prefix ends in a
	// key with these <Blob> elements (NAME: the blob's name); a DELETE of
	// a version of a blob whose path ends in a key of refuseVersion is
	// refused with that code (Azurite has no versioning).
	versions      map[string]string
	refuseVersion map[string]string
	// versioned: the container's properties say version-level
	// immutability is enabled.
	versioned bool
}

func newLockProxy(t *testing.T, target string) *lockProxy {
	tu, _ := url.Parse(target)
	lp := &lockProxy{heads: map[string]http.Header{}, refuse: map[string]string{}, versions: map[string]string{}, refuseVersion: map[string]string{}}
	rp := httputil.NewSingleHostReverseProxy(tu)
	rp.ModifyResponse = func(resp *http.Response) error {
		lp.mu.Lock()
		defer lp.mu.Unlock()
		if q := resp.Request.URL.Query(); q.Get("restype") == "container" && q.Get("comp") == "" && lp.versioned {
			resp.Header.Set("X-Ms-Immutable-Storage-With-Versioning-Enabled", "true")
		}
		if resp.Request.Method != http.MethodHead {
			return nil
		}
		for suffix, h := range lp.heads {
			if strings.HasSuffix(resp.Request.URL.Path, suffix) {
				for k, v := range h {
					resp.Header[k] = v
				}
			}
		}
		return nil
	}
	lp.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		lp.mu.Lock()
		lp.seen = append(lp.seen, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
		var code string
		for suffix, c := range lp.refuse {
			if strings.HasSuffix(r.URL.Path, suffix) && r.Method == http.MethodDelete {
				code = c
			}
		}
		for suffix, c := range lp.refuseVersion {
			if strings.HasSuffix(r.URL.Path, suffix) && r.Method == http.MethodDelete && r.URL.Query().Get("versionid") != "" {
				code = c
			}
		}
		q := r.URL.Query()
		if q.Get("comp") == "list" && strings.Contains(q.Get("include"), "versions") {
			for suffix, blobs := range lp.versions {
				if name := q.Get("prefix"); strings.HasSuffix(name, suffix) {
					lp.mu.Unlock()
					w.Header().Set("Content-Type", "application/xml")
					w.Header().Set("Date", time.Now().UTC().Format(http.TimeFormat))
					w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><EnumerationResults ServiceEndpoint="http://x/" ContainerName="c"><Prefix>` + name + `</Prefix><Blobs>` +
						strings.ReplaceAll(blobs, "NAME", name) + `</Blobs><NextMarker /></EnumerationResults>`))
					return
				}
			}
		}
		if r.URL.Query().Get("comp") == "immutabilityPolicies" {
			lp.sets = append(lp.sets, r.Header.Clone())
			lp.mu.Unlock()
			w.Header().Set("x-ms-immutability-policy-until-date", r.Header.Get("x-ms-immutability-policy-until-date"))
			w.Header().Set("x-ms-immutability-policy-mode", strings.ToLower(r.Header.Get("x-ms-immutability-policy-mode")))
			w.WriteHeader(http.StatusOK)
			return
		}
		if r.URL.Query().Get("comp") == "legalhold" && r.Method == http.MethodPut {
			lp.holds = append(lp.holds, r.URL.Path+" "+r.Header.Get("x-ms-legal-hold"))
			lp.mu.Unlock()
			w.Header().Set("x-ms-legal-hold", r.Header.Get("x-ms-legal-hold"))
			w.WriteHeader(http.StatusOK)
			return
		}
		lp.mu.Unlock()
		if code != "" {
			w.Header().Set("x-ms-error-code", code)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusConflict)
			w.Write([]byte(`<?xml version="1.0" encoding="utf-8"?><Error><Code>` + code + `</Code><Message>This operation is not permitted as the blob is immutable due to a policy.
RequestId:1 Time:2026-01-01T00:00:00Z</Message></Error>`))
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(lp.srv.Close)
	return lp
}

func (lp *lockProxy) requests() []string {
	lp.mu.Lock()
	defer lp.mu.Unlock()
	return append([]string(nil), lp.seen...)
}

func TestImmutableBlobReactions(t *testing.T) {
	az := testenv.Azurite(t)
	lp := newLockProxy(t, strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	e := newEnv(t, withProxy(lp.srv.URL))
	ctx := context.Background()
	for _, k := range []string{"a/locked", "a/held", "a/expired", "a/refused", "a/free"} {
		if _, err := e.store.Put(ctx, k, strings.NewReader(k), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	future := time.Now().Add(30 * 24 * time.Hour).UTC().Truncate(time.Second)
	past := time.Now().Add(-time.Hour).UTC().Truncate(time.Second)
	lp.mu.Lock()
	lp.heads["/a/locked"] = http.Header{"X-Ms-Immutability-Policy-Until-Date": {future.Format(http.TimeFormat)}, "X-Ms-Immutability-Policy-Mode": {"unlocked"}}
	lp.heads["/a/held"] = http.Header{"X-Ms-Legal-Hold": {"true"}}
	lp.heads["/a/expired"] = http.Header{"X-Ms-Immutability-Policy-Until-Date": {past.Format(http.TimeFormat)}, "X-Ms-Immutability-Policy-Mode": {"unlocked"}}
	lp.refuse["/a/refused"] = "BlobImmutableDueToPolicy"
	lp.mu.Unlock()

	until, hold, err := e.store.LockInfo(ctx, "a/locked")
	if err != nil || !until.Equal(future) || hold {
		t.Fatalf("LockInfo(locked) = %v %v %v, want %v", until, hold, err, future)
	}
	if _, hold, _ := e.store.LockInfo(ctx, "a/held"); !hold {
		t.Fatal("LockInfo(held): no legal hold")
	}
	if st, _ := e.store.Stat(ctx, "a/locked"); !st.Locked(time.Now()) {
		t.Fatalf("Stat of a locked blob: %+v", st)
	}

	for _, k := range []string{"a/locked", "a/held"} {
		err := e.store.Delete(ctx, k)
		if !errors.Is(err, upload.ErrLocked) {
			t.Fatalf("Delete(%s) = %v, want ErrLocked", k, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Fatalf("multi-line error: %q", err)
		}
		// The refusal tells the lock (prune reports it).
		if le := (*upload.LockedError)(nil); !errors.As(err, &le) || le.LegalHold != (k == "a/held") || !le.RetainUntil.Equal(map[string]time.Time{"a/locked": future}[k]) {
			t.Fatalf("Delete(%s) = %#v, want a LockedError telling its lock", k, err)
		}
		t.Logf("Delete(%s): %v", k, err)
		for _, r := range lp.requests() {
			if strings.HasPrefix(r, "DELETE ") && strings.Contains(r, k) {
				t.Fatalf("Delete(%s) called the service although the properties say locked", k)
			}
		}
	}
	err = e.store.Delete(ctx, "a/refused")
	if !errors.Is(err, upload.ErrLocked) || !strings.Contains(err.Error(), "BlobImmutableDueToPolicy") || strings.Contains(err.Error(), "RequestId") {
		t.Fatalf("Delete refused by the server = %v, want ErrLocked naming the code on one line", err)
	}
	if err := e.store.Delete(ctx, "a/expired"); err != nil {
		t.Fatalf("Delete of an expired policy: %v", err)
	}
	if err := e.store.Delete(ctx, "a/free"); err != nil {
		t.Fatal(err)
	}

	// ExtendLock: never shortens, extends with a policy (mode kept).
	if err := e.store.ExtendLock(ctx, "a/locked", future.Add(-24*time.Hour), future.Add(-24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if len(lp.sets) != 0 {
		t.Fatal("ExtendLock to an earlier date sent a policy")
	}
	later := future.Add(10 * 24 * time.Hour)
	if err := e.store.ExtendLock(ctx, "a/locked", later, later); err != nil {
		t.Fatal(err)
	}
	if err := e.store.ExtendLock(ctx, "a/held", later, later); err != nil { // no policy yet: sets one
		t.Fatal(err)
	}
	if len(lp.sets) != 2 {
		t.Fatalf("%d policies set, want 2", len(lp.sets))
	}
	for _, h := range lp.sets {
		if u, mode, _ := immutabilityHeaders(h); u != later.Format(http.TimeFormat) || mode != "Unlocked" {
			t.Fatalf("ExtendLock sent until=%q mode=%q", u, mode)
		}
	}
	// A Locked policy stays Locked when extended.
	lp.mu.Lock()
	lp.heads["/a/locked"] = http.Header{"X-Ms-Immutability-Policy-Until-Date": {future.Format(http.TimeFormat)}, "X-Ms-Immutability-Policy-Mode": {"locked"}}
	lp.mu.Unlock()
	if err := e.store.ExtendLock(ctx, "a/locked", later, later); err != nil {
		t.Fatal(err)
	}
	if _, mode, _ := immutabilityHeaders(lp.sets[2]); mode != "Locked" {
		t.Fatalf("extending a Locked policy sent mode %q", mode)
	}
}

// SetLegalHold sends Set Legal Hold (true) for the blob (Azurite answers
// that API with 501, so the proxy answers it).
func TestSetLegalHold(t *testing.T) {
	az := testenv.Azurite(t)
	lp := newLockProxy(t, strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	e := newEnv(t, withProxy(lp.srv.URL))
	ctx := context.Background()
	if _, err := e.store.Put(ctx, "h/chunks/aa/reused", strings.NewReader("chunk"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := e.store.SetLegalHold(ctx, "h/chunks/aa/reused"); err != nil {
		t.Fatal(err)
	}
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if len(lp.holds) != 1 || !strings.HasSuffix(lp.holds[0], "/lync/fe01/h/chunks/aa/reused true") {
		t.Errorf("legal holds sent: %q", lp.holds)
	}
}

// The SHA-256 a Put is given is kept as blob metadata and reported by
// Stat, for one Put Blob and for a block list alike.
func TestPutRecordsSHA256(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	sum := strings.Repeat("cd", 32)
	for key, n := range map[string]int64{"h/chunks/aa/single": 1000, "h/chunks/aa/blocks": 3*e.store.blockSize + 5} {
		if _, err := e.store.Put(ctx, key, newRand(4, n), upload.PutOptions{SHA256: sum}); err != nil {
			t.Fatal(err)
		}
		if oi, err := e.store.Stat(ctx, key); err != nil || oi.SHA256 != sum {
			t.Errorf("%s: Stat reports SHA-256 %q, %v; want %q", key, oi.SHA256, err, sum)
		}
	}
	if _, err := e.store.Put(ctx, "h/chunks/aa/none", strings.NewReader("x"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if oi, err := e.store.Stat(ctx, "h/chunks/aa/none"); err != nil || oi.SHA256 != "" {
		t.Errorf("without one: %q, %v", oi.SHA256, err)
	}
}

// A blob's immutability is judged in the service's clock (the Date of its
// answer), which enforces it, never this machine's: 2 hours ahead of the
// service, the old store took a blob with an hour of policy left for
// free (and deleted it, the service not being asked whether it may) and
// skipped an extension to a date half an hour ahead in the service's
// clock; 2 hours behind, it refused to delete a blob whose policy had
// ended an hour ago in the service's clock.
func TestImmutabilityJudgedInServiceClock(t *testing.T) {
	az := testenv.Azurite(t)
	lp := newLockProxy(t, strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	e := newEnv(t, withProxy(lp.srv.URL))
	ctx := context.Background()
	for _, k := range []string{"a/left", "a/ended", "a/extend"} {
		if _, err := e.store.Put(ctx, k, strings.NewReader(k), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	behind, ahead := now.Add(-2*time.Hour), now.Add(2*time.Hour)
	head := func(until, date time.Time) http.Header {
		return http.Header{"X-Ms-Immutability-Policy-Until-Date": {until.Format(http.TimeFormat)}, "X-Ms-Immutability-Policy-Mode": {"unlocked"},
			"Date": {date.Format(http.TimeFormat)}}
	}
	lp.mu.Lock()
	lp.heads["/a/left"] = head(behind.Add(time.Hour), behind)     // an hour left in the service's clock
	lp.heads["/a/ended"] = head(ahead.Add(-time.Hour), ahead)     // ended an hour ago in the service's clock
	lp.heads["/a/extend"] = head(behind.Add(time.Minute), behind) // extended to half an hour ahead of the service
	lp.mu.Unlock()

	if err := e.store.Delete(ctx, "a/left"); !errors.Is(err, upload.ErrLocked) {
		t.Errorf("delete of a blob with an hour of policy left in the service's clock: %v", err)
	}
	if _, err := e.store.Stat(ctx, "a/left"); err != nil {
		t.Errorf("the blob with an hour of policy left is gone: %v", err)
	}
	if err := e.store.Delete(ctx, "a/ended"); err != nil {
		t.Errorf("delete of a blob whose policy ended an hour ago in the service's clock: %v", err)
	}
	until := behind.Add(30 * time.Minute)
	if err := e.store.ExtendLock(ctx, "a/extend", until, until); err != nil {
		t.Fatal(err)
	}
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if len(lp.sets) != 1 {
		t.Fatalf("%d policies set for an extension to half an hour ahead of the service, want 1", len(lp.sets))
	}
	if u, _, _ := immutabilityHeaders(lp.sets[0]); u != until.Format(http.TimeFormat) {
		t.Errorf("ExtendLock sent until=%q, want %v", u, until)
	}
}

// versionXML is a listed blob version: its policy until until (zero:
// none), its legal hold.
func versionXML(id string, current bool, until time.Time, hold bool) string {
	p := "<Content-Length>5</Content-Length>"
	if !until.IsZero() {
		p += "<ImmutabilityPolicyUntilDate>" + until.Format(http.TimeFormat) + "</ImmutabilityPolicyUntilDate><ImmutabilityPolicyMode>unlocked</ImmutabilityPolicyMode>"
	}
	if hold {
		p += "<LegalHold>true</LegalHold>"
	}
	cur := "false"
	if current {
		cur = "true"
	}
	return "<Blob><Name>NAME</Name><VersionId>" + id + "</VersionId><IsCurrentVersion>" + cur + "</IsCurrentVersion><Properties>" + p + "</Properties></Blob>"
}

// TestDeleteTellsLockOfEveryVersion: on an account with versioning (which
// version-level immutability needs), a blob is gone only once every
// version is, and each version keeps its own policy (a chunk stored again
// over a damaged one): the refusal tells the latest policy still in force
// among them and any legal hold, not the current version's alone; a
// current version free of locks and older ones locked: the older ones'
// lock, not an undated refusal. Before, the first said the current
// version's date, the second no date at all.
func TestDeleteTellsLockOfEveryVersion(t *testing.T) {
	az := testenv.Azurite(t)
	lp := newLockProxy(t, strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	e := newEnv(t, withProxy(lp.srv.URL))
	ctx := context.Background()
	for _, k := range []string{"a/multi", "a/oldlocked"} {
		if _, err := e.store.Put(ctx, k, strings.NewReader(k), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Now().UTC().Truncate(time.Second)
	u1, u2 := now.Add(24*time.Hour), now.Add(72*time.Hour)
	lp.mu.Lock()
	lp.heads["/a/multi"] = http.Header{"X-Ms-Immutability-Policy-Until-Date": {u1.Format(http.TimeFormat)}, "X-Ms-Immutability-Policy-Mode": {"unlocked"}}
	lp.versions["/a/multi"] = versionXML("2026-12-02T00:00:00.0000000Z", true, u1, false) + versionXML("2026-12-01T00:00:00.0000000Z", false, u2, false) +
		versionXML("2026-11-01T00:00:00.0000000Z", false, now.Add(-time.Hour), false)
	lp.versions["/a/oldlocked"] = versionXML("2026-12-01T00:00:00.0000000Z", false, u2, false) + versionXML("2026-11-30T00:00:00.0000000Z", false, u1, true)
	lp.refuseVersion["/a/oldlocked"] = "BlobImmutableDueToPolicy"
	lp.mu.Unlock()
	for key, want := range map[string]upload.LockedError{"a/multi": {RetainUntil: u2}, "a/oldlocked": {RetainUntil: u2, LegalHold: true}} {
		err := e.store.Delete(ctx, key)
		if le := (*upload.LockedError)(nil); !errors.Is(err, upload.ErrLocked) || !errors.As(err, &le) || !le.RetainUntil.Equal(want.RetainUntil) || le.LegalHold != want.LegalHold {
			t.Errorf("Delete(%s) = %v; want a LockedError until %v, hold %v", key, err, want.RetainUntil, want.LegalHold)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("Delete(%s): multi-line error %q", key, err)
		}
	}
}

// TestDeleteLockReadsVersionsWhereTheyMayBeLocked: a dry run's DeleteLock
// tells what Delete would meet. On a container with version-level
// immutability it lists each key's versions (one request: the older
// versions' locks are in no plain listing); elsewhere it asks nothing and
// says the listing tells (upload.ErrLockListed), once the container's
// properties were read once.
func TestDeleteLockReadsVersionsWhereTheyMayBeLocked(t *testing.T) {
	az := testenv.Azurite(t)
	lp := newLockProxy(t, strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	ctx := context.Background()
	plain := newEnv(t, withProxy(lp.srv.URL))
	for range 2 {
		if le, err := plain.store.DeleteLock(ctx, "a/x"); le != nil || !errors.Is(err, upload.ErrLockListed) {
			t.Fatalf("DeleteLock without versioning = %+v, %v; want ErrLockListed", le, err)
		}
	}
	n := 0
	for _, r := range lp.requests() {
		if strings.Contains(r, "restype=container") {
			n++
		}
		if strings.Contains(r, "include=") {
			t.Errorf("DeleteLock without versioning listed: %s", r)
		}
	}
	if n != 1 {
		t.Errorf("the container's properties read %d times, want once", n)
	}

	lp.mu.Lock()
	lp.versioned = true
	now := time.Now().UTC().Truncate(time.Second)
	u1, u2 := now.Add(24*time.Hour), now.Add(72*time.Hour)
	lp.versions["/a/multi"] = versionXML("2026-12-02T00:00:00.0000000Z", true, u1, false) + versionXML("2026-12-01T00:00:00.0000000Z", false, u2, false)
	lp.versions["/a/oldheld"] = versionXML("2026-12-02T00:00:00.0000000Z", true, time.Time{}, false) + versionXML("2026-12-01T00:00:00.0000000Z", false, now.Add(-time.Hour), true)
	lp.versions["/a/free"] = versionXML("2026-12-02T00:00:00.0000000Z", true, time.Time{}, false) + versionXML("2026-12-01T00:00:00.0000000Z", false, now.Add(-time.Hour), false)
	lp.mu.Unlock()
	e := newEnv(t, withProxy(lp.srv.URL))
	for key, want := range map[string]*upload.LockedError{"a/multi": {RetainUntil: u2}, "a/oldheld": {LegalHold: true}, "a/free": nil} {
		le, err := e.store.DeleteLock(ctx, key)
		switch {
		case err != nil:
			t.Errorf("DeleteLock(%s): %v", key, err)
		case want == nil && le != nil:
			t.Errorf("DeleteLock(%s) = %+v, want nil (no lock in force)", key, le)
		case want != nil && (le == nil || !le.RetainUntil.Equal(want.RetainUntil) || le.LegalHold != want.LegalHold || !errors.Is(le, upload.ErrLocked)):
			t.Errorf("DeleteLock(%s) = %+v, want until %v, hold %v", key, le, want.RetainUntil, want.LegalHold)
		}
	}
	for _, r := range lp.requests() {
		if strings.HasPrefix(r, "DELETE ") {
			t.Errorf("DeleteLock deleted: %s", r)
		}
	}
}

// TestDeletePlan: a blob one of whose versions is still locked (a policy
// in force in the service's clock, a legal hold) is deleted not at all,
// and the refusal tells the latest policy in force and any hold; a blob
// free of locks goes older versions first, the current one last (after
// the blob itself). Before, the current version went whatever the older
// ones' locks, and the blob left every listing.
func TestDeletePlan(t *testing.T) {
	at := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	u1, u2, past := at.Add(24*time.Hour), at.Add(72*time.Hour), at.Add(-time.Second)
	cur := func(until time.Time, hold bool) blobVersion {
		return blobVersion{id: "cur", current: true, until: until, hold: hold, at: at}
	}
	old := func(id string, until time.Time, hold bool) blobVersion {
		return blobVersion{id: id, until: until, hold: hold, at: at}
	}
	for _, c := range []struct {
		name           string
		vs             []blobVersion
		older, current []string
		lock           *upload.ObjectInfo
	}{
		{name: "no versioning", vs: nil},
		{name: "listed without ids", vs: []blobVersion{{at: at}}},
		{name: "one version", vs: []blobVersion{cur(time.Time{}, false)}, current: []string{"cur"}},
		{name: "free", vs: []blobVersion{cur(past, false), old("o1", past, false), old("o2", time.Time{}, false)}, older: []string{"o1", "o2"}, current: []string{"cur"}},
		{name: "policy ends at the listing", vs: []blobVersion{cur(time.Time{}, false), old("o1", at, false)}, older: []string{"o1"}, current: []string{"cur"}},
		{name: "older locked", vs: []blobVersion{cur(time.Time{}, false), old("o1", u1, false), old("o2", past, false)}, lock: &upload.ObjectInfo{RetainUntil: u1}},
		{name: "latest of several", vs: []blobVersion{cur(u1, false), old("o1", u2, false), old("o2", u1, false)}, lock: &upload.ObjectInfo{RetainUntil: u2}},
		{name: "older held", vs: []blobVersion{cur(time.Time{}, false), old("o1", past, true)}, lock: &upload.ObjectInfo{LegalHold: true}},
		{name: "held and dated", vs: []blobVersion{cur(time.Time{}, false), old("o1", u1, false), old("o2", time.Time{}, true)}, lock: &upload.ObjectInfo{RetainUntil: u1, LegalHold: true}},
		{name: "no current version", vs: []blobVersion{old("o1", u1, false), old("o2", time.Time{}, false)}, lock: &upload.ObjectInfo{RetainUntil: u1}},
		{name: "no current version, free", vs: []blobVersion{old("o1", past, false), old("o2", time.Time{}, false)}, older: []string{"o1", "o2"}},
		{name: "current locked by the listing", vs: []blobVersion{cur(u1, false), old("o1", time.Time{}, false)}, lock: &upload.ObjectInfo{RetainUntil: u1}},
	} {
		older, current, lock := deletePlan(c.vs)
		if !slices.Equal(older, c.older) || !slices.Equal(current, c.current) {
			t.Errorf("%s: deletes %v then %v, want %v then %v", c.name, older, current, c.older, c.current)
		}
		switch {
		case (lock == nil) != (c.lock == nil):
			t.Errorf("%s: lock %+v, want %+v", c.name, lock, c.lock)
		case lock != nil && (!lock.RetainUntil.Equal(c.lock.RetainUntil) || lock.LegalHold != c.lock.LegalHold):
			t.Errorf("%s: lock until %v hold %v, want until %v hold %v", c.name, lock.RetainUntil, lock.LegalHold, c.lock.RetainUntil, c.lock.LegalHold)
		case lock != nil && (older != nil || current != nil):
			t.Errorf("%s: locked, yet deletes %v %v", c.name, older, current)
		}
	}
}

// TestDeleteKeepsBlobWithLockedOlderVersion: on a container with
// versioning, a blob whose current version is free of locks and an older
// version locked is not touched: Delete deletes nothing (no request), the
// blob stays readable and listed, and the refusal tells the older
// version's lock. Once that lock ended, Delete removes the older versions,
// then the blob, then its current version. Before, Delete deleted the
// current version first: the blob then had no current version and left
// every listing, its older version never deleted after its lock ended.
func TestDeleteKeepsBlobWithLockedOlderVersion(t *testing.T) {
	az := testenv.Azurite(t)
	lp := newLockProxy(t, strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	e := newEnv(t, withProxy(lp.srv.URL))
	ctx := context.Background()
	if _, err := e.store.Put(ctx, "a/old", strings.NewReader("current"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC().Truncate(time.Second)
	u := now.Add(48 * time.Hour)
	lp.mu.Lock()
	lp.versioned = true
	lp.versions["/a/old"] = versionXML("2026-12-02T00:00:00.0000000Z", true, time.Time{}, false) + versionXML("2026-12-01T00:00:00.0000000Z", false, u, false)
	lp.refuseVersion["/a/old"] = "BlobImmutableDueToPolicy"
	lp.mu.Unlock()
	before := len(lp.requests())
	err := e.store.Delete(ctx, "a/old")
	if le := (*upload.LockedError)(nil); !errors.As(err, &le) || !errors.Is(err, upload.ErrLocked) || !le.RetainUntil.Equal(u) || le.LegalHold {
		t.Fatalf("Delete = %v; want a LockedError until %v", err, u)
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), u.Format(time.RFC3339)) {
		t.Errorf("Delete: %q does not say until %v on one line", err, u)
	}
	for _, r := range lp.requests()[before:] {
		if strings.HasPrefix(r, "DELETE ") {
			t.Errorf("Delete of a blob with a locked version deleted: %s", r)
		}
	}
	if _, err := e.store.Stat(ctx, "a/old"); err != nil {
		t.Errorf("the blob is gone after a refused Delete: %v", err)
	}
	listed := false
	if err := e.store.List(ctx, "a/", func(o upload.ObjectInfo) error {
		listed = listed || o.Key == "a/old"
		return nil
	}); err != nil || !listed {
		t.Errorf("the blob is not listed after a refused Delete (%v)", err)
	}

	// The older version's lock ended.
	lp.mu.Lock()
	lp.versions["/a/old"] = versionXML("2026-12-02T00:00:00.0000000Z", true, time.Time{}, false) + versionXML("2026-12-01T00:00:00.0000000Z", false, now.Add(-time.Hour), false)
	delete(lp.refuseVersion, "/a/old")
	lp.mu.Unlock()
	before = len(lp.requests())
	if err := e.store.Delete(ctx, "a/old"); err != nil {
		t.Fatalf("Delete once no version is locked: %v", err)
	}
	var dels []string
	for _, r := range lp.requests()[before:] {
		if strings.HasPrefix(r, "DELETE ") {
			dels = append(dels, r[strings.Index(r, "?"):])
		}
	}
	want := []string{"?versionid=2026-12-01T00%3A00%3A00.0000000Z", "?", "?versionid=2026-12-02T00%3A00%3A00.0000000Z"}
	if !slices.Equal(dels, want) {
		t.Errorf("Delete sent %q, want the older version, the blob, its current version: %q", dels, want)
	}
	if _, err := e.raw.NewBlobClient("lync/fe01/a/old").GetProperties(ctx, nil); err == nil {
		t.Error("the blob is still there")
	}
}
