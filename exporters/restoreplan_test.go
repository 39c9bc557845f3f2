package exporters

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/stubbin"
)

// backupFor backs up a deployment with the stand-in and returns the items
// and the discovery the manifest would hold (through JSON).
func backupFor(t *testing.T, fixtureFile, product string) (*lyncHarness, []PlanItem, map[string]any) {
	t.Helper()
	h := newHarness(t, product, fixture{DiscoveryFile: "testdata/discovery/" + fixtureFile})
	items, errs, disc := h.run(h.config("lync: {powershell: $PS, exporters: all}\n"))
	// File stores: discovered UNC paths do not exist here; only their plan matters.
	for name, err := range errs {
		if !strings.HasPrefix(name, "filestore-") {
			t.Fatalf("%s: %v", name, err)
		}
	}
	b, err := json.Marshal(disc)
	if err != nil {
		t.Fatal(err)
	}
	var manifestDisc map[string]any
	json.Unmarshal(b, &manifestDisc)
	var pitems []PlanItem
	for _, it := range items {
		pitems = append(pitems, PlanItem{Name: it.Name, Kind: it.Kind, Meta: it.Meta})
	}
	info := LyncInfoFrom(manifestDisc)
	for _, fs := range info.FileStores {
		pitems = append(pitems, PlanItem{Name: "filestore-" + fileStoreSlug(fs.UncPath), Kind: "filestore", Meta: map[string]string{"store": fs.UncPath, "share": shareName(fs.UncPath)}})
	}
	pitems = append(pitems,
		PlanItem{Name: "sql-sql01-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": `sql01.contoso.com\mon`, "db": "LcsCDR", "file": "sql01.contoso.com_mon-LcsCDR.bak",
			"files": "LcsCDR|D:\\SQLData\\LcsCDR.mdf\nLcsCDR_log|E:\\SQLLogs\\LcsCDR_log.ldf", "trust_server_certificate": "true"}},
		PlanItem{Name: "sql-sql01-QoEMetrics", Kind: "sql", Meta: map[string]string{"instance": `sql01.contoso.com\mon`, "db": "QoEMetrics", "file": "sql01.contoso.com_mon-QoEMetrics.bak"}},
		PlanItem{Name: "voice", Kind: "command", Meta: map[string]string{"command": "powershell.exe"}},
		PlanItem{Name: "certs", Kind: "path", Meta: map[string]string{"path.0": `C:\certs`}},
	)
	sort.Slice(pitems, func(i, j int) bool { return pitems[i].Name < pitems[j].Name })
	return h, pitems, manifestDisc
}

type planCase struct {
	fixture, product, scenario string
	pools                      []string
	// localSQL: the sql exporter named its instance localhost\mon (not
	// sql01.contoso.com\mon) on sql01.contoso.com, the computer the set
	// records (lync.computer).
	localSQL bool
}

func (c planCase) golden() string {
	n := strings.TrimSuffix(c.fixture, ".json") + "-" + c.product + "-" + c.scenario
	if len(c.pools) > 0 {
		n += "-" + strings.Join(c.pools, "-")
	}
	if c.localSQL {
		n += "-localsql"
	}
	return n
}

// set is backupFor's items and discovery, as the case has them.
func (c planCase) set(t *testing.T) (*lyncHarness, []PlanItem, map[string]any) {
	t.Helper()
	h, items, disc := backupFor(t, c.fixture, c.product)
	if c.localSQL {
		for i, it := range items {
			if it.Kind == "sql" {
				m := maps.Clone(it.Meta)
				m["instance"] = strings.Replace(m["instance"], "sql01.contoso.com", "localhost", 1)
				items[i].Meta = m
			}
		}
		disc["lync"].(map[string]any)["computer"] = "sql01.contoso.com"
	}
	return h, items, disc
}

var planCases = []planCase{
	{"migration.json", "2015", "cms", []string{"all"}, false},
	{"migration.json", "2015", "standard", []string{"pool02.contoso.com"}, false},
	{"migration.json", "2015", "pool", []string{"pool01.contoso.com"}, false},
	{"migration.json", "2015", "frontend", []string{"pool01.contoso.com"}, false},
	{"migration.json", "2015", "filestore", nil, false},
	{"migration.json", "2015", "sql", nil, false},
	{"migration.json", "2015", "sql", nil, true},
	{"se.json", "2019", "cms", nil, false},
	{"se.json", "2019", "standard", nil, false},
	{"onepool.json", "2013", "cms", nil, false},
	{"onepool.json", "2013", "pool", nil, false},
	{"onepool.json", "2013", "frontend", nil, false},
	{"threepools.json", "2015", "cms", []string{"all"}, false},
	{"threepools.json", "2015", "cms", []string{"pool02.contoso.com"}, false},
}

// options are the case's plan options: --database all for sql (every
// database of the set in the plan).
func (c planCase) options() PlanOptions {
	o := PlanOptions{Scenario: c.scenario, Pools: c.pools}
	if c.scenario == "sql" {
		o.Databases = []string{"all"}
	}
	return o
}

// planRoot is where the golden plans restore to.
func planRoot() string {
	if runtime.GOOS == "windows" {
		return `C:\restore`
	}
	return "/restore"
}

func TestRestorePlanGolden(t *testing.T) {
	used := map[string]bool{}
	for _, c := range planCases {
		t.Run(c.golden(), func(t *testing.T) {
			_, items, disc := c.set(t)
			p, err := BuildPlan("fe01", "20261125T151203Z-a1b2c3", disc, items, planRoot(), c.options())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			p.Write(&b)
			checkGolden(t, filepath.Join("testdata", goldenDir("plan"), c.golden()+".txt"), b.String())
			used[c.golden()] = true
			// Install-CsDatabase takes -SqlInstanceName only with
			// -CentralManagementDatabase or -DatabaseType; with
			// -ConfiguredDatabases PowerShell refuses it (the instance
			// is -ForInstance there).
			for _, line := range strings.Split(b.String(), "\n") {
				if strings.Contains(line, "-ConfiguredDatabases") && strings.Contains(line, "-SqlInstanceName") {
					t.Errorf("Install-CsDatabase -ConfiguredDatabases with -SqlInstanceName (not in its parameter set): %s", strings.TrimSpace(line))
				}
			}
			if c.scenario != "cms" || (len(c.pools) > 0 && c.pools[0] != "all") {
				return // the order is checked on the plans holding every import
			}
			// Microsoft's order: configuration before user data, user data
			// before LIS, LIS before RGS; the file store before all imports.
			order := map[string]int{}
			for i, s := range p.Steps {
				for _, cmd := range s.Commands {
					for _, w := range []string{"robocopy", "Import-CsConfiguration", "Import-CsUserData", "Import-CsLisConfiguration", "Import-CsRgsConfiguration"} {
						if strings.HasPrefix(cmd, w) {
							if _, ok := order[w]; !ok {
								order[w] = i
							}
						}
					}
				}
			}
			if !(order["robocopy"] < order["Import-CsConfiguration"] && order["Import-CsConfiguration"] < order["Import-CsUserData"] &&
				order["Import-CsUserData"] < order["Import-CsLisConfiguration"] && order["Import-CsLisConfiguration"] < order["Import-CsRgsConfiguration"]) {
				t.Errorf("order %v", order)
			}
		})
	}
	if !t.Failed() {
		checkNoStaleGoldens(t, filepath.Join("testdata", goldenDir("plan")), used, ".txt")
	}
}

// planText builds a plan and returns it as text.
func planText(t *testing.T, disc map[string]any, items []PlanItem, opt PlanOptions) (Plan, string) {
	t.Helper()
	p, err := BuildPlan("fe01", "id", disc, items, "/restore", opt)
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p.Write(&b)
	return p, b.String()
}

