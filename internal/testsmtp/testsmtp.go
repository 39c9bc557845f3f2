// Package testsmtp runs a real SMTP server (github.com/emersion/go-smtp) on
// 127.0.0.1 for tests: STARTTLS with a self-signed certificate generated on
// the spot, AUTH PLAIN required, and every accepted message kept.
package testsmtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Mail is one accepted message.
type Mail struct {
	From     string
	To       []string
	Data     []byte
	User     string
	TLS      bool // STARTTLS was done before the message
	AuthSeen bool
}

// Server is a running test server.
type Server struct {
	Addr string // 127.0.0.1:port
	// CertPEM is the self-signed certificate (trust it to verify the server).
	CertPEM []byte
	// CertFile holds CertPEM (for SSL_CERT_FILE in a child process).
	CertFile string
	Pool     *x509.CertPool
	User     string
	Pass     string
	// EchoCredentials makes a refused login's reply quote the username and
	// password it was given, as careless servers do: what the client prints
	// of the reply must then be redacted.
	EchoCredentials bool

	mu    sync.Mutex
	mails []Mail
}

// Mails returns the messages accepted so far.
func (s *Server) Mails() []Mail {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Mail(nil), s.mails...)
}

// Start runs a server until the test ends.
func Start(t testing.TB, user, pass string) *Server {
	t.Helper()
	certPEM, keyPEM := selfSigned(t)
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	certFile := filepath.Join(t.TempDir(), "smtp-cert.pem")
	if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{Addr: ln.Addr().String(), CertPEM: certPEM, CertFile: certFile, Pool: pool, User: user, Pass: pass}
	srv := smtp.NewServer(backend{s})
	srv.Domain = "localhost"
	srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{cert}}
	srv.AllowInsecureAuth = false // AUTH only after STARTTLS
	srv.ReadTimeout = 30 * time.Second
	srv.WriteTimeout = 30 * time.Second
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return s
}

type backend struct{ s *Server }

func (b backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	return &session{s: b.s, c: c}, nil
}

type session struct {
	s    *Server
	c    *smtp.Conn
	user string
	auth bool
	mail Mail
}

func (s *session) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != s.s.User || password != s.s.Pass {
			if s.s.EchoCredentials {
				return errors.New("invalid username or password: " + username + " / " + password)
			}
			return errors.New("invalid username or password")
		}
		s.user, s.auth = username, true
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	if s.s.User != "" && !s.auth {
		return smtp.ErrAuthRequired
	}
	s.mail = Mail{From: from}
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.mail.To = append(s.mail.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	m := s.mail
	m.Data, m.User, m.AuthSeen = b, s.user, s.auth
	_, m.TLS = s.c.TLSConnectionState()
	s.s.mu.Lock()
	s.s.mails = append(s.s.mails, m)
	s.s.mu.Unlock()
	return nil
}

func (s *session) Reset()        { s.mail = Mail{} }
func (s *session) Logout() error { return nil }

func selfSigned(t testing.TB) (certPEM, keyPEM []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "lyncbackup test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:           []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:              []string{"localhost"},
		IsCA:                  true,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb})
}
