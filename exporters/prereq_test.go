package exporters

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/stubbin"
)

func TestPrerequisites(t *testing.T) {
	h := newHarness(t, "2019", fixture{})
	bak := t.TempDir()
	t.Setenv("LB_EMPTY_PW", "")
	cfg := h.config("lync: {powershell: $PS, exporters: [csconfig, userdata]}\nexporters:\n" +
		"  - {kind: sql, databases: [LcsCDR], backup_dir: '" + bak + "', sqlcmd: " + stubbin.Sqlcmd(t) + ", user: u, password_env: LB_EMPTY_PW}\n" +
		"  - {kind: command, name: voice, command: [no-such-program-xyz]}\n" +
		"  - {kind: path, name: certs, paths: ['" + bak + "/missing']}\n")
	got := map[string]Prereq{}
	for _, p := range Prerequisites(cfg) {
		got[p.Name] = p
	}
	check := func(name string, ok bool, detail string) {
		t.Helper()
		p, found := got[name]
		if !found || p.OK != ok || !strings.Contains(p.Detail, detail) || (!ok && p.Fix == "") {
			t.Errorf("%s: %+v (want ok=%v, detail with %q)", name, p, ok, detail)
		}
	}
	check("staging folder", true, "writable")
	check("PowerShell", true, stubbin.PowerShell(t))
	check("Lync module", true, "Skype for Business Server 2019: ")
	check("exporters[0] sql: sqlcmd", true, stubbin.Sqlcmd(t))
	check("exporters[0] sql: SQL password", false, "LB_EMPTY_PW is empty")
	check("exporters[0] sql: backup folder", true, "writable")
	check("exporters[1] voice: program", false, "no-such-program-xyz not found")
	check("exporters[2] certs", false, "does not exist")

	t.Setenv("CommonProgramFiles", t.TempDir())
	for _, p := range Prerequisites(cfg) {
		if p.Name == "Lync module" && (p.OK || !strings.Contains(p.Detail, "no Lync Server 2013")) {
			t.Errorf("module gone: %+v", p)
		}
	}
}

// A chunked config whose staging folder is in the temp folder (the default)
// gets a warning: the host's chunk key is kept there, and a cleaned temp
// folder costs the next backup a full upload. A lasting folder, or the
// archive format, does not.
func TestStagingUnderTempWarns(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "staging")
	if p := checkStaging(dir, true); !p.OK || !p.Warn || !strings.Contains(p.Detail, "chunk key") || !strings.Contains(p.Fix, "lasting disk") {
		t.Errorf("staging under temp: %+v", p)
	}
	if p := checkStaging(dir, false); !p.OK || p.Warn {
		t.Errorf("archive format: %+v", p)
	}
	lasting := "/var/lib/lyncbackup/staging"
	if runtime.GOOS == "windows" {
		lasting = `Q:\LyncBackup\staging`
	}
	if underTemp(lasting) {
		t.Errorf("%s counted as under the temp folder", lasting)
	}
	if !underTemp(filepath.Join(os.TempDir(), "lyncbackup-staging")) {
		t.Error("the default staging folder is not counted as under the temp folder")
	}
	// No staging: in the config is that default, and warned about.
	if p := checkStaging("", true); !p.OK || !p.Warn || !strings.HasPrefix(p.Detail, filepath.Join(os.TempDir(), "lyncbackup-staging")+" writable") {
		t.Errorf("default staging: %+v", p)
	}
}

// TestUsesLync: the configs that run Lync cmdlets (exports, or discovery
// for a file store without paths and for a sql exporter's databases: auto)
// are the ones check and schedule install hold to the Lync groups and
// refuse SYSTEM for.
func TestUsesLync(t *testing.T) {
	h := newHarness(t, "2015", fixture{})
	dir := t.TempDir()
	for yaml, want := range map[string]bool{
		"exporters: [{kind: path, name: p, paths: ['" + dir + "']}]\n":                                       false,
		"exporters: [{kind: filestore, paths: ['" + dir + "']}]\n":                                           false,
		"exporters: [{kind: sql, instance: sql01, databases: [LcsCDR], backup_dir: 'D:\\Bak'}]\n":            false,
		"exporters: [{kind: command, name: c, command: [x]}]\n":                                              false,
		"exporters: [{kind: filestore}]\nlync: {powershell: $PS}\n":                                          true,
		"exporters: [{kind: sql, databases: auto, backup_dir: 'D:\\Bak'}]\nlync: {powershell: $PS}\n":        true,
		"exporters: [{kind: csconfig}]\nlync: {powershell: $PS}\n":                                           true,
		"exporters: [{kind: persistentchat, instance: 'sql01\\mgc'}]\n":                                      true,
		"lync: {powershell: $PS, exporters: all}\n":                                                          true,
		"lync: {powershell: $PS, exporters: [filestore], filestores: ['" + dir + "']}\n":                     true,
		"exporters: [{kind: path, name: p, paths: ['" + dir + "']}]\nlync: {powershell: $PS, timeout: 1h}\n": false,
	} {
		if got := UsesLync(h.config(yaml)); got != want {
			t.Errorf("%s: UsesLync %v, want %v", yaml, got, want)
		}
	}
}

