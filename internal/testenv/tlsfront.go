package testenv

import (
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

// TLSFront is an HTTPS reverse proxy on 127.0.0.1 in front of a plain-http
// test server (VersityGW, Azurite), with a certificate from a private CA
// that no system store holds: what an S3-compatible store, Azure Stack Hub
// or a TLS-inspecting proxy with a company CA looks like to lyncbackup.
type TLSFront struct {
	URL    string // https://127.0.0.1:PORT (the target's path is not added)
	CAFile string // the private CA, PEM

	requests, conns atomic.Int64
}

// StartTLSFront starts a TLSFront for target (http://127.0.0.1:PORT[/…]);
// it is closed at the end of the test.
func StartTLSFront(t testing.TB, target string) *TLSFront {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	u.Path, u.RawPath = "", ""
	if err := loopbackOnly(u.String()); err != nil {
		t.Fatal(err)
	}
	f := &TLSFront{}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.ErrorLog = log.New(io.Discard, "", 0)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.requests.Add(1)
		rp.ServeHTTP(w, r)
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the handshakes clients refuse
	srv.Listener = countListener{srv.Listener, &f.conns}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	f.CAFile = filepath.Join(t.TempDir(), "private-ca.pem")
	if err := os.WriteFile(f.CAFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	return f
}

// Requests is how many requests came through a completed handshake.
func (f *TLSFront) Requests() int64 { return f.requests.Load() }

// Conns is how many connections were accepted. A client that refuses the
// certificate has been accepted before it returns its error (the server
// sent the certificate), so after a refused request the count is exact:
// one more per attempt.
func (f *TLSFront) Conns() int64 { return f.conns.Load() }

type countListener struct {
	net.Listener
	n *atomic.Int64
}

func (l countListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.n.Add(1)
	}
	return c, err
}
