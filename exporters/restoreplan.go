package exporters

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lyncbackup/lyncbackup/catalog"
)

// The restore plan is the exporters' knowledge run backwards: every kind
// that writes an item registers (next to its exporter) the step that
// brings it back. The plan needs only the manifest (Discovery and each
// item's Meta), so it works from a destination URL without a config.

// PlanItem is what the plan needs of one stored item.
type PlanItem struct {
	Name string
	Kind string
	Meta map[string]string
}

// Step is one step of the restore, in Microsoft's order.
type Step struct {
	Phase    int      `json:"phase"` // Microsoft's step (1-12); 13 for what follows
	Title    string   `json:"title"`
	Commands []string `json:"commands,omitempty"`
	// Run: --run-imports runs Commands (one PowerShell session, in order).
	Run   bool     `json:"run"`
	Notes []string `json:"notes,omitempty"`
	// Files must exist under the restore folder before the step runs.
	Files []string `json:"files,omitempty"`
	// OnFailure says what to do when the step's commands fail: PlanRun
	// adds it when the step's PowerShell ran and exited non-zero, not when
	// the run was interrupted, timed out or PowerShell did not start.
	OnFailure string `json:"on_failure,omitempty"`
	// IfUnfinished is what the step's commands may have left as it is
	// when they started and did not all finish (services they stop before
	// starting them again): true whatever stopped them, so PlanRun adds
	// it (before OnFailure) when the step's PowerShell exited non-zero,
	// was interrupted or timed out; not when PowerShell did not start.
	// Advice about why the step failed belongs in OnFailure.
	IfUnfinished string `json:"if_unfinished,omitempty"`
}

// Plan is the whole restore plan of a set.
type Plan struct {
	Host     string `json:"host"`
	SetID    string `json:"set_id"`
	Dir      string `json:"dir"` // restore folder (items under Dir/<item>/)
	Scenario string `json:"scenario"`
	// Options are the choices the plan was made with (after defaults).
	Options PlanOptions `json:"options"`
	Lync    LyncInfo    `json:"lync"`
	Steps   []Step      `json:"steps"`
}

// Scenario is one of Microsoft's restore procedures, by what was lost.
type Scenario struct {
	ID, Title, Procedure string
}

// Scenarios are the losses a plan can be made for (restore --scenario).
var Scenarios = []Scenario{
	{"cms", "the server hosting the Central Management store (Standard Edition, or the back end of the pool that holds it)", "Restoring the server hosting the Central Management store"},
	{"standard", "a Standard Edition server that does not host the Central Management store", "Restoring a Standard Edition server"},
	{"pool", "the back end (the databases) of an Enterprise pool that does not host the Central Management store", "Restoring an Enterprise Edition back-end server"},
	{"frontend", "the front end servers of an Enterprise pool, its back end survived", "Restoring an Enterprise Edition member server"},
	{"filestore", "a file store (the share and its files)", "Restoring a file store"},
	{"sql", "Monitoring, Archiving or Persistent Chat databases", "Restoring monitoring or archiving data"},
}

// ScenarioByID returns the scenario with that id.
func ScenarioByID(id string) (Scenario, bool) {
	for _, sc := range Scenarios {
		if sc.ID == strings.ToLower(strings.TrimSpace(id)) {
			return sc, true
		}
	}
	return Scenario{}, false
}

// ScenarioIDs lists the ids: "cms, standard, pool, frontend, filestore or sql".
func ScenarioIDs() string {
	var ids []string
	for _, sc := range Scenarios {
		ids = append(ids, sc.ID)
	}
	return strings.Join(ids[:len(ids)-1], ", ") + " or " + ids[len(ids)-1]
}

// ScenarioMenu is the question asked when restore --plan has no --scenario
// on a terminal.
func ScenarioMenu() string {
	var b strings.Builder
	b.WriteString("What was lost? Each loss has its own procedure:\n")
	for i, sc := range Scenarios {
		fmt.Fprintf(&b, "  %d. %-9s %s\n", i+1, sc.ID, sc.Title)
	}
	fmt.Fprintf(&b, "Answer 1-%d (or the name): ", len(Scenarios))
	return b.String()
}

// ParseScenarioAnswer reads an answer to ScenarioMenu.
func ParseScenarioAnswer(ans string) (string, error) {
	ans = strings.TrimSpace(ans)
	for i, sc := range Scenarios {
		if ans == fmt.Sprint(i+1) || strings.EqualFold(ans, sc.ID) {
			return sc.ID, nil
		}
	}
	return "", fmt.Errorf("%q is not a scenario (%s)", ans, ScenarioIDs())
}

// PlanOptions choose the plan.
type PlanOptions struct {
	// Scenario: cms, standard, pool, frontend, filestore or sql (required).
	Scenario string `json:"scenario"`
	// Pools: for standard / pool / frontend, the pool (or Standard Edition
	// server) that was lost; for cms, the pool(s) whose back end was lost
	// with the Central Management store ("all": every pool of the set).
	// May be left out when the set holds one; refused by filestore and sql.
	Pools []string `json:"pools"`
	// FileStores: for filestore and cms, the file store(s) that were lost,
	// by share (\\fs01.contoso.com\LyncShare), file server (fs01.contoso.com,
	// fs01, FileStore:fs01.contoso.com) or item name ("all": every file store
	// of the set; "none", cms only: no file store). filestore: may be left
	// out when the set holds one; cms: without it, only the file store of a
	// lost Standard Edition server (on a --pool server) is copied back.
	// Refused by the other scenarios. After BuildPlan: the shares the plan
	// copies back.
	FileStores []string `json:"filestores"`
	// Databases: for sql, the database(s) that were lost, by the name the
	// set records (LcsCDR, QoEMetrics, LcsLog, mgc, mgccomp; a Persistent
	// Chat export is mgc) or the item's name ("all": every database of the
	// set). May be left out when the set holds one. For cms, the ones lost
	// with the Central Management store's server (its SQL server hosted
	// them too: Microsoft's procedure restores them last); none when left
	// out; only databases on that SQL server (discovery's config_store, or
	// its mirror; a local name such as localhost\rtc is the computer the
	// backup ran on, Computer): a name on another server is refused, and "all" is every
	// one on it. Refused by the other scenarios. After BuildPlan: the
	// items the plan restores.
	Databases []string `json:"databases"`
	// RgsTo: for cms, standard and pool, a pool that survived to import
	// the lost pools' Response Groups into (Microsoft's Response Group
	// failover) instead of the rebuilt pool; "" for the rebuilt pool.
	RgsTo string `json:"rgs_to,omitempty"`
	// OverwriteNewer: the file store copy-back replaces files that are
	// newer on the share (default: robocopy /XO keeps them).
	OverwriteNewer bool `json:"overwrite_newer"`
}

// planCtx is what a restorer needs.
type planCtx struct {
	dir  string
	info *LyncInfo
	opt  PlanOptions
	// stores: the names of the filestore items the plan copies back
	// (chooseFileStores).
	stores map[string]bool
	// dbs: the names of the sql and persistentchat items --scenario sql
	// restores (chooseDatabases).
	dbs map[string]bool
}

// restorers map an item kind to the steps that bring it back.
var restorers = map[string]func(it PlanItem, pc *planCtx) []Step{}

