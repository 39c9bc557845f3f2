package exporters

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/stubbin"
)

// TestPlanCMSLeavesSurvivingFileStores: only pool02's back end (with the
// Central Management store) was lost; the Dublin site, its pool and its
// file store survived. --scenario cms --pool pool02.contoso.com copies no
// file store back (none is on a lost Standard Edition server) and says
// which it left; --filestore chooses one (it is accepted with cms),
// --filestore none none; the Persistent Chat import into a store that may
// have survived is not part of it either.
func TestPlanCMSLeavesSurvivingFileStores(t *testing.T) {
	_, items, disc := backupFor(t, "threepools.json", "2015")
	p, err := BuildPlan("fe01", "id", disc, items, "/restore", PlanOptions{Scenario: "cms", Pools: []string{"pool02.contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if run := commandsOf(p, true); strings.Contains(run, `\\fs11.dublin.contoso.com\LyncShare`) || strings.Contains(run, "robocopy") || strings.Contains(run, "Import-CsPersistentChatData") {
		t.Errorf("--scenario cms --pool pool02.contoso.com runs a copy-back over a surviving file store, or an import into a surviving chat store:\n%s", run)
	}
	var b strings.Builder
	p.Write(&b)
	if !strings.Contains(b.String(), `File stores not copied back: \\fs01.contoso.com\LyncShare, \\fs11.dublin.contoso.com\LyncShare`) || len(p.Options.FileStores) != 0 {
		t.Errorf("the plan does not say which file stores it leaves (options.filestores %v):\n%s", p.Options.FileStores, b.String())
	}
	p, err = BuildPlan("fe01", "id", disc, items, "/restore", PlanOptions{Scenario: "cms", Pools: []string{"pool02.contoso.com"}, FileStores: []string{"fs01"}})
	if err != nil {
		t.Fatalf("--scenario cms --filestore fs01: %v", err)
	}
	if run := commandsOf(p, true); !strings.Contains(run, `'\\fs01.contoso.com\LyncShare' /E`) || strings.Contains(run, "fs11") {
		t.Errorf("--scenario cms --filestore fs01 runs:\n%s", run)
	}
	for _, c := range []struct {
		opt  PlanOptions
		want string
	}{
		{PlanOptions{Scenario: "cms", Pools: []string{"all"}, FileStores: []string{"none", "fs01"}}, "--filestore none copies back no file store: give it alone"},
		{PlanOptions{Scenario: "filestore", FileStores: []string{"none"}}, "--filestore none is for --scenario cms"},
	} {
		_, err := BuildPlan("fe01", "id", disc, items, "/restore", c.opt)
		var pe *PlanError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.opt, err, c.want)
		}
	}
	// A Standard Edition server's own file store (on the server lost) is
	// copied back by default, as Microsoft's procedure does; --filestore
	// none leaves it.
	se := []PlanItem{
		{Name: "userdata-se01", Kind: "userdata", Meta: map[string]string{"pool": "se01.contoso.com", "file": "u.zip"}},
		{Name: "filestore-se01", Kind: "filestore", Meta: map[string]string{"store": `\\se01.contoso.com\LyncShare`, "share": "LyncShare"}},
	}
	for _, c := range []struct {
		stores []string
		copied bool
	}{{nil, true}, {[]string{"none"}, false}} {
		p, err := BuildPlan("fe01", "id", nil, se, "/restore", PlanOptions{Scenario: "cms", FileStores: c.stores})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.Contains(commandsOf(p, true), `robocopy`); got != c.copied {
			t.Errorf("Standard Edition, --filestore %v: copied back %v, want %v", c.stores, got, c.copied)
		}
	}
}

