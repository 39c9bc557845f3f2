package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

// remoteEnv is what the S3 and Azure end-to-end tests share: a work folder
// with a source tree, an identity, a config with one path exporter, and
// the environment the binary runs with. s3Env and azEnv embed it and add
// their server and raw-client checks.
type remoteEnv struct {
	t                  *testing.T
	dir, src, key, pub string
	config             string
	env                []string
	destExtra          string // more destination keys, each line "  key: value\n"
	prefix, host       string
	item               string // the path exporter's item name
	// format is the config's format: "archive" (these tests look at one
	// object per item) unless a chunked test sets "chunked".
	format string
}

func newRemoteEnv(t *testing.T, serverEnv []string, item string) *remoteEnv {
	t.Helper()
	dir := t.TempDir()
	e := &remoteEnv{t: t, dir: dir, src: filepath.Join(dir, "src"), key: filepath.Join(dir, "key.txt"),
		config: filepath.Join(dir, "lyncbackup.yaml"), prefix: "lync", host: "fe01.contoso.com", item: item, format: "archive"}
	e.env = append(serverEnv, "LYNCBACKUP_CONFIG="+e.config)
	e.pub = strings.TrimSpace(testbin.MustRun(t, dir, nil, "keygen", "-o", e.key).Stdout)
	return e
}

// writeConfigWith writes the config for destination url; dest holds the
// backend's destination keys (each line "  key: value\n").
func (e *remoteEnv) writeConfigWith(url, dest string) {
	e.t.Helper()
	cfg := fmt.Sprintf(`host: %s
format: %s
staging: %s
exporters:
  - {kind: path, name: %s, paths: [%s]}
compression: {level: fastest}
encryption: {recipients: [%s]}
destination:
  url: %s
%s%s`, e.host, e.format, quoteYAML(filepath.Join(e.dir, "staging")), e.item, quoteYAML(e.src), e.pub, url, dest, e.destExtra)
	if err := os.WriteFile(e.config, []byte(cfg), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *remoteEnv) run(extraEnv []string, args ...string) testbin.Result {
	e.t.Helper()
	return testbin.Run(e.t, e.dir, append(append([]string(nil), e.env...), extraEnv...), args...)
}

// backup runs a backup that must succeed and returns its set id.
func (e *remoteEnv) backup(extraEnv ...string) string {
	e.t.Helper()
	r := e.run(extraEnv, "backup", "--json", "--quiet")
	var sum struct {
		OK    bool   `json:"ok"`
		SetID string `json:"set_id"`
	}
	if r.Code != 0 || json.Unmarshal([]byte(r.Stdout), &sum) != nil || !sum.OK || sum.SetID == "" {
		e.t.Fatalf("backup: exit %d\nstdout: %s\nstderr: %s", r.Code, r.Stdout, r.Stderr)
	}
	return sum.SetID
}

// restoreAndCompare restores the latest set (from the config, or from the
// URL when from is set) into a fresh folder and compares it with the source.
func (e *remoteEnv) restoreAndCompare(from string, extraEnv []string) {
	e.t.Helper()
	to := filepath.Join(e.dir, fmt.Sprintf("restore-%d", time.Now().UnixNano()))
	args := []string{"restore", "latest", "--to", to, "--identity", e.key}
	if from != "" {
		args = append(args, "--from", from)
	}
	if r := e.run(extraEnv, args...); r.Code != 0 {
		e.t.Fatalf("restore: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	compareTrees(e.t, e.src, filepath.Join(to, e.item, "src"))
}
