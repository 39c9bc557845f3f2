package exporters

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

// Default timeouts per kind (exporters[].timeout, then lync.timeout, win).
var defaultTimeouts = map[string]time.Duration{
	"discovery":      10 * time.Minute,
	"csconfig":       30 * time.Minute,
	"topology":       10 * time.Minute,
	"lis":            30 * time.Minute,
	"userdata":       2 * time.Hour,
	"rgs":            30 * time.Minute,
	"persistentchat": 4 * time.Hour,
	"filestore":      2 * time.Minute, // reaching the share; the copy streams without a limit
	"sql":            6 * time.Hour,
	"command":        time.Hour,
}

// LyncInfo is what the tool knows about the deployment; it is stored in
// the manifest (Discovery["lync"]) and is all the restore plan needs.
type LyncInfo struct {
	Product     string `json:"product,omitempty"`
	ProductName string `json:"product_name,omitempty"`
	Module      string `json:"module,omitempty"`
	// ConfigStore is the SQL location of the Central Management Store
	// ("sql.fqdn\instance"), for Install-CsDatabase at restore.
	ConfigStore            string          `json:"config_store,omitempty"`
	Pools                  []PoolInfo      `json:"pools,omitempty"`
	RgsPools               []PoolInfo      `json:"rgs_pools,omitempty"`
	FileStores             []FileStoreInfo `json:"filestores,omitempty"`
	PersistentChatInstance string          `json:"persistentchat_instance,omitempty"`
	// Sources says, per list, "discovered" or "config".
	Sources map[string]string `json:"sources,omitempty"`
	Notes   []string          `json:"notes,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// PoolInfo is a pool (or Standard Edition server).
type PoolInfo struct {
	Fqdn      string   `json:"fqdn"`
	Site      string   `json:"site,omitempty"`
	Computers []string `json:"computers,omitempty"`
}

// FileStoreInfo is one file store share.
type FileStoreInfo struct {
	UncPath string   `json:"unc_path"`
	Fqdn    string   `json:"fqdn,omitempty"`
	Site    string   `json:"site,omitempty"`
	Pools   []string `json:"pools,omitempty"`
}

// session is one Build: the config, and the Lync facts found once and
// shared by every exporter.
type session struct {
	cfg  *config.Config
	env  Env
	disc Discovery

	psDone bool
	ps     PowerShell
	prod   Product
	psErr  error

	info       *LyncInfo
	discDone   bool
	discErr    error
	discovered *psDiscovery

	used map[string]int
}

func (s *session) lyncInfo() *LyncInfo {
	if s.info == nil {
		s.info = &LyncInfo{Sources: map[string]string{}}
	}
	return s.info
}

// powershell resolves the module (and product) once.
func (s *session) powershell() (PowerShell, Product, error) {
	if s.psDone {
		return s.ps, s.prod, s.psErr
	}
	s.psDone = true
	product, override := lyncProduct(s.cfg)
	path, id, err := ModulePath(product, override)
	if err != nil {
		s.psErr = err
		s.lyncInfo().Error = err.Error()
		return s.ps, s.prod, err
	}
	s.prod, _ = ProductByID(id)
	s.ps = PowerShell{Exe: PowerShellExe(s.cfg), Module: path}
	info := s.lyncInfo()
	info.Product, info.ProductName, info.Module = s.prod.ID, s.prod.Name, path
	return s.ps, s.prod, nil
}

// uniqueName returns base, or base-2, base-3… if already used in this set.
func (s *session) uniqueName(base string) string {
	if s.used == nil {
		s.used = map[string]int{}
		// Path exporters name their item themselves; every other kind
		// names its items through here.
		for _, e := range s.cfg.Exporters {
			if e.Kind == "path" {
				s.used[e.Name] = 1
			}
		}
	}
	s.used[base]++
	if n := s.used[base]; n > 1 {
		for {
			c := fmt.Sprintf("%s-%d", base, n)
			if s.used[c] == 0 {
				s.used[c] = 1
				return c
			}
			n++
		}
	}
	return base
}

// record puts what was found into the Discovery (→ manifest).
func (s *session) record() {
	if s.info != nil {
		s.disc["lync"] = s.info
	}
}

func (s *session) timeout(kind string, e config.Exporter) time.Duration {
	if !e.Timeout.IsZero() {
		return e.Timeout.Approx()
	}
	if s.cfg.Lync != nil && !s.cfg.Lync.Timeout.IsZero() && kind != "sql" && kind != "command" {
		return s.cfg.Lync.Timeout.Approx()
	}
	return defaultTimeouts[kind]
}

// --- discovery ---

// oneOrMany accepts a JSON array, a single value (ConvertTo-Json writes a
// one-element pipeline result as a bare object) or null.
type oneOrMany[T any] []T

func (o *oneOrMany[T]) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*o = nil
		return nil
	case len(b) > 0 && b[0] == '[':
		var l []T
		if err := json.Unmarshal(b, &l); err != nil {
			return err
		}
		*o = l
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = []T{v}
	return nil
}

type psService struct {
	Identity             string            `json:"Identity"`
	PoolFqdn             string            `json:"PoolFqdn"`
	SiteID               string            `json:"SiteId"`
	UncPath              string            `json:"UncPath"`
	Computers            oneOrMany[string] `json:"Computers"`
	DependentServiceList oneOrMany[string] `json:"DependentServiceList"`
}

type psDiscovery struct {
	UserServer             oneOrMany[psService] `json:"UserServer"`
	ApplicationServer      oneOrMany[psService] `json:"ApplicationServer"`
	FileStore              oneOrMany[psService] `json:"FileStore"`
	ConfigStore            string               `json:"ConfigStore"`
	PersistentChatDatabase oneOrMany[string]    `json:"PersistentChatDatabase"`
}

const discoveryScript = `try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding -ArgumentList $false } catch { }
function Get-LbPool($s) {
    $computers = @()
    try { $computers = @((Get-CsPool -Identity $s.PoolFqdn).Computers | ForEach-Object { [string]$_ }) } catch { }
    [pscustomobject]@{ Identity = [string]$s.Identity; PoolFqdn = [string]$s.PoolFqdn; SiteId = [string]$s.SiteId; Computers = $computers }
}
$store = ''
try { $store = [string](Get-CsConfigurationStoreLocation) } catch { }
$chat = @()
try { $chat = @(Get-CsService -PersistentChatServer | ForEach-Object { [string]$_.PersistentChatDatabase }) } catch { }
$result = [pscustomobject]@{
    UserServer = @(Get-CsService -UserServer | ForEach-Object { Get-LbPool $_ })
    ApplicationServer = @(Get-CsService -ApplicationServer | ForEach-Object { Get-LbPool $_ })
    FileStore = @(Get-CsService -FileStore | ForEach-Object { [pscustomobject]@{ Identity = [string]$_.Identity; PoolFqdn = [string]$_.PoolFqdn; SiteId = [string]$_.SiteId; UncPath = [string]$_.UncPath; DependentServiceList = @($_.DependentServiceList | ForEach-Object { [string]$_ }) } })
    ConfigStore = $store
    PersistentChatDatabase = $chat
}
[Console]::Out.Write((ConvertTo-Json -InputObject $result -Depth 4 -Compress))`

// parseDiscovery reads the discovery script's output (UTF-8 with or
// without BOM, or UTF-16; noise before the JSON is ignored).
func parseDiscovery(b []byte) (*psDiscovery, error) {
	s := strings.TrimSpace(DecodeText(b))
	s = strings.TrimPrefix(s, "\uFEFF")
	i := strings.IndexAny(s, "{[")
	if i < 0 {
		return nil, fmt.Errorf("no JSON in the output (%q)", clip(s, 80))
	}
	s = s[i:]
	var d psDiscovery
	dec := json.NewDecoder(strings.NewReader(s))
	if s[0] == '[' {
		// The whole result as a one-element array: unwrap it.
		var l []psDiscovery
		if err := dec.Decode(&l); err != nil {
			return nil, fmt.Errorf("read JSON: %v", err)
		}
		if len(l) != 1 {
			return nil, fmt.Errorf("expected one result object, got %d", len(l))
		}
		d = l[0]
	} else if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("read JSON: %v", err)
	}
	return &d, nil
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// discover runs the discovery script once.
func (s *session) discover(ctx context.Context) (*psDiscovery, error) {
	if s.discDone {
		return s.discovered, s.discErr
	}
	s.discDone = true
	ps, _, err := s.powershell()
	if err != nil {
		s.discErr = err
		return nil, err
	}
	out, err := ps.Run(ctx, "discovery (Get-CsService)", s.timeout("discovery", config.Exporter{}), discoveryScript)
	if err == nil {
		s.discovered, err = parseDiscovery(out)
		if err != nil {
			err = fmt.Errorf("discovery (Get-CsService): %w", err)
		}
	}
	if err != nil {
		s.discErr = err
		s.lyncInfo().Error = err.Error()
		return nil, err
	}
	d := s.discovered
	info := s.lyncInfo()
	info.ConfigStore = strings.TrimSpace(d.ConfigStore)
	for _, c := range d.PersistentChatDatabase {
		if c = strings.TrimSpace(c); c != "" && info.PersistentChatInstance == "" {
			info.PersistentChatInstance = strings.TrimPrefix(c, "PersistentChatStore:")
		}
	}
	return d, nil
}

func poolsOf(l []psService) []PoolInfo {
	var out []PoolInfo
	seen := map[string]bool{}
	for _, sv := range l {
		f := strings.TrimSpace(sv.PoolFqdn)
		if f == "" {
			f = strings.TrimSpace(sv.Identity[strings.Index(sv.Identity, ":")+1:])
		}
		if f == "" || seen[strings.ToLower(f)] {
			continue
		}
		seen[strings.ToLower(f)] = true
		out = append(out, PoolInfo{Fqdn: f, Site: strings.TrimPrefix(sv.SiteID, "Site:"), Computers: sv.Computers})
	}
	return out
}

// pools returns the pools for userdata (which="pools") or rgs
// ("rgs_pools"): the exporter's own list, else the lync: list, else
// what discovery found.
func (s *session) pools(ctx context.Context, which string, explicit []string) ([]PoolInfo, error) {
	info := s.lyncInfo()
	if len(explicit) == 0 && s.cfg.Lync != nil {
		l := s.cfg.Lync.Pools
		if which == "rgs_pools" {
			l = s.cfg.Lync.RgsPools
		}
		if !l.Auto() {
			explicit = l
		}
	}
	var out []PoolInfo
	if len(explicit) > 0 {
		for _, p := range explicit {
			out = append(out, PoolInfo{Fqdn: p})
		}
		info.Sources[which] = "config"
		// Discovery still helps the restore plan (servers of each pool).
		if d, err := s.discover(ctx); err == nil {
			var all []psService
			if which == "rgs_pools" {
				all = d.ApplicationServer
			} else {
				all = d.UserServer
			}
			for i := range out {
				for _, p := range poolsOf(all) {
					if strings.EqualFold(p.Fqdn, out[i].Fqdn) {
						out[i].Site, out[i].Computers = p.Site, p.Computers
					}
				}
			}
		}
	} else {
		d, err := s.discover(ctx)
		if err != nil {
			return nil, err
		}
		if which == "rgs_pools" {
			out = poolsOf(d.ApplicationServer)
		} else {
			out = poolsOf(d.UserServer)
		}
		info.Sources[which] = "discovered"
	}
	if which == "rgs_pools" {
		info.RgsPools = out
	} else {
		info.Pools = out
	}
	return out, nil
}

// fileStores returns the file stores to copy.
func (s *session) fileStores(ctx context.Context, explicit []string) ([]FileStoreInfo, error) {
	info := s.lyncInfo()
	if len(explicit) == 0 && s.cfg.Lync != nil && !s.cfg.Lync.FileStores.Auto() {
		explicit = s.cfg.Lync.FileStores
	}
	var out []FileStoreInfo
	if len(explicit) > 0 {
		for _, p := range explicit {
			out = append(out, FileStoreInfo{UncPath: p})
		}
		info.Sources["filestores"] = "config"
	} else {
		d, err := s.discover(ctx)
		if err != nil {
			return nil, err
		}
		seen := map[string]bool{}
		for _, sv := range d.FileStore {
			u := strings.TrimSpace(sv.UncPath)
			if u == "" || seen[strings.ToLower(u)] {
				continue
			}
			seen[strings.ToLower(u)] = true
			fs := FileStoreInfo{UncPath: u, Fqdn: sv.PoolFqdn, Site: strings.TrimPrefix(sv.SiteID, "Site:")}
			for _, dep := range sv.DependentServiceList {
				if i := strings.Index(dep, ":"); i >= 0 {
					dep = dep[i+1:]
				}
				if dep != "" && !containsStr(fs.Pools, dep) {
					fs.Pools = append(fs.Pools, dep)
				}
			}
			out = append(out, fs)
		}
		info.Sources["filestores"] = "discovered"
	}
	info.FileStores = out
	return out, nil
}

// --- names ---

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// safeName makes s usable in an item name and a file name.
func safeName(s string) string {
	s = unsafeName.ReplaceAllString(s, "_")
	for strings.Contains(s, "..") {
		s = strings.ReplaceAll(s, "..", "._")
	}
	s = strings.Trim(s, "._-")
	if s == "" {
		s = "x"
	}
	if len(s) > 80 {
		s = s[:80]
	}
	return s
}

// freshDir makes the exporter's own folder inside the run's staging
// folder: Lync cmdlets refuse to overwrite, so every file is new.
func freshDir(staging, name string) (string, error) {
	if err := os.MkdirAll(staging, 0o700); err != nil {
		return "", fmt.Errorf("staging folder %s: %w", staging, unwrapPathErr(err))
	}
	p := filepath.Join(staging, name)
	err := os.Mkdir(p, 0o700)
	if err == nil {
		return p, nil
	}
	if !os.IsExist(err) {
		return "", fmt.Errorf("staging folder %s: %w", p, unwrapPathErr(err))
	}
	p, err = os.MkdirTemp(staging, name+"-")
	if err != nil {
		return "", fmt.Errorf("staging folder: %w", unwrapPathErr(err))
	}
	return p, nil
}

// --- exporters ---

// failExporter stands for an exporter that cannot run (the module is
// missing, discovery failed): it fails when run, so that the failure is
// recorded in the set while the other exporters still run.
type failExporter struct {
	name, kind string
	err        error
}

func (f *failExporter) Name() string { return f.name }
func (f *failExporter) Kind() string { return f.kind }
func (f *failExporter) Export(context.Context, Env) ([]Item, error) {
	return nil, f.err
}

// psExporter runs one Lync cmdlet that writes one file.
type psExporter struct {
	s       *session
	name    string // item name
	kind    string
	file    string // file name written
	what    string // the cmdlet, for errors
	timeout time.Duration
	meta    map[string]string
	body    func(out string) string
}

func (x *psExporter) Name() string { return x.name }
func (x *psExporter) Kind() string { return x.kind }

func (x *psExporter) Export(ctx context.Context, env Env) ([]Item, error) {
	ps, prod, err := x.s.powershell()
	if err != nil {
		return nil, err
	}
	dir, err := freshDir(env.Staging, x.name)
	if err != nil {
		return nil, err
	}
	out := filepath.Join(dir, x.file)
	if _, err := ps.Run(ctx, x.what, x.timeout, x.body(out)); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	fi, err := os.Stat(out)
	if err != nil || fi.Size() == 0 {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("%s reported success but wrote no %s", x.what, x.file)
	}
	meta := map[string]string{"file": x.file, "product": prod.ID}
	for k, v := range x.meta {
		meta[k] = v
	}
	return []Item{{
		Name: x.name, Kind: x.kind, Roots: []Root{{Path: out, Name: x.file}}, Meta: meta,
		Cleanup: func() error { return os.RemoveAll(dir) },
	}}, nil
}

func init() {
	for _, k := range []string{"csconfig", "topology", "lis", "userdata", "rgs", "persistentchat", "filestore"} {
		buildKind[k] = buildLyncKind
	}
	buildLync = buildLyncShorthand
}

// buildLyncShorthand expands lync.exporters ("all" or a list) into the
// exporters the deployment has, leaving out kinds configured explicitly.
func buildLyncShorthand(ctx context.Context, s *session) ([]Exporter, error) {
	lc := s.cfg.Lync
	var kinds []string
	all := lc.Exporters.All()
	if all {
		kinds = AllLyncKinds
	} else {
		kinds = lc.Exporters
	}
	var out []Exporter
	for _, k := range kinds {
		explicit := false
		for _, e := range s.cfg.Exporters {
			if e.Kind == k {
				explicit = true
			}
		}
		if explicit {
			continue
		}
		e := config.Exporter{Kind: k, Name: k}
		if k == "persistentchat" && all {
			// "all" means what the deployment has.
			_, prod, err := s.powershell()
			if err == nil && !prod.PersistentChat {
				s.lyncInfo().Notes = append(s.lyncInfo().Notes, prod.Name+" has no Persistent Chat: not exported")
				continue
			}
			inst := lc.PersistentChatInstance
			if inst == "" && err == nil {
				s.discover(ctx)
				inst = s.lyncInfo().PersistentChatInstance
			}
			if inst == "" {
				s.lyncInfo().Notes = append(s.lyncInfo().Notes, "no Persistent Chat database found: not exported")
				continue
			}
		}
		ex, err := buildLyncKind(ctx, s, -1, e)
		if err != nil {
			return nil, err
		}
		out = append(out, ex...)
	}
	// The restore plan wants the Central Management Store's location even
	// when every list was explicit; a failure here is only recorded.
	if len(out) > 0 {
		s.discover(ctx)
	}
	return out, nil
}

func buildLyncKind(ctx context.Context, s *session, idx int, e config.Exporter) ([]Exporter, error) {
	key := "lync.exporters"
	if idx >= 0 {
		key = fmt.Sprintf("exporters[%d]", idx)
	}
	to := s.timeout(e.Kind, e)
	_, prod, perr := s.powershell()
	fail := func(name string, err error) []Exporter {
		return []Exporter{&failExporter{name: name, kind: e.Kind, err: err}}
	}
	if e.Kind != "filestore" && perr != nil {
		return fail(e.Name, perr), nil
	}
	one := func(file, what string, body func(out string) string, meta map[string]string) []Exporter {
		return []Exporter{&psExporter{s: s, name: s.uniqueName(e.Name), kind: e.Kind, file: file, what: what, timeout: to, meta: meta, body: body}}
	}
	switch e.Kind {
	case "csconfig":
		return one("CsConfiguration.zip", "Export-CsConfiguration", func(out string) string {
			return "Export-CsConfiguration -FileName " + PSQuote(out)
		}, nil), nil
	case "topology":
		return one("Topology.xml", "Get-CsTopology -AsXml", func(out string) string {
			return "$xml = (Get-CsTopology -AsXml).ToString()\n" +
				"[System.IO.File]::WriteAllText(" + PSQuote(out) + ", $xml, (New-Object System.Text.UTF8Encoding -ArgumentList $false))"
		}, nil), nil
	case "lis":
		return one("CsLisConfiguration.zip", "Export-CsLisConfiguration", func(out string) string {
			return "Export-CsLisConfiguration -FileName " + PSQuote(out)
		}, nil), nil
	case "persistentchat":
		if !prod.PersistentChat {
			return nil, &config.Error{Key: key + ".kind", Msg: fmt.Sprintf("persistentchat: %s has no Persistent Chat (it was removed in 2019); back up the mgc database with a sql exporter if it still exists", prod.Name)}
		}
		inst := e.Instance
		if inst == "" && s.cfg.Lync != nil {
			inst = s.cfg.Lync.PersistentChatInstance
		}
		if inst == "" {
			s.discover(ctx)
			inst = s.lyncInfo().PersistentChatInstance
		}
		if inst == "" {
			return nil, &config.Error{Key: key + ".instance", Msg: "missing: the SQL instance of the Persistent Chat database (e.g. sql01.contoso.com\\mgc)"}
		}
		if err := checkPSValue("persistentchat instance", inst); err != nil {
			return nil, &config.Error{Key: key + ".instance", Msg: err.Error()}
		}
		s.lyncInfo().PersistentChatInstance = inst
		return one("CsPersistentChatData.zip", "Export-CsPersistentChatData", func(out string) string {
			return "Export-CsPersistentChatData -DBInstance " + PSQuote(inst) + " -FileName " + PSQuote(out)
		}, map[string]string{"instance": inst}), nil
	case "userdata", "rgs":
		which := "pools"
		if e.Kind == "rgs" {
			which = "rgs_pools"
		}
		pools, err := s.pools(ctx, which, e.Pools)
		if err != nil {
			return fail(e.Name, err), nil
		}
		if len(pools) == 0 {
			return fail(e.Name, fmt.Errorf("%s: no pools found (Get-CsService found none; list them in lync.%s)", e.Kind, which)), nil
		}
		var out []Exporter
		for _, p := range pools {
			pool := p
			name := s.uniqueName(e.Name + "-" + safeName(pool.Fqdn))
			meta := map[string]string{"pool": pool.Fqdn}
			if pool.Site != "" {
				meta["site"] = pool.Site
			}
			if len(pool.Computers) > 0 {
				meta["computers"] = strings.Join(pool.Computers, ",")
			}
			if err := checkPSValue("pool name", pool.Fqdn); err != nil {
				out = append(out, &failExporter{name: name, kind: e.Kind, err: err})
				continue
			}
			if e.Kind == "userdata" {
				file := "CsUserData-" + safeName(pool.Fqdn) + ".zip"
				out = append(out, &psExporter{s: s, name: name, kind: e.Kind, file: file, what: "Export-CsUserData (pool " + pool.Fqdn + ")", timeout: to, meta: meta,
					body: func(o string) string {
						return "Export-CsUserData -PoolFqdn " + PSQuote(pool.Fqdn) + " -FileName " + PSQuote(o)
					}})
			} else {
				file := "CsRgsConfiguration-" + safeName(pool.Fqdn) + ".zip"
				// Never -RemoveExportedConfiguration: it deletes the workflows.
				out = append(out, &psExporter{s: s, name: name, kind: e.Kind, file: file, what: "Export-CsRgsConfiguration (pool " + pool.Fqdn + ")", timeout: to, meta: meta,
					body: func(o string) string {
						return "Export-CsRgsConfiguration -Source " + PSQuote("ApplicationServer:"+pool.Fqdn) + " -FileName " + PSQuote(o)
					}})
			}
		}
		return out, nil
	case "filestore":
		stores, err := s.fileStores(ctx, e.Paths)
		if err != nil {
			return fail(e.Name, err), nil
		}
		if len(stores) == 0 {
			return fail(e.Name, fmt.Errorf("filestore: no file store found (Get-CsService -FileStore found none; list them in lync.filestores)")), nil
		}
		var out []Exporter
		for _, st := range stores {
			out = append(out, newFileStore(s, e, st, to))
		}
		return out, nil
	}
	return nil, fmt.Errorf("exporter %s: unknown kind %q", e.Name, e.Kind)
}

// --- restore: the step that brings each Lync item back ---

func init() {
	restorers["csconfig"] = func(it PlanItem, dir string, _ *LyncInfo) []Step {
		f := itemFile(dir, it, it.Meta["file"])
		return []Step{{Phase: 6, Title: "Import the configuration and enable the topology", Run: true, Files: []string{f},
			Commands:  []string{"Import-CsConfiguration -FileName " + PSQuote(f), "Enable-CsTopology"},
			Notes:     []string{"Enable-CsTopology also resets the file store permissions."},
			OnFailure: "Check that the Central Management Store exists and this server points at it (steps 4-5)."}}
	}
	restorers["topology"] = func(it PlanItem, dir string, _ *LyncInfo) []Step {
		return []Step{{Phase: 13, Title: "Topology (reference copy)", Notes: []string{
			"Nothing to import: " + itemFile(dir, it, it.Meta["file"]) + " is the topology as it was, to compare with Topology Builder.",
		}}}
	}
	restorers["lis"] = func(it PlanItem, dir string, _ *LyncInfo) []Step {
		f := itemFile(dir, it, it.Meta["file"])
		return []Step{{Phase: 10, Title: "Import the E9-1-1 Location Information Service configuration", Run: true, Files: []string{f},
			Commands: []string{"Import-CsLisConfiguration -FileName " + PSQuote(f)}}}
	}
	restorers["userdata"] = func(it PlanItem, dir string, _ *LyncInfo) []Step {
		f := itemFile(dir, it, it.Meta["file"])
		pool := it.Meta["pool"]
		var stop, start []string
		var computers []string
		for _, c := range strings.Split(it.Meta["computers"], ",") {
			if c = strings.TrimSpace(c); c != "" {
				computers = append(computers, c)
			}
		}
		if len(computers) == 0 {
			stop, start = []string{"Stop-CsWindowsService"}, []string{"Start-CsWindowsService"}
		}
		for _, c := range computers {
			stop = append(stop, "Stop-CsWindowsService -ComputerName "+PSQuote(c))
			start = append(start, "Start-CsWindowsService -ComputerName "+PSQuote(c))
		}
		notes := []string{"The Front End services must be stopped on ALL servers of the pool during the import and started together afterwards."}
		if len(computers) == 0 {
			notes = append(notes, "The set does not list the pool's servers: stop and start the services on each of them.")
		}
		notes = append(notes, "Users who signed in meanwhile: Update-CsUserData -FileName <zip> -UserFilter <sip address>.")
		cmds := append(append(stop, "Import-CsUserData -PoolFqdn "+PSQuote(pool)+" -FileName "+PSQuote(f)), start...)
		return []Step{{Phase: 9, Title: "Import the user data of pool " + pool, Run: true, Files: []string{f}, Commands: cmds, Notes: notes,
			OnFailure: "The Front End services of " + pool + " may still be stopped: start them with Start-CsWindowsService once the cause is fixed."}}
	}
	restorers["rgs"] = func(it PlanItem, dir string, _ *LyncInfo) []Step {
		f := itemFile(dir, it, it.Meta["file"])
		pool := it.Meta["pool"]
		return []Step{{Phase: 11, Title: "Import the Response Groups of pool " + pool, Run: true, Files: []string{f},
			Commands: []string{"Import-CsRgsConfiguration -Destination " + PSQuote("ApplicationServer:"+pool) + " -OverwriteOwner -FileName " + PSQuote(f)}}}
	}
	restorers["persistentchat"] = func(it PlanItem, dir string, _ *LyncInfo) []Step {
		f := itemFile(dir, it, it.Meta["file"])
		return []Step{{Phase: 12, Title: "Import the Persistent Chat content", Run: true, Files: []string{f},
			Commands: []string{"Import-CsPersistentChatData -DBInstance " + PSQuote(it.Meta["instance"]) + " -FileName " + PSQuote(f)},
			Notes:    []string{"Needs CsPersistentChatAdministrator rights; alternatively restore the mgc database from a SQL backup."}}}
	}
}
