package s3

import (
	"context"
	"crypto/x509"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
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
	front := testenv.StartTLSFront(t, srv.Endpoint)
	ctx := context.Background()
	open := func() upload.Store {
		st, err := Open(ctx, Options{Bucket: bucket, Endpoint: front.URL, PathStyle: true, Region: srv.Region, MaxAttempts: 1})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}

	t.Setenv("AWS_CA_BUNDLE", front.CAFile)
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

// TestRootCAsTrustPrivateCA: Options.RootCAs (destination.ca_file: the
// system store plus the file's CAs) reaches an endpoint with a private CA,
// with a multipart upload and a ranged read; a pool without that CA is
// refused with a certificate error at once (not retried) and nothing
// reaches the store. With
// AWS_CA_BUNDLE as well, both are trusted: the bundle's CA where the pool
// lacks it, and the pool's CA where the bundle names another one. Runs on
// Windows too (the Wine lane), where Go ignores SSL_CERT_FILE.
func TestRootCAsTrustPrivateCA(t *testing.T) {
	srv := testenv.VersityGW(t)
	srv.SetEnv(t)
	t.Setenv("AWS_CA_BUNDLE", "")
	bucket := srv.Bucket(t, false)
	front := testenv.StartTLSFront(t, srv.Endpoint)
	otherCA := filepath.Join(t.TempDir(), "other-ca.pem")
	os.WriteFile(otherCA, newCAPEM(t), 0o644)
	ctx := context.Background()
	// Five attempts per request: a refused certificate must use one.
	open := func(roots *x509.CertPool) *Store {
		t.Helper()
		st, err := Open(ctx, Options{Bucket: bucket, Endpoint: front.URL, PathStyle: true, Region: srv.Region,
			MaxAttempts: 5, PartSize: MinPartSize, RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	withFront := systemPlus(t, front.CAFile)
	withOther := systemPlus(t, otherCA)

	body := strings.Repeat("0123456789abcdef", (MinPartSize+MinPartSize/2)/16) // two parts
	if _, err := open(withFront).Put(ctx, "big", strings.NewReader(body), upload.PutOptions{}); err != nil {
		t.Fatalf("with RootCAs: %v", err)
	}
	if got := readAll(t, open(withFront), "big", MinPartSize-3, 10); string(got) != body[MinPartSize-3:MinPartSize+7] {
		t.Fatalf("ranged read %q", got)
	}

	reached := front.Requests()
	if reached == 0 {
		t.Fatal("no request went through the TLS front")
	}
	for _, c := range []struct {
		name   string
		roots  *x509.CertPool
		bundle string
	}{{"system store only", nil, ""}, {"a pool with another CA", withOther, ""}, {"AWS_CA_BUNDLE with another CA", nil, otherCA}} {
		t.Setenv("AWS_CA_BUNDLE", c.bundle)
		conns := front.Conns()
		_, err := open(c.roots).Put(ctx, "refused", strings.NewReader("x"), upload.PutOptions{})
		if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
			t.Errorf("%s: the private CA was trusted: %v", c.name, err)
		}
		if n := front.Conns() - conns; n != 1 {
			t.Errorf("%s: %d connections for one refused request: a certificate error was retried", c.name, n)
		}
	}
	if n := front.Requests(); n != reached {
		t.Errorf("%d requests reached the store through an untrusted handshake", n-reached)
	}

	t.Setenv("AWS_CA_BUNDLE", front.CAFile)
	if _, err := open(withOther).Put(ctx, "bundle", strings.NewReader("b"), upload.PutOptions{}); err != nil {
		t.Errorf("RootCAs with another CA plus AWS_CA_BUNDLE with the store's: %v", err)
	}
	t.Setenv("AWS_CA_BUNDLE", otherCA)
	if _, err := open(withFront).Put(ctx, "pool", strings.NewReader("p"), upload.PutOptions{}); err != nil {
		t.Errorf("RootCAs with the store's CA plus AWS_CA_BUNDLE with another: %v", err)
	}
	// The SDK appends the bundle to the pool it finds: never the caller's.
	if !withOther.Equal(systemPlus(t, otherCA)) || !withFront.Equal(systemPlus(t, front.CAFile)) {
		t.Error("Open changed the caller's pool")
	}
}

// TestRootCAsKeepTheTransport: RootCAs changes the roots and nothing else
// of the SDK's transport (proxy from the environment, HTTP/2, time-outs,
// idle connections, TLS minimum version and curves).
func TestRootCAsKeepTheTransport(t *testing.T) {
	t.Setenv("AWS_CA_BUNDLE", "")
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret")
	transport := func(roots *x509.CertPool) *http.Transport {
		st, err := Open(context.Background(), Options{Bucket: "bkt", Endpoint: "https://127.0.0.1:1", Region: "us-east-1", RootCAs: roots})
		if err != nil {
			t.Fatal(err)
		}
		return st.client.Options().HTTPClient.(*watchClient).inner.(interface{ GetTransport() *http.Transport }).GetTransport()
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(newCAPEM(t))
	plain, with := transport(nil), transport(roots)
	uploadtest.SameTransport(t, plain, with)
	if !with.TLSClientConfig.RootCAs.Equal(roots) {
		t.Fatal("the transport's roots are not RootCAs")
	}
}

// systemPlus is what destination.ca_file gives: the system store plus file.
func systemPlus(t *testing.T, file string) *x509.CertPool {
	t.Helper()
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	b, _ := os.ReadFile(file)
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s: no certificate", file)
	}
	return pool
}

// newCAPEM is a fresh self-signed CA no server here uses.
func newCAPEM(t *testing.T) []byte { return testenv.NewCAPEM(t, "another private CA") }