// TestPlanFileStoreShortNameIsAmbiguous: two sites, each with a file
// server whose first label is fs01. The admin lost the Dublin one and
// types --filestore fs01: refused (a usage error naming both), not a
// copy-back over both shares; the full name chooses one.
func TestPlanFileStoreShortNameIsAmbiguous(t *testing.T) {
	items := []PlanItem{
		{Name: "filestore-fs01.contoso.com-LyncShare", Kind: "filestore", Meta: map[string]string{"store": `\\fs01.contoso.com\LyncShare`, "share": "LyncShare"}},
		{Name: "filestore-fs01.dublin.contoso.com-LyncShare", Kind: "filestore", Meta: map[string]string{"store": `\\fs01.dublin.contoso.com\LyncShare`, "share": "LyncShare"}},
	}
	for _, sc := range []string{"filestore", "cms"} {
		_, err := BuildPlan("fe01", "id", nil, items, "/restore", PlanOptions{Scenario: sc, FileStores: []string{"fs01"}})
		var pe *PlanError
		want := `--filestore fs01 names several file stores (\\fs01.contoso.com\LyncShare, \\fs01.dublin.contoso.com\LyncShare): give the share or the file server's full name`
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), want) {
			t.Errorf("--scenario %s --filestore fs01: %v, want a usage error %q", sc, err, want)
		}
	}
	p, err := BuildPlan("fe01", "id", nil, items, "/restore", PlanOptions{Scenario: "filestore", FileStores: []string{"fs01.dublin.contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if run := commandsOf(p, true); strings.Count(run, "robocopy '") != 1 || !strings.Contains(run, `'\\fs01.dublin.contoso.com\LyncShare'`) {
		t.Errorf("--filestore fs01.dublin.contoso.com runs:\n%s", run)
	}
}

// TestPlanSQLScenarioChoosesTheDatabase: only the Monitoring database
// (LcsCDR) was lost; the set also holds a Persistent Chat export. Without
// --database the plan is refused (naming the set's databases); with
// --database LcsCDR its [run] steps leave the live Persistent Chat store
// alone (no Install-CsDatabase, no Import-CsPersistentChatData); with
// --database mgc they restore it.
func TestPlanSQLScenarioChoosesTheDatabase(t *testing.T) {
	cdr := PlanItem{Name: "sql-mon-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": `sql01.contoso.com\mon`, "db": "LcsCDR", "file": "a.bak"}}
	cdr2 := PlanItem{Name: "sql-mon2-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": `sql02.contoso.com\mon`, "db": "LcsCDR", "file": "b.bak"}}
	chat := PlanItem{Name: "persistentchat-pchat01", Kind: "persistentchat", Meta: map[string]string{"instance": `sqlpc01.contoso.com\pchat`, "pool": "pchat01.contoso.com", "file": "p.zip"}}
	for _, c := range []struct {
		items []PlanItem
		opt   PlanOptions
		want  string
	}{
		{[]PlanItem{cdr, chat}, PlanOptions{Scenario: "sql"}, `--scenario sql: the set holds several databases (LcsCDR on sql01.contoso.com\mon, mgc on sqlpc01.contoso.com\pchat): name the one that was lost with --database`},
		{[]PlanItem{cdr, chat}, PlanOptions{Scenario: "sql", Databases: []string{"LcsLog"}}, `--database LcsLog: the set holds no backup of that database (it has: LcsCDR on sql01.contoso.com\mon, mgc on sqlpc01.contoso.com\pchat)`},
		{[]PlanItem{cdr, chat}, PlanOptions{Scenario: "sql", Databases: []string{"all", "mgc"}}, "--database all names every database of the set: give it alone"},
		{[]PlanItem{cdr, cdr2}, PlanOptions{Scenario: "sql", Databases: []string{"lcscdr"}}, `--database lcscdr names databases on several SQL instances: give the item name of the one that was lost (sql-mon-LcsCDR (LcsCDR on sql01.contoso.com\mon), sql-mon2-LcsCDR (LcsCDR on sql02.contoso.com\mon))`},
		{[]PlanItem{cdr, chat, {Name: "userdata-pool01", Kind: "userdata", Meta: map[string]string{"pool": "pool01.contoso.com", "file": "u.zip"}}}, PlanOptions{Scenario: "pool", Databases: []string{"mgc"}},
			"--database is for --scenario sql (or cms, with the Central Management store's server); --scenario pool restores no database: restore a lost one afterwards with --scenario sql --database NAME"},
	} {
		_, err := BuildPlan("fe01", "id", nil, c.items, "/restore", c.opt)
		var pe *PlanError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want a usage error %q", c.opt, err, c.want)
		}
	}
	for _, c := range []struct {
		dbs       []string
		want, not []string
	}{
		{[]string{"LcsCDR"}, []string{"RESTORE DATABASE [LcsCDR]"}, []string{"sqlpc01", "Install-CsDatabase", "Import-CsPersistentChatData"}},
		{[]string{"mgc"}, []string{"Install-CsDatabase -DatabaseType PersistentChat -SqlServerFqdn 'sqlpc01.contoso.com'", "Import-CsPersistentChatData -DBInstance 'sqlpc01.contoso.com\\pchat'"}, []string{"LcsCDR"}},
		{[]string{"persistentchat-pchat01", "LcsCDR"}, []string{"RESTORE DATABASE [LcsCDR]", "Import-CsPersistentChatData"}, nil},
	} {
		p, err := BuildPlan("fe01", "id", nil, []PlanItem{cdr, chat}, "/restore", PlanOptions{Scenario: "sql", Databases: c.dbs})
		if err != nil {
			t.Fatalf("--database %v: %v", c.dbs, err)
		}
		all, run := commandsOf(p, false), commandsOf(p, true)
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("--database %v: plan lacks %q:\n%s", c.dbs, w, all)
			}
		}
		for _, n := range c.not {
			if strings.Contains(run, n) {
				t.Errorf("--database %v: --run-imports runs %q:\n%s", c.dbs, n, run)
			}
		}
	}
	// One database in the set: --database may be left out.
	if p, err := BuildPlan("fe01", "id", nil, []PlanItem{cdr}, "/restore", PlanOptions{Scenario: "sql"}); err != nil || strings.Join(p.Options.Databases, ",") != "sql-mon-LcsCDR" {
		t.Errorf("the set's only database: %v, options.databases %v", err, p.Options.Databases)
	}
}