func commandsOf(p Plan, runOnly bool) string {
	var out []string
	for _, s := range p.Steps {
		if runOnly && !s.Run {
			continue
		}
		out = append(out, s.Commands...)
	}
	return strings.Join(out, "\n")
}

// TestPlanFitsTheLoss: each scenario holds its procedure's steps and none
// of another's; above all, only cms imports configuration over the CMS.
func TestPlanFitsTheLoss(t *testing.T) {
	_, items, disc := backupFor(t, "migration.json", "2015")
	r := filepath.FromSlash // restored paths are this system's
	cases := []struct {
		opt       PlanOptions
		want, not []string
	}{
		{PlanOptions{Scenario: "cms", Pools: []string{"all"}}, []string{
			"Install-CsDatabase -CentralManagementDatabase -Clean -SqlServerFqdn 'sqlbe01.contoso.com' -SqlInstanceName 'rtc' -Force",
			"Set-CsConfigurationStoreLocation -SqlServerFqdn 'sqlbe01.contoso.com' -SqlInstanceName 'rtc' -MirrorSqlServerFqdn 'sqlbe02.contoso.com' -MirrorSqlInstanceName 'rtc' -Force",
			"Import-CsConfiguration -FileName '" + r("/restore/csconfig/CsConfiguration.zip") + "' -Force",
			"Import-CsUserData -PoolFqdn 'pool02.contoso.com'", "Import-CsLisConfiguration", "Databases not restored: ", "On other SQL servers, which this plan does not rebuild: ", "Lost too? Restore them afterwards with --scenario sql --database NAME",
		}, []string{"Import-CsPersistentChatData", "RESTORE DATABASE", "robocopy"}},
		{PlanOptions{Scenario: "cms", Pools: []string{"pool02.contoso.com"}}, []string{"Import-CsConfiguration", "Import-CsUserData -PoolFqdn 'pool02.contoso.com'", "Import-CsLisConfiguration"},
			[]string{"'pool01.contoso.com'", "ApplicationServer:pool01.contoso.com"}},
		{PlanOptions{Scenario: "standard", Pools: []string{"pool02.contoso.com"}}, []string{"Download Topology from existing deployment", "Import-CsUserData -PoolFqdn 'pool02.contoso.com'", "Start-CsPool -PoolFqdn 'pool02.contoso.com' -Force"},
			[]string{"Install-CsDatabase -CentralManagementDatabase", "Set-CsConfigurationStoreLocation", "Import-CsConfiguration", "Import-CsLisConfiguration", "pool01.contoso.com'", "robocopy", "RESTORE DATABASE"}},
		{PlanOptions{Scenario: "pool", Pools: []string{"pool01.contoso.com"}}, []string{"Install-CsDatabase -ConfiguredDatabases", "Stop-CsWindowsService -ComputerName 'fe01.contoso.com' -Force", "Import-CsUserData -PoolFqdn 'pool01.contoso.com'", "Import-CsRgsConfiguration -Destination 'ApplicationServer:pool01.contoso.com'"},
			[]string{"-CentralManagementDatabase", "Set-CsConfigurationStoreLocation", "Import-CsConfiguration", "Import-CsLisConfiguration", "pool02.contoso.com'", "robocopy"}},
		{PlanOptions{Scenario: "frontend", Pools: []string{"pool01.contoso.com"}}, []string{"Deployment Wizard steps 1-4 on each front end of pool01.contoso.com that was lost (of fe01.contoso.com, fe02.contoso.com)", "Start-CsPool -PoolFqdn 'pool01.contoso.com' -Force", "-ResetType QuorumLossRecovery"},
			[]string{"Import-Cs", "Install-CsDatabase", "Set-CsConfigurationStoreLocation", "Stop-CsWindowsService", "pool02.contoso.com'", "robocopy", "RESTORE"}},
		{PlanOptions{Scenario: "filestore"}, []string{"robocopy '" + r("/restore/filestore-fs01.contoso.com-LyncShare/LyncShare") + "' '\\\\fs01.contoso.com\\LyncShare' /E /COPY:DAT /XO ", "Enable-CsTopology"},
			[]string{"Import-Cs", "Install-CsDatabase", "Stop-CsWindowsService", "RESTORE"}},
		{PlanOptions{Scenario: "filestore", OverwriteNewer: true}, []string{"/E /COPY:DAT /R:2"}, []string{"/XO"}},
		{PlanOptions{Scenario: "sql", Databases: []string{"all"}}, []string{"-d master -E -b -x", "SET SINGLE_USER WITH ROLLBACK IMMEDIATE; RESTORE DATABASE [LcsCDR]", "; ALTER DATABASE [LcsCDR] SET MULTI_USER'", "MOVE N''LcsCDR'' TO N''D:\\SQLData\\LcsCDR.mdf''", "RESTORE FILELISTONLY FROM DISK=N''" + r("/restore/sql-sql01-QoEMetrics"), "-E -b -x -C -Q", "Import-CsPersistentChatData -DBInstance 'sqlpc01.contoso.com\\pchat'",
			"Install-CsDatabase -DatabaseType PersistentChat -SqlServerFqdn 'sqlpc01.contoso.com' -SqlInstanceName 'pchat' -UseDefaultSqlPaths -Force"},
			[]string{"Import-CsConfiguration", "Import-CsUserData", "robocopy", "-CentralManagementDatabase", "-ConfiguredDatabases", "-Clean"}},
	}
	for _, c := range cases {
		p, text := planText(t, disc, items, c.opt)
		all := commandsOf(p, false)
		for _, w := range c.want {
			if !strings.Contains(all+"\n"+text, w) {
				t.Errorf("%s: plan lacks %q:\n%s", c.opt.Scenario, w, text)
			}
		}
		for _, n := range c.not {
			if strings.Contains(all, n) {
				t.Errorf("%s: plan has %q:\n%s", c.opt.Scenario, n, text)
			}
		}
	}
	// Monitoring and Archiving deployed on other instances than the set's
	// sql items cover: the sql plan says so.
	_, text := planText(t, disc, items, PlanOptions{Scenario: "sql", Databases: []string{"all"}})
	for _, w := range []string{"Not in this set: LcsCDR, QoEMetrics on sqlmon01.contoso.com\\mon", "Not in this set: LcsLog on sqlarch01.contoso.com\\arch"} {
		if !strings.Contains(text, w) {
			t.Errorf("sql plan lacks %q:\n%s", w, text)
		}
	}
	// The same stores with every database in the set: no such step.
	covered, lync := maps.Clone(disc), maps.Clone(disc["lync"].(map[string]any))
	var stores []any
	for _, st := range lync["sql_stores"].([]any) {
		c := maps.Clone(st.(map[string]any))
		delete(c, "uncovered")
		stores = append(stores, c)
	}
	if len(stores) != 2 {
		t.Fatalf("the fixture has %d SQL stores, want 2", len(stores))
	}
	lync["sql_stores"] = stores
	covered["lync"] = lync
	if _, text := planText(t, covered, items, PlanOptions{Scenario: "sql", Databases: []string{"all"}}); strings.Contains(text, "Not in this set") {
		t.Errorf("sql plan with every database in the set names one as missing:\n%s", text)
	}
}

