package s3

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
)

// TestCABundleTrustsPrivateCA: an S3 endpoint whose certificate comes from
// a private CA (a TLS proxy in front of VersityGW) is reached when
// AWS_CA_BUNDLE names that CA, and refused without it. The SDK applies the
// bundle itself, so this holds on Windows too, where Go ignores
// SSL_CERT_FILE (the Wine lane runs this).
func TestCABundleTrustsPrivateCA(t *testing.T) {
	srv := testenv.VersityGW(t)
	srv.SetEnv(t)
	bucket := srv.Bucket(t, false)
	target, _ := url.Parse(srv.Endpoint)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	front := httptest.NewUnstartedServer(rp)
	front.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake below
	front.StartTLS()
	t.Cleanup(front.Close)
	bundle := filepath.Join(t.TempDir(), "private-ca.pem")
	os.WriteFile(bundle, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: front.Certificate().Raw}), 0o644)
	ctx := context.Background()
	open := func() upload.Store {
		st, err := Open(ctx, Options{Bucket: bucket, Endpoint: front.URL, PathStyle: true, Region: srv.Region, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	t.Setenv("AWS_CA_BUNDLE", bundle)
	if _, err := open().Put(ctx, "k", strings.NewReader("over tls"), upload.PutOptions{}); err != nil {
		t.Fatalf("with AWS_CA_BUNDLE: %v", err)
	}
	if got := readAll(t, open(), "k", 0, -1); string(got) != "over tls" {
		t.Fatalf("read %q", got)
	}

	t.Setenv("AWS_CA_BUNDLE", "")
	_, err := open().Put(ctx, "k2", strings.NewReader("x"), upload.PutOptions{})
	if err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Fatalf("without AWS_CA_BUNDLE the private CA was trusted: %v", err)
	}
}