// TestPlanCMSRestoresNamedDatabases: Microsoft's procedure for the server
// hosting the Central Management store ends with the SQL restore of
// LcsLog / LcsCDR / QoEMetrics and Persistent Chat: a database its SQL
// server hosted is lost with it. --scenario cms restores the ones named
// with --database (after the Response Groups), lists the others as not
// restored, and restores none without it (they may be on SQL servers
// that survived); --database all is every one. Here all are on the
// store's SQL server (sqlbe01); one on another server is refused:
// TestPlanCMSDatabaseOnlyOnTheCMSServer.
func TestPlanCMSRestoresNamedDatabases(t *testing.T) {
	disc := map[string]any{"lync": map[string]any{"config_store": `sqlbe01.contoso.com\rtc`}}
	items := []PlanItem{
		{Name: "csconfig", Kind: "csconfig", Meta: map[string]string{"file": "c.zip"}},
		{Name: "rgs-pool01", Kind: "rgs", Meta: map[string]string{"pool": "pool01.contoso.com", "file": "r.zip"}},
		{Name: "sql-mon-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": `sqlbe01.contoso.com\rtc`, "db": "LcsCDR", "file": "a.bak"}},
		{Name: "sql-mon-QoEMetrics", Kind: "sql", Meta: map[string]string{"instance": `sqlbe01.contoso.com\rtc`, "db": "QoEMetrics", "file": "q.bak"}},
		{Name: "persistentchat-pchat01", Kind: "persistentchat", Meta: map[string]string{"instance": `sqlbe01.contoso.com\pchat`, "pool": "pchat01.contoso.com", "file": "p.zip"}},
	}
	for _, c := range []struct {
		dbs             []string
		want, not       []string
		options, notRes string
	}{
		{nil, nil, []string{"RESTORE DATABASE", "Install-CsDatabase -DatabaseType", "Import-CsPersistentChatData"}, "", "Databases not restored: sql-mon-LcsCDR, sql-mon-QoEMetrics, persistentchat-pchat01"},
		{[]string{"LcsCDR", "QoEMetrics"}, []string{"RESTORE DATABASE [LcsCDR]", "RESTORE DATABASE [QoEMetrics]"}, []string{"Install-CsDatabase -DatabaseType", "Import-CsPersistentChatData"},
			"sql-mon-LcsCDR,sql-mon-QoEMetrics", "Databases not restored: persistentchat-pchat01"},
		{[]string{"mgc"}, []string{"Install-CsDatabase -DatabaseType PersistentChat -SqlServerFqdn 'sqlbe01.contoso.com' -SqlInstanceName 'pchat'", "Import-CsPersistentChatData -DBInstance 'sqlbe01.contoso.com\\pchat'"}, []string{"RESTORE DATABASE"},
			"persistentchat-pchat01", "Databases not restored: sql-mon-LcsCDR, sql-mon-QoEMetrics"},
		{[]string{"all"}, []string{"RESTORE DATABASE [LcsCDR]", "RESTORE DATABASE [QoEMetrics]", "Import-CsPersistentChatData"}, nil,
			"sql-mon-LcsCDR,sql-mon-QoEMetrics,persistentchat-pchat01", ""},
	} {
		p, text := planText(t, disc, items, PlanOptions{Scenario: "cms", Pools: []string{"pool01.contoso.com"}, Databases: c.dbs})
		all := commandsOf(p, false)
		for _, w := range c.want {
			if !strings.Contains(all, w) {
				t.Errorf("cms --database %v: plan lacks %q:\n%s", c.dbs, w, text)
			}
		}
		for _, n := range c.not {
			if strings.Contains(all, n) {
				t.Errorf("cms --database %v: plan holds %q:\n%s", c.dbs, n, text)
			}
		}
		if got := strings.Join(p.Options.Databases, ","); got != c.options {
			t.Errorf("cms --database %v: options.databases %q, want %q", c.dbs, got, c.options)
		}
		if (c.notRes == "") != !strings.Contains(text, "Databases not restored: ") || c.notRes != "" && !strings.Contains(text, c.notRes+"\n") {
			t.Errorf("cms --database %v: want %q:\n%s", c.dbs, c.notRes, text)
		}
		// Microsoft's order: the databases after the Response Groups.
		rgs, db := -1, -1
		for i, s := range p.Steps {
			for _, cmd := range s.Commands {
				if strings.HasPrefix(cmd, "Import-CsRgsConfiguration") {
					rgs = i
				}
				if db < 0 && (strings.Contains(cmd, "RESTORE DATABASE") || strings.HasPrefix(cmd, "Import-CsPersistentChatData")) {
					db = i
				}
			}
		}
		if db >= 0 && db < rgs {
			t.Errorf("cms --database %v: a database restore (step %d) before the Response Groups (step %d)", c.dbs, db+1, rgs+1)
		}
	}
	for _, c := range []struct {
		dbs  []string
		want string
	}{
		{[]string{"LcsLog"}, `--database LcsLog: the set holds no backup of that database (it has: LcsCDR on sqlbe01.contoso.com\rtc, QoEMetrics on sqlbe01.contoso.com\rtc, mgc on sqlbe01.contoso.com\pchat)`},
		{[]string{"all", "mgc"}, "--database all names every database of the set: give it alone"},
	} {
		_, err := BuildPlan("fe01", "id", disc, items, "/restore", PlanOptions{Scenario: "cms", Pools: []string{"pool01.contoso.com"}, Databases: c.dbs})
		var pe *PlanError
		if !errors.As(err, &pe) || err.Error() != c.want {
			t.Errorf("cms --database %v: %v, want %q", c.dbs, err, c.want)
		}
	}
}

