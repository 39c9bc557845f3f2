package config

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

// testCA is a fresh self-signed CA certificate, PEM.
func testCA(t *testing.T, name string) []byte { return testenv.NewCAPEM(t, name) }

// TestDestinationCAFile: destination.ca_file is read when the config
// loads: a good file (several CAs, a key block beside them) is accepted;
// a missing, empty, certificate-less or damaged file, or a folder, is one
// line naming the config's line, the key, the CA file and the cause; and a
// file:// destination refuses the key.
func TestDestinationCAFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	keyBlock := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte("not used")})
	good := write("corp-ca.pem", append(append(append([]byte("# the company's CAs\n"), testCA(t, "root")...), keyBlock...), testCA(t, "issuing")...))
	missing := filepath.Join(dir, "no-such.pem")
	_, oerr := os.Open(missing)
	var pe *fs.PathError
	if !errors.As(oerr, &pe) {
		t.Fatal(oerr)
	}
	damaged := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: []byte("not DER")})
	exact := testCA(t, "exact") // padded to the size limit
	cases := []struct {
		url, file, want string
	}{
		{"s3://bkt/p", good, ""},
		{"azblob://backups/lync", good, ""},
		{"https://acct.blob.core.windows.net/backups", good, ""},
		{"s3://bkt/p", missing, missing + ": " + pe.Err.Error()},
		{"s3://bkt/p", write("empty.pem", nil), filepath.Join(dir, "empty.pem") + ": the file is empty"},
		{"azblob://backups/lync", write("key-only.pem", keyBlock), filepath.Join(dir, "key-only.pem") + ": no PEM certificate in it"},
		{"azblob://backups/lync", write("text.pem", []byte("corp-ca.cer, DER, not PEM\n")), filepath.Join(dir, "text.pem") + ": no PEM certificate in it"},
		{"s3://bkt/p", write("damaged.pem", append(testCA(t, "root"), damaged...)), filepath.Join(dir, "damaged.pem") + ": certificate 2: x509: "},
		{"s3://bkt/p", dir, dir + ": not a regular file"},
		{"s3://bkt/p", write("4mib.pem", append(exact, bytes.Repeat([]byte("\n"), maxCAFile-len(exact))...)), ""},
		{"s3://bkt/p", write("huge.pem", make([]byte, maxCAFile+1)), filepath.Join(dir, "huge.pem") + ": larger than 4 MiB: not a PEM file of CA certificates"},
		{"s3://bkt/p", write("corp-ca.cer", derOf(t, testCA(t, "der"))), filepath.Join(dir, "corp-ca.cer") + ": no PEM certificate in it: the file is a DER certificate (convert it: certutil -encode"},
		{"file:///backups", good, "a file:// destination has no TLS"},
	}
	for _, c := range cases {
		cfgFile := filepath.Join(dir, "lyncbackup.yaml")
		text := strings.Replace(minimal, "destination: {url: 'file:///backups'}\n",
			"destination:\n  url: '"+c.url+"'\n  region: eu-west-1\n  ca_file: '"+c.file+"'\n", 1)
		os.WriteFile(cfgFile, []byte(text), 0o644)
		cfg, err := Load(cfgFile)
		if c.want == "" {
			if err != nil || cfg.Destination.CAFile != c.file {
				t.Errorf("%s with %s: %v", c.url, c.file, err)
			}
			continue
		}
		prefix := "config " + cfgFile + ":8: destination.ca_file: "
		var ce *Error
		if !errors.As(err, &ce) || !strings.HasPrefix(err.Error(), prefix+c.want) || strings.ContainsAny(err.Error(), "\r\n") {
			t.Errorf("%s with %s:\n got %v\nwant %s%s…", c.url, c.file, err, prefix, c.want)
		}
	}
}

func derOf(t *testing.T, p []byte) []byte {
	blk, _ := pem.Decode(p)
	if blk == nil {
		t.Fatal("no PEM")
	}
	return blk.Bytes
}

// TestCAPool: the pool trusts the file's CAs (and keeps the system store).
func TestCAPool(t *testing.T) {
	ca := testCA(t, "private")
	p := filepath.Join(t.TempDir(), "ca.pem")
	os.WriteFile(p, ca, 0o644)
	pool, err := CAPool(p)
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(ca)
	cert, _ := x509.ParseCertificate(blk.Bytes)
	if _, err := cert.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Fatalf("the file's CA is not in the pool: %v", err)
	}
	if sys, err := x509.SystemCertPool(); err == nil && sys.Equal(pool) {
		t.Fatal("the pool is the system store alone")
	}
}
