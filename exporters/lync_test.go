package exporters

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/psstub/psparse"
	"github.com/lyncbackup/lyncbackup/internal/stubbin"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// lyncHarness is a machine with a Lync product installed (a module file
// under a fake %CommonProgramFiles%) and the powershell stand-in.
type lyncHarness struct {
	t       *testing.T
	psDir   string
	common  string
	staging string
	// rgsRemoval: the test runs Export-CsRgsConfiguration
	// -RemoveExportedConfiguration on purpose (a failback); any other
	// test that does fails (it deletes the Response Groups it exports).
	rgsRemoval bool
}

type fixture struct {
	DiscoveryFile     string            `json:"discovery_file,omitempty"`
	DiscoveryEncoding string            `json:"discovery_encoding,omitempty"`
	Fail              map[string]string `json:"fail,omitempty"`
	Hang              []string          `json:"hang,omitempty"`
	ModuleMissing     bool              `json:"module_missing,omitempty"`
	NoFile            []string          `json:"no_file,omitempty"`
}

func newHarness(t *testing.T, product string, fx fixture) *lyncHarness {
	t.Helper()
	h := &lyncHarness{t: t, psDir: t.TempDir(), common: t.TempDir(), staging: t.TempDir()}
	if fx.DiscoveryFile != "" && !filepath.IsAbs(fx.DiscoveryFile) {
		abs, _ := filepath.Abs(fx.DiscoveryFile)
		fx.DiscoveryFile = abs
	}
	b, _ := json.Marshal(fx)
	if err := os.WriteFile(filepath.Join(h.psDir, "fixture.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PSSTUB_DIR", h.psDir)
	t.Setenv("CommonProgramFiles", h.common)
	t.Cleanup(func() {
		// The stand-in records each -RemoveExportedConfiguration there.
		if b, err := os.ReadFile(filepath.Join(h.psDir, "rgs_removed.txt")); err == nil && !h.rgsRemoval {
			t.Errorf("Export-CsRgsConfiguration -RemoveExportedConfiguration ran: it deleted the Response Groups it exported (source, owner, workflows):\n%s", b)
		}
	})
	if product != "" {
		p, _ := ProductByID(product)
		mod := p.DefaultModulePath()
		os.MkdirAll(filepath.Dir(mod), 0o755)
		os.WriteFile(mod, []byte("@{}"), 0o644)
	}
	return h
}

// config parses a YAML config with the stand-in as PowerShell.
func (h *lyncHarness) config(yaml string) *config.Config {
	h.t.Helper()
	full := "host: testhost\nstaging: " + h.staging + "\nencryption: {recipients: [age1dummy]}\ndestination: {url: 'file:///tmp/x'}\n" + yaml
	full = strings.ReplaceAll(full, "$PS", stubbin.PowerShell(h.t))
	cfg, err := config.Parse([]byte(full), func(string) (string, bool) { return "", false })
	if err != nil {
		h.t.Fatalf("config: %v\n%s", err, full)
	}
	return cfg
}

// run builds and runs every exporter, as the pipeline would.
func (h *lyncHarness) run(cfg *config.Config) ([]Item, map[string]error, Discovery) {
	h.t.Helper()
	ctx := context.Background()
	exps, disc, err := Build(ctx, cfg, Env{Staging: h.staging})
	if err != nil {
		h.t.Fatalf("Build: %v", err)
	}
	var items []Item
	errs := map[string]error{}
	for _, ex := range exps {
		its, err := ex.Export(ctx, Env{Staging: filepath.Join(h.staging, "run")})
		if err != nil {
			errs[ex.Name()] = err
		}
		items = append(items, its...)
	}
	return items, errs, disc
}

// calls returns the scripts the stand-in received, in order.
func (h *lyncHarness) calls() []string {
	ents, _ := os.ReadDir(filepath.Join(h.psDir, "calls"))
	var out []string
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(h.psDir, "calls", e.Name()))
		if err != nil {
			h.t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

// normalize replaces the test's temporary folders in a script.
func (h *lyncHarness) normalize(s string) string {
	s = strings.ReplaceAll(s, h.staging, "$STAGING")
	s = strings.ReplaceAll(s, h.common, "$COMMONFILES")
	return s
}

// goldenName names a recorded script by what it does.
func goldenName(script string) string {
	code, _, _ := psparse.Split(script)
	for _, c := range []string{"Export-CsConfiguration", "Export-CsLisConfiguration"} {
		if strings.Contains(code, c) {
			return c
		}
	}
	if strings.Contains(code, "Export-CsPersistentChatData") {
		p, _ := psparse.Param(script, "DBInstance")
		return "Export-CsPersistentChatData-" + safeName(p)
	}
	if strings.Contains(code, "Get-LbService UserServer") {
		return "discovery"
	}
	if strings.Contains(code, "Get-CsTopology") {
		return "Get-CsTopology"
	}
	if strings.Contains(code, "Export-CsUserData") {
		p, _ := psparse.Param(script, "PoolFqdn")
		return "Export-CsUserData-" + p
	}
	if strings.Contains(code, "Export-CsRgsConfiguration") {
		p, _ := psparse.Param(script, "Source")
		return "Export-CsRgsConfiguration-" + strings.TrimPrefix(p, "ApplicationServer:")
	}
	return "unknown"
}

func checkGolden(t *testing.T, path string, got string) {
	t.Helper()
	goldens.Use(path)
	if *update {
		os.MkdirAll(filepath.Dir(path), 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden %s: %v (run go test ./exporters -update)", path, err)
	}
	if string(want) != got {
		t.Errorf("%s differs from the golden file (go test ./exporters -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// checkNoStaleGoldens fails on a golden file no test produced (a script
// that is no longer generated would otherwise stay, unchecked); with
// -update it deletes it.
func checkNoStaleGoldens(t *testing.T, dir string, used map[string]bool, ext string) {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		name := strings.TrimSuffix(e.Name(), ext)
		if used[name] {
			continue
		}
		if *update {
			os.Remove(filepath.Join(dir, e.Name()))
			continue
		}
		t.Errorf("golden %s is not produced by any case: delete it (go test ./exporters -update)", filepath.Join(dir, e.Name()))
	}
}

// goldenDir is testdata/dir on Unix and testdata/dir-windows on Windows,
// where paths are C:\… and separators backslashes (the Windows lane,
// scripts/wine/lane.sh, runs and updates those).
func goldenDir(dir string) string {
	if runtime.GOOS == "windows" {
		return dir + "-windows"
	}
	return dir
}

// TestLyncScriptsGolden runs `lync: {exporters: all}` against each
// product and compares every script with its golden file.
func TestLyncScriptsGolden(t *testing.T) {
	for _, product := range []string{"2013", "2015", "2019"} {
		t.Run(product, func(t *testing.T) {
			h := newHarness(t, product, fixture{DiscoveryFile: "testdata/discovery/onepool.json"})
			cfg := h.config("lync: {powershell: $PS, exporters: all, filestores: [" + t.TempDir() + "]}\n")
			items, errs, disc := h.run(cfg)
			if len(errs) > 0 {
				t.Fatalf("exporters failed: %v", errs)
			}
			var names []string
			for _, it := range items {
				names = append(names, it.Name)
			}
			sort.Strings(names)
			want := []string{"csconfig", "lis", "persistentchat-pchat01.contoso.com", "rgs-pool01.contoso.com", "topology", "userdata-pool01.contoso.com"}
			if product == "2019" {
				want = []string{"csconfig", "lis", "rgs-pool01.contoso.com", "topology", "userdata-pool01.contoso.com"}
			}
			got := strings.Join(names, " ")
			if !strings.HasPrefix(got, "csconfig ") || !strings.Contains(got, "filestore-") {
				t.Errorf("items %v", names)
			}
			for _, w := range want {
				if !containsStr(names, w) {
					t.Errorf("item %s missing from %v", w, names)
				}
			}
			if product == "2019" && containsStr(names, "persistentchat-pchat01.contoso.com") {
				t.Errorf("2019 has no Persistent Chat, got %v", names)
			}
			info := disc["lync"].(*LyncInfo)
			if info.Product != product || info.ConfigStore != `sql01.contoso.com\rtc` {
				t.Errorf("discovery %+v", info)
			}
			seen := map[string]bool{}
			for _, s := range h.calls() {
				name := goldenName(s)
				if seen[name] {
					t.Errorf("%s ran twice", name)
				}
				seen[name] = true
				checkGolden(t, filepath.Join("testdata", goldenDir("ps"), product, name+".ps1"), h.normalize(s))
			}
			checkNoStaleGoldens(t, filepath.Join("testdata", goldenDir("ps"), product), seen, ".ps1")
			// Every Lync export is a zip holding DocItemSet.xml.
			for _, it := range items {
				if it.Kind == "filestore" || it.Kind == "topology" {
					continue
				}
				zr, err := zip.OpenReader(it.Roots[0].Path)
				if err != nil {
					t.Fatalf("%s: %v", it.Name, err)
				}
				if zr.File[0].Name != "DocItemSet.xml" {
					t.Errorf("%s: first entry %s", it.Name, zr.File[0].Name)
				}
				zr.Close()
				if it.Meta["file"] != it.Roots[0].Name || it.Meta["product"] != product {
					t.Errorf("%s meta %v", it.Name, it.Meta)
				}
				if !strings.HasPrefix(it.Roots[0].Path, filepath.Join(h.staging, "run")+string(filepath.Separator)) {
					t.Errorf("%s written outside the run's staging folder: %s", it.Name, it.Roots[0].Path)
				}
				if err := it.Cleanup(); err != nil {
					t.Fatal(err)
				}
				if _, err := os.Stat(it.Roots[0].Path); !os.IsNotExist(err) {
					t.Errorf("%s: cleanup left %s", it.Name, it.Roots[0].Path)
				}
			}
		})
	}
}

// TestDiscoveryFixtures reads the three deployments in each encoding
// PowerShell may use.
func TestDiscoveryFixtures(t *testing.T) {
	cases := []struct {
		file       string
		pools, rgs []string
		stores     []string
		computers  string
	}{
		{"se.json", []string{"se01.contoso.com"}, []string{"se01.contoso.com"}, []string{`\\se01.contoso.com\LyncShare`}, "se01.contoso.com"},
		{"onepool.json", []string{"pool01.contoso.com"}, []string{"pool01.contoso.com"}, []string{`\\fs01.contoso.com\LyncShare`}, "fe01.contoso.com,fe02.contoso.com,fe03.contoso.com"},
		{"threepools.json", []string{"pool01.contoso.com", "pool02.contoso.com", "pool03.dublin.contoso.com"}, []string{"pool01.contoso.com", "pool03.dublin.contoso.com"},
			[]string{`\\fs01.contoso.com\LyncShare`, `\\fs11.dublin.contoso.com\LyncShare`}, "fe01.contoso.com,fe02.contoso.com"},
	}
	for _, c := range cases {
		for _, enc := range []string{"utf8", "utf8bom", "utf16le"} {
			t.Run(c.file+"/"+enc, func(t *testing.T) {
				h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/" + c.file, DiscoveryEncoding: enc})
				cfg := h.config("lync: {powershell: $PS, exporters: [userdata, rgs, filestore]}\n")
				exps, disc, err := Build(context.Background(), cfg, Env{Staging: h.staging})
				if err != nil {
					t.Fatal(err)
				}
				var users, rgs, stores []string
				for _, ex := range exps {
					switch x := ex.(type) {
					case *psExporter:
						if x.kind == "userdata" {
							users = append(users, x.meta["pool"])
							if x.meta["pool"] == c.pools[0] && x.meta["computers"] != c.computers {
								t.Errorf("computers %q, want %q", x.meta["computers"], c.computers)
							}
						} else {
							rgs = append(rgs, x.meta["pool"])
						}
					case *fileStoreExporter:
						stores = append(stores, x.store.UncPath)
					default:
						t.Errorf("unexpected exporter %T %v", ex, ex.(*failExporter).err)
					}
				}
				if strings.Join(users, " ") != strings.Join(c.pools, " ") || strings.Join(rgs, " ") != strings.Join(c.rgs, " ") || strings.Join(stores, " ") != strings.Join(c.stores, " ") {
					t.Errorf("pools %v rgs %v stores %v", users, rgs, stores)
				}
				info := disc["lync"].(*LyncInfo)
				if info.Sources["pools"] != "discovered" || info.Sources["filestores"] != "discovered" || len(info.Pools) != len(c.pools) {
					t.Errorf("discovery %+v", info)
				}
				if n := len(h.calls()); n != 1 {
					t.Errorf("discovery ran %d times, want once", n)
				}
			})
		}
	}
}

func TestParseDiscoveryQuirks(t *testing.T) {
	utf16noBOM := func(s string) []byte {
		var b []byte
		for _, r := range s {
			b = append(b, byte(r), 0)
		}
		return b
	}
	for name, in := range map[string][]byte{
		"bare object":     []byte(`{"UserServer":{"PoolFqdn":"a.contoso.com","Computers":"fe1"},"FileStore":null}`),
		"array of result": []byte(`[{"UserServer":[{"PoolFqdn":"a.contoso.com","Computers":["fe1"]}]}]`),
		"noise before":    []byte("WARNING: something\r\n{\"UserServer\":[{\"PoolFqdn\":\"a.contoso.com\",\"Computers\":[\"fe1\"]}]}"),
		"utf16 no BOM":    utf16noBOM(`{"UserServer":{"PoolFqdn":"a.contoso.com","Computers":["fe1"]}}`),
	} {
		d, err := parseDiscovery(in)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(d.UserServer) != 1 || d.UserServer[0].PoolFqdn != "a.contoso.com" || len(d.UserServer[0].Computers) != 1 || len(d.FileStore) != 0 {
			t.Errorf("%s: %+v", name, d)
		}
	}
	for _, bad := range []string{"", "Import-Module : failed", `{"UserServer": 5}`, `[{},{}]`} {
		if _, err := parseDiscovery([]byte(bad)); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func FuzzParseDiscovery(f *testing.F) {
	for _, n := range []string{"se.json", "onepool.json", "threepools.json", "migration.json"} {
		b, _ := os.ReadFile(filepath.Join("testdata", "discovery", n))
		f.Add(b)
	}
	f.Add([]byte{0xFF, 0xFE, '{', 0})
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseDiscovery(b)
		if err == nil && d == nil {
			t.Fatal("nil result without error")
		}
		if err == nil {
			poolsOf(d.UserServer, &LyncInfo{}, "user data")
			d.interpret(&LyncInfo{})
		}
	})
}

// TestExplicitListsOverride: lync.pools / rgs_pools / filestores win
// over discovery, which still adds the pools' servers.
func TestExplicitListsOverride(t *testing.T) {
	h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/threepools.json"})
	share := t.TempDir()
	cfg := h.config("lync: {powershell: $PS, exporters: [userdata, rgs, filestore], pools: [pool02.contoso.com], rgs_pools: [pool03.dublin.contoso.com], filestores: [" + share + "]}\n")
	items, errs, disc := h.run(cfg)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Name)
	}
	want := "userdata-pool02.contoso.com rgs-pool03.dublin.contoso.com filestore-" + fileStoreSlug(share)
	if strings.Join(names, " ") != want {
		t.Errorf("items %v, want %s", names, want)
	}
	if items[0].Meta["computers"] != "fe03.contoso.com,fe04.contoso.com" || items[0].Meta["site"] != "Redmond" {
		t.Errorf("meta %v", items[0].Meta)
	}
	info := disc["lync"].(*LyncInfo)
	if info.Sources["pools"] != "config" || info.Sources["rgs_pools"] != "config" || info.Sources["filestores"] != "config" {
		t.Errorf("sources %v", info.Sources)
	}
}

// TestPoolNameInjection: a pool name with quotes (ASCII and typographic)
// stays one literal: the cmdlet gets it verbatim and nothing runs.
func TestPoolNameInjection(t *testing.T) {
	h := newHarness(t, "2015", fixture{})
	evil := "pool'; Remove-Item -Recurse -Force C:\\ ; 'x\u2019; Stop-Computer; \u2018"
	yamlPool := strings.ReplaceAll(evil, "'", "''")
	cfg := h.config("lync: {powershell: $PS, exporters: [userdata, rgs], pools: ['" + yamlPool + "'], rgs_pools: ['" + yamlPool + "']}\n")
	items, errs, _ := h.run(cfg)
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if len(items) != 2 {
		t.Fatalf("items %v", items)
	}
	for _, it := range items {
		if !config.ValidName(it.Name) || it.Meta["pool"] != evil {
			t.Errorf("item %q meta %v", it.Name, it.Meta)
		}
	}
	n := 0
	for _, s := range h.calls() {
		code, lits, ok := psparse.Split(s)
		if !ok {
			t.Fatalf("script does not tokenize:\n%s", s)
		}
		if strings.Contains(code, "Remove-Item") || strings.Contains(code, "Stop-Computer") {
			t.Errorf("injected code escaped its literal:\n%s", s)
		}
		if p, ok := psparse.Param(s, "PoolFqdn"); ok {
			n++
			if p != evil {
				t.Errorf("PoolFqdn %q, want %q", p, evil)
			}
		}
		if p, ok := psparse.Param(s, "Source"); ok {
			n++
			if p != "ApplicationServer:"+evil {
				t.Errorf("Source %q", p)
			}
		}
		_ = lits
	}
	if n != 2 {
		t.Errorf("%d cmdlets got the pool, want 2", n)
	}
}

func FuzzPSQuote(f *testing.F) {
	for _, s := range []string{"", "a", "'", "''", "\u2019", "a'b\u2018c\u201a\u201bd", "$(x)`\"\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q := PSQuote(s)
		v, rest, ok := psparse.Literal(q)
		if !ok || rest != "" {
			t.Fatalf("PSQuote(%q) = %q does not parse as one literal (rest %q)", s, q, rest)
		}
		if v != s && strings.ToValidUTF8(s, "\uFFFD") == s {
			t.Fatalf("PSQuote(%q) reads back as %q", s, v)
		}
	})
}

// TestFailingPoolDoesNotStopOthers: pool02's export fails with a
// PowerShell error; pool01 and pool03 still produce items, and the error
// carries the cmdlet's stderr as one line.
func TestFailingPoolDoesNotStopOthers(t *testing.T) {
	h := newHarness(t, "2015", fixture{
		DiscoveryFile: "testdata/discovery/threepools.json",
		Fail:          map[string]string{"-PoolFqdn 'pool02.contoso.com'": "Cannot connect to\r\n SQL Server rtcxds on pool02 (timeout)."},
	})
	cfg := h.config("lync: {powershell: $PS, exporters: [userdata]}\n")
	items, errs, _ := h.run(cfg)
	if len(items) != 2 || items[0].Meta["pool"] != "pool01.contoso.com" || items[1].Meta["pool"] != "pool03.dublin.contoso.com" {
		t.Errorf("items %+v", items)
	}
	err := errs["userdata-pool02.contoso.com"]
	if err == nil || len(errs) != 1 {
		t.Fatalf("errors %v", errs)
	}
	want := "Export-CsUserData (pool pool02.contoso.com) failed (exit 1): Export-CsUserData: Cannot connect to SQL Server rtcxds on pool02 (timeout)."
	if err.Error() != want {
		t.Errorf("error\n%s\nwant\n%s", err, want)
	}
	// Nothing of the failed pool is left in staging.
	if _, serr := os.Stat(filepath.Join(h.staging, "run", "userdata-pool02.contoso.com")); !os.IsNotExist(serr) {
		t.Errorf("failed export left its folder behind")
	}
}

func TestModuleMissingAndNoModule(t *testing.T) {
	t.Run("import fails", func(t *testing.T) {
		h := newHarness(t, "2013", fixture{ModuleMissing: true, DiscoveryFile: "testdata/discovery/onepool.json"})
		cfg := h.config("lync: {powershell: $PS, exporters: [csconfig, lis]}\n")
		items, errs, disc := h.run(cfg)
		if len(items) != 0 || len(errs) != 2 {
			t.Fatalf("items %v errs %v", items, errs)
		}
		if e := errs["csconfig"].Error(); !strings.Contains(e, "Export-CsConfiguration failed (exit 1): Import-Module: The specified module") || !strings.Contains(e, "Lync.psd1") {
			t.Errorf("error %s", e)
		}
		if info := disc["lync"].(*LyncInfo); !strings.Contains(info.Error, "module") {
			t.Errorf("discovery error not recorded: %+v", info)
		}
	})
	// lync.exporters: all without a module, or with one that does not
	// load: the Persistent Chat note names that discovery could not run,
	// not a deployment without Persistent Chat.
	for _, c := range []struct {
		name, product string
		fx            fixture
		why           string
	}{
		{"all, no module", "", fixture{}, "no Lync Server 2013 / Skype for Business Server PowerShell module found"},
		{"all, module fails", "2015", fixture{ModuleMissing: true, DiscoveryFile: "testdata/discovery/onepool.json"}, "The specified module"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, c.product, c.fx)
			_, _, disc := h.run(h.config("lync: {powershell: $PS, exporters: all}\n"))
			notes := strings.Join(disc["lync"].(*LyncInfo).Notes, "\n")
			if !strings.Contains(notes, "Persistent Chat databases unknown: discovery could not run (") || !strings.Contains(notes, c.why) || strings.Contains(notes, "no Persistent Chat database found") {
				t.Errorf("notes:\n%s", notes)
			}
		})
	}
	t.Run("no product installed", func(t *testing.T) {
		h := newHarness(t, "", fixture{})
		cfg := h.config("lync: {powershell: $PS, exporters: [csconfig]}\nexporters: [{kind: path, paths: [" + t.TempDir() + "]}]\n")
		items, errs, _ := h.run(cfg)
		if len(items) != 1 || items[0].Kind != "path" {
			t.Errorf("the path exporter must still run: %v", items)
		}
		if e := errs["csconfig"]; e == nil || !strings.Contains(e.Error(), "no Lync Server 2013 / Skype for Business Server PowerShell module found") {
			t.Errorf("error %v", e)
		}
		if len(h.calls()) != 0 {
			t.Errorf("PowerShell ran without a module")
		}
	})
}

