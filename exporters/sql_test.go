package exporters

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/stubbin"
)

type sqlCall struct {
	Args        []string `json:"args"`
	Instance    string   `json:"instance"`
	DB          string   `json:"db"`
	Path        string   `json:"path"`
	Integrated  bool     `json:"integrated"`
	User        string   `json:"user"`
	PasswordEnv bool     `json:"password_env"`
}

func readSQLCalls(t *testing.T, dir string) []sqlCall {
	f, err := os.Open(filepath.Join(dir, "calls.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []sqlCall
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var c sqlCall
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		out = append(out, c)
	}
	return out
}

// yamlList is argv as a YAML flow list of single-quoted strings.
func yamlList(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = "'" + strings.ReplaceAll(a, "'", "''") + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func parseCfg(t *testing.T, yaml string) *config.Config {
	t.Helper()
	full := "host: h\nencryption: {recipients: [x]}\ndestination: {url: 'file:///x'}\n" + yaml
	cfg, err := config.Parse([]byte(full), os.LookupEnv)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

// TestSQLBackup: one .bak per database written where SQL Server writes
// (a Windows path mapped to read_dir), names quoted for T-SQL, integrated
// auth by default, a failing database not stopping the others, and the
// .bak deleted by Cleanup.
func TestSQLBackup(t *testing.T) {
	logDir, readDir, staging := t.TempDir(), filepath.Join(t.TempDir(), "Back'ups"), t.TempDir()
	os.MkdirAll(readDir, 0o755)
	t.Setenv("SQLCMDSTUB_DIR", logDir)
	t.Setenv("SQLCMDSTUB_MAP", `\\sql01\Back'ups=>`+readDir)
	t.Setenv("SQLCMDSTUB_FAIL", "QoEMetrics")
	cfg := parseCfg(t, `exporters:
  - kind: sql
    name: mon
    instance: 'sql01.contoso.com\mon'
    databases: [LcsCDR, QoEMetrics, "Lcs]Log'; DROP DATABASE x; --"]
    backup_dir: '\\sql01\Back''ups'
    read_dir: '`+strings.ReplaceAll(readDir, "'", "''")+`'
    sqlcmd: `+stubbin.Sqlcmd(t)+"\n")
	exps, _, err := Build(context.Background(), cfg, Env{Staging: staging})
	if err != nil {
		t.Fatal(err)
	}
	if len(exps) != 3 {
		t.Fatalf("%d exporters", len(exps))
	}
	var items []Item
	var failed []string
	for _, ex := range exps {
		its, err := ex.Export(context.Background(), Env{Staging: staging})
		if err != nil {
			failed = append(failed, ex.Name()+": "+err.Error())
		}
		items = append(items, its...)
	}
	if len(failed) != 1 || !strings.Contains(failed[0], "mon-sql01.contoso.com_mon-QoEMetrics: sqlcmd BACKUP DATABASE QoEMetrics on sql01.contoso.com\\mon failed (exit 1): Msg 911, Level 16") || !strings.Contains(failed[0], "BACKUP DATABASE is terminating abnormally.") {
		t.Errorf("failures %v", failed)
	}
	if len(items) != 2 {
		t.Fatalf("items %v", items)
	}
	calls := readSQLCalls(t, logDir)
	if len(calls) != 3 {
		t.Fatalf("calls %+v", calls)
	}
	evil := "Lcs]Log'; DROP DATABASE x; --"
	if calls[2].DB != evil || !strings.HasPrefix(calls[2].Path, `\\sql01\Back'ups\lyncbackup-h-sql01.contoso.com_mon-Lcs_Log_DROP_DATABASE_x`) {
		t.Errorf("quoted call %+v", calls[2])
	}
	for _, c := range calls {
		if !c.Integrated || c.User != "" || c.Instance != `sql01.contoso.com\mon` {
			t.Errorf("auth %+v", c)
		}
	}
	it := items[1]
	if it.Meta["db"] != evil || it.Meta["instance"] != `sql01.contoso.com\mon` || !config.ValidName(it.Name) {
		t.Errorf("item %+v", it)
	}
	b, err := os.ReadFile(it.Roots[0].Path)
	if err != nil || !strings.Contains(string(b), "fake SQL Server backup of ["+evil+"]") {
		t.Fatalf("bak %q %v", b, err)
	}
	for _, it := range items {
		if err := it.Cleanup(); err != nil {
			t.Fatal(err)
		}
	}
	if ents, _ := os.ReadDir(readDir); len(ents) != 0 {
		t.Errorf("%d .bak files left after cleanup", len(ents))
	}
}

// TestSQLLogin: a SQL login's password travels in SQLCMDPASSWORD, never on
// the command line; an empty variable fails before sqlcmd runs.
func TestSQLLogin(t *testing.T) {
	logDir, dir := t.TempDir(), t.TempDir()
	t.Setenv("SQLCMDSTUB_DIR", logDir)
	t.Setenv("SQLCMDSTUB_PASSWORD", "s3cret pa$$")
	t.Setenv("LB_SQL_PW", "s3cret pa$$")
	yaml := `exporters:
  - kind: sql
    instance: 'se01\rtc'
    databases: [LcsLog]
    backup_dir: '` + dir + `'
    user: backup
    password_env: LB_SQL_PW
    sqlcmd: ` + stubbin.Sqlcmd(t) + "\n"
	cfg := parseCfg(t, yaml)
	exps, _, err := Build(context.Background(), cfg, Env{Staging: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	its, err := exps[0].Export(context.Background(), Env{})
	if err != nil || len(its) != 1 {
		t.Fatalf("%v %v", its, err)
	}
	c := readSQLCalls(t, logDir)[0]
	if c.User != "backup" || c.Integrated || !c.PasswordEnv {
		t.Errorf("call %+v", c)
	}
	for _, a := range c.Args {
		if strings.Contains(a, "s3cret") {
			t.Errorf("password on the command line: %q", c.Args)
		}
	}
	its[0].Cleanup()
	t.Setenv("LB_SQL_PW", "")
	if _, err := exps[0].Export(context.Background(), Env{}); err == nil || !strings.Contains(err.Error(), "environment variable LB_SQL_PW (the password of SQL login backup) is empty") {
		t.Errorf("empty password: %v", err)
	}
	// Half a login is a config error.
	_, perr := config.Parse([]byte("encryption: {recipients: [x]}\ndestination: {url: 'file:///x'}\nexporters: [{kind: sql, databases: [a], backup_dir: x, user: u}]\n"), os.LookupEnv)
	if perr == nil || !strings.Contains(perr.Error(), "password_env") {
		t.Errorf("user without password_env: %v", perr)
	}
}

func TestSQLQuoting(t *testing.T) {
	if got := BackupQuery("a]b", `C:\x'y\f.bak`); got != `BACKUP DATABASE [a]]b] TO DISK=N'C:\x''y\f.bak' WITH COPY_ONLY, CHECKSUM, INIT` {
		t.Errorf("query %s", got)
	}
	if joinServerPath(`C:\Backups\`, "f.bak") != `C:\Backups\f.bak` || joinServerPath(`D:`, "f.bak") != `D:\f.bak` || joinServerPath("/var/opt/mssql/backup", "f.bak") != "/var/opt/mssql/backup/f.bak" {
		t.Error("joinServerPath")
	}
}

// TestSQLDatabaseNameLength: SQL Server names are up to 128 UTF-16 code
// units (sysname); a longer one is a config error naming the key, a
// 128-character name in Cyrillic (256 bytes of UTF-8) is accepted.
func TestSQLDatabaseNameLength(t *testing.T) {
	for _, c := range []struct {
		db string
		ok bool
	}{
		{strings.Repeat("a", 128), true},
		{strings.Repeat("a", 129), false},
		{strings.Repeat("д", 128), true},
		{strings.Repeat("д", 129), false},
		{strings.Repeat("😀", 64), true}, // two code units each
		{strings.Repeat("😀", 64) + "a", false},
	} {
		cfg := parseCfg(t, fmt.Sprintf("exporters: [{kind: sql, name: s, databases: ['%s'], backup_dir: x, sqlcmd: sqlcmd}]\n", c.db))
		exps, _, err := Build(context.Background(), cfg, Env{Staging: t.TempDir()})
		var ce *config.Error
		switch {
		case c.ok && (err != nil || len(exps) != 1):
			t.Errorf("%d runes: %v %v", utf8.RuneCountInString(c.db), exps, err)
		case !c.ok && (!errors.As(err, &ce) || ce.Key != "exporters[0].databases" || !strings.Contains(err.Error(), "is not a SQL Server database name")):
			t.Errorf("%d runes: %v", utf8.RuneCountInString(c.db), err)
		}
	}
}

// TestCommandExporter: the program writes into {dir} / $LYNCBACKUP_OUTPUT_DIR;
// a failure carries its stderr; a hang is killed at the timeout.
func TestCommandExporter(t *testing.T) {
	staging := t.TempDir()
	// a.xml holds the count of arguments after {dir}: none.
	voice := `[sh, -c, 'echo "policy $#" > "$0/a.xml" && echo more > "$LYNCBACKUP_OUTPUT_DIR/b.xml"', '{dir}']`
	broken := `[sh, -c, 'echo "Export-Clixml : access denied" >&2; exit 4']`
	stuck := `[sh, -c, 'sleep 600']`
	prog := "sh"
	if runtime.GOOS == "windows" { // no sh: the test binary plays the programs
		voice, broken, stuck = yamlList(HelperCommand(t, "write", "{dir}")), yamlList(HelperCommand(t, "fail", "Export-Clixml", ":", "access", "denied")), yamlList(HelperCommand(t, "sleep"))
		prog = filepath.Base(HelperCommand(t, "x")[0])
	}
	cfg := parseCfg(t, `exporters:
  - {kind: command, name: voice, command: `+voice+`}
  - {kind: command, name: broken, command: `+broken+`}
  - {kind: command, name: stuck, timeout: 1s, command: `+stuck+`}
`)
	exps, _, err := Build(context.Background(), cfg, Env{Staging: staging})
	if err != nil {
		t.Fatal(err)
	}
	its, err := exps[0].Export(context.Background(), Env{Staging: staging})
	if err != nil {
		t.Fatal(err)
	}
	out := its[0].Roots[0].Path
	for _, f := range []string{"a.xml", "b.xml"} {
		if _, err := os.Stat(filepath.Join(out, f)); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(out, "a.xml")); runtime.GOOS != "windows" && string(b) != "policy 0\n" {
		t.Errorf("a.xml %q: the program got other arguments than its own and {dir}", b)
	}
	if !strings.HasPrefix(out, staging) || its[0].Roots[0].Name != "output" || its[0].Kind != "command" {
		t.Errorf("item %+v", its[0])
	}
	its[0].Cleanup()
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Error("cleanup left the folder")
	}
	if _, err := exps[1].Export(context.Background(), Env{Staging: staging}); err == nil || err.Error() != "command broken ("+prog+") failed (exit 4): Export-Clixml : access denied" {
		t.Errorf("broken: %v", err)
	}
	if _, err := exps[2].Export(context.Background(), Env{Staging: staging}); err == nil || !strings.Contains(err.Error(), "timed out after 1s") {
		t.Errorf("stuck: %v", err)
	}
}

// TestSQLDatabasesAuto: databases: auto backs up the Monitoring and
// Archiving databases Get-CsService finds, each on its own instance, over
// an encrypted connection to a server with a self-signed certificate
// (-N -C); the manifest then warns of nothing, and each item records its
// files for RESTORE … WITH MOVE.
func TestSQLDatabasesAuto(t *testing.T) {
	for _, trust := range []bool{true, false} {
		h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/migration.json"})
		logDir, bak := t.TempDir(), t.TempDir()
		t.Setenv("SQLCMDSTUB_DIR", logDir)
		t.Setenv("SQLCMDSTUB_SELF_SIGNED", "1")
		cfg := h.config(fmt.Sprintf("lync: {powershell: $PS, exporters: [csconfig]}\nexporters:\n  - {kind: sql, name: sql, databases: auto, backup_dir: '%s', sqlcmd: %s, encrypt: true, trust_server_certificate: %v}\n", bak, stubbin.Sqlcmd(t), trust))
		items, errs, disc := h.run(cfg)
		info := disc["lync"].(*LyncInfo)
		if !trust {
			// ODBC Driver 18 refuses the certificate without -C: the error says so.
			if len(errs) != 3 || !strings.Contains(errs["sql-sqlmon01.contoso.com_mon-LcsCDR"].Error(), "The certificate chain was issued by an authority that is not trusted") {
				t.Errorf("without -C: %v", errs)
			}
			continue
		}
		if len(errs) > 0 {
			t.Fatal(errs)
		}
		got := map[string]Item{}
		for _, it := range items {
			if it.Kind == "sql" {
				got[it.Meta["instance"]+"|"+it.Meta["db"]] = it
			}
		}
		for _, w := range []string{`sqlmon01.contoso.com\mon|LcsCDR`, `sqlmon01.contoso.com\mon|QoEMetrics`, `sqlarch01.contoso.com\arch|LcsLog`} {
			it, ok := got[w]
			if !ok {
				t.Errorf("no item for %s (have %v)", w, got)
				continue
			}
			db := it.Meta["db"]
			if it.Meta["files"] != db+`|D:\SQLData\`+db+".mdf\n"+db+`_log|E:\SQLLogs\`+db+"_log.ldf" || it.Meta["trust_server_certificate"] != "true" || it.Meta["encrypt"] != "true" {
				t.Errorf("%s meta %q", w, it.Meta)
			}
		}
		for _, c := range readSQLCalls(t, logDir) {
			args := strings.Join(c.Args, " ")
			if !strings.Contains(args, " -N -C -Q ") {
				t.Errorf("sqlcmd %s: no -N -C", args)
			}
		}
		for _, st := range info.SQLStores {
			if len(st.Uncovered) > 0 {
				t.Errorf("covered databases reported uncovered: %+v", st)
			}
		}
		if n := strings.Join(info.Notes, "\n"); strings.Contains(n, "not backed up") || strings.Contains(n, "nothing to back up") {
			t.Errorf("notes %v", info.Notes)
		}
	}
}

// TestSQLDatabasesAutoFindsNone: on a topology with no Monitoring or
// Archiving database, databases: auto makes no sql item and says so in
// the discovery notes (the run is not silently a no-op).
func TestSQLDatabasesAutoFindsNone(t *testing.T) {
	h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/se.json"})
	cfg := h.config(fmt.Sprintf("lync: {powershell: $PS, exporters: [csconfig]}\nexporters:\n  - {kind: sql, name: monarch, databases: auto, backup_dir: '%s', sqlcmd: %s}\n", t.TempDir(), stubbin.Sqlcmd(t)))
	items, errs, disc := h.run(cfg)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, it := range items {
		if it.Kind == "sql" {
			t.Errorf("sql item %s on a topology without Monitoring or Archiving", it.Name)
		}
	}
	info := disc["lync"].(*LyncInfo)
	want := "exporter monarch (databases: auto): Get-CsService finds no Monitoring or Archiving database: nothing to back up"
	if !slices.Contains(info.Notes, want) {
		t.Errorf("notes %q, want %q", info.Notes, want)
	}
}

// TestSQLCoverageByName: a sql exporter naming the server by its short
// name, or by its FQDN in another case, still covers the database
// discovery reports by FQDN; one it leaves out is reported. A server of
// the same first label in another domain is another server: it covers
// nothing there.
func TestSQLCoverageByName(t *testing.T) {
	for _, c := range []struct{ instance, uncovered string }{
		{`SQLMON01\MON`, "QoEMetrics"},
		{`SQLMON01.Contoso.com\mon`, "QoEMetrics"},
		{`tcp:sqlmon01.contoso.com\MON,1433`, "QoEMetrics"},
		{`sqlmon01.fabrikam.com\MON`, "LcsCDR,QoEMetrics"},
		{`sqlmon01\other`, "LcsCDR,QoEMetrics"},
	} {
		h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/migration.json"})
		cfg := h.config(fmt.Sprintf("lync: {powershell: $PS, exporters: [csconfig]}\nexporters:\n  - {kind: sql, name: sql, instance: '%s', databases: [lcscdr], backup_dir: '%s'}\n", c.instance, t.TempDir()))
		_, disc, err := Build(context.Background(), cfg, Env{Staging: h.staging})
		if err != nil {
			t.Fatal(err)
		}
		info := disc["lync"].(*LyncInfo)
		if len(info.SQLStores) != 2 || strings.Join(info.SQLStores[0].Uncovered, ",") != c.uncovered || strings.Join(info.SQLStores[1].Uncovered, ",") != "LcsLog" {
			t.Errorf("%s: stores %+v, want %s uncovered on the Monitoring store", c.instance, info.SQLStores, c.uncovered)
		}
	}
}

// TestSQLCoverCovers: the same database is the same instance and name on
// the same FQDN, or the same first label where either side has no dot.
func TestSQLCoverCovers(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want bool
	}{
		{`sql01.contoso.com\mon`, `SQL01.CONTOSO.COM\MON`, true},
		{`sql01\mon`, `sql01.contoso.com\mon`, true},
		{`sql01.contoso.com\mon`, `sql01\mon`, true},
		{`sql01.contoso.com\mon`, `sql01.fabrikam.com\mon`, false},
		{`sql01.contoso.com\mon`, `sql02.contoso.com\mon`, false},
		{`sql01.contoso.com\mon`, `sql01.contoso.com\arch`, false},
		{`sql01.contoso.com\mon`, `sql01.contoso.com.\mon`, true},
		{`localhost\mon`, `sql01\mon`, false}, // computer unknown: a local name matches no server
	} {
		a, b := newSQLCover(c.a, "LcsCDR", ""), newSQLCover(c.b, "lcscdr", "")
		if got := a.covers(b); got != c.want {
			t.Errorf("%s covers %s = %v, want %v", c.a, c.b, got, c.want)
		}
		if got := b.covers(a); got != c.want {
			t.Errorf("%s covers %s = %v, want %v", c.b, c.a, got, c.want)
		}
	}
	if a, b := newSQLCover(`sql01\mon`, "LcsCDR", ""), newSQLCover(`sql01\mon`, "QoEMetrics", ""); a.covers(b) {
		t.Error("LcsCDR covers QoEMetrics")
	}
}

// TestSQLCoverageByLocalName: a sql exporter on the Monitoring store's
// SQL server itself, naming the instance localhost\MON, .\mon,
// (local)\mon or [::1]\mon, covers the databases discovery reports there by FQDN: no
// "deployed but not backed up" note for them (before, the local name was
// compared as it was written and every such database was reported). On
// another computer the same config covers nothing there.
func TestSQLCoverageByLocalName(t *testing.T) {
	here := ThisComputer()
	if here == "" {
		t.Skip("this machine has no name of its own")
	}
	fqdn := here
	if !strings.Contains(fqdn, ".") {
		fqdn += ".contoso.com"
	}
	b, err := os.ReadFile("testdata/discovery/migration.json")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		server, instance, uncovered string
	}{
		{fqdn, `localhost\MON`, "QoEMetrics"},
		{fqdn, `.\mon`, "QoEMetrics"},
		{fqdn, `(LOCAL)\mon`, "QoEMetrics"},
		{fqdn, `127.0.0.1\mon`, "QoEMetrics"},
		{fqdn, `tcp:localhost\mon,1433`, "QoEMetrics"},
		{fqdn, `::1\mon`, "QoEMetrics"},
		{fqdn, `[::1]\mon`, "QoEMetrics"},
		{fqdn, `tcp:[::1]\mon,1433`, "QoEMetrics"},
		{"sqlmon01.contoso.com", `[::1]\mon`, "LcsCDR,QoEMetrics"},
		{fqdn, `tcp:` + fqdn + `\mon`, "QoEMetrics"},
		{fqdn, `localhost\arch`, "LcsCDR,QoEMetrics"},
		{"sqlmon01.contoso.com", `localhost\mon`, "LcsCDR,QoEMetrics"},
	} {
		disc := filepath.Join(t.TempDir(), "discovery.json")
		os.WriteFile(disc, []byte(strings.ReplaceAll(string(b), "sqlmon01.contoso.com", c.server)), 0o644)
		h := newHarness(t, "2015", fixture{DiscoveryFile: disc})
		cfg := h.config(fmt.Sprintf("lync: {powershell: $PS, exporters: [csconfig]}\nexporters:\n  - {kind: sql, name: sql, instance: '%s', databases: [lcscdr], backup_dir: '%s'}\n", c.instance, t.TempDir()))
		_, d, err := Build(context.Background(), cfg, Env{Staging: h.staging})
		if err != nil {
			t.Fatal(err)
		}
		info := d["lync"].(*LyncInfo)
		if len(info.SQLStores) != 2 || strings.Join(info.SQLStores[0].Uncovered, ",") != c.uncovered || strings.Join(info.SQLStores[1].Uncovered, ",") != "LcsLog" {
			t.Errorf("%s, the Monitoring store on %s: stores %+v, want %s uncovered there", c.instance, c.server, info.SQLStores, c.uncovered)
		}
	}
}

// TestSQLRemovesLeftovers: a run killed hard (kill -9, power loss) leaves
// its .bak in read_dir, its Cleanup never run. The next run of that
// exporter removes the .bak files named the way it names them (this host,
// instance and database, a time before the run started), logging each,
// and nothing else: not another host's, another database's, the DBA's own
// .bak, a name with more after .bak, a folder, or a time not before it.
func TestSQLRemovesLeftovers(t *testing.T) {
	logDir, readDir, staging := t.TempDir(), t.TempDir(), t.TempDir()
	t.Setenv("SQLCMDSTUB_DIR", logDir)
	cfg := parseCfg(t, `exporters:
  - kind: sql
    name: mon
    instance: 'sql01.contoso.com\mon'
    databases: [LcsCDR]
    backup_dir: '`+readDir+`'
    sqlcmd: `+stubbin.Sqlcmd(t)+"\n")
	leftover := "lyncbackup-h-sql01.contoso.com_mon-LcsCDR-a1fb86e750db-20261130T020000Z-a1b2c3.bak"
	keep := []string{
		"LcsCDR_full.bak", // the DBA's
		"lyncbackup-h-sql01.contoso.com_mon-LcsCDR-20261130T020000Z-a1b2c3.bak",                  // a version's before the id was in the name
		"lyncbackup-fe02-sql01.contoso.com_mon-LcsCDR-906c6832886c-20261130T020000Z-a1b2c3.bak",  // another host's
		"lyncbackup-h-sql01.contoso.com_mon-QoEMetrics-85aca6f7b626-20261130T020000Z-a1b2c3.bak", // another database's
		"lyncbackup-h-sql01.contoso.com_mon-LcsCDR-a1fb86e750db-20261130T020000Z-a1b2c3.bak.txt",
		"lyncbackup-h-sql01.contoso.com_mon-LcsCDR-a1fb86e750db-20261128T020000Z-A1B2C3.bak", // not hex as it writes it (a distinct name on Windows too)
		"lyncbackup-h-sql01.contoso.com_mon-LcsCDR-a1fb86e750db-29991231T235959Z-a1b2c3.bak", // not before this run
		// An overlapping run's, named an hour ago: SQL Server may have just
		// finished it, that run not yet opened it.
		"lyncbackup-h-sql01.contoso.com_mon-LcsCDR-a1fb86e750db-" + time.Now().UTC().Add(-time.Hour).Format("20060102T150405Z") + "-0f0f0f.bak",
	}
	for _, f := range append([]string{leftover}, keep...) {
		os.WriteFile(filepath.Join(readDir, f), []byte("old backup"), 0o644)
	}
	os.Mkdir(filepath.Join(readDir, "lyncbackup-h-sql01.contoso.com_mon-LcsCDR-a1fb86e750db-20261129T020000Z-d4e5f6.bak"), 0o755)
	keep = append(keep, "lyncbackup-h-sql01.contoso.com_mon-LcsCDR-a1fb86e750db-20261129T020000Z-d4e5f6.bak")

	var logBuf strings.Builder
	log := slog.New(slog.NewTextHandler(&logBuf, nil))
	exps, _, err := Build(context.Background(), cfg, Env{Staging: staging, Log: log})
	if err != nil || len(exps) != 1 {
		t.Fatalf("%v %d", err, len(exps))
	}
	items, err := exps[0].Export(context.Background(), Env{Staging: staging, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(readDir, leftover)); !os.IsNotExist(err) {
		t.Errorf("the killed run's %s is still there (%v)", leftover, err)
	}
	for _, f := range keep {
		if _, err := os.Stat(filepath.Join(readDir, f)); err != nil {
			t.Errorf("%s, not a leftover of this exporter, was removed: %v", f, err)
		}
	}
	if !strings.Contains(logBuf.String(), "removed the .bak an earlier run of this exporter left in read_dir") || !strings.Contains(logBuf.String(), leftover) || strings.Count(logBuf.String(), "removed the .bak") != 1 {
		t.Errorf("log:\n%s", logBuf.String())
	}
	// This run's own .bak is there until its item's cleanup.
	if _, err := os.Stat(items[0].Roots[0].Path); err != nil || !strings.HasPrefix(filepath.Base(items[0].Roots[0].Path), "lyncbackup-h-sql01.contoso.com_mon-LcsCDR-a1fb86e750db-") {
		t.Errorf("this run's .bak: %s %v", items[0].Roots[0].Path, err)
	}
	items[0].Cleanup()
}

// TestSQLBakNameFits: the .bak's name stays within 255 characters however
// long the host, instance and database, and is the same each run.
func TestSQLBakNameFits(t *testing.T) {
	long := strings.Repeat("x", 120)
	x := &sqlExporter{host: long, instance: long + `\` + long, db: long}
	p := x.bakPrefix()
	name := p + "20261130T020000Z-a1b2c3.bak"
	if len(name) > 255 || p != x.bakPrefix() || !strings.HasPrefix(p, "lyncbackup-xxx") || !bakTail.MatchString(strings.TrimPrefix(name, p)) {
		t.Errorf("%d characters: %s", len(name), name)
	}
	short := &sqlExporter{host: "fe01", instance: `sql01\mon`, db: "LcsCDR"}
	if got := short.bakPrefix(); got != "lyncbackup-fe01-sql01_mon-LcsCDR-0eb46f35ae42-" {
		t.Errorf("prefix %s", got)
	}
}

// TestSQLLeftoverOfAnotherHost: the readable part of a .bak's name joins
// host, instance and database with '-', which host and SQL server names
// hold too, and safeName writes several characters alike. Front end "fe01"
// backing up LcsCDR on dr-sql01\mon and front end "fe01-dr" backing up
// LcsCDR on sql01\mon (one read_dir share) named their files alike, and
// each run removed the other's .bak files older than 12 hours; so did
// instances safeName writes alike (sql01\mon$a and sql01\mon#a).
func TestSQLLeftoverOfAnotherHost(t *testing.T) {
	for _, c := range []struct{ me, other sqlExporter }{
		{sqlExporter{host: "fe01", instance: `dr-sql01\mon`, db: "LcsCDR"}, sqlExporter{host: "fe01-dr", instance: `sql01\mon`, db: "LcsCDR"}},
		{sqlExporter{host: "fe01", instance: `sql01\mon$a`, db: "LcsCDR"}, sqlExporter{host: "fe01", instance: `sql01\mon#a`, db: "LcsCDR"}},
	} {
		dir := t.TempDir()
		c.me.readDir, c.me.started = dir, time.Now().UTC()
		theirs := c.other.bakPrefix() + time.Now().UTC().Add(-13*time.Hour).Format(bakStamp) + "-0a0b0c.bak"
		os.WriteFile(filepath.Join(dir, theirs), []byte("x"), 0o644)
		c.me.removeLeftovers(nil)
		if _, err := os.Stat(filepath.Join(dir, theirs)); err != nil {
			t.Errorf("host %s, instance %s removed %s (host %s, instance %s)", c.me.host, c.me.instance, theirs, c.other.host, c.other.instance)
		}
	}
}
