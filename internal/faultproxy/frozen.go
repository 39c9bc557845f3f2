package faultproxy

import (
	"bytes"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
)

// S3Frozen plays S3's archive tiers in front of an S3 server that has
// none (VersityGW) for the objects Cold selects: HEAD reports Class (and,
// once Thawed says so, a finished restore), GET of the object's data
// answers InvalidObjectState until then (a GET of its retention, legal
// hold, tagging, ACL or attributes is answered, as S3 does), and POST ?restore is accepted and passed to OnRestore (its
// body still readable).
//
// With ArchiveStatus set, it plays INTELLIGENT_TIERING's archive tiers
// instead: HEAD reports Class and x-amz-archive-status until Thawed, and
// after it neither an archive status nor a restore (the object is back in
// the Frequent Access tier).
type S3Frozen struct {
	Class         string // GLACIER, DEEP_ARCHIVE or INTELLIGENT_TIERING
	ArchiveStatus string // ARCHIVE_ACCESS or DEEP_ARCHIVE_ACCESS: INTELLIGENT_TIERING's archive tiers
	Cold          func(r *http.Request) bool
	Thawed        func() bool           // nil: never
	OnRestore     func(r *http.Request) // may be nil
}

// Start starts the proxy on 127.0.0.1 in front of endpoint.
func (f S3Frozen) Start(endpoint string) (*httptest.Server, error) {
	target, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	thawed := func() bool { return f.Thawed != nil && f.Thawed() }
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodHead && f.Cold(resp.Request) {
			resp.Header.Set("X-Amz-Storage-Class", f.Class)
			if f.ArchiveStatus != "" {
				if !thawed() {
					resp.Header.Set("X-Amz-Archive-Status", f.ArchiveStatus)
				}
				return nil
			}
			if thawed() {
				resp.Header.Set("X-Amz-Restore", `ongoing-request="false", expiry-date="Fri, 21 Dec 2040 00:00:00 GMT"`)
			}
		}
		return nil
	}
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cold := f.Cold(r)
		switch {
		case cold && r.Method == http.MethodPost && r.URL.Query().Has("restore"):
			body, _ := io.ReadAll(r.Body)
			r.Body = io.NopCloser(bytes.NewReader(body))
			if f.OnRestore != nil {
				f.OnRestore(r)
			}
			w.WriteHeader(http.StatusAccepted)
		case cold && r.Method == http.MethodGet && !thawed() && !metadataGet(r):
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidObjectState</Code><Message>The operation is not valid for the object's storage class</Message></Error>`)
		default:
			rp.ServeHTTP(w, r)
		}
	})), nil
}

// metadataGet reports whether r reads an object's metadata (a
// subresource), which S3 answers for an archived object too: only its
// data is offline.
func metadataGet(r *http.Request) bool {
	q := r.URL.Query()
	for _, sub := range []string{"retention", "legal-hold", "tagging", "acl", "attributes"} {
		if q.Has(sub) {
			return true
		}
	}
	return false
}