// TestSqlcmdProgram: the exporter's sqlcmd, else lync.sqlcmd, else sqlcmd
// from PATH.
func TestSqlcmdProgram(t *testing.T) {
	h := newHarness(t, "2015", fixture{})
	e := config.Exporter{Kind: "sql", Sqlcmd: `C:\Tools\own.exe`}
	for yaml, want := range map[string]string{
		"exporters: [{kind: path, name: p, paths: ['/x']}]\n":                                 "sqlcmd",
		"exporters: [{kind: path, name: p, paths: ['/x']}]\nlync: {sqlcmd: 'C:\\S\\l.exe'}\n": `C:\S\l.exe`,
	} {
		cfg := h.config(yaml)
		if got := sqlcmdExe(cfg, config.Exporter{Kind: "sql"}); got != want {
			t.Errorf("%s: %q, want %q", yaml, got, want)
		}
		if got := sqlcmdExe(cfg, e); got != e.Sqlcmd {
			t.Errorf("%s: the exporter's own: %q", yaml, got)
		}
	}
}

// TestPrerequisitesStagingWarnsOnlyChunked: the temp-folder warning comes
// with the chunked format (the default), not with format: archive.
func TestPrerequisitesStagingWarnsOnlyChunked(t *testing.T) {
	h := newHarness(t, "2015", fixture{})
	for format, warn := range map[string]bool{"": true, "format: chunked\n": true, "format: archive\n": false} {
		cfg := h.config(format + "exporters: [{kind: path, name: p, paths: ['" + t.TempDir() + "']}]\n")
		found := false
		for _, p := range Prerequisites(cfg) {
			if p.Name == "staging folder" {
				found = true
				if !p.OK || p.Warn != warn {
					t.Errorf("%q: %+v, want warn %v", format, p, warn)
				}
			}
		}
		if !found {
			t.Errorf("%q: no staging check", format)
		}
	}
}

// TestPrerequisitesPersistentChatOn2019: lync.exporters: all on 2019 leaves
// Persistent Chat out (a note at backup), so check reports nothing about
// it; a persistentchat named in the lync.exporters list is the error.
func TestPrerequisitesPersistentChatOn2019(t *testing.T) {
	h := newHarness(t, "2019", fixture{})
	for yaml, fail := range map[string]bool{
		"lync: {powershell: $PS, exporters: all}\n":                        false,
		"lync: {powershell: $PS, exporters: [csconfig, persistentchat]}\n": true,
	} {
		var got *Prereq
		for _, p := range Prerequisites(h.config(yaml)) {
			if p.Name == "Persistent Chat" {
				got = &p
			}
		}
		if fail && (got == nil || got.OK || !strings.Contains(got.Detail, "has no Persistent Chat")) || !fail && got != nil {
			t.Errorf("%s: %+v", yaml, got)
		}
	}
}