func TestPlanOptionErrors(t *testing.T) {
	_, items, disc := backupFor(t, "migration.json", "2015")
	for _, c := range []struct {
		opt  PlanOptions
		want string
	}{
		{PlanOptions{}, `unknown scenario "": what was lost? (cms, standard, pool, frontend, filestore or sql)`},
		{PlanOptions{Scenario: "everything"}, `unknown scenario "everything"`},
		{PlanOptions{Scenario: "pool"}, "--scenario pool: name the pool that was lost with --pool (the set has: pool01.contoso.com, pool02.contoso.com)"},
		{PlanOptions{Scenario: "standard", Pools: []string{"lyncpool10.contoso.com"}}, "--pool lyncpool10.contoso.com: the set holds no user data or Response Groups of that pool"},
		{PlanOptions{Scenario: "cms"}, "--scenario cms: the set holds the user data and Response Groups of several pools (pool01.contoso.com, pool02.contoso.com): name with --pool the pool(s) whose back end was lost"},
		{PlanOptions{Scenario: "cms", Pools: []string{"pool09.contoso.com"}}, "--pool pool09.contoso.com: the set holds no user data or Response Groups of that pool"},
		{PlanOptions{Scenario: "cms", Pools: []string{"all", "pool01.contoso.com"}}, "--pool all names every pool of the set: give it alone"},
		{PlanOptions{Scenario: "pool", Pools: []string{"all"}}, "--pool all is for --scenario cms"},
		{PlanOptions{Scenario: "filestore", Pools: []string{"pool01.contoso.com"}}, "--pool does not apply to --scenario filestore"},
		{PlanOptions{Scenario: "sql", Pools: []string{"pool01.contoso.com"}}, "--pool does not apply to --scenario sql"},
	} {
		_, err := BuildPlan("h", "id", disc, items, "/r", c.opt)
		var pe *PlanError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.opt, err, c.want)
		}
	}
	if id, err := ParseScenarioAnswer(" 4\n"); err != nil || id != "frontend" {
		t.Errorf("answer 4: %s %v", id, err)
	}
	if id, err := ParseScenarioAnswer("SQL"); err != nil || id != "sql" {
		t.Errorf("answer SQL: %s %v", id, err)
	}
	if _, err := ParseScenarioAnswer("7"); err == nil {
		t.Error("answer 7 accepted")
	}
}

// TestDefaultInstanceLeavesOutSqlInstanceName: threepools' CMS is on a
// default instance (from Get-CsService -CentralManagementDatabase).
func TestDefaultInstanceLeavesOutSqlInstanceName(t *testing.T) {
	_, items, disc := backupFor(t, "threepools.json", "2015")
	p, text := planText(t, disc, items, PlanOptions{Scenario: "cms", Pools: []string{"all"}})
	all := commandsOf(p, false)
	if !strings.Contains(all, "Install-CsDatabase -CentralManagementDatabase -Clean -SqlServerFqdn 'sql01.contoso.com' -Force") ||
		!strings.Contains(all, "Set-CsConfigurationStoreLocation -SqlServerFqdn 'sql01.contoso.com' -Force") {
		t.Errorf("plan:\n%s", text)
	}
	for _, c := range strings.Split(all, "\n") {
		if (strings.HasPrefix(c, "Install-CsDatabase") || strings.HasPrefix(c, "Set-CsConfigurationStoreLocation")) && (strings.Contains(c, "SqlInstanceName") || strings.Contains(c, "<")) {
			t.Errorf("instance parameter or placeholder: %s", c)
		}
	}
}

// TestPlanStepsRunThroughStandIn runs every [run] step of every scenario
// through the PowerShell stand-in, which refuses what the real cmdlets
// refuse: Start-CsPool on 2013, -Force where the cmdlet has none, an
// import that would prompt in a non-interactive session.
func TestPlanStepsRunThroughStandIn(t *testing.T) {
	for _, c := range planCases {
		t.Run(c.golden(), func(t *testing.T) {
			h, items, disc := c.set(t)
			dir := t.TempDir()
			p, err := BuildPlan("fe01", "id", disc, items, dir, c.options())
			if err != nil {
				t.Fatal(err)
			}
			prod, _ := ProductByID(c.product)
			ps := PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}
			os.WriteFile(filepath.Join(h.psDir, "fixture.json"), []byte("{}"), 0o644)
			ran := 0
			for _, s := range p.Steps {
				// frontend has no [run] step: its manual start of the
				// pool runs here too (Start-CsPool only on 2015 / 2019).
				if !s.Run && (c.scenario != "frontend" || len(s.Commands) == 0) {
					continue
				}
				for _, f := range s.Files { // the restored files
					os.MkdirAll(filepath.Dir(f), 0o755)
					os.WriteFile(f, []byte("x"), 0o644)
				}
				if strings.HasPrefix(s.Commands[0], "robocopy") {
					continue // its destination is a UNC path; TestFileStoreCopyBackKeepsNewer runs it
				}
				if _, err := ps.Run(context.Background(), s.Title, 0, strings.Join(s.Commands, "\n")); err != nil {
					t.Errorf("step %q: %v", s.Title, err)
				}
				ran++
			}
			if ran == 0 && c.scenario != "filestore" {
				t.Errorf("no step ran")
			}
		})
	}
}

// TestFileStoreCopyBackKeepsNewer runs the file store step through the
// stand-in's robocopy: a file newer on the surviving share is kept, an
// older one is brought back; with --overwrite-newer both are replaced.
func TestFileStoreCopyBackKeepsNewer(t *testing.T) {
	for _, overwrite := range []bool{false, true} {
		newHarness(t, "2015", fixture{})
		dir, share := t.TempDir(), t.TempDir()
		it := PlanItem{Name: "filestore-x", Kind: "filestore", Meta: map[string]string{"store": share, "share": "LyncShare"}}
		src := filepath.Join(dir, "filestore-x", "LyncShare", "1-WebServices-1")
		os.MkdirAll(src, 0o755)
		os.MkdirAll(filepath.Join(share, "1-WebServices-1"), 0o755)
		for _, f := range []string{"newer-on-share.dat", "older-on-share.dat", "gone.dat"} {
			os.WriteFile(filepath.Join(src, f), []byte("from backup"), 0o644)
		}
		for f, tm := range map[string][2]string{"newer-on-share.dat": {"2026-11-01T00:00:00Z", "2026-11-20T00:00:00Z"}, "older-on-share.dat": {"2026-11-20T00:00:00Z", "2026-11-01T00:00:00Z"}} {
			os.WriteFile(filepath.Join(share, "1-WebServices-1", f), []byte("on share"), 0o644)
			os.Chtimes(filepath.Join(src, f), mustTime(t, tm[0]), mustTime(t, tm[0]))
			os.Chtimes(filepath.Join(share, "1-WebServices-1", f), mustTime(t, tm[1]), mustTime(t, tm[1]))
		}
		steps := restorers["filestore"](it, &planCtx{dir: dir, info: &LyncInfo{}, opt: PlanOptions{Scenario: "filestore", OverwriteNewer: overwrite}})
		prod, _ := ProductByID("2015")
		ps := PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}
		if _, err := ps.Run(context.Background(), "copy back", 0, strings.Join(steps[0].Commands, "\n")); err != nil {
			t.Fatal(err)
		}
		read := func(f string) string {
			b, _ := os.ReadFile(filepath.Join(share, "1-WebServices-1", f))
			return string(b)
		}
		wantNewer := "on share"
		if overwrite {
			wantNewer = "from backup"
		}
		if got := read("newer-on-share.dat"); got != wantNewer {
			t.Errorf("overwrite=%v: the file newer on the share holds %q, want %q", overwrite, got, wantNewer)
		}
		if read("older-on-share.dat") != "from backup" || read("gone.dat") != "from backup" {
			t.Errorf("overwrite=%v: older / missing files not brought back: %q %q", overwrite, read("older-on-share.dat"), read("gone.dat"))
		}
	}
}

