package exporters

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/psstub/psparse"
	"github.com/lyncbackup/lyncbackup/internal/stubbin"
)

// TestServiceVersions: a service is Lync Server 2010 or older only when
// its Version reads as 1 to 5; the script passes Version as a string, a
// number or null, and anything else (empty, text, later versions) is
// never taken for 2010 (that would leave the pool out of the set).
func TestServiceVersions(t *testing.T) {
	for _, c := range []struct {
		json   string
		legacy bool
	}{
		{`"5"`, true}, {`5`, true}, {`"4"`, true}, {`"5.0"`, true}, {`"1"`, true},
		{`"6"`, false}, {`7`, false}, {`"8"`, false}, {`"10"`, false}, {`"15"`, false}, {`"19"`, false}, {`"0"`, false},
		{`""`, false}, {`"abc"`, false}, {`null`, false}, {`"v5"`, false},
	} {
		d, err := parseDiscovery([]byte(`{"UserServer":{"PoolFqdn":"a.contoso.com","Version":` + c.json + `}}`))
		if err != nil {
			t.Errorf("Version %s: %v", c.json, err)
			continue
		}
		if got := d.UserServer[0].legacy(); got != c.legacy {
			t.Errorf("Version %s: legacy %v, want %v", c.json, got, c.legacy)
		}
	}
}

// TestNoJSONErrorCutsWholeCharacters: PowerShell's errors are in the
// server's language; the error quotes the output's start, cut to 80
// bytes, never inside a character.
func TestNoJSONErrorCutsWholeCharacters(t *testing.T) {
	// "Н" takes bytes 80 and 81 (counting from 1).
	out := "Import-Module : " + strings.Repeat("x", 63) + "Не удается загрузить указанный модуль"
	_, err := parseDiscovery([]byte(out))
	want := `no JSON in the output ("Import-Module : ` + strings.Repeat("x", 63) + `…")`
	if err == nil || err.Error() != want || !utf8.ValidString(err.Error()) {
		t.Errorf("error\n%v, want\n%s", err, want)
	}
	out = "Import-Module : failed"
	if _, err := parseDiscovery([]byte(out)); err == nil || err.Error() != `no JSON in the output ("Import-Module : failed")` {
		t.Errorf("short output: %v", err)
	}
}

// TestLyncTimeoutLeavesSQLAndCommand: lync.timeout is the Lync cmdlets'
// limit; sql and command exporters keep theirs (a six-hour database
// backup must not be cut at a cmdlet's 30 minutes); without it each kind
// has the default README lists.
func TestLyncTimeoutLeavesSQLAndCommand(t *testing.T) {
	h := newHarness(t, "2015", fixture{})
	s := &session{cfg: h.config("lync: {powershell: $PS, timeout: 5min, exporters: all}\n")}
	for kind, want := range map[string]time.Duration{
		"csconfig": 5 * time.Minute, "userdata": 5 * time.Minute, "filestore": 5 * time.Minute,
		"sql": 6 * time.Hour, "command": time.Hour,
	} {
		if got := s.timeout(kind, config.Exporter{}); got != want {
			t.Errorf("%s: %v, want %v", kind, got, want)
		}
	}
	// The defaults README gives, without lync.timeout.
	s = &session{cfg: h.config("lync: {powershell: $PS, exporters: all}\n")}
	for kind, want := range map[string]time.Duration{
		"discovery": 10 * time.Minute, "csconfig": 30 * time.Minute, "topology": 10 * time.Minute, "lis": 30 * time.Minute,
		"userdata": 2 * time.Hour, "rgs": 30 * time.Minute, "persistentchat": 4 * time.Hour, "filestore": 2 * time.Minute,
		"sql": 6 * time.Hour, "command": time.Hour,
	} {
		if got := s.timeout(kind, config.Exporter{}); got != want {
			t.Errorf("default for %s: %v, want %v", kind, got, want)
		}
	}
	var own config.Exporter
	own.Timeout, _ = config.ParseDuration("2h")
	if got := s.timeout("sql", own); got != 2*time.Hour {
		t.Errorf("the exporter's own timeout: %v", got)
	}
}

// TestUniqueNameSkipsTaken: names go base, base-2, base-3…, skipping a
// name a path exporter already has, so a set's item names stay as the
// documentation says.
func TestUniqueNameSkipsTaken(t *testing.T) {
	h := newHarness(t, "2015", fixture{})
	s := &session{cfg: h.config("exporters: [{kind: path, name: userdata-2, paths: [" + t.TempDir() + "]}]\n")}
	var got []string
	for range 4 {
		got = append(got, s.uniqueName("userdata"))
	}
	if strings.Join(got, " ") != "userdata userdata-3 userdata-4 userdata-5" {
		t.Errorf("names %v", got)
	}
}

