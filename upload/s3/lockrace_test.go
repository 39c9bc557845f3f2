package s3

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lyncbackup/lyncbackup/upload"
)

// A prune's ExtendLock reads a chunk's retention, then a backup extends the
// chunk further, then the prune's PutObjectRetention asks for a shorter
// date than the backup's, which a GOVERNANCE retention refuses without the
// bypass. The chunk is locked long enough: the refusal is no error.
func TestExtendLockRacedByLongerExtension(t *testing.T) {
	st, srv, _ := newStore(t, true, func(o *Options) { o.LockMode = "GOVERNANCE" })
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	key := "h/chunks/aa/race"
	if _, err := st.Put(ctx, key, strings.NewReader("chunk"), upload.PutOptions{RetainUntil: now.AddDate(0, 0, 33)}); err != nil {
		t.Fatal(err) // the backup's extension, landed already
	}
	// The prune's first read of the retention predates the backup's write.
	target, _ := url.Parse(srv.Endpoint)
	var once sync.Once
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ModifyResponse = func(resp *http.Response) error {
		if _, ok := resp.Request.URL.Query()["retention"]; !ok || resp.Request.Method != http.MethodGet {
			return nil
		}
		once.Do(func() {
			body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?><Retention xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Mode>GOVERNANCE</Mode><RetainUntilDate>%s</RetainUntilDate></Retention>`,
				now.AddDate(0, 0, 1).Format(time.RFC3339))
			resp.Body.Close()
			resp.Body = io.NopCloser(bytes.NewReader([]byte(body)))
			resp.ContentLength = int64(len(body))
			resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
		})
		return nil
	}
	proxy := httptest.NewServer(rp)
	defer proxy.Close()
	pst, err := Open(ctx, Options{Bucket: st.opt.Bucket, Prefix: st.opt.Prefix, Endpoint: proxy.URL, PathStyle: true, PartSize: MinPartSize, LockMode: "GOVERNANCE"})
	if err != nil {
		t.Fatal(err)
	}
	if err := pst.ExtendLock(ctx, key, now.AddDate(0, 0, 7), now.AddDate(0, 0, 10)); err != nil {
		t.Errorf("prune's extension, refused as shorter than the backup's that landed first: %v", err)
	}
	full, _ := st.full(key)
	r, err := st.client.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(st.opt.Bucket), Key: aws.String(full)})
	if err != nil {
		t.Fatal(err)
	}
	if got := aws.ToTime(r.Retention.RetainUntilDate); got.Before(now.AddDate(0, 0, 33)) || r.Retention.Mode != types.ObjectLockRetentionModeGovernance {
		t.Errorf("retention now %v %s, want %v GOVERNANCE", got, r.Retention.Mode, now.AddDate(0, 0, 33))
	}
}

// TestDeleteLockWithoutLockPermissions: credentials that may read neither
// the bucket's Object Lock configuration nor an object's lock (a bucket
// without Object Lock needs no such permission) do not fail a dry run:
// DeleteLock says the listing tells (upload.ErrLockListed), as a dry run
// judged before it existed; where the configuration says Object Lock is
// on, the refused read is an error naming the key.
func TestDeleteLockWithoutLockPermissions(t *testing.T) {
	for _, lock := range []bool{false, true} {
		st, srv, _ := newStore(t, lock, nil)
		ctx := context.Background()
		key := "h/chunks/aa/k"
		if _, err := st.Put(ctx, key, strings.NewReader("chunk"), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		target, _ := url.Parse(srv.Endpoint)
		rp := httputil.NewSingleHostReverseProxy(target)
		proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			q := r.URL.Query()
			_, ret := q["retention"]
			_, hold := q["legal-hold"]
			_, conf := q["object-lock"]
			if r.Method == http.MethodGet && (ret || hold || (conf && !lock)) {
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusForbidden)
				w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`))
				return
			}
			rp.ServeHTTP(w, r)
		}))
		pst, err := Open(ctx, Options{Bucket: st.opt.Bucket, Prefix: st.opt.Prefix, Endpoint: proxy.URL, PathStyle: true, PartSize: MinPartSize})
		if err != nil {
			t.Fatal(err)
		}
		le, err := pst.DeleteLock(ctx, key)
		switch {
		case !lock && (le != nil || !errors.Is(err, upload.ErrLockListed)):
			t.Errorf("no Object Lock, nothing readable: DeleteLock = %+v, %v; want ErrLockListed", le, err)
		case lock && (le != nil || err == nil || errors.Is(err, upload.ErrLockListed) || !strings.Contains(err.Error(), key)):
			t.Errorf("Object Lock on, the lock not readable: DeleteLock = %+v, %v; want an error naming %s", le, err, key)
		}
		proxy.Close()
	}
}
