package e2e

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

// urlOffByOne runs list, prune --dry-run, restore and verify against a
// destination URL one folder off the real one and checks that each says
// where the sets are (want) instead of only "no backup sets".
func urlOffByOne(t *testing.T, dir string, env []string, from, key, want string) {
	t.Helper()
	r := testbin.MustRun(t, dir, env, "list", "--from", from)
	if !strings.Contains(r.Stdout, "no backup sets in ") || !strings.Contains(r.Stdout, want) {
		t.Errorf("list --from %s: %q, want it to say %q", from, r.Stdout, want)
	}
	r = testbin.MustRun(t, dir, env, "prune", "--from", from, "--keep-last", "1", "--dry-run")
	if !strings.Contains(r.Stdout, want) {
		t.Errorf("prune --from %s: %q, want it to say %q", from, r.Stdout, want)
	}
	failsWith(t, testbin.Run(t, dir, env, "restore", "latest", "--from", from, "--to", filepath.Join(dir, "r"), "--identity", key), 1, "no backup sets", want)
	failsWith(t, testbin.Run(t, dir, env, "verify", "latest", "--from", from), 1, "no backup sets", want)
}

// TestCoreURLOneFolderOff: --from naming the folder above the sets, or a
// host's folder, is the likeliest mistake on a bare machine at night; the
// commands name the folder the sets are in.
func TestCoreURLOneFolderOff(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSet("x")
	bare := []string{"LYNCBACKUP_CONFIG=" + filepath.Join(e.dir, "absent.yaml")}
	urlOffByOne(t, e.dir, bare, fileURL(e.dir), e.key, `sets of host fe01.contoso.com are in its folder "dest": add /dest to the destination`)
	urlOffByOne(t, e.dir, bare, fileURL(filepath.Join(e.dest, "fe01.contoso.com")), e.key, "folder of one host")
}

func TestS3URLOneFolderOff(t *testing.T) {
	e := newS3Env(t, false)
	e.format = "chunked"
	e.writeConfig()
	e.backup()
	bare := append(append([]string(nil), e.env...), "LYNCBACKUP_CONFIG="+filepath.Join(e.dir, "absent.yaml"))
	q := "?endpoint=" + e.endpoint + "&path_style=true&region=" + e.srv.Region
	urlOffByOne(t, e.dir, bare, "s3://"+e.bucket+q, e.key, `sets of host fe01.contoso.com are in its folder "lync": add /lync to the destination`)
	urlOffByOne(t, e.dir, bare, "s3://"+e.bucket+"/lync/fe01.contoso.com"+q, e.key, "folder of one host")
}

func TestAzureURLOneFolderOff(t *testing.T) {
	e := newAzEnv(t)
	e.format = "chunked"
	e.writeConfig()
	e.backup()
	bare := append(append([]string(nil), e.env...), "LYNCBACKUP_CONFIG="+filepath.Join(e.dir, "absent.yaml"))
	urlOffByOne(t, e.dir, bare, "azblob://"+e.container, e.key, `sets of host fe01.contoso.com are in its folder "lync": add /lync to the destination`)
	urlOffByOne(t, e.dir, bare, "azblob://"+e.container+"/lync/fe01.contoso.com", e.key, "folder of one host")
}