// TestPlanRefusalsSayTheCause: each refusal names its real cause.
// --filestore with sql once said sql "chooses what it restores with
// --pool" (which sql refuses in turn); --rgs-to into a plan that imports
// no Response Groups said "(the set holds none of none)".
func TestPlanRefusalsSayTheCause(t *testing.T) {
	cdr := PlanItem{Name: "sql-mon-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": `sql01.contoso.com\mon`, "db": "LcsCDR", "file": "a.bak"}}
	ud := PlanItem{Name: "userdata-pool01", Kind: "userdata", Meta: map[string]string{"pool": "pool01.contoso.com", "file": "u.zip"}}
	ud2 := PlanItem{Name: "userdata-pool02", Kind: "userdata", Meta: map[string]string{"pool": "pool02.contoso.com", "file": "u.zip"}}
	rgs := PlanItem{Name: "rgs-pool01", Kind: "rgs", Meta: map[string]string{"pool": "pool01.contoso.com", "file": "r.zip"}}
	for _, c := range []struct {
		items []PlanItem
		opt   PlanOptions
		want  string
	}{
		{[]PlanItem{cdr}, PlanOptions{Scenario: "sql", FileStores: []string{"fs01"}}, "--filestore is for --scenario filestore or cms; --scenario sql restores no file store"},
		{[]PlanItem{ud}, PlanOptions{Scenario: "pool", FileStores: []string{"fs01"}}, "--filestore is for --scenario filestore or cms; --scenario pool restores no file store"},
		{[]PlanItem{ud}, PlanOptions{Scenario: "frontend", FileStores: []string{"fs01"}}, "--filestore is for --scenario filestore or cms; --scenario frontend restores no file store"},
		{[]PlanItem{ud}, PlanOptions{Scenario: "standard", FileStores: []string{"fs01"}}, "--filestore is for --scenario filestore or cms; --scenario standard copies back the lost server's own file store (a share on the --pool server) and no other"},
		{[]PlanItem{cdr}, PlanOptions{Scenario: "cms", RgsTo: "pool02.contoso.com"}, "--rgs-to pool02.contoso.com: the set holds no Response Groups to import"},
		{[]PlanItem{ud, ud2, rgs}, PlanOptions{Scenario: "pool", Pools: []string{"pool02.contoso.com"}, RgsTo: "pool01.contoso.com"}, "--rgs-to pool01.contoso.com: the plan imports no Response Groups: the set holds those of pool01.contoso.com, and the pool(s) this plan restores are pool02.contoso.com"},
	} {
		_, err := BuildPlan("fe01", "id", nil, c.items, "/restore", c.opt)
		var pe *PlanError
		if !errors.As(err, &pe) || err.Error() != c.want {
			t.Errorf("%+v: %v\nwant the usage error %q", c.opt, err, c.want)
		}
	}
}

// TestPlanRgsToUnknownPool: --rgs-to is checked against the pools the
// set's discovery recorded as running Response Groups: a typo, a Lync
// Server 2010 pool (not in rgs_pools: Import-CsRgsConfiguration supports
// 2013 and later) or a pool that is not there is refused naming the ones
// that are; a service identity (ApplicationServer:pool…) names its pool
// and never gives -Destination 'ApplicationServer:ApplicationServer:…'.
func TestPlanRgsToUnknownPool(t *testing.T) {
	_, items, disc := backupFor(t, "migration.json", "2015")
	for _, to := range []string{"pool0l.contoso.com", "lyncpool10.contoso.com", "ApplicationServer:pool02.contoso.com"} {
		p, err := BuildPlan("fe01", "id", disc, items, "/restore", PlanOptions{Scenario: "pool", Pools: []string{"pool01.contoso.com"}, RgsTo: to})
		var pe *PlanError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), ": not a pool that survived and runs Response Groups, as the set records them (none)") {
			t.Errorf("--rgs-to %s: %v (runs %s)", to, err, commandsOf(p, true))
		}
	}
	_, items, disc = backupFor(t, "threepools.json", "2015")
	for _, to := range []string{"pool03.dublin.contoso.com", "ApplicationServer:pool03.dublin.contoso.com", "service:applicationserver:POOL03.dublin.contoso.com"} {
		p, err := BuildPlan("fe01", "id", disc, items, "/restore", PlanOptions{Scenario: "cms", Pools: []string{"pool01.contoso.com"}, RgsTo: to})
		if err != nil {
			t.Errorf("--rgs-to %s: %v", to, err)
			continue
		}
		if run := commandsOf(p, true); !strings.Contains(run, "Import-CsRgsConfiguration -Destination 'ApplicationServer:") || strings.Contains(run, "ApplicationServer:ApplicationServer:") || strings.Contains(run, "service:") {
			t.Errorf("--rgs-to %s runs:\n%s", to, run)
		}
	}
	for _, c := range []struct{ to, want string }{
		{"pool02.contoso.com", "--rgs-to pool02.contoso.com: not a pool that survived and runs Response Groups, as the set records them (pool03.dublin.contoso.com)"},
		{"ApplicationServer:", "--rgs-to ApplicationServer: names no pool: give the FQDN of the pool that survived"},
	} {
		_, err := BuildPlan("fe01", "id", disc, items, "/restore", PlanOptions{Scenario: "cms", Pools: []string{"pool01.contoso.com"}, RgsTo: c.to})
		var pe *PlanError
		if !errors.As(err, &pe) || err.Error() != c.want {
			t.Errorf("--rgs-to %s: %v\nwant the usage error %q", c.to, err, c.want)
		}
	}
	// The stand-in refuses the doubled prefix, as the cmdlet finds no such
	// service.
	prod, _ := ProductByID("2015")
	ps := PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}
	f := filepath.Join(t.TempDir(), "r.zip")
	os.WriteFile(f, []byte("PK"), 0o644)
	if _, err := ps.Run(context.Background(), "doubled", 0, "Import-CsRgsConfiguration -Destination 'ApplicationServer:ApplicationServer:pool02.contoso.com' -FileName "+PSQuote(f)+" -Force"); err == nil || !strings.Contains(err.Error(), "is not a service identity") {
		t.Errorf("the stand-in accepted -Destination 'ApplicationServer:ApplicationServer:…': %v", err)
	}
}

