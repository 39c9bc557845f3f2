package azure

import (
	"context"
	"crypto/x509"
	"errors"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/uploadtest"
)

// TestRootCAsTrustPrivateCA: Options.RootCAs (destination.ca_file: the
// system store plus the file's CAs) reaches a service whose certificate
// comes from a private CA (Azure Stack Hub, a TLS-inspecting proxy: here a
// TLS proxy in front of Azurite) for a multi-block upload and a ranged
// read; without it the request is refused with a certificate error at once
// (not retried ten times) and nothing reaches the service. Runs on Windows
// too (the Wine lane), where Go ignores SSL_CERT_FILE.
func TestRootCAsTrustPrivateCA(t *testing.T) {
	az := testenv.Azurite(t)
	name := az.Container(t)
	front := testenv.StartTLSFront(t, az.Endpoint)
	ctx := context.Background()
	open := func(roots *x509.CertPool) *Store {
		t.Helper()
		s, err := Open(ctx, Options{
			Location:  Location{ServiceURL: front.URL + "/" + az.Account, Account: az.Account, Container: name, Prefix: "lync"},
			Auth:      Auth{Kind: "shared-key", Account: az.Account, Key: az.Key},
			BlockSize: 64 << 10, RetryDelay: 10 * time.Millisecond, MaxRetries: 4, RootCAs: roots,
		})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pem, _ := os.ReadFile(front.CAFile)
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA")
	}

	body := strings.Repeat("0123456789abcdef", (3*64<<10)/16+5) // four blocks
	if _, err := open(pool).Put(ctx, "item", strings.NewReader(body), upload.PutOptions{}); err != nil {
		t.Fatalf("with RootCAs: %v", err)
	}
	rc, err := open(pool).Get(ctx, "item", 64<<10-3, 10)
	if err != nil {
		t.Fatalf("get with RootCAs: %v", err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err != nil || string(got) != body[64<<10-3:64<<10+7] {
		t.Fatalf("ranged read %q, %v", got, err)
	}
	reached := front.Requests()
	if reached == 0 {
		t.Fatal("no request went through the TLS front")
	}

	conns := front.Conns()
	_, err = open(nil).Put(ctx, "refused", strings.NewReader("x"), upload.PutOptions{})
	if err == nil || !strings.Contains(err.Error(), "certificate signed by unknown authority") {
		t.Fatalf("without RootCAs the private CA was trusted: %v", err)
	}
	// The refusal is the verifier's error for errors.As (check and the
	// --ca-file hint judge by it, not by the words), the URL still out.
	var ua x509.UnknownAuthorityError
	if !errors.As(err, &ua) || !upload.IsCertificateError(err) {
		t.Errorf("the refusal does not unwrap to the verifier's error: %v", err)
	}
	if n := front.Conns() - conns; n != 1 {
		t.Errorf("%d connections for one refused request: a certificate error was retried", n)
	}
	if n := front.Requests(); n != reached {
		t.Errorf("%d requests reached the service through an untrusted handshake", n-reached)
	}
}

// TestRootCAsKeepTheTransport: RootCAs changes the roots and nothing else
// of the client's transport (proxy from the environment, HTTP/2, time-outs,
// idle connections).
func TestRootCAsKeepTheTransport(t *testing.T) {
	roots := x509.NewCertPool()
	tr := func(roots *x509.CertPool) *http.Transport { return newHTTPClient(3, roots).Transport.(*http.Transport) }
	with := tr(roots)
	uploadtest.SameTransport(t, tr(nil), with)
	if with.TLSClientConfig.RootCAs != roots {
		t.Fatal("the transport's roots are not RootCAs")
	}
}