// itemFile is where an item's file lands under the restore folder.
// BuildPlan has checked (checkItemPaths) that the item's name and name are
// each one path element, so the result is inside dir.
func itemFile(dir string, it PlanItem, name string) string {
	return filepath.Join(dir, it.Name, name)
}

// pathMeta are the Meta keys that name a file or folder inside the item's
// restore folder (meta.file: the export's file; meta.share: the file
// store's tree). The other values a plan writes into a command are
// destinations shown for the admin to read (meta.store, the share the file
// store is copied back to; meta.files, where RESTORE … WITH MOVE puts a
// database's files on the SQL server) or no path at all.
var pathMeta = []string{"file", "share"}

// onePathElement reports whether s names one file or folder inside a
// folder, on this system: no separator, no drive or stream (":"), not "."
// or "..", nothing filepath.IsLocal refuses (on Windows: NUL, CON…).
func onePathElement(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, `/\:`+"\x00") && filepath.IsLocal(s)
}

// checkItemPaths refuses a plan whose items would make its commands read
// or write outside the restore folder: the manifest is not signed, and
// anyone who can write to the destination can add a set (README), so an
// item's name and its path values (pathMeta) must each be one path
// element. A set that fails this is damaged or forged: an error (exit 1),
// not a usage error.
func checkItemPaths(items []PlanItem) error {
	for _, it := range items {
		if !catalog.ValidName(it.Name) {
			return fmt.Errorf("the set's item %q is not a valid item name: the manifest is damaged or forged; no plan is made from it", it.Name)
		}
		for _, k := range pathMeta {
			if v, ok := it.Meta[k]; ok && !onePathElement(v) {
				return fmt.Errorf("item %s: meta.%s %q is not a name inside the item's folder (it would point the restore outside %s): the manifest is damaged or forged; no plan is made from it", it.Name, k, v, it.Name)
			}
		}
	}
	return nil
}

// LyncInfoFrom reads the Lync facts out of a manifest's discovery.
func LyncInfoFrom(disc map[string]any) LyncInfo {
	var info LyncInfo
	if v, ok := disc["lync"]; ok {
		if b, err := json.Marshal(v); err == nil {
			json.Unmarshal(b, &info)
		}
	}
	return info
}