// TestPlanCMSDatabaseOnlyOnTheCMSServer: --scenario cms rebuilds the
// server of the Central Management store; a database it restores
// (--database) must be on that SQL server (the store's location as
// discovery recorded it, or its mirror): a Persistent Chat store or a
// Monitoring database on a SQL server of its own survived the loss, and
// importing into it adds the backup's content to the live store
// (Import-CsPersistentChatData) or replaces it (RESTORE … REPLACE). A name
// on another server is refused in one line pointing at --scenario sql;
// "all" is every database on the CMS's SQL server, and refused when there
// is none; a set that does not record the store's location restores none.
func TestPlanCMSDatabaseOnlyOnTheCMSServer(t *testing.T) {
	disc := map[string]any{"lync": map[string]any{"product": "2015", "config_store": `sqlbe01.contoso.com\rtc`, "config_store_mirror": `sqlbe02.contoso.com\rtc`}}
	chat := PlanItem{Name: "persistentchat-pchat01", Kind: "persistentchat", Meta: map[string]string{"instance": `sqlpc01.contoso.com\pchat`, "pool": "pchat01.contoso.com", "file": "p.zip"}}
	cdr := PlanItem{Name: "sql-mon-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": `sqlmon01.contoso.com\mon`, "db": "LcsCDR", "file": "a.bak"}}
	lcslog := PlanItem{Name: "sql-be-LcsLog", Kind: "sql", Meta: map[string]string{"instance": `SQLBE01.contoso.com\arch`, "db": "LcsLog", "file": "l.bak"}}
	qoe := PlanItem{Name: "sql-be2-QoEMetrics", Kind: "sql", Meta: map[string]string{"instance": `sqlbe02.contoso.com\mon`, "db": "QoEMetrics", "file": "q.bak"}}
	conf := PlanItem{Name: "csconfig", Kind: "csconfig", Meta: map[string]string{"file": "c.zip"}}
	for _, c := range []struct {
		items []PlanItem
		dbs   []string
		want  string
	}{
		{[]PlanItem{conf, chat, cdr}, []string{"all"}, `--database all: the set holds no database on the Central Management store's SQL server (sqlbe01.contoso.com, mirror sqlbe02.contoso.com), the one --scenario cms rebuilds (it has: mgc on sqlpc01.contoso.com\pchat, LcsCDR on sqlmon01.contoso.com\mon); a database lost on another SQL server: --scenario sql --database NAME`},
		{[]PlanItem{conf, chat, cdr, lcslog}, []string{"mgc"}, `--database mgc: persistentchat-pchat01 is on sqlpc01.contoso.com\pchat, not on the Central Management store's SQL server (sqlbe01.contoso.com, mirror sqlbe02.contoso.com), which --scenario cms rebuilds; if that SQL server was lost too, restore it with --scenario sql --database mgc`},
		{[]PlanItem{conf, chat, cdr, lcslog}, []string{"LcsLog", "sql-mon-LcsCDR"}, `--database sql-mon-LcsCDR: sql-mon-LcsCDR is on sqlmon01.contoso.com\mon, not on the Central Management store's SQL server (sqlbe01.contoso.com, mirror sqlbe02.contoso.com), which --scenario cms rebuilds; if that SQL server was lost too, restore it with --scenario sql --database sql-mon-LcsCDR`},
	} {
		_, err := BuildPlan("fe01", "id", disc, c.items, "/restore", PlanOptions{Scenario: "cms", Databases: c.dbs})
		var pe *PlanError
		if !errors.As(err, &pe) || err.Error() != c.want {
			t.Errorf("cms --database %v: %v\nwant %s", c.dbs, err, c.want)
		}
	}
	// all: the ones on the CMS's SQL server (or its mirror), the others
	// listed as not restored, saying where they are.
	items := []PlanItem{conf, chat, cdr, lcslog, qoe}
	p, text := planText(t, disc, items, PlanOptions{Scenario: "cms", Databases: []string{"all"}})
	if got := strings.Join(p.Options.Databases, ","); got != "sql-be-LcsLog,sql-be2-QoEMetrics" {
		t.Errorf("cms --database all: options.databases %q:\n%s", got, text)
	}
	all := commandsOf(p, false)
	for _, w := range []string{"RESTORE DATABASE [LcsLog]", "RESTORE DATABASE [QoEMetrics]"} {
		if !strings.Contains(all, w) {
			t.Errorf("cms --database all: plan lacks %q:\n%s", w, text)
		}
	}
	for _, n := range []string{"sqlpc01", "sqlmon01", "Import-CsPersistentChatData", "Install-CsDatabase -DatabaseType"} {
		if strings.Contains(all, n) {
			t.Errorf("cms --database all: plan restores into a SQL server the loss did not take (%q):\n%s", n, text)
		}
	}
	if !strings.Contains(text, "Databases not restored: persistentchat-pchat01, sql-mon-LcsCDR\n") {
		t.Errorf("cms --database all: the databases on other SQL servers are not listed as not restored:\n%s", text)
	}
	// A set that does not record where the store was: no database can be
	// placed on its server.
	_, err := BuildPlan("fe01", "id", nil, items, "/restore", PlanOptions{Scenario: "cms", Databases: []string{"LcsLog"}})
	if want := "--database LcsLog: the set does not record the Central Management store's SQL server, so no database can be placed on the server --scenario cms rebuilds: restore a lost database with --scenario sql --database NAME"; err == nil || err.Error() != want {
		t.Errorf("cms --database without the store's location: %v\nwant %s", err, want)
	}
}

