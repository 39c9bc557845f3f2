package exporters

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/clip"
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
	// ("sql.fqdn\instance", or "sql.fqdn" for a default instance), for
	// Install-CsDatabase / Set-CsConfigurationStoreLocation at restore;
	// ConfigStoreMirror is its mirror, where there is one.
	ConfigStore       string `json:"config_store,omitempty"`
	ConfigStoreMirror string `json:"config_store_mirror,omitempty"`
	// Computer is the computer the backup ran on (ThisComputer: its DNS
	// name, fully qualified on Windows), the one a SQL instance written
	// with a local name (localhost\rtc, .\rtc, (local), 127.0.0.1, [::1]) was
	// on: the plan compares it with the store's server. "" when unknown,
	// and in sets made before it was recorded.
	Computer   string          `json:"computer,omitempty"`
	Pools      []PoolInfo      `json:"pools,omitempty"`
	RgsPools   []PoolInfo      `json:"rgs_pools,omitempty"`
	FileStores []FileStoreInfo `json:"filestores,omitempty"`
	// PersistentChatInstance is the first Persistent Chat database
	// (sets made before PersistentChat existed hold only this).
	PersistentChatInstance string `json:"persistentchat_instance,omitempty"`
	// PersistentChat lists every Persistent Chat pool and its database.
	PersistentChat []ChatPoolInfo `json:"persistentchat,omitempty"`
	// SQLStores are the Monitoring and Archiving databases deployed, and
	// whether a sql exporter of this config backs each up.
	SQLStores []SQLStoreInfo `json:"sql_stores,omitempty"`
	// Sources says, per list, "discovered" or "config".
	Sources map[string]string `json:"sources,omitempty"`
	Notes   []string          `json:"notes,omitempty"`
	Error   string            `json:"error,omitempty"`
}

// ChatPoolInfo is one Persistent Chat pool and the SQL instance of its
// database (-DBInstance of Export-CsPersistentChatData).
type ChatPoolInfo struct {
	Pool     string `json:"pool"`
	Instance string `json:"instance"`
}

// SQLStoreInfo is a Monitoring or Archiving store.
type SQLStoreInfo struct {
	Role      string   `json:"role"` // MonitoringDatabase / ArchivingDatabase
	Instance  string   `json:"instance"`
	Databases []string `json:"databases"`
	// Uncovered lists the databases no sql exporter backs up.
	Uncovered []string `json:"uncovered,omitempty"`
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

	used map[string]bool // item names given, lower case
	// covered: the databases the sql exporters back up.
	covered []sqlCover
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
	path, id, err := configModule(s.cfg)
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
		s.used = map[string]bool{}
		// Path exporters name their item themselves; every other kind
		// names its items through here.
		for _, e := range s.cfg.Exporters {
			if e.Kind == "path" {
				s.used[strings.ToLower(e.Name)] = true
			}
		}
	}
	// Item names differ regardless of case (a Windows folder destination
	// holds one of two such objects).
	name := fitName(base)
	for n := 2; s.used[strings.ToLower(name)]; n++ {
		name = fitName(fmt.Sprintf("%s-%d", base, n))
	}
	s.used[strings.ToLower(name)] = true
	return name
}

// maxItemName is the longest item name the catalog takes.
const maxItemName = 100

// fitName makes a generated item name (an exporter's name, a pool, an
// instance and a database joined) fit the catalog's limit: a longer one
// keeps its beginning and ends in "-" and 8 hex digits of the SHA-256 of
// the whole name, so the same config names the same item every night and
// two long names that begin alike still differ. The parts are safeName'd
// (no "..", a first character from the exporter's valid name), and the
// cut keeps that so: the result passes catalog.ValidName.
func fitName(s string) string {
	if len(s) <= maxItemName {
		return s
	}
	sum := sha256.Sum256([]byte(s))
	return s[:maxItemName-9] + "-" + hex.EncodeToString(sum[:4])
}

