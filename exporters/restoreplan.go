package exporters

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"sort"
	"strings"
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
	// OnFailure says what to do when the step fails.
	OnFailure string `json:"on_failure,omitempty"`
}

// Plan is the whole restore plan of a set.
type Plan struct {
	Host, SetID string
	Dir         string // restore folder (items under Dir/<item>/)
	Lync        LyncInfo
	Steps       []Step
}

// restorers map an item kind to the steps that bring it back.
var restorers = map[string]func(it PlanItem, dir string, info *LyncInfo) []Step{}

// itemFile is where an item's file lands under the restore folder.
func itemFile(dir string, it PlanItem, name string) string {
	return filepath.Join(dir, it.Name, name)
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

// BuildPlan returns the restore plan for a set's items restored under dir.
func BuildPlan(host, setID string, disc map[string]any, items []PlanItem, dir string) Plan {
	info := LyncInfoFrom(disc)
	p := Plan{Host: host, SetID: setID, Dir: dir, Lync: info}
	has := map[string]bool{}
	for _, it := range items {
		has[it.Kind] = true
	}
	sqlFqdn, sqlInst := "<SQL server FQDN>", "<instance>"
	if cs := info.ConfigStore; cs != "" {
		sqlFqdn, sqlInst = cs, "<default instance: leave -SqlInstanceName out>"
		if i := strings.Index(cs, `\`); i >= 0 {
			sqlFqdn, sqlInst = cs[:i], cs[i+1:]
		}
	}
	steps := []Step{
		{Phase: 1, Title: "Prepare the server (not in this backup)", Notes: []string{
			"Same FQDN, same domain, same DNS records and the same file store paths as before.",
			"Certificates restored (exported with private keys) or re-enrolled from your CA.",
			"Not backed up by lyncbackup, restore them first: AD DS, the CA and certificates, DNS, DHCP, PSTN gateway configuration, load balancer, firewall and IIS settings, Exchange (unified contact store).",
		}},
		{Phase: 3, Title: "SQL Server with the same instance names (not in this backup)", Notes: []string{
			"Enterprise Edition: install the back-end SQL Server with the instance names of the topology.",
			"Standard Edition: run \"Prepare first Standard Edition server\" in the Deployment Wizard (it installs the local RTC instance).",
		}},
		{Phase: 4, Title: "Create the Central Management Store database", Commands: []string{
			"Install-CsDatabase -CentralManagementDatabase -Clean -SqlServerFqdn " + PSQuote(sqlFqdn) + " -SqlInstanceName " + PSQuote(sqlInst),
		}, Notes: []string{"Run it yourself: -Clean recreates the database."}},
		{Phase: 5, Title: "Point the deployment at it", Commands: []string{
			"Set-CsConfigurationStoreLocation -SqlServerFqdn " + PSQuote(sqlFqdn) + " -SqlInstanceName " + PSQuote(sqlInst),
		}},
		{Phase: 7, Title: "(Enterprise Edition) create the other databases", Notes: []string{
			"Publish the topology in Topology Builder, or Install-CsDatabase -ConfiguredDatabases -SqlServerFqdn <FQDN> for each back end.",
		}},
		{Phase: 8, Title: "Deployment Wizard steps 1-4 on every server", Notes: []string{
			"Install Local Configuration Store, Setup or Remove Components, Request/Install or Assign Certificates, Start Services.",
		}},
	}
	if info.ConfigStore == "" {
		steps[2].Notes = append(steps[2].Notes, "The set does not record the Central Management Store's SQL location: fill in the server and instance.")
	}
	if !has["csconfig"] {
		steps = append(steps, Step{Phase: 6, Title: "Import the configuration (NOT IN THIS SET)", Notes: []string{
			"This set holds no CsConfiguration export: use another set's, then Import-CsConfiguration -FileName <zip> and Enable-CsTopology.",
		}})
	}
	for _, it := range items {
		if r := restorers[it.Kind]; r != nil {
			steps = append(steps, r(it, dir, &info)...)
		} else {
			steps = append(steps, Step{Phase: 13, Title: fmt.Sprintf("Item %s (%s)", it.Name, it.Kind), Notes: []string{"Restored under " + filepath.Join(dir, it.Name) + "; bring it back by hand."}})
		}
	}
	sort.SliceStable(steps, func(i, j int) bool { return steps[i].Phase < steps[j].Phase })
	p.Steps = steps
	return p
}

// Write prints the plan as text.
func (p Plan) Write(w io.Writer) error {
	var b strings.Builder
	prod := p.Lync.ProductName
	if prod == "" {
		prod = "product not recorded"
	}
	fmt.Fprintf(&b, "Restore plan for %s/%s (%s)\n", p.Host, p.SetID, prod)
	fmt.Fprintf(&b, "Files restored under %s (each item in its own folder).\n", p.Dir)
	fmt.Fprintf(&b, "Run in the Lync / Skype for Business Server Management Shell, in this order. [run] steps are\n")
	fmt.Fprintf(&b, "what `restore --run-imports` runs for you; [manual] steps are yours.\n")
	if p.Lync.Error != "" {
		fmt.Fprintf(&b, "Discovery at backup time failed: %s\n", p.Lync.Error)
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
	restorers["path"] = func(it PlanItem, dir string, _ *LyncInfo) []Step {
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