// TestRestorePlanWithoutDiscovery: a set made without Lync (or whose
// discovery failed) still gets a plan with placeholders.
func TestRestorePlanWithoutDiscovery(t *testing.T) {
	p, err := BuildPlan("h", "id", nil, []PlanItem{{Name: "files", Kind: "path"}, {Name: "x", Kind: "future-kind"}}, "/r", PlanOptions{Scenario: "cms"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	p.Write(&b)
	s := b.String()
	for _, want := range []string{"product not recorded", `-SqlServerFqdn '<SQL server FQDN>' -SqlInstanceName '<instance>'`, "NOT IN THIS SET", "Copy the files back from " + filepath.Join("/r", "files"), "Item x (future-kind)"} {
		if !strings.Contains(s, want) {
			t.Errorf("plan lacks %q:\n%s", want, s)
		}
	}
	for _, st := range p.Steps {
		if st.Run {
			t.Errorf("step %q would run without an export", st.Title)
		}
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return tm
}

// TestPlanRefusesPathsOutsideTheRestoreFolder: an item's meta.file or
// meta.share (or its name) that is not one path element would point the
// plan's commands outside the restore folder (robocopy of the folder above
// it to the forger's share, Import-CsConfiguration of any local file): the
// plan is refused as a damaged or forged set (no PlanError: exit 1), naming
// the item and the value. A real set's steps only read under the folder.
func TestPlanRefusesPathsOutsideTheRestoreFolder(t *testing.T) {
	for _, c := range []struct {
		scenario string
		it       PlanItem
		value    string
	}{
		{"cms", PlanItem{Name: "csconfig", Kind: "csconfig", Meta: map[string]string{"file": "../../../Users/Public/evil.zip"}}, "../../../Users/Public/evil.zip"},
		{"cms", PlanItem{Name: "csconfig", Kind: "csconfig", Meta: map[string]string{"file": `..\..\evil.zip`}}, `..\\..\\evil.zip`},
		{"cms", PlanItem{Name: "lis", Kind: "lis", Meta: map[string]string{"file": "/etc/passwd"}}, "/etc/passwd"},
		{"cms", PlanItem{Name: "lis", Kind: "lis", Meta: map[string]string{"file": `C:evil.zip`}}, "C:evil.zip"},
		{"cms", PlanItem{Name: "lis", Kind: "lis", Meta: map[string]string{"file": ".."}}, `".."`},
		{"sql", PlanItem{Name: "sql-x", Kind: "sql", Meta: map[string]string{"file": "../x.bak", "db": "LcsCDR", "instance": "sql01"}}, "../x.bak"},
		{"filestore", PlanItem{Name: "filestore-x", Kind: "filestore", Meta: map[string]string{"share": "../..", "store": `\\fs01\share`}}, "../.."},
		{"filestore", PlanItem{Name: "filestore-x", Kind: "filestore", Meta: map[string]string{"share": "", "store": `\\fs01\share`}}, `""`},
		{"filestore", PlanItem{Name: "../filestore-x", Kind: "filestore", Meta: map[string]string{"share": "LyncShare", "store": `\\fs01\share`}}, "../filestore-x"},
	} {
		p, err := BuildPlan("fe01", "20260101T000000Z-abcdef", nil, []PlanItem{c.it}, "/restore/dir", PlanOptions{Scenario: c.scenario})
		var pe *PlanError
		if err == nil || errors.As(err, &pe) || !strings.Contains(err.Error(), c.it.Name) || !strings.Contains(err.Error(), c.value) || !strings.Contains(err.Error(), "damaged or forged") {
			var files []string
			for _, s := range p.Steps {
				files = append(files, s.Files...)
			}
			t.Errorf("%s %+v: err %v (want a plain error naming the item and %s); the plan reads %v", c.scenario, c.it.Meta, err, c.value, files)
		}
	}
	// A real set: every file a step needs is under the restore folder.
	_, items, disc := backupFor(t, "migration.json", "2015")
	root := filepath.FromSlash("/restore/dir")
	for _, sc := range []string{"cms", "filestore", "sql"} {
		opt := PlanOptions{Scenario: sc}
		switch sc {
		case "cms":
			opt.Pools, opt.FileStores = []string{"all"}, []string{"all"}
		case "sql":
			opt.Databases = []string{"all"}
		}
		p, err := BuildPlan("fe01", "id", disc, items, root, opt)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range p.Steps {
			for _, f := range s.Files {
				if !strings.HasPrefix(f, root+string(filepath.Separator)) {
					t.Errorf("%s: step %q reads %s, outside the restore folder", sc, s.Title, f)
				}
			}
		}
	}
}

// TestPlanFrontEndKeepsTheSurvivingBackEnd: when only a pool's front ends
// were lost (--scenario frontend) the back end holds the user data and
// Response Groups as they are now: the plan imports nothing over it, with
// or without --yes. The back end's loss (--scenario pool) still imports.
func TestPlanFrontEndKeepsTheSurvivingBackEnd(t *testing.T) {
	items := []PlanItem{
		{Name: "userdata-pool01", Kind: "userdata", Meta: map[string]string{"file": "a.zip", "pool": "pool01.contoso.com", "product": "2015", "computers": "fe01.contoso.com,fe02.contoso.com"}},
		{Name: "rgs-pool01", Kind: "rgs", Meta: map[string]string{"file": "r.zip", "pool": "pool01.contoso.com"}},
	}
	imports := func(sc string) string {
		p, err := BuildPlan("fe01", "20260101T000000Z-abcdef", nil, items, "/restore", PlanOptions{Scenario: sc})
		if err != nil {
			t.Fatalf("%s: %v", sc, err)
		}
		var ran []string
		for _, s := range p.Steps {
			if s.Run {
				ran = append(ran, strings.Join(s.Commands, "; "))
			}
		}
		return strings.Join(ran, "\n")
	}
	if got := imports("frontend"); got != "" {
		t.Errorf("--scenario frontend runs steps over the surviving back end:\n%s", got)
	}
	if got := imports("pool"); !strings.Contains(got, "Import-CsUserData -PoolFqdn 'pool01.contoso.com'") || !strings.Contains(got, "Import-CsRgsConfiguration") {
		t.Errorf("--scenario pool (the back end lost) no longer imports:\n%s", got)
	}
	if sc, ok := ScenarioByID("pool"); !ok || strings.Contains(sc.Title, "front end") {
		t.Errorf("pool's title speaks of front ends: %q", sc.Title)
	}
}

// TestPlanPoolFilterIsApplied: losing the server that hosts the CMS loses
// one back end; the other pools' back ends survived. cms imports the user
// data and Response Groups of the pools named with --pool only (options
// then say exactly which), and filestore / sql, which restore no pool's
// data, refuse --pool instead of ignoring it while options.pools claimed it.
func TestPlanPoolFilterIsApplied(t *testing.T) {
	items := []PlanItem{
		{Name: "userdata-pool01", Kind: "userdata", Meta: map[string]string{"file": "a.zip", "pool": "pool01.contoso.com", "product": "2015", "computers": "fe01.contoso.com"}},
		{Name: "userdata-pool02", Kind: "userdata", Meta: map[string]string{"file": "b.zip", "pool": "pool02.contoso.com", "product": "2015", "computers": "fe03.contoso.com"}},
		{Name: "rgs-pool02", Kind: "rgs", Meta: map[string]string{"file": "r.zip", "pool": "pool02.contoso.com"}},
	}
	ran := func(p Plan) string {
		var out []string
		for _, s := range p.Steps {
			if s.Run {
				out = append(out, strings.Join(s.Commands, "; "))
			}
		}
		return strings.Join(out, "\n")
	}
	for _, sc := range []string{"cms", "filestore", "sql"} {
		p, err := BuildPlan("fe01", "20260101T000000Z-abcdef", nil, items, "/restore", PlanOptions{Scenario: sc, Pools: []string{"pool01.contoso.com"}})
		if sc == "cms" {
			if err != nil {
				t.Fatal(err)
			}
			if got := ran(p); !strings.Contains(got, "Import-CsUserData -PoolFqdn 'pool01.contoso.com'") || strings.Contains(got, "pool02") {
				t.Errorf("--scenario cms --pool pool01.contoso.com (options.pools=%v) runs:\n%s", p.Options.Pools, got)
			}
			continue
		}
		var pe *PlanError
		if !errors.As(err, &pe) {
			t.Errorf("--scenario %s --pool pool01.contoso.com accepted (options.pools=%v); [run] steps:\n%s", sc, p.Options.Pools, ran(p))
		}
	}
	// --pool all: every pool, named in the options.
	p, err := BuildPlan("fe01", "id", nil, items, "/restore", PlanOptions{Scenario: "cms", Pools: []string{"all"}})
	if err != nil {
		t.Fatal(err)
	}
	if got := ran(p); !strings.Contains(got, "'pool01.contoso.com'") || !strings.Contains(got, "ApplicationServer:pool02.contoso.com") ||
		strings.Join(p.Options.Pools, ",") != "pool01.contoso.com,pool02.contoso.com" {
		t.Errorf("--pool all (options.pools=%v) runs:\n%s", p.Options.Pools, got)
	}
}

// TestPlanFileStoreChoice: a set of several file stores (threepools: one
// per site) copies back only the one named with --filestore (by share or
// file server), refuses to guess without it, and refuses a name that is
// none of them; the file store that survived is never written over.
func TestPlanFileStoreChoice(t *testing.T) {
	_, items, disc := backupFor(t, "threepools.json", "2015")
	copied := func(p Plan) string {
		var out []string
		for _, s := range p.Steps {
			for _, c := range s.Commands {
				if strings.HasPrefix(c, "robocopy ") {
					out = append(out, c[strings.LastIndex(c, "' '")+3:strings.LastIndex(c, "'")])
				}
			}
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct {
		given []string
		want  string
	}{
		{[]string{`\\fs11.dublin.contoso.com\LyncShare`}, `\\fs11.dublin.contoso.com\LyncShare`},
		{[]string{`//FS11.dublin.contoso.com/lyncshare/`}, `\\fs11.dublin.contoso.com\LyncShare`},
		{[]string{"fs01.contoso.com"}, `\\fs01.contoso.com\LyncShare`},
		{[]string{"fs01"}, `\\fs01.contoso.com\LyncShare`},
		{[]string{"FileStore:fs11.dublin.contoso.com"}, `\\fs11.dublin.contoso.com\LyncShare`},
		{[]string{"filestore-fs01.contoso.com-LyncShare"}, `\\fs01.contoso.com\LyncShare`},
		{[]string{"fs01", "fs11"}, `\\fs01.contoso.com\LyncShare \\fs11.dublin.contoso.com\LyncShare`},
		{[]string{"all"}, `\\fs01.contoso.com\LyncShare \\fs11.dublin.contoso.com\LyncShare`},
	} {
		p, err := BuildPlan("fe01", "id", disc, items, "/restore", PlanOptions{Scenario: "filestore", FileStores: c.given})
		if err != nil {
			t.Errorf("--filestore %v: %v", c.given, err)
			continue
		}
		if got := copied(p); got != c.want {
			t.Errorf("--filestore %v copies back to %q, want %q", c.given, got, c.want)
		}
		if strings.Join(p.Options.FileStores, " ") != c.want {
			t.Errorf("--filestore %v: options.filestores %v, want %s", c.given, p.Options.FileStores, c.want)
		}
	}
	for _, c := range []struct {
		opt  PlanOptions
		want string
	}{
		{PlanOptions{Scenario: "filestore"}, `--scenario filestore: the set holds several file stores (\\fs01.contoso.com\LyncShare, \\fs11.dublin.contoso.com\LyncShare): name the one that was lost with --filestore`},
		{PlanOptions{Scenario: "filestore", FileStores: []string{`\\fs02.contoso.com\LyncShare`}}, `--filestore \\fs02.contoso.com\LyncShare: the set holds no such file store (it has: \\fs01.contoso.com\LyncShare, \\fs11.dublin.contoso.com\LyncShare)`},
		{PlanOptions{Scenario: "filestore", FileStores: []string{"fs"}}, "--filestore fs: the set holds no such file store"},
		{PlanOptions{Scenario: "filestore", FileStores: []string{"pool01.contoso.com"}}, "--filestore pool01.contoso.com: the set holds no such file store"},
		{PlanOptions{Scenario: "filestore", FileStores: []string{"all", "fs01"}}, "--filestore all names every file store of the set: give it alone"},
		{PlanOptions{Scenario: "pool", Pools: []string{"pool01.contoso.com"}, FileStores: []string{"fs01"}}, "--filestore is for --scenario filestore or cms"},
	} {
		_, err := BuildPlan("fe01", "id", disc, items, "/restore", c.opt)
		var pe *PlanError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%+v: %v, want a usage error %q", c.opt, err, c.want)
		}
	}
	// One file store in the set: --filestore may be left out.
	_, items, disc = backupFor(t, "migration.json", "2015")
	p, err := BuildPlan("fe01", "id", disc, items, "/restore", PlanOptions{Scenario: "filestore"})
	if err != nil || copied(p) != `\\fs01.contoso.com\LyncShare` {
		t.Errorf("the set's only file store: %v, copies %q", err, copied(p))
	}
}

// TestPlanRecreatesThePersistentChatStore: a set holding the Persistent
// Chat databases (a SQL backup of mgc / mgccomp, or an export) restores
// them, for --scenario sql, into a store that exists again: SQL Server
// (manual), then Install-CsDatabase -DatabaseType PersistentChat /
// PersistentChatCompliance on each instance (a [run] step the stand-in
// accepts as Install-CsDatabase's ByDatabase parameter set), and only then
// the RESTORE or the import. A set without them has no such step.
func TestPlanRecreatesThePersistentChatStore(t *testing.T) {
	newHarness(t, "2015", fixture{})
	prod, _ := ProductByID("2015")
	ps := PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}
	cdr := PlanItem{Name: "sql-mon-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": `sql01.contoso.com\mon`, "db": "LcsCDR", "file": "a.bak"}}
	mgc := PlanItem{Name: "sql-pc-mgc", Kind: "sql", Meta: map[string]string{"instance": `sqlpc01.contoso.com\pchat`, "db": "mgc", "file": "m.bak"}}
	comp := PlanItem{Name: "sql-pc-mgccomp", Kind: "sql", Meta: map[string]string{"instance": `sqlpc01.contoso.com\pchat`, "db": "mgccomp", "file": "c.bak"}}
	chat := PlanItem{Name: "persistentchat-pchat02", Kind: "persistentchat", Meta: map[string]string{"instance": "sqlpc02.contoso.com", "pool": "pchat02.contoso.com", "file": "p.zip"}}
	for _, c := range []struct {
		items []PlanItem
		order []string // commands (or titles), in this order
	}{
		{[]PlanItem{cdr, mgc, comp}, []string{
			"SQL Server for the Persistent Chat databases",
			"Install-CsDatabase -DatabaseType PersistentChat -SqlServerFqdn 'sqlpc01.contoso.com' -SqlInstanceName 'pchat' -UseDefaultSqlPaths -Force",
			"Install-CsDatabase -DatabaseType PersistentChatCompliance -SqlServerFqdn 'sqlpc01.contoso.com' -SqlInstanceName 'pchat' -UseDefaultSqlPaths -Force",
			"RESTORE DATABASE [mgc]", "RESTORE DATABASE [mgccomp]"}},
		{[]PlanItem{chat, cdr}, []string{
			"SQL Server for the Persistent Chat databases",
			"Install-CsDatabase -DatabaseType PersistentChat -SqlServerFqdn 'sqlpc02.contoso.com' -UseDefaultSqlPaths -Force",
			"Import-CsPersistentChatData -DBInstance 'sqlpc02.contoso.com'"}},
	} {
		p, err := BuildPlan("fe01", "id", nil, c.items, t.TempDir(), PlanOptions{Scenario: "sql", Databases: []string{"all"}})
		if err != nil {
			t.Fatal(err)
		}
		var seq []string // titles and commands in plan order
		for _, s := range p.Steps {
			seq = append(seq, s.Title)
			seq = append(seq, s.Commands...)
		}
		all := strings.Join(seq, "\n")
		last := -1
		for _, w := range c.order {
			i := strings.Index(all, w)
			if i < 0 || i < last {
				t.Errorf("%s missing or out of order (want %q in order):\n%s", w, c.order, all)
				break
			}
			last = i
		}
		if n := strings.Count(all, "Install-CsDatabase"); n != strings.Count(strings.Join(c.order, "\n"), "Install-CsDatabase") {
			t.Errorf("%d Install-CsDatabase commands:\n%s", n, all)
		}
		for _, s := range p.Steps {
			if s.Run && strings.HasPrefix(s.Commands[0], "Install-CsDatabase") {
				if _, err := ps.Run(context.Background(), s.Title, 0, strings.Join(s.Commands, "\n")); err != nil {
					t.Errorf("step %q: %v", s.Title, err)
				}
			}
		}
	}
	// No Persistent Chat database in the set, or not the sql scenario: no such step.
	for _, sc := range []string{"sql", "cms"} {
		p, err := BuildPlan("fe01", "id", nil, []PlanItem{cdr}, "/restore", PlanOptions{Scenario: sc})
		if err != nil {
			t.Fatal(err)
		}
		if all := commandsOf(p, false); strings.Contains(all, "-DatabaseType") {
			t.Errorf("%s without Persistent Chat: %s", sc, all)
		}
	}
	// The stand-in refuses what Install-CsDatabase refuses.
	for bad, why := range map[string]string{
		"Install-CsDatabase -ConfiguredDatabases -SqlServerFqdn 'sql01' -SqlInstanceName 'rtc'": "Parameter set cannot be resolved",
		"Install-CsDatabase -DatabaseType PersistentChatStore -SqlServerFqdn 'sql01'":           "Cannot bind parameter 'DatabaseType'",
		"Install-CsDatabase -DatabaseType PersistentChat":                                       "missing mandatory parameters: SqlServerFqdn",
	} {
		if _, err := ps.Run(context.Background(), "bad", 0, bad); err == nil || !strings.Contains(err.Error(), why) {
			t.Errorf("the stand-in accepted %s (%v), want %q", bad, err, why)
		}
	}
}

// TestPlanRgsFailbackRuns: the Response Group failback commands the
// --rgs-to plan prints (its notes, as Write prints them) run against the
// stand-in, which accepts Export-CsRgsConfiguration's parameters as
// Microsoft's reference lists them (-FileName -Source -Force -Owner
// -RemoveExportedConfiguration) and refuses others, so a wrong parameter
// in the note fails here. The removal is the third command's only.
func TestPlanRgsFailbackRuns(t *testing.T) {
	h := newHarness(t, "2015", fixture{})
	h.rgsRemoval = true
	prod, _ := ProductByID("2015")
	ps := PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}
	items := []PlanItem{{Name: "rgs-pool01", Kind: "rgs", Meta: map[string]string{"file": "r.zip", "pool": "pool01.contoso.com"}}}
	disc := map[string]any{"lync": map[string]any{"rgs_pools": []map[string]any{{"fqdn": "pool01.contoso.com"}, {"fqdn": "pool02.contoso.com"}}}}
	p, err := BuildPlan("fe01", "id", disc, items, "/restore", PlanOptions{Scenario: "pool", Pools: []string{"pool01.contoso.com"}, RgsTo: "pool02.contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	var text strings.Builder
	p.Write(&text)
	dir := t.TempDir()
	files := map[string]string{}
	var cmds []string
	for _, l := range strings.Split(text.String(), "\n") {
		c, ok := strings.CutPrefix(strings.TrimSpace(l), "# ")
		if !ok || !strings.HasPrefix(c, "Export-CsRgsConfiguration ") && !strings.HasPrefix(c, "Import-CsRgsConfiguration ") {
			continue
		}
		// Each placeholder (<failback file>, <removal file>) is one new path.
		for {
			i, j := strings.Index(c, "<"), strings.Index(c, ">")
			if i < 0 || j < i {
				break
			}
			ph := c[i : j+1]
			if files[ph] == "" {
				files[ph] = filepath.Join(dir, fmt.Sprintf("f%d.zip", len(files)))
			}
			c = strings.ReplaceAll(c, ph, PSQuote(files[ph]))
		}
		cmds = append(cmds, c)
	}
	if len(cmds) != 3 || len(files) != 2 {
		t.Fatalf("the plan prints %d failback commands with %d files, want 3 with 2:\n%s", len(cmds), len(files), text.String())
	}
	removed := filepath.Join(h.psDir, "rgs_removed.txt")
	for i, c := range cmds {
		if _, err := ps.Run(context.Background(), fmt.Sprintf("failback %d", i+1), 0, c); err != nil {
			t.Fatalf("failback command %d:\n%s\n%v", i+1, c, err)
		}
		if _, err := os.Stat(removed); (err == nil) != (i == 2) {
			t.Errorf("after command %d, the stand-in's removal record: %v", i+1, err)
		}
	}
	if b, _ := os.ReadFile(removed); string(b) != "ApplicationServer:pool02.contoso.com\tApplicationServer:pool01.contoso.com\tHelp Desk\n" {
		t.Errorf("removed (source, owner, workflows): %q", b)
	}
	// What Export-CsRgsConfiguration has not, the stand-in refuses.
	for _, c := range []struct{ cmd, want string }{
		{"Export-CsRgsConfiguration -Source 'ApplicationServer:pool02.contoso.com' -Owners 'ApplicationServer:pool01.contoso.com' -FileName " + PSQuote(filepath.Join(dir, "x.zip")), "A parameter cannot be found that matches parameter name 'Owners'"},
		{"Export-CsRgsConfiguration -Destination 'ApplicationServer:pool02.contoso.com' -FileName " + PSQuote(filepath.Join(dir, "y.zip")), "A parameter cannot be found that matches parameter name 'Destination'"},
		{"Export-CsRgsConfiguration -Source 'ApplicationServer:pool02.contoso.com' -Owner 'ApplicationServer:ApplicationServer:pool01.contoso.com' -FileName " + PSQuote(filepath.Join(dir, "z.zip")), "Cannot bind parameter 'Owner'"},
		{cmds[0], "already exists"},
	} {
		if _, err := ps.Run(context.Background(), "bad", 0, c.cmd); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want %q", c.cmd, err, c.want)
		}
	}
}

// TestPlanRgsImportFitsTheLoss: a pool whose back end was rebuilt (cms,
// standard, pool) gets its Response Group configuration replaced
// (-OverwriteOwner -ReplaceExistingRgsSettings, saying so); --rgs-to, a pool
// that survived, gets the lost pool's Response Groups added and nothing of
// its own replaced (neither switch). Neither resolves name conflicts by
// duplicating; the stand-in fails such an import the way the cmdlet does.
func TestPlanRgsImportFitsTheLoss(t *testing.T) {
	h := newHarness(t, "2015", fixture{})
	prod, _ := ProductByID("2015")
	ps := PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}
	items := []PlanItem{
		{Name: "userdata-pool01", Kind: "userdata", Meta: map[string]string{"file": "a.zip", "pool": "pool01.contoso.com", "product": "2015", "computers": "fe01.contoso.com"}},
		{Name: "rgs-pool01", Kind: "rgs", Meta: map[string]string{"file": "r.zip", "pool": "pool01.contoso.com"}},
		{Name: "userdata-pool02", Kind: "userdata", Meta: map[string]string{"file": "b.zip", "pool": "pool02.contoso.com", "product": "2015", "computers": "fe03.contoso.com"}},
	}
	rgsStep := func(p Plan) Step {
		for _, s := range p.Steps {
			if len(s.Commands) > 0 && strings.HasPrefix(s.Commands[0], "Import-CsRgsConfiguration") {
				return s
			}
		}
		t.Fatalf("no Response Group step in the plan")
		return Step{}
	}
	for _, sc := range []string{"cms", "standard", "pool"} {
		p, err := BuildPlan("fe01", "id", nil, items, "/restore", PlanOptions{Scenario: sc, Pools: []string{"pool01.contoso.com"}})
		if err != nil {
			t.Fatal(err)
		}
		s := rgsStep(p)
		cmd, notes := s.Commands[0], strings.Join(s.Notes, "\n")
		if !strings.HasPrefix(cmd, "Import-CsRgsConfiguration -Destination 'ApplicationServer:pool01.contoso.com' -OverwriteOwner -ReplaceExistingRgsSettings -FileName ") ||
			strings.Contains(cmd, "-ResolveNameConflicts") || !strings.Contains(notes, "its Response Group configuration is replaced by the backup's") ||
			!strings.HasPrefix(s.OnFailure, rgsReported+" A name conflict") {
			t.Errorf("%s (the pool rebuilt): %s\n%s\n%s", sc, cmd, notes, s.OnFailure)
		}
	}
	dir := t.TempDir()
	p, err := BuildPlan("fe01", "id", nil, items, dir, PlanOptions{Scenario: "pool", Pools: []string{"pool01.contoso.com"}, RgsTo: "pool02.contoso.com"})
	if err != nil {
		t.Fatal(err)
	}
	into := rgsStep(p)
	cmd, notes := into.Commands[0], strings.Join(into.Notes, "\n")
	if !strings.HasPrefix(cmd, "Import-CsRgsConfiguration -Destination 'ApplicationServer:pool02.contoso.com' -FileName ") ||
		strings.Contains(cmd, "-OverwriteOwner") || strings.Contains(cmd, "-ReplaceExistingRgsSettings") || strings.Contains(cmd, "-ResolveNameConflicts") ||
		!strings.Contains(notes, "nothing of pool02.contoso.com is replaced") || p.Options.RgsTo != "pool02.contoso.com" ||
		!strings.HasPrefix(into.OnFailure, rgsReported+" A name conflict") {
		t.Errorf("--rgs-to pool02 (it survived): %s\n%s", cmd, notes)
	}
	// The failback (Microsoft's Front End pool failover procedure): export
	// from the surviving pool what the lost one owns, import it into the
	// rebuilt pool, then remove it from the surviving pool.
	for _, w := range []string{
		"Export-CsRgsConfiguration -Source 'ApplicationServer:pool02.contoso.com' -Owner 'ApplicationServer:pool01.contoso.com' -FileName <failback file>\nImport-CsRgsConfiguration -Destination 'ApplicationServer:pool01.contoso.com' -OverwriteOwner -FileName <failback file>\n",
		"Export-CsRgsConfiguration -Source 'ApplicationServer:pool02.contoso.com' -Owner 'ApplicationServer:pool01.contoso.com' -FileName <removal file> -RemoveExportedConfiguration\nThe third command removes them from pool02.contoso.com",
	} {
		if !strings.Contains(notes, w) {
			t.Errorf("--rgs-to: the failback note lacks %q:\n%s", w, notes)
		}
	}
	if got := commandsOf(p, true); strings.Contains(got, "Import-CsUserData -PoolFqdn 'pool02.contoso.com'") {
		t.Errorf("--rgs-to imports the surviving pool's user data:\n%s", got)
	}
	for _, c := range []struct {
		opt  PlanOptions
		want string
	}{
		{PlanOptions{Scenario: "pool", Pools: []string{"pool01.contoso.com"}, RgsTo: "POOL01.contoso.com"}, "--rgs-to POOL01.contoso.com: that pool's back end was lost (--pool)"},
		{PlanOptions{Scenario: "pool", Pools: []string{"pool02.contoso.com"}, RgsTo: "pool01.contoso.com"}, "--rgs-to pool01.contoso.com: the plan imports no Response Groups"},
		{PlanOptions{Scenario: "frontend", Pools: []string{"pool01.contoso.com"}, RgsTo: "pool02.contoso.com"}, "--rgs-to is for --scenario cms, standard or pool"},
		{PlanOptions{Scenario: "sql", RgsTo: "pool02.contoso.com"}, "--rgs-to is for --scenario cms, standard or pool"},
	} {
		_, err := BuildPlan("fe01", "id", nil, items, "/restore", c.opt)
		var pe *PlanError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.opt, err, c.want)
		}
	}

	// The stand-in: an export holding "Help Desk" imports into a pool that
	// holds none, and fails into one that holds a workflow of that name.
	f := into.Files[0]
	os.MkdirAll(filepath.Dir(f), 0o755)
	if _, err := ps.Run(context.Background(), "export", 0, "Export-CsRgsConfiguration -Source 'ApplicationServer:pool01.contoso.com' -FileName "+PSQuote(f)); err != nil {
		t.Fatal(err)
	}
	if _, err := ps.Run(context.Background(), into.Title, 0, strings.Join(into.Commands, "\n")); err != nil {
		t.Errorf("import into a pool without that name: %v", err)
	}
	// Microsoft does not publish the cmdlet's words: the fixture gives them.
	os.WriteFile(filepath.Join(h.psDir, "fixture.json"), []byte(`{"rgs_existing": {"ApplicationServer:pool02.contoso.com": ["Help Desk"]}, "rgs_conflict_error": "whatever the cmdlet says"}`), 0o644)
	_, err = ps.Run(context.Background(), into.Title, 0, strings.Join(into.Commands, "\n"))
	if err == nil || !strings.HasSuffix(err.Error(), "failed (exit 1): Import-CsRgsConfiguration: whatever the cmdlet says") {
		t.Errorf("import over a workflow of the same name: %v", err)
	}
	os.WriteFile(filepath.Join(h.psDir, "fixture.json"), []byte(`{"rgs_existing": {"ApplicationServer:pool02.contoso.com": ["help desk"]}}`), 0o644)
	_, err = ps.Run(context.Background(), into.Title, 0, strings.Join(into.Commands, "\n"))
	if err == nil || !strings.Contains(err.Error(), `psstub (its own words, not the cmdlet's): Import-CsRgsConfiguration: name conflict: the workflow "Help Desk" exists in service:ApplicationServer:pool02.contoso.com`) {
		t.Errorf("import over a workflow of the same name (another case): %v", err)
	}
	if _, err := ps.Run(context.Background(), "resolve", 0, strings.Replace(cmd, " -Force", " -ResolveNameConflicts -Force", 1)); err != nil {
		t.Errorf("-ResolveNameConflicts: %v", err)
	}
	if _, err := ps.Run(context.Background(), "source", 0, strings.Replace(cmd, "-Destination", "-Source", 1)); err == nil || !strings.Contains(err.Error(), "A parameter cannot be found that matches parameter name 'Source'") {
		t.Errorf("Import-CsRgsConfiguration -Source: %v", err)
	}
}

