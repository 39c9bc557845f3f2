package exporters

import (
	"strings"
	"testing"

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