// PlanPools are the pools a set holds user data or Response Groups of.
func PlanPools(items []PlanItem) []string {
	var out []string
	for _, it := range items {
		if (it.Kind == "userdata" || it.Kind == "rgs") && it.Meta["pool"] != "" && !containsFold(out, it.Meta["pool"]) {
			out = append(out, it.Meta["pool"])
		}
	}
	return out
}

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// splitInstance splits "fqdn\instance" ("" instance: the default one).
func splitInstance(s string) (string, string) {
	if i := strings.Index(s, `\`); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

// sqlParams are -SqlServerFqdn F [-SqlInstanceName I] (no instance
// parameter for a default instance) of the SQL location loc. loc may be
// written as sqlcmd -S takes it (a sql exporter's instance:
// tcp:sql01.contoso.com\mon,1433): these parameters take the server's name
// and the instance's only, so the protocol prefix and the port are left
// out (sqlLocation).
func sqlParams(prefix, loc string) string {
	f, i := splitInstance(sqlLocation(loc))
	f, i = strings.TrimSpace(f), strings.TrimSpace(i)
	out := "-" + prefix + "SqlServerFqdn " + PSQuote(f)
	if i != "" {
		out += " -" + prefix + "SqlInstanceName " + PSQuote(i)
	}
	return out
}

// PlanError is a plan that cannot be made as asked (a usage error).
type PlanError struct{ Msg string }

func (e *PlanError) Error() string { return e.Msg }

// PlanFromManifest returns the restore plan of the set m describes
// (BuildPlan over its host, id, discovery record and items), restored
// under dir.
func PlanFromManifest(m *catalog.Manifest, dir string, opt PlanOptions) (Plan, error) {
	items := make([]PlanItem, 0, len(m.Items))
	for _, it := range m.Items {
		items = append(items, PlanItem{Name: it.Name, Kind: it.Kind, Meta: it.Meta})
	}
	return BuildPlan(m.Host, m.SetID, m.Discovery, items, dir, opt)
}

// BuildPlan returns the restore plan for a set's items restored under dir,
// for the loss opt.Scenario names: Microsoft's procedure for that loss,
// with the set's values filled in, and only the steps it needs.
func BuildPlan(host, setID string, disc map[string]any, items []PlanItem, dir string, opt PlanOptions) (Plan, error) {
	info := LyncInfoFrom(disc)
	sc, ok := ScenarioByID(opt.Scenario)
	if !ok {
		return Plan{}, &PlanError{fmt.Sprintf("unknown scenario %q: what was lost? (%s)", opt.Scenario, ScenarioIDs())}
	}
	opt.Scenario = sc.ID
	if err := checkItemPaths(items); err != nil {
		return Plan{}, err
	}
	p := Plan{Host: host, SetID: setID, Dir: dir, Lync: info, Scenario: sc.ID}
	pc := &planCtx{dir: dir, info: &info, opt: opt}

	if err := choosePools(sc.ID, PlanPools(items), pc); err != nil {
		return Plan{}, err
	}
	chosen, err := chooseFileStores(sc.ID, items, pc)
	if err != nil {
		return Plan{}, err
	}
	pc.stores = chosen
	if pc.dbs, err = chooseDatabases(sc.ID, items, pc); err != nil {
		return Plan{}, err
	}
	if err := checkRgsTo(sc.ID, items, pc); err != nil {
		return Plan{}, err
	}

	var steps []Step
	var left []string
	has := map[string]bool{}
	for _, it := range items {
		if !inScenario(pc, it) {
			left = append(left, it.Name)
			continue
		}
		has[it.Kind] = true
		if r := restorers[it.Kind]; r != nil {
			steps = append(steps, r(it, pc)...)
		} else {
			steps = append(steps, Step{Phase: 13, Title: fmt.Sprintf("Item %s (%s)", it.Name, it.Kind), Notes: []string{"Restored under " + filepath.Join(dir, it.Name) + "; bring it back by hand."}})
		}
	}
	steps = append(steps, scenarioSteps(pc, has, items)...)
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Phase < steps[j].Phase })
	if len(left) > 0 {
		steps = append(steps, Step{Phase: 14, Title: "Not part of this procedure", Notes: []string{
			"The set also holds " + strings.Join(left, ", ") + ": they belong to other losses, each brought back by the plan of its own --scenario.",
		}})
	}
	p.Steps = steps
	p.Options = pc.opt
	return p, nil
}

// choosePools sets pc.opt.Pools to the pools whose data the loss takes
// (their user data and Response Groups are imported): the ones named with
// --pool, or the set's only pool. Each other pool's back end survived, and
// importing the backup over it would lose what changed since.
func choosePools(scenario string, pools []string, pc *planCtx) error {
	given := pc.opt.Pools
	switch scenario {
	case "filestore", "sql":
		if len(given) > 0 {
			return &PlanError{fmt.Sprintf("--pool does not apply to --scenario %s: it restores no pool's user data or Response Groups", scenario)}
		}
		return nil
	}
	if containsFold(given, "all") {
		if scenario != "cms" {
			return &PlanError{fmt.Sprintf("--pool all is for --scenario cms (every back end lost with the Central Management store); --scenario %s: name the pool that was lost (the set has: %s)", scenario, orNone(pools))}
		}
		if len(given) > 1 {
			return &PlanError{"--pool all names every pool of the set: give it alone"}
		}
		pc.opt.Pools = pools
		return nil
	}
	for _, want := range given {
		if !containsFold(pools, want) {
			return &PlanError{fmt.Sprintf("--pool %s: the set holds no user data or Response Groups of that pool (it has: %s)", want, orNone(pools))}
		}
	}
	if len(given) > 0 {
		return nil
	}
	switch {
	case len(pools) == 1, scenario == "cms" && len(pools) == 0:
		pc.opt.Pools = pools
		return nil
	case scenario == "cms":
		return &PlanError{fmt.Sprintf("--scenario cms: the set holds the user data and Response Groups of several pools (%s): name with --pool the pool(s) whose back end was lost with the Central Management store (repeatable), or --pool all when every back end was lost; importing over a back end that survived loses what changed since the backup", strings.Join(pools, ", "))}
	}
	return &PlanError{fmt.Sprintf("--scenario %s: name the pool that was lost with --pool (the set has: %s)", scenario, orNone(pools))}
}

// chooseFileStores returns the filestore items the plan copies back.
// --scenario filestore: the ones --filestore names, or the set's only one.
// --scenario cms: the ones --filestore names ("none": none), else only the
// file store of a lost Standard Edition server (a share on a server named
// by --pool): Microsoft's procedure copies the file store back for
// Standard Edition only, where it is the lost server's own; an Enterprise
// pool's file store is another server, which the loss of the back end
// leaves as it is. Copying the set back over a file store that survived
// would bring its files back as they were (robocopy /XO keeps the newer
// ones, not the deletions since), so a set of several file stores (several
// pools or sites) needs the choice.
func chooseFileStores(scenario string, items []PlanItem, pc *planCtx) (map[string]bool, error) {
	given := pc.opt.FileStores
	if scenario != "filestore" && scenario != "cms" {
		if len(given) > 0 {
			what := "restores no file store"
			if scenario == "standard" {
				what = "copies back the lost server's own file store (a share on the --pool server) and no other"
			}
			return nil, &PlanError{fmt.Sprintf("--filestore is for --scenario filestore or cms; --scenario %s %s", scenario, what)}
		}
		return nil, nil
	}
	var stores []PlanItem
	var shares []string
	for _, it := range items {
		if it.Kind == "filestore" {
			stores = append(stores, it)
			shares = append(shares, it.Meta["store"])
		}
	}
	chosen := map[string]bool{}
	pc.opt.FileStores = nil
	take := func(it PlanItem) {
		if !chosen[it.Name] {
			chosen[it.Name] = true
			pc.opt.FileStores = append(pc.opt.FileStores, it.Meta["store"])
		}
	}
	switch {
	case containsFold(given, "none"):
		if scenario != "cms" {
			return nil, &PlanError{"--filestore none is for --scenario cms (no file store was lost with it); --scenario filestore copies back a file store: name the one that was lost"}
		}
		if len(given) > 1 {
			return nil, &PlanError{"--filestore none copies back no file store: give it alone"}
		}
	case containsFold(given, "all"):
		if len(given) > 1 {
			return nil, &PlanError{"--filestore all names every file store of the set: give it alone"}
		}
		for _, it := range stores {
			take(it)
		}
	case len(given) > 0:
		for _, want := range given {
			var match []PlanItem
			var matchShares, servers []string
			for _, it := range stores {
				if fileStoreIs(it, want, pc.info) {
					match = append(match, it)
					matchShares = append(matchShares, it.Meta["store"])
					if sv := uncServer(it.Meta["store"]); !containsFold(servers, sv) {
						servers = append(servers, sv)
					}
				}
			}
			if len(match) == 0 {
				return nil, &PlanError{fmt.Sprintf("--filestore %s: the set holds no such file store (it has: %s)", want, orNone(shares))}
			}
			// A first label (fs01) shared by file servers of several
			// sites names none of them: copying back over all of them
			// writes over the ones that survived.
			if len(servers) > 1 {
				return nil, &PlanError{fmt.Sprintf("--filestore %s names several file stores (%s): give the share or the file server's full name of the one that was lost", want, strings.Join(matchShares, ", "))}
			}
			for _, it := range match {
				take(it)
			}
		}
	case scenario == "cms":
		// A lost Standard Edition server's own file store.
		for _, it := range stores {
			if containsFold(pc.opt.Pools, uncServer(it.Meta["store"])) {
				take(it)
			}
		}
	case len(stores) <= 1:
		for _, it := range stores {
			take(it)
		}
	default:
		return nil, &PlanError{fmt.Sprintf("--scenario filestore: the set holds several file stores (%s): name the one that was lost with --filestore (its share or its file server; repeatable), or --filestore all when all were lost; copying the backup over a file store that survived brings back files deleted since and older copies", strings.Join(shares, ", "))}
	}
	return chosen, nil
}

// dbName is the database a sql or persistentchat item restores ("" for
// another kind): a Persistent Chat export is the content of mgc.
func dbName(it PlanItem) string {
	switch it.Kind {
	case "sql":
		return it.Meta["db"]
	case "persistentchat":
		return "mgc"
	}
	return ""
}

// chooseDatabases returns the sql and persistentchat items --scenario sql
// restores: the ones --database names (by database name or item name;
// "all": every one), or the set's only one. Restoring a database that
// survived replaces it with the backup (RESTORE … REPLACE), and importing
// a Persistent Chat export adds the backup's content to the live store, so
// a set of several databases needs the choice. --scenario cms: none
// unless named, and only databases on the Central Management store's SQL
// server (onCMSServer), the one its loss took: a name on another server
// is refused ("all": every one on that server, refused when there is
// none), as is --database when the set does not record the store's
// location.
func chooseDatabases(scenario string, items []PlanItem, pc *planCtx) (map[string]bool, error) {
	given := pc.opt.Databases
	if scenario != "sql" && scenario != "cms" {
		if len(given) > 0 {
			return nil, &PlanError{fmt.Sprintf("--database is for --scenario sql (or cms, with the Central Management store's server); --scenario %s restores no database: restore a lost one afterwards with --scenario sql --database NAME", scenario)}
		}
		return nil, nil
	}
	if scenario == "cms" && len(given) == 0 {
		// The Monitoring, Archiving and Persistent Chat databases may
		// be on SQL instances that survived: none unless named.
		pc.opt.Databases = nil
		return nil, nil
	}
	if scenario == "cms" && pc.info.ConfigStore == "" {
		return nil, &PlanError{fmt.Sprintf("--database %s: the set does not record the Central Management store's SQL server, so no database can be placed on the server --scenario cms rebuilds: restore a lost database with --scenario sql --database NAME", strings.Join(given, ", "))}
	}
	var dbs []PlanItem
	var names []string
	for _, it := range items {
		if dbName(it) != "" {
			dbs = append(dbs, it)
			names = append(names, dbName(it)+" on "+it.Meta["instance"])
		}
	}
	chosen := map[string]bool{}
	pc.opt.Databases = nil
	take := func(it PlanItem) {
		if !chosen[it.Name] {
			chosen[it.Name] = true
			pc.opt.Databases = append(pc.opt.Databases, it.Name)
		}
	}
	switch {
	case containsFold(given, "all"):
		if len(given) > 1 {
			return nil, &PlanError{"--database all names every database of the set: give it alone"}
		}
		for _, it := range dbs {
			// cms: the databases on the SQL server it rebuilds only.
			if scenario != "cms" || onCMSServer(it, pc.info) {
				take(it)
			}
		}
		if len(chosen) == 0 && scenario == "cms" {
			return nil, &PlanError{fmt.Sprintf("--database all: the set holds no database on the Central Management store's SQL server (%s), the one --scenario cms rebuilds (it has: %s); a database lost on another SQL server: --scenario sql --database NAME", cmsServerNames(pc.info), orNone(names))}
		}
	case len(given) > 0:
		for _, want := range given {
			want = strings.TrimSpace(want)
			var match []PlanItem
			var matchNames []string
			for _, it := range dbs {
				if strings.EqualFold(it.Name, want) {
					match, matchNames = []PlanItem{it}, nil
					break
				}
				if strings.EqualFold(dbName(it), want) {
					match = append(match, it)
					matchNames = append(matchNames, it.Name+" ("+dbName(it)+" on "+it.Meta["instance"]+")")
				}
			}
			if len(match) == 0 {
				return nil, &PlanError{fmt.Sprintf("--database %s: the set holds no backup of that database (it has: %s)", want, orNone(names))}
			}
			if len(match) > 1 {
				return nil, &PlanError{fmt.Sprintf("--database %s names databases on several SQL instances: give the item name of the one that was lost (%s)", want, strings.Join(matchNames, ", "))}
			}
			if scenario == "cms" && !onCMSServer(match[0], pc.info) {
				return nil, &PlanError{fmt.Sprintf("--database %s: %s is on %s, not on the Central Management store's SQL server (%s), which --scenario cms rebuilds; if that SQL server was lost too, restore it with --scenario sql --database %s", want, match[0].Name, whereIs(match[0], pc.info), cmsServerNames(pc.info), want)}
			}
			take(match[0])
		}
	case len(dbs) <= 1:
		for _, it := range dbs {
			take(it)
		}
	default:
		return nil, &PlanError{fmt.Sprintf("--scenario sql: the set holds several databases (%s): name the one that was lost with --database (LcsCDR, QoEMetrics, LcsLog, mgc, mgccomp, or the item name; repeatable), or --database all when all were lost; restoring over a database that survived replaces it with the backup, and importing Persistent Chat content adds it to the live store", strings.Join(names, ", "))}
	}
	return chosen, nil
}

// localSQLNames are the names a SQL instance on the computer itself may be
// written with (sqlcmd -S, lyncbackup's config): they name whatever
// computer the name is read on. The IPv6 loopback is written bare (::1\mon)
// or in brackets, as sqlcmd takes it with a port (tcp:[::1],1433).
var localSQLNames = []string{"localhost", ".", "(local)", "127.0.0.1", "::1", "[::1]"}

// isLocalSQLName reports whether host (a SQL location's server part) is
// one of localSQLNames.
func isLocalSQLName(host string) bool {
	return containsFold(localSQLNames, strings.TrimSpace(host))
}

// ThisComputer is the name of the computer lyncbackup runs on, as a
// backup records it (LyncInfo.Computer): "" when the system does not
// know it or names itself with a local name (localhost).
func ThisComputer() string {
	h := strings.TrimSpace(computerName())
	if isLocalSQLName(h) {
		return ""
	}
	return h
}

// localNameNote is the note of a plan step whose commands name the SQL
// location loc (sqlcmd -S, -DBInstance, -SqlServerFqdn) with a local name
// (localSQLNames): the set recorded it on the computer the backup ran on
// (info.Computer, lync.computer), but on whatever computer the plan is run
// on it names that one, not the server that was lost. The command is
// kept as the set recorded it; the note says where to run it, or what to
// put in the name's place. "" for any other name.
func localNameNote(loc string, info *LyncInfo) string {
	h, _ := splitInstance(sqlLocation(loc))
	h = strings.TrimSpace(h)
	if !isLocalSQLName(h) {
		return ""
	}
	where, on := ", which the set does not record (lync.computer)", "the SQL server that held the database"
	if c := strings.TrimSpace(info.Computer); c != "" && !isLocalSQLName(c) {
		where, on = ": "+c+" (lync.computer)", c
	}
	return fmt.Sprintf("%s is a local name, local to the computer the backup ran on%s. Run on another computer, %s names that computer instead: run this step on %s, or replace %s with its FQDN.", loc, where, h, on, h)
}

// localNameNotes are the localNameNote of each location in locs, once
// each.
func localNameNotes(info *LyncInfo, locs ...string) []string {
	var out []string
	for _, loc := range locs {
		if n := localNameNote(loc, info); n != "" && !containsFold(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// sqlFormNotes say, for each location in locs written as sqlcmd -S takes
// it (a protocol prefix or a port: tcp:sql01.contoso.com\mon,1433), what
// -SqlServerFqdn and -SqlInstanceName get instead (sqlParams), once each.
func sqlFormNotes(locs ...string) []string {
	var out []string
	for _, loc := range locs {
		clean := sqlLocation(loc)
		if clean == strings.TrimSpace(loc) {
			continue
		}
		f, i := splitInstance(clean)
		what := "the server " + strings.TrimSpace(f) + ", default instance"
		if strings.TrimSpace(i) != "" {
			what = "the server " + strings.TrimSpace(f) + " and the instance " + strings.TrimSpace(i)
		}
		n := loc + " is written as sqlcmd -S takes it: -SqlServerFqdn and -SqlInstanceName take no protocol prefix (tcp:, np:, lpc:, admin:) and no port, so the command names " + what + "."
		if !containsFold(out, n) {
			out = append(out, n)
		}
	}
	return out
}

// sqlServer is the server of the SQL location loc ("host\instance"), lower
// case, as the plan compares servers: a local name (localSQLNames) is the
// computer the backup ran on (computer, LyncInfo.Computer), "" when the
// set does not record it.
func sqlServer(loc, computer string) string {
	h, _ := splitInstance(sqlLocation(loc))
	h = strings.TrimSpace(h)
	if isLocalSQLName(h) {
		h = strings.TrimSpace(computer)
		if isLocalSQLName(h) {
			h = ""
		}
	}
	return strings.ToLower(h)
}

// sqlLocation is loc ("host\instance" as sqlcmd -S takes it) without what
// only says how to connect: a protocol prefix (tcp:, np:, lpc:, admin:)
// and a port (",1433", after the host or the instance), so that
// tcp:sql01.contoso.com\mon,1433 is compared as sql01.contoso.com\mon.
func sqlLocation(loc string) string {
	loc = strings.TrimSpace(loc)
	if p, rest, ok := strings.Cut(loc, ":"); ok && containsFold([]string{"tcp", "np", "lpc", "admin"}, p) {
		loc = rest
	}
	if i := strings.LastIndex(loc, ","); i >= 0 && i+1 < len(loc) && strings.Trim(loc[i+1:], " 0123456789") == "" {
		loc = loc[:i]
	}
	return strings.TrimSpace(loc)
}

// sqlServerIs reports whether the SQL location loc ("fqdn\instance")
// is on server (an FQDN, or a first label when either has no dot); a
// local name on either side is the computer the backup ran on (sqlServer),
// and matches nothing when the set does not record that computer. The
// instance is not compared: --scenario cms rebuilds the whole server.
func sqlServerIs(loc, server, computer string) bool {
	h, server := sqlServer(loc, computer), sqlServer(server, computer)
	if h == "" || server == "" {
		return false
	}
	if h == server {
		return true
	}
	if !strings.Contains(h, ".") || !strings.Contains(server, ".") {
		return strings.SplitN(h, ".", 2)[0] == strings.SplitN(server, ".", 2)[0]
	}
	return false
}

// cmsServers are the SQL servers of the Central Management store, as
// discovery recorded it: its location's and its mirror's.
func cmsServers(info *LyncInfo) []string {
	var out []string
	for _, loc := range []string{info.ConfigStore, info.ConfigStoreMirror} {
		if h, _ := splitInstance(strings.TrimSpace(loc)); h != "" {
			out = append(out, h)
		}
	}
	return out
}

// cmsServerNames names them for a message ("sqlbe01.contoso.com, mirror
// sqlbe02.contoso.com").
func cmsServerNames(info *LyncInfo) string {
	l := cmsServers(info)
	if len(l) == 0 {
		return "not recorded"
	}
	if len(l) > 1 {
		return l[0] + ", mirror " + l[1]
	}
	return l[0]
}

// whereIs names the SQL location of a sql or persistentchat item for a
// message: a local name (localhost\rtc) with the computer it named, the
// one the backup ran on, or saying the set does not record that computer.
func whereIs(it PlanItem, info *LyncInfo) string {
	loc := it.Meta["instance"]
	h, _ := splitInstance(sqlLocation(loc))
	if !isLocalSQLName(h) {
		return loc
	}
	if c := sqlServer(loc, info.Computer); c != "" {
		return loc + " (the computer the backup ran on, " + info.Computer + ")"
	}
	return loc + " (a local name of the computer the backup ran on, which the set does not record)"
}

// onCMSServer reports whether a sql or persistentchat item's database is
// on a SQL server of the Central Management store (its own or its
// mirror's): the server --scenario cms rebuilds. A database elsewhere
// survived the loss of that server.
func onCMSServer(it PlanItem, info *LyncInfo) bool {
	for _, sv := range cmsServers(info) {
		if sqlServerIs(it.Meta["instance"], sv, info.Computer) {
			return true
		}
	}
	return false
}

// checkRgsTo refuses a --rgs-to the plan would ignore or that is one of
// the pools whose back end was lost.
func checkRgsTo(scenario string, items []PlanItem, pc *planCtx) error {
	given := strings.TrimSpace(pc.opt.RgsTo)
	to := given
	// The plan writes -Destination "ApplicationServer:<pool>": a service
	// identity given (as Get-CsService shows it) names the same pool.
	for _, pre := range []string{"service:", "ApplicationServer:"} {
		if len(to) >= len(pre) && strings.EqualFold(to[:len(pre)], pre) {
			to = to[len(pre):]
		}
	}
	pc.opt.RgsTo = to
	if given == "" {
		return nil
	}
	if to == "" {
		return &PlanError{fmt.Sprintf("--rgs-to %s names no pool: give the FQDN of the pool that survived", given)}
	}
	switch scenario {
	case "cms", "standard", "pool":
	default:
		return &PlanError{fmt.Sprintf("--rgs-to is for --scenario cms, standard or pool (the ones that import Response Groups); --scenario %s imports none", scenario)}
	}
	if containsFold(pc.opt.Pools, to) {
		return &PlanError{fmt.Sprintf("--rgs-to %s: that pool's back end was lost (--pool); its Response Groups go back into it without --rgs-to, which names a pool that survived", to)}
	}
	var rgs []string
	imports := false
	for _, it := range items {
		if it.Kind == "rgs" {
			imports = imports || inScenario(pc, it)
			if !containsFold(rgs, it.Meta["pool"]) {
				rgs = append(rgs, it.Meta["pool"])
			}
		}
	}
	if len(rgs) == 0 {
		return &PlanError{fmt.Sprintf("--rgs-to %s: the set holds no Response Groups to import", to)}
	}
	if !imports {
		return &PlanError{fmt.Sprintf("--rgs-to %s: the plan imports no Response Groups: the set holds those of %s, and the pool(s) this plan restores are %s", to, strings.Join(rgs, ", "), orNone(pc.opt.Pools))}
	}
	// A pool that runs Response Groups, as the set's discovery recorded
	// them (rgs_pools; Lync Server 2010 pools are left out there, which
	// Import-CsRgsConfiguration does not support); for a set that
	// recorded none: the pools it records or holds data of.
	var known, survived []string
	for _, p := range pc.info.RgsPools {
		known = append(known, p.Fqdn)
	}
	if len(known) == 0 {
		for _, p := range pc.info.Pools {
			known = append(known, p.Fqdn)
		}
		known = append(known, PlanPools(items)...)
	}
	for _, p := range known {
		if !containsFold(pc.opt.Pools, p) && !containsFold(survived, p) {
			survived = append(survived, p)
		}
	}
	if !containsFold(survived, to) {
		return &PlanError{fmt.Sprintf("--rgs-to %s: not a pool that survived and runs Response Groups, as the set records them (%s)", to, orNone(survived))}
	}
	if err := checkPSValue("--rgs-to pool", to); err != nil {
		return &PlanError{err.Error()}
	}
	return nil
}

// fileStoreIs reports whether --filestore want names the file store item:
// its share (\\server\share, either slash, any case), its file server
// (the share's server, or the file store service's FQDN from discovery,
// as an FQDN, its first label or the service identity FileStore:FQDN), or
// the item's name.
func fileStoreIs(it PlanItem, want string, info *LyncInfo) bool {
	norm := func(s string) string {
		return strings.ToLower(strings.TrimRight(strings.ReplaceAll(strings.TrimSpace(s), "/", `\`), `\`))
	}
	store := it.Meta["store"]
	w := norm(want)
	if w == "" {
		return false
	}
	if w == norm(store) || strings.EqualFold(want, it.Name) {
		return true
	}
	w = strings.TrimPrefix(w, "filestore:")
	servers := []string{uncServer(store)}
	for _, fs := range info.FileStores {
		if norm(fs.UncPath) == norm(store) && fs.Fqdn != "" {
			servers = append(servers, fs.Fqdn)
		}
	}
	for _, sv := range servers {
		sv = strings.ToLower(sv)
		if sv == "" {
			continue
		}
		if w == sv || (!strings.Contains(w, ".") && strings.SplitN(sv, ".", 2)[0] == w) {
			return true
		}
	}
	return false
}

// uncServer is the server of \\server\share ("" for a local path).
func uncServer(unc string) string {
	p := strings.ReplaceAll(unc, "/", `\`)
	if !strings.HasPrefix(p, `\\`) {
		return ""
	}
	p = strings.TrimPrefix(p, `\\`)
	if i := strings.Index(p, `\`); i >= 0 {
		p = p[:i]
	}
	return p
}

func orNone(l []string) string {
	if len(l) == 0 {
		return "none"
	}
	return strings.Join(l, ", ")
}

// inScenario reports whether an item's restore belongs to the loss.
func inScenario(pc *planCtx, it PlanItem) bool {
	switch pc.opt.Scenario {
	case "cms":
		// The back end(s) lost with the CMS: only their pools' data.
		switch it.Kind {
		case "userdata", "rgs":
			return containsFold(pc.opt.Pools, it.Meta["pool"])
		case "filestore":
			// Only the file stores chosen (chooseFileStores).
			return pc.stores[it.Name]
		case "sql", "persistentchat":
			// Only the databases named with --database, on the Central
			// Management store's SQL server (chooseDatabases): on their
			// own SQL servers the loss of the Central Management store
			// does not take them, and importing into one that survived
			// adds the backup's data to the live one; on the lost
			// server's SQL instance they are gone with it.
			return pc.dbs[it.Name]
		}
		return true
	case "filestore":
		return it.Kind == "filestore" && pc.stores[it.Name]
	case "sql":
		return (it.Kind == "sql" || it.Kind == "persistentchat") && pc.dbs[it.Name]
	case "frontend":
		// The back end survived and holds the pool's user data and
		// Response Groups as they are now: importing the backup over
		// it would lose what changed since. No item is restored.
		return false
	case "standard", "pool":
		switch it.Kind {
		case "userdata", "rgs":
			return containsFold(pc.opt.Pools, it.Meta["pool"])
		case "filestore":
			// A Standard Edition server's own file store.
			if pc.opt.Scenario != "standard" {
				return false
			}
			host := strings.TrimPrefix(it.Meta["store"], `\\`)
			if i := strings.IndexAny(host, `\/`); i >= 0 {
				host = host[:i]
			}
			return containsFold(pc.opt.Pools, host)
		}
	}
	return false
}

// clusterPathsNote: Install-CsDatabase without -DatabasePaths or
// -UseDefaultSqlPaths chooses the folders itself, which "works with a
// stand-alone SQL Server, it will not work with a SQL Server cluster"
// (Microsoft, Install-CsDatabase reference).
const clusterPathsNote = "Back end on a SQL Server failover cluster? Add -UseDefaultSqlPaths (the instance's default data and log folders) or -DatabasePaths to Install-CsDatabase: without either it chooses the folders itself, which works on a stand-alone SQL Server only."

// prepareStep is Microsoft's first step: the server as it was.
func prepareStep() Step {
	return Step{Phase: 1, Title: "Prepare the server (not in this backup)", Notes: []string{
		"Same FQDN, same domain, same DNS records and the same file store paths as before.",
		"Certificates restored (exported with private keys) or re-enrolled from your CA.",
		"Not backed up by lyncbackup, restore them first: AD DS, the CA and certificates, DNS, DHCP, PSTN gateway configuration, load balancer, firewall and IIS settings, Exchange (unified contact store).",
	}}
}

func deploymentWizardStep(where string) Step {
	return Step{Phase: 8, Title: "Deployment Wizard steps 1-4 on " + where, Notes: []string{
		"Install Local Configuration Store, Setup or Remove Components, Request/Install or Assign Certificates, Start Services.",
	}}
}

// scenarioSteps are the steps of the procedure that no item brings.
func scenarioSteps(pc *planCtx, has map[string]bool, items []PlanItem) []Step {
	info := pc.info
	switch pc.opt.Scenario {
	case "cms":
		loc := info.ConfigStore
		if loc == "" {
			loc = `<SQL server FQDN>\<instance>`
		}
		set := "Set-CsConfigurationStoreLocation " + sqlParams("", loc)
		if info.ConfigStoreMirror != "" {
			set += " " + sqlParams("Mirror", info.ConfigStoreMirror)
		}
		set += " -Force"
		install := Step{Phase: 4, Title: "Create the Central Management store database", Commands: []string{
			"Install-CsDatabase -CentralManagementDatabase -Clean " + sqlParams("", loc) + " -Force",
		}, Notes: append(append(localNameNotes(info, info.ConfigStore), sqlFormNotes(info.ConfigStore)...), "Run it yourself: -Clean recreates the database.", clusterPathsNote)}
		if info.ConfigStore == "" {
			install.Notes = append(install.Notes, "The set does not record the Central Management store's SQL location: fill in the server and instance (leave -SqlInstanceName out for a default instance).")
		}
		var mirrored []Step
		point := Step{Phase: 5, Title: "Point the deployment at it", Commands: []string{set}, Notes: append(localNameNotes(info, info.ConfigStore, info.ConfigStoreMirror), sqlFormNotes(info.ConfigStore, info.ConfigStoreMirror)...)}
		if info.ConfigStoreMirror != "" {
			point.Notes = append(point.Notes, "The store was mirrored on "+info.ConfigStoreMirror+": re-create the mirror database (Install-CsMirrorDatabase, or publish the topology) before relying on it.")
			// Microsoft, "Restoring the server hosting the Central
			// Management store" (Lync Server 2013, Hh202172): with a
			// mirror that still works, back it up and restore the
			// primary and the mirror from that backup, not an older one.
			mirrored = []Step{{Phase: 1, Title: "The Central Management store was mirrored on " + info.ConfigStoreMirror + ": does the mirror still work?", Notes: []string{
				"If it does, do not restore from this set: back up the mirror first (run a backup now, while it answers) and follow this procedure with that newer backup, onto the primary and the mirror. The restore needs the topology published, which only a working primary allows, so the mirror cannot simply take over.",
				"This set brings back the configuration as it was when the set was made: the changes made since would be lost. Use it only when the mirror was lost too.",
			}}}
		}
		steps := append([]Step{prepareStep()}, mirrored...)
		steps = append(steps,
			Step{Phase: 3, Title: "SQL Server with the same instance names (not in this backup)", Notes: []string{
				"Enterprise Edition: install the back-end SQL Server with the instance names of the topology.",
				"Standard Edition: run \"Prepare first Standard Edition server\" in the Deployment Wizard (it installs the local RTC instance).",
			}},
			install, point,
			Step{Phase: 7, Title: "(Enterprise Edition) create the other databases", Notes: []string{
				"Publish the topology in Topology Builder, or Install-CsDatabase -ConfiguredDatabases -SqlServerFqdn <back end FQDN> for each back end.",
			}},
			// Microsoft (Hh202172, step 11): the Deployment Wizard runs
			// on a Standard Edition server restored; an Enterprise back
			// end is a SQL Server with no Lync Server role, and the
			// pool's front ends survived.
			deploymentWizardStep("the Standard Edition server restored (Enterprise Edition: none, the back end holds no Lync Server role; only a front end that was rebuilt too)"),
		)
		var kept, dbs []string
		for _, it := range items {
			switch {
			case it.Kind == "filestore" && !pc.stores[it.Name]:
				kept = append(kept, it.Meta["store"])
			case (it.Kind == "sql" || it.Kind == "persistentchat") && !pc.dbs[it.Name]:
				dbs = append(dbs, it.Name)
			}
		}
		if len(kept) > 0 {
			steps = append(steps, Step{Phase: 2, Title: "File stores not copied back: " + strings.Join(kept, ", "), Notes: []string{
				"Microsoft's procedure copies the file store back for a Standard Edition server only (its own share, on the server lost); these were not chosen: a file store on a server that survived keeps its files as they are now, and copying the backup over it brings back files deleted since.",
				"Lost too? Add --filestore with its share or file server (repeatable; --filestore all for every one), or restore it afterwards with --scenario filestore.",
			}})
		}
		if len(dbs) > 0 {
			notes := []string{"The Monitoring, Archiving and Persistent Chat databases may be on SQL instances the loss of the Central Management store left as they are: importing the backup into a live one adds old data to it (Import-CsPersistentChatData) or replaces it (RESTORE), so none is restored unless named."}
			var on, off []string
			for _, it := range items {
				if containsFold(dbs, it.Name) {
					if onCMSServer(it, info) {
						on = append(on, it.Name)
					} else {
						off = append(off, it.Name+" ("+it.Meta["instance"]+")")
					}
				}
			}
			switch {
			case info.ConfigStore == "":
				notes = append(notes, "The set does not record the Central Management store's SQL server: restore a lost one afterwards with --scenario sql --database NAME (the lost ones only).")
			default:
				if len(on) > 0 {
					notes = append(notes, "On the Central Management store's SQL server ("+cmsServerNames(info)+"): "+strings.Join(on, ", ")+". Lost with it? Add --database NAME to this plan (the lost ones only; repeatable), or --database all for every database on that server.")
				}
				if len(off) > 0 {
					notes = append(notes, "On other SQL servers, which this plan does not rebuild: "+strings.Join(off, ", ")+". Lost too? Restore them afterwards with --scenario sql --database NAME (the lost ones only).")
				}
			}
			steps = append(steps, Step{Phase: 12, Title: "Databases not restored: " + strings.Join(dbs, ", "), Notes: notes})
		}
		steps = append(steps, chatDatabaseSteps(pc, items)...)
		if !has["csconfig"] {
			steps = append(steps, Step{Phase: 6, Title: "Import the configuration (NOT IN THIS SET)", Notes: []string{
				"This set holds no CsConfiguration export: use another set's, then Import-CsConfiguration -FileName <zip> -Force and Enable-CsTopology.",
			}})
		}
		return steps
	case "standard":
		// Microsoft, "Restoring a Standard Edition server" (Lync Server
		// 2013, Hh202190): download the topology and save it, then the
		// Deployment Wizard; nothing is published. The server's
		// databases are collocated, which the Deployment Wizard creates
		// (Topology Builder's Create databases page lists stand-alone
		// databases only: "Restoring the server hosting the Central
		// Management store", Hh202172).
		steps := []Step{prepareStep(),
			{Phase: 3, Title: "Download the topology (no Central Management store steps)", Notes: []string{
				"Do not import any configuration and do not publish the topology: the Central Management store survived and holds it, unchanged.",
				"Install the administrative tools, then in Topology Builder: Download Topology from existing deployment, select the topology and Save it.",
				"The databases of " + strings.Join(pc.opt.Pools, ", ") + " (in its local RTC instance) are collocated: the Deployment Wizard steps below install the instance and create them empty, and the imports after them fill them.",
			}},
			deploymentWizardStep(strings.Join(pc.opt.Pools, ", ")),
		}
		if has["filestore"] {
			// Microsoft, "Restoring a file store" (Hh202180): the ACLs of
			// a file store copied back are set with Enable-CsTopology,
			// needed "only if you have not otherwise run Topology Builder
			// during your restoration process"; here Topology Builder
			// only downloads and saves the topology (Hh202190), and the
			// plan cannot tell what else the admin ran, so it sets them.
			steps = append(steps, Step{Phase: 6, Title: "Reset the file store permissions", Run: true, Commands: []string{"Enable-CsTopology"},
				Notes: []string{"Enable-CsTopology sets the permissions the services need on the file store copied back (and on every file store of the topology); it publishes nothing. Microsoft's \"Restoring a file store\" runs it unless Topology Builder already set them during the restore."}})
		}
		return steps
	case "pool":
		return []Step{
			{Phase: 3, Title: "Back end: recreate the pool's databases (no Central Management store steps)", Notes: []string{
				"Install SQL Server with the instance name the topology has, then publish the topology in Topology Builder or run Install-CsDatabase -ConfiguredDatabases -SqlServerFqdn <back end FQDN> (it installs every database the topology puts on that server; add -ForInstance <instance> to act on one named instance only).",
				clusterPathsNote,
				"Do not import any configuration: the Central Management store survived and holds the topology.",
				"Only the front end servers were lost, the back end survived? That is --scenario frontend: this plan's imports would replace the back end's current user data and Response Groups with the backup's.",
				// Microsoft, "Restoring an Enterprise Edition Back End
				// Server" (Lync Server 2013, Hh202163): for a back end
				// that is not mirrored, or whose primary and mirror both
				// failed.
				"A mirrored back end whose primary or mirror still works? This is not the procedure: the database that survived holds the user data and Response Groups as they are now, and this plan's imports would replace them with the backup's. Microsoft restores the lost side of the mirror instead (\"Restoring a mirrored Enterprise Edition Back End Server - primary\" or \"- mirror\"). This plan is for a back end that was not mirrored, or whose primary and mirror were both lost.",
			}},
			deploymentWizardStep("each front end of " + strings.Join(pc.opt.Pools, ", ") + " that was rebuilt too (same FQDN, certificates)"),
		}
	case "frontend":
		return frontEndSteps(pc, items)
	case "filestore":
		var steps []Step
		if has["filestore"] {
			steps = append(steps, Step{Phase: 6, Title: "Reset the file store permissions", Run: true, Commands: []string{"Enable-CsTopology"},
				Notes: []string{"Enable-CsTopology sets the permissions the services need on every file store of the topology."}})
		} else {
			steps = append(steps, Step{Phase: 13, Title: "No file store in this set", Notes: []string{"This set holds no filestore item: use a set made with the filestore exporter."}})
		}
		return steps
	case "sql":
		var steps []Step
		if !has["sql"] && !has["persistentchat"] {
			steps = append(steps, Step{Phase: 13, Title: "No database backup in this set", Notes: []string{"This set holds no sql or persistentchat item: add a sql exporter (databases: auto finds the Monitoring and Archiving databases)."}})
		}
		steps = append(steps, chatDatabaseSteps(pc, items)...)
		for _, st := range info.SQLStores {
			if len(st.Uncovered) > 0 {
				steps = append(steps, Step{Phase: 13, Title: "Not in this set: " + strings.Join(st.Uncovered, ", ") + " on " + st.Instance, Notes: []string{UncoveredNote(st)}})
			}
		}
		return steps
	}
	return nil
}

// chatDatabaseSteps: a lost Persistent Chat back end is restored into a
// Persistent Chat store that exists again: SQL Server with the instance
// name of the topology, then the databases created by Install-CsDatabase
// (what Topology Builder's Publish Topology does; Microsoft, "Restoring an
// Enterprise Edition Back End Server"), then the .bak restored over them
// or the export imported into them. Only for a set holding mgc (a SQL
// backup of it or a Persistent Chat export) or mgccomp.
func chatDatabaseSteps(pc *planCtx, items []PlanItem) []Step {
	type db struct{ kind, name, instance string }
	var dbs []db
	var instances []string
	hasComp := false
	for _, it := range items {
		if !inScenario(pc, it) {
			continue
		}
		var d db
		switch {
		case it.Kind == "persistentchat", it.Kind == "sql" && strings.EqualFold(it.Meta["db"], "mgc"):
			d = db{"PersistentChat", "mgc", it.Meta["instance"]}
		case it.Kind == "sql" && strings.EqualFold(it.Meta["db"], "mgccomp"):
			d = db{"PersistentChatCompliance", "mgccomp", it.Meta["instance"]}
			hasComp = true
		default:
			continue
		}
		if d.instance == "" {
			continue
		}
		// One database in one place, however the set spells its location
		// (a sql exporter's tcp:sqlpc01.contoso.com\pchat,1433, a
		// persistentchat item's sqlpc01.contoso.com\pchat).
		dup, seen := false, false
		for _, x := range dbs {
			same := strings.EqualFold(sqlLocation(x.instance), sqlLocation(d.instance))
			dup = dup || (x.kind == d.kind && same)
			seen = seen || same
		}
		if !dup {
			dbs = append(dbs, d)
		}
		if !seen {
			instances = append(instances, d.instance)
		}
	}
	if len(dbs) == 0 {
		return nil
	}
	var cmds, names []string
	for _, d := range dbs {
		// -DatabaseType takes -SqlInstanceName (ByDatabase); no -Clean:
		// an existing database is left as it is.
		cmds = append(cmds, "Install-CsDatabase -DatabaseType "+d.kind+" "+sqlParams("", d.instance)+" -UseDefaultSqlPaths -Force")
		names = append(names, d.name+" on "+d.instance)
	}
	notes := append(append(localNameNotes(pc.info, instances...), sqlFormNotes(instances...)...),
		"Creates each database the Persistent Chat restore goes into, empty, where it was lost: "+strings.Join(names, ", ")+". Without -Clean, Install-CsDatabase leaves a database that exists as it is.",
		"Publishing the topology in Topology Builder (Create databases page) creates them too; -UseDefaultSqlPaths puts their files in the instance's default data and log folders (the restore's WITH MOVE then puts them where they were).",
		"Then the restore: RESTORE DATABASE over it (a SQL backup) or Import-CsPersistentChatData into it (an export), as the steps below do.",
	)
	if !hasComp {
		notes = append(notes, "Persistent Chat compliance deployed, and its database (mgccomp) lost too? It holds only transient data, nothing to restore, but it must exist: Install-CsDatabase -DatabaseType PersistentChatCompliance -SqlServerFqdn <its SQL server> [-SqlInstanceName <instance>] -UseDefaultSqlPaths -Force.")
	}
	return []Step{
		{Phase: 3, Title: "SQL Server for the Persistent Chat databases (not in this backup)", Notes: []string{
			"On " + strings.Join(instances, ", ") + ": SQL Server installed with the same server name and instance name as before (the topology's Persistent Chat store), with the permissions and logins of the original install; the databases are restored into it.",
		}},
		{Phase: 11, Title: "Create the Persistent Chat databases", Run: true, Commands: cmds, Notes: notes,
			OnFailure: "Check that SQL Server runs on " + strings.Join(instances, ", ") + " with the instance name the topology has, and that this account may create databases there (RTCUniversalServerAdmins, sysadmin on the instance)."},
	}
}

// frontEndSteps: Microsoft's "Restoring an Enterprise Edition member
// server" for the front ends of the pool(s) whose back end survived: the
// servers rebuilt as they were, the Deployment Wizard, the pool started
// again; nothing imported (the back end holds the data as it is now).
func frontEndSteps(pc *planCtx, items []PlanItem) []Step {
	steps := []Step{prepareStep(),
		{Phase: 3, Title: "No database, configuration or user data to restore", Notes: []string{
			"The back end of " + strings.Join(pc.opt.Pools, ", ") + " and the Central Management store survived: they hold the topology, the configuration, the user data and the Response Groups as they are now. Do not import any of them from this set (importing would lose what changed since the backup).",
			"A front end that stays out of service for days: remove it from the topology in Topology Builder (publish), and add it back once it is rebuilt.",
		}},
	}
	for _, pool := range pc.opt.Pools {
		computers, product := poolServers(pc, items, pool)
		where := "each front end of " + pool + " that was lost"
		if len(computers) > 0 {
			where += " (of " + strings.Join(computers, ", ") + ")"
		}
		steps = append(steps, deploymentWizardStep(where+", rebuilt with its FQDN and certificates"))
		start := Step{Phase: 9, Title: "Start the pool " + pool + " again", Commands: frontEndStart(product, pool, computers), Notes: []string{
			"When the whole pool was down, start its front ends together: a pool starts once enough of its servers run (85% of them, e.g. 3 of 3, 4 of 5); with fewer, Reset-CsPoolRegistrarState -PoolFqdn " + PSQuote(pool) + " -ResetType QuorumLossRecovery lets it start (Microsoft, \"Front End Pool high availability and management\").",
			"When the topology was changed (a server removed and added back) while the whole pool was down: Reset-CsPoolRegistrarState -PoolFqdn " + PSQuote(pool) + " -ResetType ServiceReset after publishing it.",
			"When only some front ends were lost, the others still run: start the services of the rebuilt ones (Start-CsWindowsService on each) instead.",
		}}
		steps = append(steps, start)
	}
	return steps
}

// poolServers are the front ends of a pool (from its user data item, else
// discovery) and its product.
func poolServers(pc *planCtx, items []PlanItem, pool string) ([]string, string) {
	for _, it := range items {
		if it.Kind == "userdata" && strings.EqualFold(it.Meta["pool"], pool) {
			var computers []string
			for _, c := range strings.Split(it.Meta["computers"], ",") {
				if c = strings.TrimSpace(c); c != "" {
					computers = append(computers, c)
				}
			}
			if len(computers) > 0 {
				return computers, itemProduct(it, pc)
			}
		}
	}
	for _, p := range pc.info.Pools {
		if strings.EqualFold(p.Fqdn, pool) {
			return p.Computers, pc.info.Product
		}
	}
	return nil, pc.info.Product
}

// Write prints the plan as text.
func (p Plan) Write(w io.Writer) error {
	var b strings.Builder
	prod := p.Lync.ProductName
	if prod == "" {
		prod = "product not recorded"
	}
	fmt.Fprintf(&b, "Restore plan for %s/%s (%s)\n", p.Host, p.SetID, prod)
	if sc, ok := ScenarioByID(p.Scenario); ok {
		fmt.Fprintf(&b, "Lost: %s.\nMicrosoft's procedure: %q.\n", sc.Title, sc.Procedure)
	}
	fmt.Fprintf(&b, "Files restored under %s (each item in its own folder).\n", p.Dir)
	fmt.Fprintf(&b, "Run in the Lync / Skype for Business Server Management Shell, in this order. [run] steps are\n")
	fmt.Fprintf(&b, "what `restore --run-imports` runs for you; [manual] steps are yours.\n")
	if p.Lync.Error != "" {
		fmt.Fprintf(&b, "Discovery at backup time failed: %s\n", p.Lync.Error)
	}
	for _, n := range p.Lync.Notes {
		fmt.Fprintf(&b, "Note from the backup: %s\n", n)
	}
	for i, s := range p.Steps {
		tag := "manual"
		if s.Run {
			tag = "run"
		}
		fmt.Fprintf(&b, "\n%2d. [%s] %s\n", i+1, tag, s.Title)
		for _, c := range s.Commands {
			fmt.Fprintf(&b, "      %s\n", c)
		}
		for _, n := range s.Notes {
			fmt.Fprintf(&b, "      # %s\n", n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func init() {
	restorers["path"] = func(it PlanItem, pc *planCtx) []Step {
		dir := pc.dir
		var notes []string
		keys := make([]string, 0, len(it.Meta))
		for k := range it.Meta {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if strings.HasPrefix(k, "path.") {
				notes = append(notes, "was "+it.Meta[k])
			}
		}
		notes = append(notes, "Copy the files back from "+filepath.Join(dir, it.Name)+" where you need them.")
		return []Step{{Phase: 13, Title: fmt.Sprintf("Files of %s", it.Name), Notes: notes}}
	}
}
