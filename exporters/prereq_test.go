package exporters

import (
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