// TestSQLServerIsLocalNames: a SQL instance written with a local name in
// lyncbackup's config (localhost, ".", "(local)", 127.0.0.1, the IPv6
// loopback ::1 or [::1], with or without an instance, in any case) is on the computer the backup ran on,
// as the set records it (LyncInfo.Computer): it is on the Central
// Management store's server when that computer is that server (by FQDN,
// or by first label when one of them has no dot), and on no server when
// the set does not record the computer. Two different servers never
// match: another computer, another domain's server of the same first
// label, an unknown computer, or a computer recorded as a local name.
func TestSQLServerIsLocalNames(t *testing.T) {
	for _, c := range []struct {
		loc, server, computer string
		want                  bool
	}{
		{`localhost\rtc`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`LOCALHOST\RTC`, "sql01.contoso.com", "SQL01.contoso.com", true},
		{`.\rtc`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`(local)\mon`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`(LOCAL)`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`127.0.0.1\rtc`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`localhost`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`.`, "sql01.contoso.com", "sql01.contoso.com", true},
		{` localhost \rtc`, "sql01.contoso.com", "sql01.contoso.com", true},
		// A computer name without its domain (os.Hostname off Windows).
		{`localhost\rtc`, "sql01.contoso.com", "SQL01", true},
		// Another computer, another domain, nothing recorded.
		{`localhost\rtc`, "sql01.contoso.com", "fe01.contoso.com", false},
		{`.\rtc`, "sql01.contoso.com", "sql01.fabrikam.com", false},
		{`(local)\rtc`, "sql01.contoso.com", "", false},
		{`127.0.0.1\rtc`, "sql01.contoso.com", "", false},
		{`.\rtc`, "sql01.contoso.com", "localhost", false},
		// Not local names: compared as before, the computer aside.
		{`sql01.contoso.com\mon`, "sql01.contoso.com", "fe01.contoso.com", true},
		{`sql02.contoso.com\mon`, "sql01.contoso.com", "sql02.contoso.com", false},
		{`127.0.0.2\rtc`, "sql01.contoso.com", "sql01.contoso.com", false},
		{`localhost.contoso.com\rtc`, "sql01.contoso.com", "sql01.contoso.com", false},
		{`\rtc`, "sql01.contoso.com", "sql01.contoso.com", false},
		// sqlcmd's protocol prefixes and ports say how to connect, not where.
		// The IPv6 loopback, bare or in brackets (sqlcmd -S tcp:[::1],1433).
		{`::1`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`::1\mon`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`[::1]`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`[::1]\mon`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`tcp:[::1],1433`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`TCP:[::1]\mon,1433`, "sql01.contoso.com", "SQL01", true},
		{`[::1],1433`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`[::1]\mon`, "sql01.contoso.com", "fe01.contoso.com", false},
		{`tcp:[::1],1433`, "sql01.contoso.com", "", false},
		{`.\rtc`, "sql01.contoso.com", "::1", false},
		{`[::2]\mon`, "sql01.contoso.com", "sql01.contoso.com", false},
		{`::2`, "sql01.contoso.com", "sql01.contoso.com", false},
		{`tcp:sql01.contoso.com\mon,1433`, "sql01.contoso.com", "", true},
		{`TCP:sql01.contoso.com,14330`, "sql01.contoso.com", "", true},
		{`np:sql01\mon`, "sql01.contoso.com", "", true},
		{`tcp:localhost,1433`, "sql01.contoso.com", "sql01.contoso.com", true},
		{`tcp:sql02.contoso.com\mon,1433`, "sql01.contoso.com", "", false},
		{`sql01.contoso.com,x`, "sql01.contoso.com", "", false},
	} {
		if got := sqlServerIs(c.loc, c.server, c.computer); got != c.want {
			t.Errorf("sqlServerIs(%q, %q, computer %q) = %v, want %v", c.loc, c.server, c.computer, got, c.want)
		}
	}
}

