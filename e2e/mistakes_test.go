package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

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

// TestCoreHostCaseChange: a config whose host differs only in case from the
// host whose sets the destination holds is refused (exit 2, naming both)
// before anything is written. On a Windows folder destination both
// spellings are one folder, and the backup had stored every chunk again
// over the objects the old sets name, so they no longer verified (the Wine
// lane's file system is case-insensitive as Windows's is).
func TestCoreHostCaseChange(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource(strings.Repeat("lync ", 100000), "")
	cfg, _ := os.ReadFile(e.config)
	upper := strings.Replace(string(cfg), "host: fe01.contoso.com", "host: FE01.contoso.com", 1)
	os.WriteFile(e.config, []byte(upper), 0o644)
	old := e.backup()
	os.WriteFile(e.config, cfg, 0o644) // the same host, spelled in lower case
	before := treeOf(t, e.dest)
	failsWith(t, e.run("backup"), 2, "host: fe01.contoso.com differs only in case from FE01.contoso.com", "set host: FE01.contoso.com")
	if after := treeOf(t, e.dest); len(after) != len(before) {
		t.Errorf("the refused backup wrote to the destination: %d objects before, %d after", len(before), len(after))
	}
	e.mustRun("verify", old, "--host", "FE01.contoso.com")
	e.mustRun("verify", old, "--host", "FE01.contoso.com", "--identity", e.key)
	// list --host takes the other spelling too, as restore and verify do.
	if r := e.mustRun("list", "--host", "fe01.contoso.com"); !strings.Contains(r.Stdout, old) {
		t.Errorf("list --host fe01.contoso.com does not show the sets of FE01.contoso.com:\n%s", r.Stdout)
	}
	// check says it before the night does.
	r := e.run("check")
	if r.Code != 2 || !strings.Contains(r.Stdout, "[FAIL] host fe01.contoso.com: the destination holds the sets of FE01.contoso.com, which differs only in case") {
		t.Errorf("check: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
}

// TestCoreHostTrailingDot: a host written as an absolute DNS name
// ("fe01.contoso.com.") is a config error: a Windows folder drops the
// trailing dot, so its sets would be stored under another name than the
// one they are looked for under.
func TestCoreHostTrailingDot(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource("x", "")
	cfg, _ := os.ReadFile(e.config)
	os.WriteFile(e.config, []byte(strings.Replace(string(cfg), "host: fe01.contoso.com", "host: fe01.contoso.com.", 1)), 0o644)
	failsWith(t, e.run("backup"), 2, "host", `write "fe01.contoso.com"`)
}

// TestCoreItemNamedLikeADevice: an item named like a Windows device (con,
// nul, aux, prn, com1-9, lpt1-9, alone or before a dot) or ending in '.'
// is a config error on every system: on Windows its staging folder, its
// object in a folder destination and its restore folder would be the
// device, or another name.
func TestCoreItemNamedLikeADevice(t *testing.T) {
	e := newCoreEnv(t)
	src := filepath.Join(e.dir, "src")
	os.MkdirAll(src, 0o755)
	os.WriteFile(filepath.Join(src, "f.txt"), []byte("x"), 0o644)
	for _, name := range []string{"con", "NUL", "aux.cfg", "com1", "certs."} {
		e.writeConfig(map[string][]string{name: {src}}, "")
		failsWith(t, e.run("backup"), 2, name)
	}
}

// TestCoreFutureDatedSet: a set made while the clock was ahead (dated
// Jan 1 four years on) stays "latest" over every later backup. The backup after it says
// so, naming it, and restore / verify latest say the set they took is dated
// after this machine's clock; a restore by id says nothing of it.
func TestCoreFutureDatedSet(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource("x", "format: archive\n")
	now := e.backup()
	// Years ahead of this machine's clock, whenever the test runs: a fixed
	// 2030 would have been the past from 2030 on, and the test failed.
	futureAt := time.Date(time.Now().UTC().Year()+4, 1, 1, 0, 0, 0, 0, time.UTC)
	future := futureAt.Format("20060102T150405Z") + "-abcdef"
	hostDir := filepath.Join(e.dest, "fe01.contoso.com")
	os.MkdirAll(filepath.Join(hostDir, future), 0o755)
	for _, name := range []string{"manifest.json", "alpha.tar.zst.age"} {
		b, err := os.ReadFile(filepath.Join(hostDir, now, name))
		if err != nil {
			t.Fatal(err)
		}
		if name == "manifest.json" {
			b = []byte(strings.ReplaceAll(string(b), now, future))
		}
		os.WriteFile(filepath.Join(hostDir, future, name), b, 0o644)
	}
	r := e.mustRun("backup")
	if !strings.Contains(r.Stderr, "1 set(s) of fe01.contoso.com are dated after this machine's clock, newest "+future+": restore latest picks it") {
		t.Errorf("backup does not warn of the future-dated set:\n%s", r.Stderr)
	}
	for _, cmd := range [][]string{
		{"restore", "latest", "--to", filepath.Join(e.dir, "r1"), "--identity", e.key},
		{"verify", "latest"},
	} {
		r := e.mustRun(cmd...)
		if !strings.Contains(r.Stderr, "warning: latest is "+future+", dated "+futureAt.Format(time.RFC3339)+", after this machine's clock") {
			t.Errorf("%s latest does not say the set is dated in the future:\n%s", cmd[0], r.Stderr)
		}
	}
	r = e.mustRun("restore", now, "--to", filepath.Join(e.dir, "r2"), "--identity", e.key)
	if strings.Contains(r.Stderr, "after this machine's clock") {
		t.Errorf("a restore by id warns of the clock:\n%s", r.Stderr)
	}
	r = e.run("check")
	if !strings.Contains(r.Stdout, "[WARN] sets of fe01.contoso.com: 1 set(s) dated after this machine's clock, newest "+future) {
		t.Errorf("check does not warn of the future-dated set: exit %d\n%s", r.Code, r.Stdout)
	}
}

// TestCoreChunkKeyLost: a chunked backup after the host's chunk key was
// lost (staging cleaned or moved) stores every chunk again; it says so,
// naming the key file, instead of costing a full upload without a word.
// The backup after it, with the new key, says nothing.
func TestCoreChunkKeyLost(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource(strings.Repeat("meeting ", 200000), "")
	if r := e.mustRun("backup"); strings.Contains(r.Stderr, "chunk key") {
		t.Errorf("the first backup warns of the chunk key:\n%s", r.Stderr)
	}
	keyFile := filepath.Join(e.dir, "staging", "fe01.contoso.com.chunkkey")
	if err := os.Remove(keyFile); err != nil {
		t.Fatal(err)
	}
	r := e.mustRun("backup")
	if !strings.Contains(r.Stderr, "there was no chunk key at "+keyFile+", so a new one was made") || !strings.Contains(r.Stderr, "stored every chunk again") {
		t.Errorf("the backup after the key was lost does not say so:\n%s", r.Stderr)
	}
	if r := e.mustRun("backup"); strings.Contains(r.Stderr, "chunk key") {
		t.Errorf("the next backup warns of the chunk key:\n%s", r.Stderr)
	}
}

// TestCoreChunkKeyDamagedOrEmpty: check reads the host's chunk key as a
// backup does. A damaged key fails check (exit 1) with the backup's own
// error and the fix (delete it); check exited 0 while every backup failed.
// An empty key (a run killed between creating the file and writing it) is
// a warning: the backup writes a new key into it and says that it stored
// every chunk again, instead of failing every night.
func TestCoreChunkKeyDamagedOrEmpty(t *testing.T) {
	e := newCoreEnv(t)
	e.oneFileSource(strings.Repeat("meeting ", 200000), "")
	e.mustRun("backup")
	keyFile := filepath.Join(e.dir, "staging", "fe01.contoso.com.chunkkey")
	old := time.Now().Add(-time.Hour)

	os.WriteFile(keyFile, []byte("# lyncbackup chunk key\nnot hex\n"), 0o600)
	os.Chtimes(keyFile, old, old)
	damaged := "chunk key " + keyFile + " is damaged (delete it: the next backup makes a new one and only loses deduplication against older chunks)"
	// check names the fix on its own line, once: the detail said "delete
	// it: the next backup makes a new one …" and the fix line the same.
	r := e.run("check")
	if r.Code != 1 || !strings.Contains(r.Stdout, "[FAIL] chunk key: chunk key "+keyFile+" is damaged\n       fix: delete "+keyFile+": the next backup makes a new one and only loses deduplication against older chunks\n") ||
		strings.Count(r.Stdout, "the next backup makes a new one") != 1 {
		t.Errorf("check with a damaged chunk key: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	failsWith(t, e.run("backup"), 1, damaged)

	os.WriteFile(keyFile, nil, 0o600)
	os.Chtimes(keyFile, old, old)
	r = e.run("check")
	if r.Code != 0 || !strings.Contains(r.Stdout, "[WARN] chunk key: chunk key "+keyFile+" is empty (a run was stopped while making it): the next backup writes a new key into it\n") {
		t.Errorf("check with an empty chunk key: exit %d\n%s%s", r.Code, r.Stdout, r.Stderr)
	}
	r = e.mustRun("backup")
	if !strings.Contains(r.Stderr, "the chunk key at "+keyFile+" was empty (a run was stopped while making it), so a new one was made: none of the ") {
		t.Errorf("the backup that filled the empty key does not say so:\n%s", r.Stderr)
	}
	if r := e.run("check"); r.Code != 0 || !strings.Contains(r.Stdout, "[ OK ] chunk key: "+keyFile+"\n") {
		t.Errorf("check after the key was made: exit %d\n%s", r.Code, r.Stdout)
	}
	if r := e.mustRun("backup"); strings.Contains(r.Stderr, "chunk key") {
		t.Errorf("the backup after it warns of the chunk key:\n%s", r.Stderr)
	}

	// Empty and dated ahead (the clock set back since the run that made
	// it died): filled once the wait for its writer is over. It stayed
	// "young" and every backup failed: "chunk key … is empty (a run was
	// stopped while making it)", naming no fix.
	os.WriteFile(keyFile, nil, 0o600)
	ahead := time.Now().Add(time.Hour)
	os.Chtimes(keyFile, ahead, ahead)
	r = e.run("backup")
	if r.Code != 0 || !strings.Contains(r.Stderr, "the chunk key at "+keyFile+" was empty (a run was stopped while making it), so a new one was made") {
		t.Errorf("backup with an empty chunk key dated ahead: exit %d\n%s", r.Code, r.Stderr)
	}
}