// record puts what was found into the Discovery (→ manifest).
func (s *session) record() {
	s.checkCoverage()
	if s.info != nil && s.env.Log != nil {
		// What the set leaves out is said in the run's log too, not only
		// in the manifest.
		for _, n := range s.info.Notes {
			s.env.Log.Warn("lync discovery: " + n)
		}
	}
	if s.info != nil {
		s.info.Computer = ThisComputer()
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

// flexString reads a JSON string or number (Version is an integer in
// Microsoft's objects; the script may pass it through as either).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var v string
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*f = flexString(v)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// psService is one object of Get-CsService, with the properties of
// Microsoft's service objects that discovery reads (values as strings):
// Identity ("Role:FQDN"), PoolFqdn, SiteId, Version (5 = Lync Server 2010,
// 6 = 2013, 7 = 2015, 8 = 2019), SqlInstanceName on database services,
// UncPath on file stores, PersistentChatDatabase on Persistent Chat
// servers; Computers comes from Get-CsPool.
type psService struct {
	Identity               string            `json:"Identity"`
	PoolFqdn               string            `json:"PoolFqdn"`
	SiteID                 string            `json:"SiteId"`
	Version                flexString        `json:"Version"`
	SQLInstanceName        string            `json:"SqlInstanceName"`
	UncPath                string            `json:"UncPath"`
	PersistentChatDatabase string            `json:"PersistentChatDatabase"`
	Computers              oneOrMany[string] `json:"Computers"`
	DependentServiceList   oneOrMany[string] `json:"DependentServiceList"`
}

// fqdn is the service's pool FQDN (else the FQDN part of its identity).
func (sv psService) fqdn() string {
	if f := strings.TrimSpace(sv.PoolFqdn); f != "" {
		return f
	}
	return strings.TrimSpace(sv.Identity[strings.Index(sv.Identity, ":")+1:])
}

// sqlInstance is "fqdn\instance", or "fqdn" for a default instance.
func (sv psService) sqlInstance() string {
	f := sv.fqdn()
	if i := strings.TrimSpace(sv.SQLInstanceName); i != "" && f != "" {
		return f + `\` + i
	}
	return f
}

// legacy reports a Lync Server 2010 (or older) service.
func (sv psService) legacy() bool {
	v := strings.TrimSpace(string(sv.Version))
	if v == "" {
		return false
	}
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n > 0 && n < 6
}

// psStoreLocation is Get-CsConfigurationStoreLocation's object: 2013 and
// later report BackEndServer and MirrorBackEndServer ("fqdn\\instance");
// the script passes a bare string (the reference's documented output
// type) as BackEndServer.
type psStoreLocation struct {
	BackEndServer       string `json:"BackEndServer"`
	MirrorBackEndServer string `json:"MirrorBackEndServer"`
}

type psDiscovery struct {
	UserServer                 oneOrMany[psService]       `json:"UserServer"`
	ApplicationServer          oneOrMany[psService]       `json:"ApplicationServer"`
	FileStore                  oneOrMany[psService]       `json:"FileStore"`
	ConfigurationStoreLocation oneOrMany[psStoreLocation] `json:"ConfigurationStoreLocation"`
	CentralManagementDatabase  oneOrMany[psService]       `json:"CentralManagementDatabase"`
	PersistentChatServer       oneOrMany[psService]       `json:"PersistentChatServer"`
	PersistentChatDatabase     oneOrMany[psService]       `json:"PersistentChatDatabase"`
	MonitoringDatabase         oneOrMany[psService]       `json:"MonitoringDatabase"`
	ArchivingDatabase          oneOrMany[psService]       `json:"ArchivingDatabase"`
}

// The discovery script passes Microsoft's objects through, reduced to the
// properties discovery reads (ConvertTo-Json cannot serialize the
// originals): the interpretation is in Go, where it is tested.
const discoveryScript = `try { [Console]::OutputEncoding = New-Object System.Text.UTF8Encoding -ArgumentList $false } catch { }
function ConvertTo-LbService($s, [switch]$Pool) {
    $o = [ordered]@{}
    foreach ($p in 'Identity', 'PoolFqdn', 'SiteId', 'Version', 'SqlInstanceName', 'UncPath', 'PersistentChatDatabase') {
        if ($null -ne $s.PSObject.Properties[$p] -and $null -ne $s.$p) { $o[$p] = [string]$s.$p }
    }
    if ($null -ne $s.PSObject.Properties['DependentServiceList']) { $o['DependentServiceList'] = @($s.DependentServiceList | ForEach-Object { [string]$_ }) }
    if ($Pool) {
        $o['Computers'] = @()
        try { $o['Computers'] = @((Get-CsPool -Identity $s.PoolFqdn).Computers | ForEach-Object { [string]$_ }) } catch { }
    }
    [pscustomobject]$o
}
function Get-LbService([string]$Role, [switch]$Optional, [switch]$Pool) {
    $a = @{ $Role = $true }
    if ($Optional) {
        try { return @(Get-CsService @a | ForEach-Object { ConvertTo-LbService $_ -Pool:$Pool }) } catch { return @() }
    }
    @(Get-CsService @a | ForEach-Object { ConvertTo-LbService $_ -Pool:$Pool })
}
$store = @()
try {
    $store = @(Get-CsConfigurationStoreLocation | ForEach-Object {
        if ($null -ne $_.PSObject.Properties['BackEndServer']) { [pscustomobject]@{ BackEndServer = [string]$_.BackEndServer; MirrorBackEndServer = [string]$_.MirrorBackEndServer } }
        else { [pscustomobject]@{ BackEndServer = [string]$_; MirrorBackEndServer = '' } }
    })
} catch { }
$result = [pscustomobject]@{
    UserServer = Get-LbService UserServer -Pool
    ApplicationServer = Get-LbService ApplicationServer -Pool
    FileStore = Get-LbService FileStore
    ConfigurationStoreLocation = $store
    CentralManagementDatabase = Get-LbService CentralManagementDatabase -Optional
    PersistentChatServer = Get-LbService PersistentChatServer -Optional
    PersistentChatDatabase = Get-LbService PersistentChatDatabase -Optional
    MonitoringDatabase = Get-LbService MonitoringDatabase -Optional
    ArchivingDatabase = Get-LbService ArchivingDatabase -Optional
}
[Console]::Out.Write((ConvertTo-Json -InputObject $result -Depth 4 -Compress))`

// parseDiscovery reads the discovery script's output (UTF-8 with or
// without BOM, or UTF-16; noise before the JSON is ignored).
func parseDiscovery(b []byte) (*psDiscovery, error) {
	s := strings.TrimSpace(DecodeText(b))
	s = strings.TrimPrefix(s, "\uFEFF")
	i := strings.IndexAny(s, "{[")
	if i < 0 {
		return nil, fmt.Errorf("no JSON in the output (%q)", clip.String(s, 80))
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
	s.discovered.interpret(s.lyncInfo())
	return s.discovered, nil
}

// interpret fills the Central Management Store, Persistent Chat and
// Monitoring / Archiving facts in from discovery.
func (d *psDiscovery) interpret(info *LyncInfo) {
	// The CMS: Get-CsConfigurationStoreLocation's BackEndServer (and its
	// mirror), else the CentralManagementDatabase service.
	for _, l := range d.ConfigurationStoreLocation {
		if b := strings.TrimSpace(l.BackEndServer); b != "" && info.ConfigStore == "" {
			info.ConfigStore = b
			info.ConfigStoreMirror = strings.TrimSpace(l.MirrorBackEndServer)
		}
	}
	if info.ConfigStore == "" {
		for _, sv := range d.CentralManagementDatabase {
			if i := sv.sqlInstance(); i != "" {
				info.ConfigStore = i
				break
			}
		}
	}
	// Persistent Chat: each pool's PersistentChatDatabase names a database
	// service ("PersistentChatStore:FQDN"); its PoolFqdn and
	// SqlInstanceName make -DBInstance.
	dbs := map[string]psService{}
	for _, db := range d.PersistentChatDatabase {
		dbs[strings.ToLower(strings.TrimSpace(db.Identity))] = db
	}
	seen := map[string]bool{}
	for _, sv := range d.PersistentChatServer {
		pool := sv.fqdn()
		if sv.legacy() {
			info.Notes = append(info.Notes, fmt.Sprintf("Persistent Chat pool %s is Lync Server 2010 (Version %s): not exported (Export-CsPersistentChatData supports 2013 and later)", pool, sv.Version))
			continue
		}
		ref := strings.ToLower(strings.TrimSpace(sv.PersistentChatDatabase))
		db, ok := dbs[ref]
		if !ok {
			info.Notes = append(info.Notes, fmt.Sprintf("Persistent Chat pool %s: its database %q is not among Get-CsService -PersistentChatDatabase: not exported (set lync.persistentchat_instance)", pool, sv.PersistentChatDatabase))
			continue
		}
		inst := db.sqlInstance()
		if inst == "" || seen[strings.ToLower(inst)] {
			continue
		}
		seen[strings.ToLower(inst)] = true
		info.PersistentChat = append(info.PersistentChat, ChatPoolInfo{Pool: pool, Instance: inst})
	}
	if len(info.PersistentChat) > 0 && info.PersistentChatInstance == "" {
		info.PersistentChatInstance = info.PersistentChat[0].Instance
	}
	// Monitoring and Archiving stores.
	info.SQLStores = nil
	for _, c := range []struct {
		role string
		l    []psService
		dbs  []string
	}{{"MonitoringDatabase", d.MonitoringDatabase, []string{"LcsCDR", "QoEMetrics"}}, {"ArchivingDatabase", d.ArchivingDatabase, []string{"LcsLog"}}} {
		for _, sv := range c.l {
			if sv.legacy() {
				continue
			}
			if inst := sv.sqlInstance(); inst != "" {
				info.SQLStores = append(info.SQLStores, SQLStoreInfo{Role: c.role, Instance: inst, Databases: c.dbs})
			}
		}
	}
}

// poolsOf returns the pools of services; pools of Lync Server 2010 are
// left out with a note (the Export-/Import-Cs* cmdlets support 2013 and
// later, so exporting them would fail every night during a migration).
func poolsOf(l []psService, info *LyncInfo, what string) []PoolInfo {
	var out []PoolInfo
	seen := map[string]bool{}
	for _, sv := range l {
		f := sv.fqdn()
		if f == "" || seen[strings.ToLower(f)] {
			continue
		}
		seen[strings.ToLower(f)] = true
		if sv.legacy() {
			if info != nil {
				info.Notes = append(info.Notes, fmt.Sprintf("pool %s is Lync Server 2010 (Version %s): its %s is not exported (the cmdlets support 2013 and later; back it up with the 2010 tools until it is migrated)", f, sv.Version, what))
			}
			continue
		}
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
				for _, p := range poolsOf(all, nil, "") {
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
			out = poolsOf(d.ApplicationServer, info, "Response Group configuration")
		} else {
			out = poolsOf(d.UserServer, info, "user data")
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
			if lc.PersistentChatInstance == "" && err == nil {
				s.discover(ctx)
			}
			if lc.PersistentChatInstance == "" && len(s.lyncInfo().PersistentChat) == 0 {
				// Name the real cause: no module, or discovery failed,
				// is not a deployment without Persistent Chat.
				why := "no Persistent Chat database found"
				if err == nil {
					_, err = s.discover(ctx)
				}
				if err != nil {
					why = "Persistent Chat databases unknown: discovery could not run (" + clip.String(err.Error(), 300) + ")"
				}
				s.lyncInfo().Notes = append(s.lyncInfo().Notes, why+": not exported")
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
	// The keys a config error names: the exporter's own entry, or for the
	// lync.exporters shorthand the lync: keys it takes its values from.
	kindKey, instanceKey := "lync.exporters", "lync.persistentchat_instance"
	if idx >= 0 {
		kindKey = fmt.Sprintf("exporters[%d].kind", idx)
		instanceKey = fmt.Sprintf("exporters[%d].instance", idx)
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
			return nil, &config.Error{Key: kindKey, Msg: fmt.Sprintf("persistentchat: %s has no Persistent Chat (it was removed in 2019); back up the mgc database with a sql exporter if it still exists", prod.Name)}
		}
		// An instance in the config is one export; else one per
		// Persistent Chat pool found (each has its own database).
		var chats []ChatPoolInfo
		inst := e.Instance
		if inst == "" && s.cfg.Lync != nil {
			inst = s.cfg.Lync.PersistentChatInstance
		}
		if inst != "" {
			chats = []ChatPoolInfo{{Instance: inst}}
			s.lyncInfo().Sources["persistentchat"] = "config"
		} else {
			s.discover(ctx)
			chats = s.lyncInfo().PersistentChat
			s.lyncInfo().Sources["persistentchat"] = "discovered"
		}
		if len(chats) == 0 {
			return nil, &config.Error{Key: instanceKey, Msg: "missing: the SQL instance of the Persistent Chat database (e.g. sql01.contoso.com\\mgc); Get-CsService -PersistentChatDatabase found none"}
		}
		var out []Exporter
		for _, c := range chats {
			c := c
			if err := checkPSValue("persistentchat instance", c.Instance); err != nil {
				return nil, &config.Error{Key: instanceKey, Msg: err.Error()}
			}
			name, file := e.Name, "CsPersistentChatData.zip"
			meta := map[string]string{"instance": c.Instance}
			if c.Pool != "" {
				name = e.Name + "-" + safeName(c.Pool)
				file = "CsPersistentChatData-" + safeName(c.Pool) + ".zip"
				meta["pool"] = c.Pool
			}
			if s.lyncInfo().PersistentChatInstance == "" {
				s.lyncInfo().PersistentChatInstance = c.Instance
			}
			out = append(out, &psExporter{s: s, name: s.uniqueName(name), kind: e.Kind, file: file, what: "Export-CsPersistentChatData (" + c.Instance + ")", timeout: to, meta: meta,
				body: func(o string) string {
					return "Export-CsPersistentChatData -DBInstance " + PSQuote(c.Instance) + " -FileName " + PSQuote(o)
				}})
		}
		return out, nil
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

// frontEndStop stops the Front End services of every server of a pool.
func frontEndStop(computers []string) []string {
	if len(computers) == 0 {
		return []string{"Stop-CsWindowsService -Force"}
	}
	var out []string
	for _, c := range computers {
		out = append(out, "Stop-CsWindowsService -ComputerName "+PSQuote(c)+" -Force")
	}
	return out
}

// frontEndStart starts them together: Start-CsPool on 2015 / 2019; on
// 2013 (which has no Start-CsPool) Start-CsWindowsService -NoWait on each
// server, then wait until every Front End service (RTCSRV) runs.
func frontEndStart(product, pool string, computers []string) []string {
	switch product {
	case "2015", "2019", "se":
		return []string{"Start-CsPool -PoolFqdn " + PSQuote(pool) + " -Force"}
	}
	var out, quoted []string
	if len(computers) == 0 {
		out = []string{"Start-CsWindowsService -NoWait"}
		quoted = []string{"$env:COMPUTERNAME"}
	}
	for _, c := range computers {
		out = append(out, "Start-CsWindowsService -ComputerName "+PSQuote(c)+" -NoWait")
		quoted = append(quoted, PSQuote(c))
	}
	out = append(out, "$deadline = (Get-Date).AddMinutes(60); foreach ($c in @("+strings.Join(quoted, ", ")+")) { while ((Get-CsWindowsService -Name RTCSRV -ComputerName $c).Status -ne 'Running') { if ((Get-Date) -gt $deadline) { throw \"the Front End service of $c did not start within 60 minutes\" }; Start-Sleep -Seconds 15 } }")
	return out
}

// rgsFailback are Microsoft's Response Group failback commands, once the
// lost pool is rebuilt, after a failover into pool to (Lync Server 2013
// "Front End pool disaster recovery": export from the pool that took
// them over what the lost pool owns, import it into the rebuilt pool
// taking ownership, then remove them from the other pool). The plan
// prints them one a note; the test runs them against the stand-in.
func rgsFailback(lost, to string) []string {
	return []string{
		"Export-CsRgsConfiguration -Source " + PSQuote("ApplicationServer:"+to) + " -Owner " + PSQuote("ApplicationServer:"+lost) + " -FileName <failback file>",
		"Import-CsRgsConfiguration -Destination " + PSQuote("ApplicationServer:"+lost) + " -OverwriteOwner -FileName <failback file>",
		"Export-CsRgsConfiguration -Source " + PSQuote("ApplicationServer:"+to) + " -Owner " + PSQuote("ApplicationServer:"+lost) + " -FileName <removal file> -RemoveExportedConfiguration",
	}
}

// rgsReported says what the text of a failed Response Group step is: the
// house script's catch prints the exception's message with its whitespace
// collapsed, and runProgram makes it one line of at most 600 bytes
// (stderrLine): Import-CsRgsConfiguration's error, or Import-Module's when
// the module did not load, not necessarily word for word.
const rgsReported = "The text after \"failed (exit N):\" is what PowerShell reported, as one line, at most 600 bytes (… where cut)."

func itemProduct(it PlanItem, pc *planCtx) string {
	if p := it.Meta["product"]; p != "" {
		return p
	}
	return pc.info.Product
}

func init() {
	restorers["csconfig"] = func(it PlanItem, pc *planCtx) []Step {
		f := itemFile(pc.dir, it, it.Meta["file"])
		return []Step{{Phase: 6, Title: "Import the configuration and enable the topology", Run: true, Files: []string{f},
			Commands:  []string{"Import-CsConfiguration -FileName " + PSQuote(f) + " -Force", "Enable-CsTopology"},
			Notes:     []string{"Enable-CsTopology also resets the file store permissions."},
			OnFailure: "Check that the Central Management store exists and this server points at it (the two steps before)."}}
	}
	restorers["topology"] = func(it PlanItem, pc *planCtx) []Step {
		return []Step{{Phase: 13, Title: "Topology (reference copy)", Notes: []string{
			"Nothing to import: " + itemFile(pc.dir, it, it.Meta["file"]) + " is the topology as it was, to compare with Topology Builder.",
		}}}
	}
	restorers["lis"] = func(it PlanItem, pc *planCtx) []Step {
		f := itemFile(pc.dir, it, it.Meta["file"])
		// Import-CsLisConfiguration has no -Force (and asks nothing).
		return []Step{{Phase: 10, Title: "Import the E9-1-1 Location Information Service configuration", Run: true, Files: []string{f},
			Commands: []string{"Import-CsLisConfiguration -FileName " + PSQuote(f)}}}
	}
	restorers["userdata"] = func(it PlanItem, pc *planCtx) []Step {
		f := itemFile(pc.dir, it, it.Meta["file"])
		pool := it.Meta["pool"]
		var computers []string
		for _, c := range strings.Split(it.Meta["computers"], ",") {
			if c = strings.TrimSpace(c); c != "" {
				computers = append(computers, c)
			}
		}
		product := itemProduct(it, pc)
		cmds := frontEndStop(computers)
		cmds = append(cmds, "Import-CsUserData -PoolFqdn "+PSQuote(pool)+" -FileName "+PSQuote(f)+" -Force")
		cmds = append(cmds, frontEndStart(product, pool, computers)...)
		notes := []string{"The Front End services must be stopped on ALL servers of the pool during the import and started together afterwards."}
		if len(computers) == 0 {
			notes = append(notes, "The set does not list the pool's servers: stop the services on each of them before this step.")
		}
		notes = append(notes, "Users who signed in meanwhile: Update-CsUserData -FileName <zip> -UserFilter <sip address>.")
		start := "Start-CsPool -PoolFqdn " + PSQuote(pool)
		if product != "2015" && product != "2019" && product != "se" {
			start = "Start-CsWindowsService on each of its servers"
		}
		// The step stops the services before the import and starts them
		// after it: however it ended before that, they may be stopped.
		return []Step{{Phase: 9, Title: "Import the user data of pool " + pool, Run: true, Files: []string{f}, Commands: cmds, Notes: notes,
			IfUnfinished: "The Front End services of " + pool + " may still be stopped: start them (" + start + ") unless you run the step again, which starts them."}}
	}
	restorers["rgs"] = func(it PlanItem, pc *planCtx) []Step {
		f := itemFile(pc.dir, it, it.Meta["file"])
		pool := it.Meta["pool"]
		list := func(p string) string {
			return "Get-CsRgsWorkflow / Get-CsRgsQueue / Get-CsRgsAgentGroup / Get-CsRgsHoursOfBusiness / Get-CsRgsHolidaySet -Identity " + PSQuote("service:ApplicationServer:"+p) + " -ShowAll"
		}
		conflict := "Response Group names are unique in the deployment (workflows, queues, agent groups, hours of business, holiday sets): one the destination pool already holds makes the import fail"
		if to := pc.opt.RgsTo; to != "" {
			// Microsoft's failover of Response Groups to a pool that
			// survived: no -OverwriteOwner (they stay owned by the lost
			// pool, to go back once it is rebuilt), no
			// -ReplaceExistingRgsSettings (the surviving pool keeps its
			// own settings).
			notes := []string{
				"Adds the backup's workflows, queues, agent groups, hours of business and holiday sets of " + pool + " to " + to + "; nothing of " + to + " is replaced: its own Response Groups stay, and so do its application-level settings (agent ringback grace period, default music on hold: no -ReplaceExistingRgsSettings).",
				"They stay owned by " + pool + " (Microsoft's Response Group failover): manage them with the Management Shell (Control Panel does not show them in " + to + "); agents of formal agent groups sign in to their groups in " + to + ". To keep them in " + to + " for good, add -OverwriteOwner.",
				"Once " + pool + " is rebuilt (failback), bring them back as they are then, with the changes made in " + to + " (not from this set), with the three commands below (<failback file> and <removal file>: two new .zip paths; an export refuses a file that exists); between the second and the third, check them (" + list(pool) + ") and place a test call:",
			}
			notes = append(notes, rgsFailback(pool, to)...)
			notes = append(notes,
				"The third command removes them from "+to+": -RemoveExportedConfiguration deletes what it exports, only the ones "+pool+" owns (-Owner).",
				// Microsoft, "Response group disaster recovery procedures",
				// failback step: for a pool deployed anew (same or another
				// FQDN), -ReplaceExistingRgsSettings takes the backup
				// pool's application-level settings; without it the new
				// pool keeps the defaults.
				pool+" was rebuilt: it starts with the default Response Group application-level settings (agent ringback grace period, default music on hold, call context), and the failback import above leaves them so. To give it "+to+"'s settings instead, add -ReplaceExistingRgsSettings to the second command (Microsoft's failback procedure offers it for a rebuilt pool); to set the ones "+pool+" had, use Set-CsRgsConfiguration -Identity "+PSQuote("service:ApplicationServer:"+pool)+" (-AgentRingbackGracePeriod, -DefaultMusicOnHoldFile, -DisableCallContext) after the failback.",
				conflict+": rename or remove it first ("+list(to)+"), or add -ResolveNameConflicts to import it as \"<name> (2)\", a duplicate.")
			return []Step{{Phase: 11, Title: "Import the Response Groups of pool " + pool + " into pool " + to + ", which survived", Run: true, Files: []string{f},
				Commands:  []string{"Import-CsRgsConfiguration -Destination " + PSQuote("ApplicationServer:"+to) + " -FileName " + PSQuote(f) + " -Force"},
				Notes:     notes,
				OnFailure: rgsReported + " A name conflict means " + to + " already holds a Response Group object of the same name: rename or remove it (" + list(to) + ") and run the step again."}}
		}
		return []Step{{Phase: 11, Title: "Import the Response Groups of pool " + pool, Run: true, Files: []string{f},
			Commands: []string{"Import-CsRgsConfiguration -Destination " + PSQuote("ApplicationServer:"+pool) + " -OverwriteOwner -ReplaceExistingRgsSettings -FileName " + PSQuote(f) + " -Force"},
			Notes: []string{
				"The pool's back end was rebuilt: its Response Group configuration is replaced by the backup's: the workflows, queues, agent groups, hours of business and holiday sets, owned by " + pool + " again (-OverwriteOwner), and the application-level settings (agent ringback grace period, default music on hold: -ReplaceExistingRgsSettings, instead of the defaults a new pool starts with).",
				conflict + " (an import that already ran, or objects created since the rebuild): the step stops, nothing is merged or duplicated.",
			},
			OnFailure: rgsReported + " A name conflict means " + pool + " already holds Response Group objects of the same names (an earlier import, or created since the rebuild): list them (" + list(pool) + "), remove the ones the backup brings back, then run the step again."}}
	}
	restorers["persistentchat"] = func(it PlanItem, pc *planCtx) []Step {
		f := itemFile(pc.dir, it, it.Meta["file"])
		title := "Import the Persistent Chat content"
		if p := it.Meta["pool"]; p != "" {
			title += " of pool " + p
		}
		// Import-CsPersistentChatData has no -Force; -Confirm:$false
		// answers its confirmation. -DBInstance is the instance as the
		// set recorded it: the value Export-CsPersistentChatData made
		// this very item with (a port in it may be what reaches the
		// instance), unlike Install-CsDatabase's -SqlServerFqdn and
		// -SqlInstanceName (sqlParams), which take names only.
		return []Step{{Phase: 12, Title: title, Run: true, Files: []string{f},
			Commands: []string{"Import-CsPersistentChatData -DBInstance " + PSQuote(it.Meta["instance"]) + " -FileName " + PSQuote(f) + " -Confirm:$false"},
			Notes:    append(localNameNotes(pc.info, it.Meta["instance"]), "Needs CsPersistentChatAdministrator rights; alternatively restore the mgc database from a SQL backup.")}}
	}
}
