package e2e

// destination.ca_file through the real binary: an S3 store (VersityGW) and
// an Azure endpoint (Azurite), each behind a TLS front whose certificate
// comes from a private CA (what Azure Stack Hub, an on-premises MinIO behind
// a TLS proxy or a TLS-inspecting company proxy look like). Runs on Linux
// and under Wine (lyncbackup.exe, where Go ignores SSL_CERT_FILE).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

func TestS3CAFile(t *testing.T) {
	e := newS3Env(t, false)
	front := testenv.StartTLSFront(t, e.srv.Endpoint)
	e.endpoint = front.URL
	e.env = append(e.env, "AWS_CA_BUNDLE=") // only ca_file trusts the front
	caFileCases(t, e.remoteEnv, front, e.writeConfig)
}

func TestAzureCAFile(t *testing.T) {
	e := newAzEnv(t)
	front := testenv.StartTLSFront(t, e.az.Endpoint)
	e.endpoint = front.URL + "/" + testenv.AzuriteAccount
	e.env = append(e.az.KeyEnv(), "LYNCBACKUP_CONFIG="+e.config)
	caFileCases(t, e.remoteEnv, front, e.writeConfig)
}

// caFileCases: with destination.ca_file a backup goes through the front and
// restores to the source tree, and check says whose CAs it trusts; without
// it the backup fails naming the certificate, check's fix names ca_file,
// and no request got through; a CA file that is empty or missing stops
// backup and check with exit 2 and one line naming the file and the cause.
func caFileCases(t *testing.T, e *remoteEnv, front *testenv.TLSFront, writeConfig func()) {
	t.Helper()
	withCA := func(file string) {
		e.destExtra = ""
		if file != "" {
			e.destExtra = "  ca_file: " + quoteYAML(file) + "\n"
		}
		writeConfig()
	}

	withCA(front.CAFile)
	e.backup()
	e.restoreAndCompare("", nil)
	if r := e.run(nil, "verify", "--identity", e.key, "latest"); r.Code != 0 {
		t.Fatalf("verify through ca_file: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	access := checkAccess(t, e, 0)
	if access.Status != "ok" || !strings.Contains(access.Detail, "trusting the CAs of "+front.CAFile) {
		t.Errorf("check with ca_file: %+v", access)
	}
	if front.Requests() == 0 {
		t.Fatal("no request went through the TLS front")
	}

	withCA("")
	reached := front.Requests()
	r := e.run(nil, "backup", "--quiet")
	if r.Code != 1 || !strings.Contains(r.Stderr, "certificate signed by unknown authority") || !strings.Contains(r.Stderr, "name its CA in destination.ca_file") {
		t.Errorf("backup without ca_file: exit %d, want 1 naming the certificate and destination.ca_file\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	access = checkAccess(t, e, 1)
	if access.Status != "fail" || !strings.Contains(access.Detail, "certificate") || !strings.Contains(access.Fix, "destination.ca_file") {
		t.Errorf("check without ca_file: %+v", access)
	}
	if n := front.Requests(); n != reached {
		t.Errorf("%d requests got through without ca_file", n-reached)
	}

	empty := filepath.Join(e.dir, "empty-ca.pem")
	os.WriteFile(empty, nil, 0o644)
	for _, c := range []struct{ file, cause string }{
		{empty, "the file is empty"},
		{filepath.Join(e.dir, "no-such-ca.pem"), ""},
	} {
		withCA(c.file)
		want := "destination.ca_file: " + c.file + ": " + c.cause
		for _, cmd := range []string{"backup", "check"} {
			r := e.run(nil, cmd)
			lines := strings.Split(strings.TrimSpace(r.Stderr), "\n")
			if r.Code != 2 || !strings.Contains(r.Stdout+r.Stderr, want) || !strings.Contains(lines[len(lines)-1], want) {
				t.Errorf("%s with ca_file %s: exit %d, want 2 and a last line with %q\nstdout: %s\nstderr: %s", cmd, c.file, r.Code, want, r.Stdout, r.Stderr)
			}
		}
	}
}

type checkLine struct{ ID, Status, Detail, Fix string }

// checkAccess runs check --json, wants exit code, and returns its
// destination.access line.
func checkAccess(t *testing.T, e *remoteEnv, code int) checkLine {
	t.Helper()
	r := e.run(nil, "check", "--json")
	var rep struct{ Checks []checkLine }
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil || r.Code != code {
		t.Fatalf("check --json: exit %d (want %d), %v\n%s%s", r.Code, code, err, r.Stdout, r.Stderr)
	}
	for _, c := range rep.Checks {
		if c.ID == "destination.access" {
			return c
		}
	}
	t.Fatalf("no destination.access line: %s", r.Stdout)
	return checkLine{}
}
