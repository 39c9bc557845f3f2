package e2e

// --ca-file through the real binary: restore, verify, list and prune from a
// URL alone (a bare machine: no config, only the binary and the identity)
// against an S3 store (VersityGW) and an Azure endpoint (Azurite) behind a
// TLS front with a private CA; and with a config, the flag replacing
// destination.ca_file. Runs on Linux and under Wine.

import (
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

func TestS3FromCAFile(t *testing.T) {
	e := newS3Env(t, false)
	e.writeConfig() // straight to VersityGW: the backup is not under test
	e.backup()
	front := testenv.StartTLSFront(t, e.srv.Endpoint)
	e.endpoint = front.URL
	e.env = append(e.env, "AWS_CA_BUNDLE=") // only --ca-file trusts the front
	fromCAFileCases(t, e.remoteEnv, front, e.fromURL())

	// With a config (no --from) the flag replaces destination.ca_file: the
	// config names another CA, which does not sign the front's certificate.
	other := otherCA(t, e.dir)
	e.destExtra = "  ca_file: " + quoteYAML(other) + "\n"
	e.writeConfig()
	to := filepath.Join(e.dir, "restore-config-wrong-ca")
	r := e.run(nil, "restore", "latest", "--to", to, "--identity", e.key)
	if r.Code != 1 || !strings.Contains(r.Stderr, "unknown authority") || !strings.Contains(r.Stderr, "signed by no CA in "+other+" (destination.ca_file)") {
		t.Errorf("restore with the config's wrong ca_file: exit %d, want 1 naming %s\n%s%s", r.Code, other, r.Stdout, r.Stderr)
	}
	e.restoreWith(nil, "--ca-file", front.CAFile)
}

func TestAzureFromCAFile(t *testing.T) {
	e := newAzEnv(t)
	e.writeConfig() // straight to Azurite
	e.backup()
	front := testenv.StartTLSFront(t, e.az.Endpoint)
	// The bare machine's connection string names the front.
	conn := "DefaultEndpointsProtocol=https;AccountName=" + testenv.AzuriteAccount + ";AccountKey=" + e.az.Key +
		";BlobEndpoint=" + front.URL + "/" + testenv.AzuriteAccount + ";"
	e.env = []string{"AZURE_STORAGE_CONNECTION_STRING=" + conn, "AZURE_STORAGE_ACCOUNT=", "AZURE_STORAGE_KEY=", "AZURE_STORAGE_SAS_TOKEN="}
	fromCAFileCases(t, e.remoteEnv, front, e.url())
}

// restoreWith restores the latest set with args added, wants exit 0 and
// the source tree back.
func (e *remoteEnv) restoreWith(extraEnv []string, args ...string) {
	e.t.Helper()
	to := filepath.Join(e.dir, fmt.Sprintf("restore-%d", time.Now().UnixNano()))
	r := e.run(extraEnv, append([]string{"restore", "latest", "--to", to, "--identity", e.key}, args...)...)
	if r.Code != 0 {
		e.t.Fatalf("restore %v: exit %d\n%s%s", args, r.Code, r.Stdout, r.Stderr)
	}
	compareTrees(e.t, e.src, filepath.Join(to, e.item, "src"))
}

// fromCAFileCases: from a bare machine (no config), with --ca-file restore
// brings the tree back and verify, list and prune --dry-run work through
// the front; without it each fails with exit 1 naming the certificate and
// --ca-file, and no request got through; a CA file that is empty, missing
// or DER stops them with exit 2 and one line naming the file and the
// cause, before any connection; --ca-file with a file:// URL is refused.
func fromCAFileCases(t *testing.T, e *remoteEnv, front *testenv.TLSFront, url string) {
	t.Helper()
	bare := []string{"LYNCBACKUP_CONFIG=" + filepath.Join(e.dir, "absent.yaml")}
	ca := []string{"--from", url, "--ca-file", front.CAFile}

	e.restoreWith(bare, ca...)
	if r := e.run(bare, append([]string{"verify", "--identity", e.key, "latest"}, ca...)...); r.Code != 0 {
		t.Fatalf("verify --from --ca-file: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r := e.run(bare, append([]string{"list", "--json"}, ca...)...)
	var l listed
	if err := json.Unmarshal([]byte(r.Stdout), &l); r.Code != 0 || err != nil || len(l.Sets) != 1 || l.Sets[0].Status != "complete" {
		t.Fatalf("list --from --ca-file: exit %d, %v\n%s%s", r.Code, err, r.Stdout, r.Stderr)
	}
	if r := e.run(bare, append([]string{"prune", "--dry-run", "--keep-last", "1"}, ca...)...); r.Code != 0 {
		t.Fatalf("prune --from --ca-file: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	if front.Requests() == 0 {
		t.Fatal("no request went through the TLS front")
	}

	to := filepath.Join(e.dir, "restore-refused")
	commands := map[string][]string{
		"restore": {"restore", "latest", "--to", to, "--identity", e.key},
		"verify":  {"verify", "latest"},
		"list":    {"list"},
		"prune":   {"prune", "--dry-run", "--keep-last", "1"},
	}
	reached := front.Requests()
	for name, args := range commands {
		r := e.run(bare, append(args, "--from", url)...)
		last := lastLine(r.Stderr)
		if r.Code != 1 || !strings.Contains(last, "certificate signed by unknown authority") || !strings.Contains(last, "give its CA with --ca-file FILE") {
			t.Errorf("%s --from without --ca-file: exit %d, want 1 naming the certificate and --ca-file\nstdout: %s\nstderr: %s", name, r.Code, r.Stdout, r.Stderr)
		}
		// Nothing else: no "no backup sets" for a listing that failed, no
		// warning carrying the raw certificate error without the hint.
		if strings.Contains(r.Stdout, "no backup sets") || strings.Contains(r.Stderr, "did not tell its time") {
			t.Errorf("%s --from without --ca-file said more than the refusal:\nstdout: %s\nstderr: %s", name, r.Stdout, r.Stderr)
		}
	}
	if n := front.Requests(); n != reached {
		t.Errorf("%d requests got through without --ca-file", n-reached)
	}
	if _, err := os.Stat(to); err == nil {
		t.Errorf("a refused restore made %s", to)
	}

	empty := filepath.Join(e.dir, "empty-ca.pem")
	os.WriteFile(empty, nil, 0o644)
	der := filepath.Join(e.dir, "ca.cer")
	if b, err := os.ReadFile(front.CAFile); err == nil {
		os.WriteFile(der, pemBody(t, b), 0o644)
	}
	conns := front.Conns()
	for _, c := range []struct{ file, cause string }{
		{empty, "the file is empty"},
		{filepath.Join(e.dir, "no-such-ca.pem"), ""},
		{der, "no PEM certificate in it: the file is a DER certificate"},
	} {
		want := "--ca-file: " + c.file + ": " + c.cause
		for name, args := range commands {
			r := e.run(bare, append(args, "--from", url, "--ca-file", c.file)...)
			if r.Code != 2 || !strings.Contains(lastLine(r.Stderr), want) {
				t.Errorf("%s --ca-file %s: exit %d, want 2 and a last line with %q\nstdout: %s\nstderr: %s", name, c.file, r.Code, want, r.Stdout, r.Stderr)
			}
		}
	}
	if n := front.Conns(); n != conns {
		t.Errorf("%d connections with a bad --ca-file", n-conns)
	}

	r = e.run(bare, "list", "--from", fileURL(e.dir), "--ca-file", front.CAFile)
	if r.Code != 2 || !strings.Contains(lastLine(r.Stderr), "--ca-file: a file:// destination has no TLS to trust a CA for") {
		t.Errorf("list --from file:// --ca-file: exit %d, want 2 refusing the flag\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// otherCA writes a self-signed CA certificate that signs nothing the test
// servers present (httptest's fronts all share one certificate).
func otherCA(t *testing.T, dir string) string {
	t.Helper()
	file := filepath.Join(dir, "other-ca.pem")
	if err := os.WriteFile(file, testenv.NewCAPEM(t, "Other Corp Root CA"), 0o644); err != nil {
		t.Fatal(err)
	}
	return file
}

// pemBody is the DER bytes of the first PEM block in b (a CA exported as a
// Windows .cer).
func pemBody(t *testing.T, b []byte) []byte {
	t.Helper()
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("no PEM block")
	}
	return blk.Bytes
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