func TestExportWithoutFileFails(t *testing.T) {
	h := newHarness(t, "2015", fixture{NoFile: []string{"Export-CsConfiguration"}})
	cfg := h.config("lync: {powershell: $PS, exporters: [csconfig]}\n")
	_, errs, _ := h.run(cfg)
	if e := errs["csconfig"]; e == nil || e.Error() != "Export-CsConfiguration reported success but wrote no CsConfiguration.zip" {
		t.Errorf("error %v", e)
	}
}

func TestPersistentChatRefusedOn2019(t *testing.T) {
	h := newHarness(t, "2019", fixture{DiscoveryFile: "testdata/discovery/onepool.json"})
	cfg := h.config("exporters: [{kind: persistentchat, instance: 'sql01\\mgc'}]\nlync: {powershell: $PS}\n")
	_, _, err := Build(context.Background(), cfg, Env{Staging: h.staging})
	var ce *config.Error
	if !errors.As(err, &ce) || !strings.Contains(err.Error(), "exporters[0].kind: persistentchat: Skype for Business Server 2019 has no Persistent Chat") {
		t.Errorf("error %v", err)
	}
	// Named in the config: refused while parsing, before anything runs.
	_, perr := config.Parse([]byte("encryption: {recipients: [x]}\ndestination: {url: 'file:///x'}\nlync: {product: '2019', exporters: [persistentchat]}\n"), func(string) (string, bool) { return "", false })
	if !errors.As(perr, &ce) || ce.Key != "lync.exporters" {
		t.Errorf("parse error %v", perr)
	}
}