// TestCheckLync: check's Lync line names the Central Management store
// (and its mirror), or "(not found)"; discovery notes come as warnings;
// a missing module, a config the exporters refuse and a failed discovery
// are each one failing line with its cause.
func TestCheckLync(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.json")
	os.WriteFile(empty, []byte(`{"UserServer":[]}`), 0o644)
	for _, c := range []struct {
		name, product string
		fx            fixture
		yaml          string
		ok            bool
		detail        string
		warns         int
	}{
		{"mirror", "2015", fixture{DiscoveryFile: "testdata/discovery/migration.json"}, "lync: {powershell: $PS, exporters: [csconfig]}\n", true,
			`Central Management store on sqlbe01.contoso.com\rtc (mirror sqlbe02.contoso.com\rtc); 1 exporter(s) to run`, 2},
		{"no mirror", "2015", fixture{DiscoveryFile: "testdata/discovery/onepool.json"}, "lync: {powershell: $PS, exporters: [csconfig, topology]}\n", true,
			`Central Management store on sql01.contoso.com\rtc; 2 exporter(s) to run`, -1},
		{"store not found", "2015", fixture{DiscoveryFile: empty}, "lync: {powershell: $PS, exporters: [csconfig]}\n", true,
			"Central Management store on (not found); 1 exporter(s) to run", 0},
		{"no module", "", fixture{}, "lync: {powershell: $PS, exporters: [csconfig]}\n", false, "Microsoft Lync Server 2013", 0},
		{"refused config", "2019", fixture{DiscoveryFile: "testdata/discovery/onepool.json"}, "lync: {powershell: $PS, exporters: [persistentchat]}\n", false,
			"lync.exporters: persistentchat: Skype for Business Server 2019 has no Persistent Chat", 0},
		{"discovery fails", "2015", fixture{Fail: map[string]string{"Get-CsService": "Access is denied."}}, "lync: {powershell: $PS, exporters: [csconfig]}\n", false,
			"Access is denied.", 0},
	} {
		h := newHarness(t, c.product, c.fx)
		ps := CheckLync(context.Background(), h.config(c.yaml))
		if len(ps) == 0 || ps[0].OK != c.ok || !strings.Contains(ps[0].Detail, c.detail) || (!c.ok && ps[0].Fix == "") {
			t.Errorf("%s: %+v, want ok=%v and %q", c.name, ps, c.ok, c.detail)
			continue
		}
		warns := 0
		for _, p := range ps[1:] {
			if p.Warn {
				warns++
			}
		}
		if c.warns >= 0 && warns != c.warns {
			t.Errorf("%s: %d warnings, want %d: %+v", c.name, warns, c.warns, ps)
		}
	}
}

// TestPrerequisitesListedFileStores: each file store listed in
// lync.filestores is checked for reading; auto is left to discovery.
func TestPrerequisitesListedFileStores(t *testing.T) {
	h := newHarness(t, "2015", fixture{})
	share, missing := t.TempDir(), filepath.Join(t.TempDir(), "gone")
	for yaml, want := range map[string]map[string]bool{
		"lync: {powershell: $PS, exporters: [filestore], filestores: ['" + share + "', '" + missing + "']}\n": {"file store " + share: true, "file store " + missing: false},
		"lync: {powershell: $PS, exporters: [filestore], filestores: auto}\n":                                 {},
	} {
		got := map[string]bool{}
		for _, p := range Prerequisites(h.config(yaml)) {
			if strings.HasPrefix(p.Name, "file store ") {
				got[p.Name] = p.OK
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", yaml, got, want)
		}
	}
}

// Folders on a drive mapped in this logon session are named, with the UNC
// path as the fix: the scheduled task's session has no such letter.
func TestMappedDrivesWarned(t *testing.T) {
	old := mappedDrive
	defer func() { mappedDrive = old }()
	mappedDrive = func(p string) (string, bool) {
		if strings.HasPrefix(p, "Z:") {
			return "Z:", true
		}
		return "", false
	}
	cfg := &config.Config{Staging: `Z:\LyncBackup\staging`, Exporters: []config.Exporter{
		{Kind: "path", Name: "certs", Paths: []string{`C:\certs`, `Z:\iis`}},
	}}
	p, ok := mappedDrives(cfg)
	if !ok || !p.Warn || !strings.Contains(p.Detail, `staging Z:\LyncBackup\staging (Z: is a mapped network drive)`) ||
		!strings.Contains(p.Detail, `exporter certs: Z:\iis`) || strings.Contains(p.Detail, `C:\certs`) || !strings.Contains(p.Fix, "UNC") {
		t.Errorf("%+v %v", p, ok)
	}
	if _, ok := mappedDrives(&config.Config{Staging: `D:\s`}); ok {
		t.Error("no mapped drive, yet a warning")
	}
	found := false
	for _, q := range Prerequisites(cfg) {
		found = found || q.Name == "mapped drives"
	}
	if !found {
		t.Error("Prerequisites lacks the mapped drives line")
	}
}