// TestShorthandErrorKeys: a config error from lync.exporters names the
// lync: key to change, not an exporter entry that does not exist.
func TestShorthandErrorKeys(t *testing.T) {
	for _, c := range []struct {
		product, fixture, yaml, key, msg string
	}{
		// The product found on the server, not named in the config.
		{"2019", "onepool.json", "lync: {powershell: $PS, exporters: [persistentchat]}\n", "lync.exporters", "has no Persistent Chat"},
		{"2015", "threepools.json", "lync: {powershell: $PS, exporters: [persistentchat]}\n", "lync.persistentchat_instance", "Get-CsService -PersistentChatDatabase found none"},
		{"2015", "threepools.json", "exporters: [{kind: persistentchat}]\nlync: {powershell: $PS}\n", "exporters[0].instance", "found none"},
		{"2019", "onepool.json", "exporters: [{kind: csconfig}, {kind: persistentchat, instance: 'sql01\\mgc'}]\nlync: {powershell: $PS}\n", "exporters[1].kind", "has no Persistent Chat"},
		{"2015", "onepool.json", "lync: {powershell: $PS, exporters: [persistentchat], persistentchat_instance: \"sql01\\u0000\"}\n", "lync.persistentchat_instance", "persistentchat instance"},
	} {
		h := newHarness(t, c.product, fixture{DiscoveryFile: "testdata/discovery/" + c.fixture})
		_, _, err := Build(context.Background(), h.config(c.yaml), Env{Staging: h.staging})
		var ce *config.Error
		if !errors.As(err, &ce) || ce.Key != c.key || !strings.Contains(ce.Msg, c.msg) {
			t.Errorf("%s: error %v (key %q), want key %s and %q", c.yaml, err, keyOf(ce), c.key, c.msg)
		}
	}
}

func keyOf(ce *config.Error) string {
	if ce == nil {
		return ""
	}
	return ce.Key
}

// TestPersistentChatInstanceSources: an exporter's own instance wins over
// lync.persistentchat_instance, which wins over discovery; the set
// records the instance it exported, and the one discovery found even
// when Persistent Chat is not exported.
func TestPersistentChatInstanceSources(t *testing.T) {
	for _, c := range []struct {
		yaml, dbInstance, recorded string
	}{
		{"exporters: [{kind: persistentchat, instance: 'sqlA\\mgc'}]\nlync: {powershell: $PS, persistentchat_instance: 'sqlB\\mgc'}\n", `sqlA\mgc`, `sqlA\mgc`},
		{"lync: {powershell: $PS, exporters: [persistentchat], persistentchat_instance: 'sqlB\\mgc'}\n", `sqlB\mgc`, `sqlB\mgc`},
		{"lync: {powershell: $PS, exporters: [persistentchat]}\n", `sqlpc01.contoso.com\pchat`, `sqlpc01.contoso.com\pchat`},
		{"lync: {powershell: $PS, exporters: [userdata]}\n", "", `sqlpc01.contoso.com\pchat`},
	} {
		h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/migration.json"})
		_, errs, disc := h.run(h.config(c.yaml))
		if len(errs) > 0 {
			t.Fatalf("%s: %v", c.yaml, errs)
		}
		var got []string
		for _, call := range h.calls() {
			if p, ok := psparse.Param(call, "DBInstance"); ok {
				got = append(got, p)
			}
		}
		if c.dbInstance != "" && (len(got) == 0 || got[0] != c.dbInstance) || c.dbInstance == "" && len(got) > 0 {
			t.Errorf("%s: -DBInstance %v, want %q first", c.yaml, got, c.dbInstance)
		}
		if info := disc["lync"].(*LyncInfo); info.PersistentChatInstance != c.recorded {
			t.Errorf("%s: recorded %q, want %q", c.yaml, info.PersistentChatInstance, c.recorded)
		}
	}
}

// TestPoolNotDiscovered: a pool named in the config that discovery does
// not know is exported without servers, and the item says none rather
// than an empty list.
func TestPoolNotDiscovered(t *testing.T) {
	h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/threepools.json"})
	items, errs, _ := h.run(h.config("lync: {powershell: $PS, exporters: [userdata], pools: [pool99.contoso.com, pool01.contoso.com]}\n"))
	if len(errs) > 0 || len(items) != 2 {
		t.Fatalf("items %v errors %v", items, errs)
	}
	if c, ok := items[0].Meta["computers"]; ok || items[0].Meta["pool"] != "pool99.contoso.com" {
		t.Errorf("undiscovered pool: meta %v (computers %q)", items[0].Meta, c)
	}
	if items[1].Meta["computers"] != "fe01.contoso.com,fe02.contoso.com" {
		t.Errorf("discovered pool: meta %v", items[1].Meta)
	}
}

// TestUserDataOnFailureStartsThePool: Start-CsPool exists on 2015, 2019
// and Subscription Edition; on 2013 the step says to start each server.
// The advice is the step's IfUnfinished (the services may be stopped
// however the step ended), not an OnFailure.
func TestUserDataOnFailureStartsThePool(t *testing.T) {
	for product, want := range map[string]string{
		"2013": "start them (Start-CsWindowsService on each of its servers)",
		"2015": "start them (Start-CsPool -PoolFqdn 'pool01.contoso.com')",
		"2019": "start them (Start-CsPool -PoolFqdn 'pool01.contoso.com')",
		"se":   "start them (Start-CsPool -PoolFqdn 'pool01.contoso.com')",
	} {
		it := PlanItem{Name: "userdata-pool01", Kind: "userdata", Meta: map[string]string{"pool": "pool01.contoso.com", "file": "u.zip", "product": product}}
		steps := restorers["userdata"](it, &planCtx{dir: t.TempDir(), info: &LyncInfo{}})
		if len(steps) != 1 || !strings.Contains(steps[0].IfUnfinished, want) || steps[0].OnFailure != "" {
			t.Errorf("%s: %+v, want %q", product, steps, want)
		}
	}
}