func TestModulePathProbe(t *testing.T) {
	common := t.TempDir()
	t.Setenv("CommonProgramFiles", common)
	if _, _, err := ModulePath("", ""); err == nil || !strings.Contains(err.Error(), "Microsoft Lync Server 2013") {
		t.Errorf("nothing installed: %v", err)
	}
	p, _ := ProductByID("2015")
	os.MkdirAll(filepath.Dir(p.DefaultModulePath()), 0o755)
	os.WriteFile(p.DefaultModulePath(), nil, 0o644)
	path, id, err := ModulePath("", "")
	if err != nil || id != "2015" || path != filepath.Join(common, "Skype for Business Server 2015", "Modules", "SkypeForBusiness", "SkypeForBusiness.psd1") {
		t.Errorf("probe: %s %s %v", path, id, err)
	}
	if _, _, err := ModulePath("2013", ""); err == nil || !strings.Contains(err.Error(), "set lync.module") {
		t.Errorf("2013 not installed: %v", err)
	}
	if _, id, err := ModulePath("", `D:\Lync\Microsoft Lync Server 2013\Modules\Lync\Lync.psd1`); err != nil || id != "2013" {
		t.Errorf("override: %s %v", id, err)
	}
	if _, _, err := ModulePath("", `D:\custom\SkypeForBusiness.psd1`); err == nil || !strings.Contains(err.Error(), "set lync.product") {
		t.Errorf("override without product: %v", err)
	}
}

