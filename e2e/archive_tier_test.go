package e2e

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
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
