package destination

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestTrustHint: a refused certificate of an unknown authority gets the
// fix that fits where the destination's CAs came from; every other error,
// one that already names the fix, and one before a destination was opened
// pass unchanged; the hinted error still unwraps to the cause.
func TestTrustHint(t *testing.T) {
	goErr := fmt.Errorf("list sets: %w", x509.UnknownAuthorityError{})
	// Windows' verifier's refusal of an untrusted root: Go reports it with
	// the same type (crypto/x509 root_windows.go), through the TLS
	// handshake and the HTTP client.
	winErr := &url.Error{Op: "Get", URL: "https://s3.example", Err: &tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}}
	for _, tc := range []struct {
		name  string
		trust Trust
		err   error
		fix   string // "" = unchanged
	}{
		{"backup, system store", Trust{Opened: true, NoFlag: true}, goErr,
			"this machine does not trust the server's certificate: name its CA in destination.ca_file (a PEM file), or import the CA into the machine's trusted roots"},
		{"backup, ca_file", Trust{Opened: true, NoFlag: true, CAFile: "ca.pem"}, goErr,
			"the server's certificate is signed by no CA in ca.pem (destination.ca_file) nor in the system store: name the CA that issued it there (a PEM file)"},
		{"--ca-file", Trust{Opened: true, FromURL: true, CAFile: "ca.pem", Flag: true}, winErr,
			"the server's certificate is signed by no CA in ca.pem (--ca-file) nor in the system store: name the CA that issued it (--ca-file FILE, a PEM file)"},
		{"config's ca_file", Trust{Opened: true, CAFile: "ca.pem"}, goErr,
			"the server's certificate is signed by no CA in ca.pem (destination.ca_file) nor in the system store: name the CA that issued it (--ca-file FILE, a PEM file)"},
		{"--from, system store", Trust{Opened: true, FromURL: true}, goErr,
			"this machine does not trust the server's certificate: give its CA with --ca-file FILE (a PEM file), or import the CA into the machine's trusted roots"},
		{"config, system store", Trust{Opened: true}, winErr,
			"this machine does not trust the server's certificate: name its CA in destination.ca_file or with --ca-file FILE (a PEM file), or import the CA into the machine's trusted roots"},
		// A file name holding U+202E was printed as it is: the terminal
		// showed the rest of the line reversed. It is named escaped.
		{"ca_file with a bidi override", Trust{Opened: true, CAFile: "/etc/lb/\u202emep.ac"}, goErr,
			`the server's certificate is signed by no CA in "/etc/lb/\u202emep.ac" (destination.ca_file) nor in the system store: name the CA that issued it (--ca-file FILE, a PEM file)`},
		{"not opened", Trust{}, goErr, ""},
		{"another error", Trust{Opened: true}, errors.New("access denied"), ""},
		{"already names the fix", Trust{Opened: true}, Trust{Opened: true, FromURL: true}.Hint(goErr), ""},
		// The words without the type: a message that quotes a refusal
		// (a path, a name) is not one.
		{"the words alone", Trust{Opened: true}, errors.New(`open C:\certificate signed by unknown authority\x: Access is denied.`), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.trust.Hint(tc.err)
			if tc.fix == "" {
				if got != tc.err {
					t.Fatalf("changed: %v", got)
				}
				return
			}
			if want := tc.err.Error() + "; " + tc.fix; got.Error() != want {
				t.Fatalf("got  %s\nwant %s", got, want)
			}
			if !errors.Is(got, tc.err) {
				t.Fatal("the hinted error does not unwrap to the cause")
			}
		})
	}
	if (Trust{Opened: true}).Hint(nil) != nil {
		t.Fatal("nil error hinted")
	}
	if !strings.Contains(Trust{Opened: true}.Hint(goErr).Error(), "unknown authority") {
		t.Fatal("the cause is dropped")
	}
}