func TestStderrLine(t *testing.T) {
	clixml := "#< CLIXML\r\n<Objs Version=\"1.1.0.1\" xmlns=\"http://schemas.microsoft.com/powershell/2004/04\"><S S=\"Error\">Export-CsUserData : Access is denied._x000D__x000A_</S><S S=\"Error\">At line:1 char:1 &amp; more_x000D__x000A_</S></Objs>"
	if got := stderrLine([]byte(clixml)); got != "Export-CsUserData : Access is denied. At line:1 char:1 & more" {
		t.Errorf("clixml: %q", got)
	}
	if got := stderrLine([]byte("  first\r\n\r\n  second  \n")); got != "first second" {
		t.Errorf("lines: %q", got)
	}
	if got := stderrLine([]byte(strings.Repeat("é", 1000))); len(got) > 700 || !strings.HasSuffix(got, "…") {
		t.Errorf("long: %d bytes", len(got))
	}
}

func TestEncodeCommandRoundTrip(t *testing.T) {
	s := "Write-Host 'é ’ 𝄞'\n"
	enc := EncodeCommand(s)
	// Known value: PowerShell's own [Convert]::ToBase64String([Text.Encoding]::Unicode.GetBytes('ab')).
	if EncodeCommand("ab") != "YQBiAA==" {
		t.Errorf("EncodeCommand(ab) = %s", EncodeCommand("ab"))
	}
	got, err := DecodeCommand(enc)
	if err != nil || got != s {
		t.Errorf("round trip %q %v", got, err)
	}
}