// TestPlanRgsFailbackSettings: after a failover into a surviving pool
// (--rgs-to), the failback imports into the rebuilt pool, a new back end
// with the default Response Group application-level settings (agent
// ringback grace period, default music on hold, call context). Microsoft's
// "Response group disaster recovery procedures" offers
// -ReplaceExistingRgsSettings there, for a pool that was rebuilt, to take
// the surviving pool's settings; without it the rebuilt pool keeps the
// defaults. The plan's failback is written for that pool and says so,
// naming both ways (the failback commands themselves run against the
// stand-in: TestPlanRgsFailbackRuns).
func TestPlanRgsFailbackSettings(t *testing.T) {
	items := []PlanItem{
		{Name: "csconfig", Kind: "csconfig", Meta: map[string]string{"file": "c.zip"}},
		{Name: "rgs-pool01", Kind: "rgs", Meta: map[string]string{"pool": "pool01.contoso.com", "file": "r.zip"}},
	}
	disc := map[string]any{"lync": map[string]any{"rgs_pools": []map[string]any{{"fqdn": "pool01.contoso.com"}, {"fqdn": "pool02.contoso.com"}}}}
	p, text := planText(t, disc, items, PlanOptions{Scenario: "pool", Pools: []string{"pool01.contoso.com"}, RgsTo: "pool02.contoso.com"})
	var notes []string
	for _, s := range p.Steps {
		if len(s.Commands) > 0 && strings.HasPrefix(s.Commands[0], "Import-CsRgsConfiguration") {
			notes = s.Notes
		}
	}
	i := -1
	for j, n := range notes {
		if strings.HasPrefix(n, "Import-CsRgsConfiguration -Destination 'ApplicationServer:pool01.contoso.com' -OverwriteOwner") {
			i = j
		}
	}
	if i < 0 {
		t.Fatalf("no failback import:\n%s", text)
	}
	said := false
	for _, n := range notes[i+1:] {
		said = said || strings.Contains(n, "pool01.contoso.com was rebuilt: it starts with the default Response Group application-level settings") &&
			strings.Contains(n, "add -ReplaceExistingRgsSettings to the second command") &&
			strings.Contains(n, "Set-CsRgsConfiguration -Identity 'service:ApplicationServer:pool01.contoso.com'")
	}
	if !said {
		t.Errorf("the failback into the rebuilt pool does not say it keeps the default application-level settings, nor how to bring them:\n%s", text)
	}
}

