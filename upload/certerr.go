package upload

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
)

// IsCertificateError reports whether err is the refusal of a server's TLS
// certificate (unknown authority, wrong name, expired, not valid for
// serving): a setting to fix (destination.ca_file, the endpoint), which no
// retry cures. The backends do not retry it, so a backup or check says so
// at once instead of after minutes of back-off.
func IsCertificateError(err error) bool {
	if err == nil {
		return false
	}
	var (
		verify   *tls.CertificateVerificationError
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	return errors.As(err, &verify) || errors.As(err, &unknown) || errors.As(err, &hostname) || errors.As(err, &invalid)
}