// TestMigrationDiscovery reads a deployment in the middle of a migration,
// as Get-CsService and Get-CsConfigurationStoreLocation describe it: a
// Lync 2010 pool (left out with a note, so the set is not partial), a
// mirrored Central Management store on a named instance, two Persistent
// Chat pools (one database on a default instance), and Monitoring and
// Archiving databases no sql exporter covers.
func TestMigrationDiscovery(t *testing.T) {
	h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/migration.json", DiscoveryEncoding: "utf16le"})
	cfg := h.config("lync: {powershell: $PS, exporters: all, filestores: [" + t.TempDir() + "]}\n")
	items, errs, disc := h.run(cfg)
	if len(errs) > 0 {
		t.Fatalf("exporters failed (a Lync 2010 pool must not be exported): %v", errs)
	}
	var names []string
	for _, it := range items {
		names = append(names, it.Name)
	}
	got := strings.Join(names, " ")
	for _, w := range []string{"userdata-pool01.contoso.com", "userdata-pool02.contoso.com", "rgs-pool01.contoso.com", "persistentchat-pchat01.contoso.com", "persistentchat-pchat02.dublin.contoso.com"} {
		if !containsStr(names, w) {
			t.Errorf("item %s missing from %s", w, got)
		}
	}
	if strings.Contains(got, "lyncpool10") {
		t.Errorf("the Lync 2010 pool was exported: %s", got)
	}
	dbInstances := map[string]string{}
	for _, s := range h.calls() {
		if p, ok := psparse.Param(s, "DBInstance"); ok {
			dbInstances[p] = s
		}
	}
	if len(dbInstances) != 2 || dbInstances[`sqlpc01.contoso.com\pchat`] == "" || dbInstances["sqlpc02.dublin.contoso.com"] == "" {
		t.Errorf("-DBInstance values %v, want sqlpc01.contoso.com\\pchat and sqlpc02.dublin.contoso.com", keys(dbInstances))
	}
	info := disc["lync"].(*LyncInfo)
	if info.ConfigStore != `sqlbe01.contoso.com\rtc` || info.ConfigStoreMirror != `sqlbe02.contoso.com\rtc` {
		t.Errorf("CMS %q mirror %q", info.ConfigStore, info.ConfigStoreMirror)
	}
	notes := strings.Join(info.Notes, "\n")
	for _, w := range []string{
		"pool lyncpool10.contoso.com is Lync Server 2010 (Version 5): its user data is not exported",
		"pool lyncpool10.contoso.com is Lync Server 2010 (Version 5): its Response Group configuration is not exported",
		`Monitoring database(s) LcsCDR, QoEMetrics on sqlmon01.contoso.com\mon are deployed but not backed up: add a sql exporter with databases: auto`,
		`Archiving database(s) LcsLog on sqlarch01.contoso.com\arch are deployed but not backed up`,
	} {
		if !strings.Contains(notes, w) {
			t.Errorf("notes lack %q:\n%s", w, notes)
		}
	}
	if len(info.SQLStores) != 2 || strings.Join(info.SQLStores[0].Uncovered, ",") != "LcsCDR,QoEMetrics" {
		t.Errorf("sql stores %+v", info.SQLStores)
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestDiscoveryNotesLogged: what a set leaves out is a warning in the
// run's log as well as a note in the manifest.
func TestDiscoveryNotesLogged(t *testing.T) {
	h := newHarness(t, "2015", fixture{DiscoveryFile: "testdata/discovery/migration.json"})
	var buf bytes.Buffer
	cfg := h.config("lync: {powershell: $PS, exporters: [userdata]}\n")
	if _, _, err := Build(context.Background(), cfg, Env{Staging: h.staging, Log: slog.New(slog.NewTextHandler(&buf, nil))}); err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"level=WARN", "lync discovery: pool lyncpool10.contoso.com is Lync Server 2010", "LcsLog on sqlarch01.contoso.com\\\\arch are deployed but not backed up"} {
		if !strings.Contains(buf.String(), w) {
			t.Errorf("log lacks %q:\n%s", w, buf.String())
		}
	}
}

// TestStoreLocationFallbacks: a bare string from
// Get-CsConfigurationStoreLocation, and no store location at all (the CMS
// database service then names server and instance).
func TestStoreLocationFallbacks(t *testing.T) {
	for in, want := range map[string]string{
		`{"UserServer":[],"ConfigurationStoreLocation":{"BackEndServer":"sql09.contoso.com\\rtc","MirrorBackEndServer":null}}`:                                         `sql09.contoso.com\rtc|`,
		`{"UserServer":[],"ConfigurationStoreLocation":[],"CentralManagementDatabase":{"Identity":"ConfigurationDatabase:sql09.contoso.com","SqlInstanceName":"cms"}}`: `sql09.contoso.com\cms|`,
		`{"UserServer":[],"CentralManagementDatabase":{"Identity":"ConfigurationDatabase:sql09.contoso.com","PoolFqdn":"sql09.contoso.com","SqlInstanceName":""}}`:     `sql09.contoso.com|`,
		`{"UserServer":[{"PoolFqdn":"p.contoso.com","Version":5}],"ConfigurationStoreLocation":{"BackEndServer":"a\\x","MirrorBackEndServer":"b\\x"}}`:                 `a\x|b\x`,
	} {
		d, err := parseDiscovery([]byte(in))
		if err != nil {
			t.Fatalf("%s: %v", in, err)
		}
		var info LyncInfo
		d.interpret(&info)
		if got := info.ConfigStore + "|" + info.ConfigStoreMirror; got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
		if strings.Contains(in, `"Version":5`) {
			if pools := poolsOf(d.UserServer, &info, "user data"); len(pools) != 0 || len(info.Notes) != 1 {
				t.Errorf("a Version 5 (number) pool: %v %v", pools, info.Notes)
			}
		}
	}
}