// TestPlanSQLParamsLeaveOutProtocolAndPort: a SQL location the set
// records as sqlcmd -S takes it (tcp:host\instance,port: a sql exporter's
// instance) gives Install-CsDatabase and Set-CsConfigurationStoreLocation
// the server's name and the instance's, not "tcp:host" and "mgc,1433";
// sqlcmd -S keeps it as recorded (it takes the prefix and the port), and
// so does -DBInstance (the value the export ran with).
func TestPlanSQLParamsLeaveOutProtocolAndPort(t *testing.T) {
	newHarness(t, "2015", fixture{})
	prod, _ := ProductByID("2015")
	ps := PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}
	mgc := PlanItem{Name: "sql-pc-mgc", Kind: "sql", Meta: map[string]string{"instance": `tcp:sqlpc01.contoso.com\mgc,1433`, "db": "mgc", "file": "m.bak"}}
	comp := PlanItem{Name: "sql-pc-mgccomp", Kind: "sql", Meta: map[string]string{"instance": `TCP:sqlpc01.contoso.com\mgc, 1433`, "db": "mgccomp", "file": "c.bak"}}
	chat := PlanItem{Name: "persistentchat", Kind: "persistentchat", Meta: map[string]string{"instance": `sqlpc01.contoso.com\mgc`, "file": "p.zip"}}
	def := PlanItem{Name: "sql-pc2-mgc", Kind: "sql", Meta: map[string]string{"instance": `np:sqlpc02.contoso.com`, "db": "mgc", "file": "m2.bak"}}
	p, text := planText(t, nil, []PlanItem{mgc, comp, chat, def}, PlanOptions{Scenario: "sql", Databases: []string{"all"}})
	all := commandsOf(p, false)
	for _, want := range []string{
		`Install-CsDatabase -DatabaseType PersistentChat -SqlServerFqdn 'sqlpc01.contoso.com' -SqlInstanceName 'mgc' -UseDefaultSqlPaths -Force`,
		`Install-CsDatabase -DatabaseType PersistentChatCompliance -SqlServerFqdn 'sqlpc01.contoso.com' -SqlInstanceName 'mgc' -UseDefaultSqlPaths -Force`,
		`Install-CsDatabase -DatabaseType PersistentChat -SqlServerFqdn 'sqlpc02.contoso.com' -UseDefaultSqlPaths -Force`,
		`sqlcmd -S 'tcp:sqlpc01.contoso.com\mgc,1433' -d master`,
		`sqlcmd -S 'np:sqlpc02.contoso.com' -d master`,
		`Import-CsPersistentChatData -DBInstance 'sqlpc01.contoso.com\mgc' `,
		`tcp:sqlpc01.contoso.com\mgc,1433 is written as sqlcmd -S takes it: -SqlServerFqdn and -SqlInstanceName take no protocol prefix (tcp:, np:, lpc:, admin:) and no port, so the command names the server sqlpc01.contoso.com and the instance mgc.`,
		`np:sqlpc02.contoso.com is written as sqlcmd -S takes it: -SqlServerFqdn and -SqlInstanceName take no protocol prefix (tcp:, np:, lpc:, admin:) and no port, so the command names the server sqlpc02.contoso.com, default instance.`,
	} {
		if !strings.Contains(all, want) && !strings.Contains(text, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
	// mgc on sqlpc01 is one database however the set spells its place.
	if n := strings.Count(all, "Install-CsDatabase -DatabaseType PersistentChat "); n != 2 {
		t.Errorf("%d Install-CsDatabase -DatabaseType PersistentChat, want 2 (sqlpc01, sqlpc02):\n%s", n, all)
	}
	for _, c := range strings.Split(all, "\n") {
		if strings.HasPrefix(c, "Install-CsDatabase") && (strings.Contains(c, "tcp:") || strings.Contains(c, "np:") || strings.Contains(c, "1433")) {
			t.Errorf("protocol or port in %s", c)
		}
	}
	for _, s := range p.Steps {
		if s.Run && strings.HasPrefix(s.Commands[0], "Install-CsDatabase") {
			if _, err := ps.Run(context.Background(), s.Title, 0, strings.Join(s.Commands, "\n")); err != nil {
				t.Errorf("step %q: %v", s.Title, err)
			}
		}
	}
	// The Central Management store and its mirror.
	disc := map[string]any{"lync": map[string]any{"product": "2015", "config_store": `tcp:sqlbe01.contoso.com\rtc,1433`, "config_store_mirror": `admin:sqlbe02.contoso.com\rtc`}}
	p, text = planText(t, disc, nil, PlanOptions{Scenario: "cms"})
	all = commandsOf(p, false)
	for _, want := range []string{
		`Install-CsDatabase -CentralManagementDatabase -Clean -SqlServerFqdn 'sqlbe01.contoso.com' -SqlInstanceName 'rtc' -Force`,
		`Set-CsConfigurationStoreLocation -SqlServerFqdn 'sqlbe01.contoso.com' -SqlInstanceName 'rtc' -MirrorSqlServerFqdn 'sqlbe02.contoso.com' -MirrorSqlInstanceName 'rtc' -Force`,
	} {
		if !strings.Contains(all, want) {
			t.Errorf("missing %s in\n%s", want, text)
		}
	}
}