// TestFreshDirTwice: the cmdlets refuse to overwrite a file, so a second
// folder for the same name is a new one beside the first.
func TestFreshDirTwice(t *testing.T) {
	staging := t.TempDir()
	a, err := freshDir(staging, "csconfig")
	if err != nil || a != filepath.Join(staging, "csconfig") {
		t.Fatalf("first: %q %v", a, err)
	}
	b, err := freshDir(staging, "csconfig")
	if err != nil || b == a || !strings.HasPrefix(filepath.Base(b), "csconfig-") {
		t.Fatalf("second: %q %v", b, err)
	}
	if fi, err := os.Stat(b); err != nil || !fi.IsDir() {
		t.Errorf("second folder: %v", err)
	}
}

// TestFileStorePools: each discovered file store records the pools that
// use it (its DependentServiceList, one entry per pool whatever the role),
// and its exporter has them for the item's meta.
func TestFileStorePools(t *testing.T) {
	for file, want := range map[string]string{
		"se.json":         `\\se01.contoso.com\LyncShare=se01.contoso.com`,
		"onepool.json":    `\\fs01.contoso.com\LyncShare=pool01.contoso.com`,
		"threepools.json": `\\fs01.contoso.com\LyncShare=pool01.contoso.com,pool02.contoso.com \\fs11.dublin.contoso.com\LyncShare=pool03.dublin.contoso.com`,
	} {
		h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/" + file})
		exps, disc, err := Build(context.Background(), h.config("lync: {powershell: $PS, exporters: [filestore]}\n"), Env{Staging: h.staging})
		if err != nil {
			t.Fatal(err)
		}
		var got, items []string
		for _, fs := range disc["lync"].(*LyncInfo).FileStores {
			got = append(got, fs.UncPath+"="+strings.Join(fs.Pools, ","))
		}
		for _, ex := range exps {
			if x, ok := ex.(*fileStoreExporter); ok {
				items = append(items, x.store.UncPath+"="+strings.Join(x.store.Pools, ","))
			}
		}
		if strings.Join(got, " ") != want || strings.Join(items, " ") != want {
			t.Errorf("%s: stores %q, items %q, want %q", file, got, items, want)
		}
	}
}

// TestGeneratedItemNamesAreValid: an item name made of an exporter's name
// and a pool, store, instance or database (each part up to 80 characters)
// could pass the catalog's 100-character limit, and the backup refused the
// item after its export ran, every night. Generated names are cut with a
// hash of the whole name, differ regardless of case, and are the same on
// the next night.
func TestGeneratedItemNamesAreValid(t *testing.T) {
	h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/threepools.json"})
	long := strings.Repeat("a", 70)
	name := "exp-" + strings.Repeat("n", 86) // 90 characters, a valid exporter name
	cfg := h.config(`lync:
  powershell: $PS
  pools: ['pool-` + long + `-01.contoso.com', 'pool-` + long + `-02.contoso.com', 'POOL-` + long + `-01.contoso.com']
  rgs_pools: ['pool-` + long + `-01.contoso.com']
exporters:
  - {kind: userdata, name: ` + name + `}
  - {kind: userdata, name: ud}
  - {kind: rgs, name: ` + name + `-r}
  - {kind: filestore, name: ` + name + `-f, paths: ['\\fs01.emea-west.datacenter.corp.contoso-holdings.com\` + long + `']}
  - kind: sql
    name: monitoring-sql
    instance: 'sfb-monitoring-ag-listener.emea-west.datacenter.corp.contoso-holdings.com\SFBMONITORING'
    databases: [LcsCDR, QoEMetrics]
    backup_dir: '\\sql01\bak'
    sqlcmd: ` + stubbin.Sqlcmd(t) + "\n")
	build := func() []string {
		exps, _, err := Build(context.Background(), cfg, Env{Staging: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		seen := map[string]bool{}
		for _, ex := range exps {
			n := ex.Name()
			if !catalog.ValidName(n) {
				t.Errorf("exporter builds item %q (%d characters): the backup refuses it", n, len(n))
			}
			if seen[strings.ToLower(n)] {
				t.Errorf("item name %q given twice (without case)", n)
			}
			seen[strings.ToLower(n)] = true
			names = append(names, n)
		}
		return names
	}
	first := build()
	if len(first) != 10 { // 3 pools twice, 1 RGS pool, 1 file store, 2 databases
		t.Fatalf("built %d exporters, want 10: %v", len(first), first)
	}
	if again := build(); strings.Join(again, " ") != strings.Join(first, " ") {
		t.Errorf("names change from one night to the next:\n%v\n%v", first, again)
	}
}
