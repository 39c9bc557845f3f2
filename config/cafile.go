package config

import (
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// maxCAFile bounds a ca_file: a full public root bundle is about 250 KB.
const maxCAFile = 4 << 20

// ReadCAFile reads the PEM CA certificates of a ca_file (destination.ca_file,
// notify.email.ca_file, notify.webhooks[].ca_file). Every error is one line
// that names the file and the cause: missing or unreadable, not a regular
// file, empty, no PEM certificate in it, or a certificate that does not
// parse (x509.CertPool.AppendCertsFromPEM would skip that one silently).
// Blocks of other types (a private key kept in the same file) are skipped.
func ReadCAFile(file string) ([]*x509.Certificate, error) {
	f, err := os.Open(file)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("%s: %v", file, pe.Err)
		}
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (want a PEM file of CA certificates)", file)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxCAFile+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", file, err)
	}
	switch {
	case len(b) > maxCAFile:
		return nil, fmt.Errorf("%s: larger than %d MiB: not a PEM file of CA certificates", file, maxCAFile>>20)
	case len(b) == 0:
		return nil, fmt.Errorf("%s: the file is empty (want one or more PEM CA certificates)", file)
	}
	var certs []*x509.Certificate
	for rest := b; ; {
		var blk *pem.Block
		blk, rest = pem.Decode(rest)
		if blk == nil {
			break
		}
		if blk.Type != "CERTIFICATE" || len(blk.Headers) != 0 {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: certificate %d: %v", file, len(certs)+1, err)
		}
		certs = append(certs, c)
	}
	if len(certs) == 0 {
		if _, err := x509.ParseCertificate(b); err == nil {
			// Windows exports "DER encoded binary X.509 (.CER)" by default.
			return nil, fmt.Errorf("%s: no PEM certificate in it: the file is a DER certificate (convert it: certutil -encode %s corp-ca.pem, or openssl x509 -inform der -in %s -out corp-ca.pem)", file, file, file)
		}
		return nil, fmt.Errorf("%s: no PEM certificate in it (want -----BEGIN CERTIFICATE----- blocks)", file)
	}
	return certs, nil
}

// CAPool is the system's certificate store plus the CA certificates of
// file (ReadCAFile). Go on Windows verifies against the Windows store and
// ignores SSL_CERT_FILE: this is how lyncbackup.exe learns a private CA
// without importing it machine-wide. Where the system store cannot be
// loaded, the pool holds the file's certificates only.
func CAPool(file string) (*x509.CertPool, error) {
	certs, err := ReadCAFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}