// TestPlanCMSDatabaseOnTheBackupsComputer: a backup that ran on the
// Central Management store's SQL server itself may name its instances
// localhost\…, .\…, (local)\… or 127.0.0.1\… in lyncbackup's config;
// --scenario cms --database restores such a database when the set records
// that it ran on the store's server (or its mirror), and --database all
// takes it. Recorded on another computer, or not recorded (a set made
// before the computer was recorded), the name is refused in one line that
// says which computer the local name stood for, or that the set does not
// say.
func TestPlanCMSDatabaseOnTheBackupsComputer(t *testing.T) {
	disc := func(computer string) map[string]any {
		return map[string]any{"lync": map[string]any{"product": "2015", "config_store": `sql01.contoso.com\rtc`, "config_store_mirror": `sql02.contoso.com\rtc`, "computer": computer}}
	}
	conf := PlanItem{Name: "csconfig", Kind: "csconfig", Meta: map[string]string{"file": "c.zip"}}
	for _, inst := range []string{`localhost\mon`, `.\mon`, `(local)\mon`, `127.0.0.1\mon`, `LocalHost`, `.`, `(local)`, `[::1]\mon`, `tcp:[::1],1433`} {
		cdr := PlanItem{Name: "sql-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": inst, "db": "LcsCDR", "file": "a.bak"}}
		for _, computer := range []string{"sql01.contoso.com", "SQL02.contoso.com", "sql01"} {
			for _, dbs := range [][]string{{"LcsCDR"}, {"all"}} {
				p, err := BuildPlan("sql01", "id", disc(computer), []PlanItem{conf, cdr}, "/restore", PlanOptions{Scenario: "cms", Databases: dbs})
				if err != nil {
					t.Errorf("%s, backup on %s, --database %s: %v", inst, computer, dbs[0], err)
					continue
				}
				if got := strings.Join(p.Options.Databases, ","); got != "sql-LcsCDR" || !strings.Contains(commandsOf(p, false), "RESTORE DATABASE [LcsCDR]") {
					t.Errorf("%s, backup on %s, --database %s: restores %q", inst, computer, dbs[0], got)
				}
			}
		}
		for computer, where := range map[string]string{
			"fe01.contoso.com":   " (the computer the backup ran on, fe01.contoso.com)",
			"sql01.fabrikam.com": " (the computer the backup ran on, sql01.fabrikam.com)",
			"":                   " (a local name of the computer the backup ran on, which the set does not record)",
		} {
			_, err := BuildPlan("sql01", "id", disc(computer), []PlanItem{conf, cdr}, "/restore", PlanOptions{Scenario: "cms", Databases: []string{"LcsCDR"}})
			want := "--database LcsCDR: sql-LcsCDR is on " + inst + where + ", not on the Central Management store's SQL server (sql01.contoso.com, mirror sql02.contoso.com), which --scenario cms rebuilds; if that SQL server was lost too, restore it with --scenario sql --database LcsCDR"
			var pe *PlanError
			if !errors.As(err, &pe) || err.Error() != want {
				t.Errorf("%s, backup on %q: %v\nwant the usage error %s", inst, computer, err, want)
			}
			if _, err := BuildPlan("sql01", "id", disc(computer), []PlanItem{conf, cdr}, "/restore", PlanOptions{Scenario: "cms", Databases: []string{"all"}}); err == nil || !strings.HasPrefix(err.Error(), "--database all: the set holds no database on the Central Management store's SQL server") {
				t.Errorf("%s, backup on %q, --database all: %v", inst, computer, err)
			}
		}
	}
}

// TestThisComputerIsThisMachine: the computer a backup records is this
// machine's name (on Windows its FQDN, whose first label is the host name
// os.Hostname gives), never a local name.
func TestThisComputerIsThisMachine(t *testing.T) {
	h, err := os.Hostname()
	if err != nil || h == "" || isLocalSQLName(h) {
		t.Skipf("this machine has no name of its own (%q, %v)", h, err)
	}
	c := ThisComputer()
	first, _, _ := strings.Cut(c, ".")
	if !strings.EqualFold(first, strings.Split(h, ".")[0]) || isLocalSQLName(c) {
		t.Errorf("ThisComputer() = %q, want this machine (%s)", c, h)
	}
}

// TestPlanNotesLocalSQLNames: a set whose SQL locations are local names
// (localhost\mon in the sql exporter's config, .\mgc for Persistent Chat,
// even the store's own location) had plans print sqlcmd -S 'localhost\mon',
// -DBInstance '.\mgc' … with nothing more: run on the rebuilt server or an
// admin's workstation, the command reaches whichever computer it runs on,
// not the one lost. Each step whose commands name such a location keeps
// them as the set recorded them and says, in a note, which computer the
// name stood for (lync.computer) and that the step is run there or the
// name replaced by its FQDN; or that the set does not record the
// computer. A location with a server's name gets no such note.
func TestPlanNotesLocalSQLNames(t *testing.T) {
	items := func(sqlInst, chatInst string) []PlanItem {
		return []PlanItem{
			{Name: "sql-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": sqlInst, "db": "LcsCDR", "file": "a.bak"}},
			{Name: "persistentchat", Kind: "persistentchat", Meta: map[string]string{"instance": chatInst, "file": "c.zip"}},
		}
	}
	disc := func(computer, store string) map[string]any {
		return map[string]any{"lync": map[string]any{"product": "2015", "config_store": store, "computer": computer}}
	}
	// step returns the note of the plan's step whose title starts with
	// title that names loc as a local name, and the step's commands.
	step := func(t *testing.T, p Plan, title, loc string) (string, string) {
		t.Helper()
		for _, s := range p.Steps {
			if strings.HasPrefix(s.Title, title) {
				for _, n := range s.Notes {
					if strings.HasPrefix(n, loc+" is a local name") {
						return n, strings.Join(s.Commands, "\n")
					}
				}
				return "", strings.Join(s.Commands, "\n")
			}
		}
		t.Fatalf("no step %q in the plan", title)
		return "", ""
	}
	for _, c := range []struct {
		sqlInst, chatInst, host, computer string
		want                              string // what follows "the backup ran on" in each note
	}{
		{`localhost\mon`, `.\mgc`, "localhost", "sql01.contoso.com", ": sql01.contoso.com (lync.computer). Run on another computer, %s names that computer instead: run this step on sql01.contoso.com, or replace %s with its FQDN."},
		{`(LOCAL)\mon`, `127.0.0.1\mgc`, "(LOCAL)", "SQL01", ": SQL01 (lync.computer). Run on another computer, %s names that computer instead: run this step on SQL01, or replace %s with its FQDN."},
		{`tcp:[::1],1433`, `::1\mgc`, "[::1]", "sql01.contoso.com", ": sql01.contoso.com (lync.computer). Run on another computer, %s names that computer instead: run this step on sql01.contoso.com, or replace %s with its FQDN."},
		{`localhost\mon`, `.\mgc`, "localhost", "", ", which the set does not record (lync.computer). Run on another computer, %s names that computer instead: run this step on the SQL server that held the database, or replace %s with its FQDN."},
		{`localhost\mon`, `.\mgc`, "localhost", "localhost", ", which the set does not record (lync.computer). Run on another computer, %s names that computer instead: run this step on the SQL server that held the database, or replace %s with its FQDN."},
	} {
		p, err := BuildPlan("fe01", "id", disc(c.computer, `sqlbe01.contoso.com\rtc`), items(c.sqlInst, c.chatInst), "/restore", PlanOptions{Scenario: "sql", Databases: []string{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		chatHost, _ := splitInstance(c.chatInst)
		for _, s := range []struct{ title, loc, host, cmd string }{
			{"Restore SQL database LcsCDR on", c.sqlInst, c.host, "sqlcmd -S " + PSQuote(c.sqlInst) + " -d master"},
			{"Import the Persistent Chat content", c.chatInst, chatHost, "Import-CsPersistentChatData -DBInstance " + PSQuote(c.chatInst) + " "},
			{"Create the Persistent Chat databases", c.chatInst, chatHost, "Install-CsDatabase -DatabaseType PersistentChat " + sqlParams("", c.chatInst)},
		} {
			note, cmds := step(t, p, s.title, s.loc)
			want := s.loc + " is a local name, local to the computer the backup ran on" + fmt.Sprintf(c.want, s.host, s.host)
			if note != want {
				t.Errorf("%s, computer %q, step %q: note %q\nwant %q", s.loc, c.computer, s.title, note, want)
			}
			if !strings.Contains(cmds, s.cmd) {
				t.Errorf("%s, step %q: commands changed:\n%s\nwant %s", s.loc, s.title, cmds, s.cmd)
			}
		}
	}
	// The store's own location, as the set recorded it (and its mirror).
	p, err := BuildPlan("fe01", "id", disc("sql01.contoso.com", `.\rtc`), nil, "/restore", PlanOptions{Scenario: "cms"})
	if err != nil {
		t.Fatal(err)
	}
	for _, title := range []string{"Create the Central Management store database", "Point the deployment at it"} {
		if note, _ := step(t, p, title, `.\rtc`); note != `.\rtc is a local name, local to the computer the backup ran on: sql01.contoso.com (lync.computer). Run on another computer, . names that computer instead: run this step on sql01.contoso.com, or replace . with its FQDN.` {
			t.Errorf("cms store at .\\rtc, step %q: note %q", title, note)
		}
	}
	// Servers' names: no note.
	for _, inst := range []string{`sql01.contoso.com\mon`, `tcp:sql01,1433`, `localhost.contoso.com\mon`, `127.0.0.2\mon`} {
		p, err := BuildPlan("fe01", "id", disc("sql01.contoso.com", `sqlbe01.contoso.com\rtc`), items(inst, inst), "/restore", PlanOptions{Scenario: "sql", Databases: []string{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		p.Write(&b)
		if strings.Contains(b.String(), "is a local name") {
			t.Errorf("%s: a local-name note in\n%s", inst, b.String())
		}
	}
}
