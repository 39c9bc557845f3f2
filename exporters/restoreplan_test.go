package exporters

import (
	"encoding/json"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"testing"
)

// planFor backs up a deployment with the stand-in and returns the plan
// built from what the manifest would hold (Discovery through JSON).
func planFor(t *testing.T, fixtureFile, product string) Plan {
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
		PlanItem{Name: "sql-sql01-LcsCDR", Kind: "sql", Meta: map[string]string{"instance": `sql01.contoso.com\mon`, "db": "LcsCDR", "file": "sql01.contoso.com_mon-LcsCDR.bak"}},
		PlanItem{Name: "voice", Kind: "command", Meta: map[string]string{"command": "powershell.exe"}},
		PlanItem{Name: "certs", Kind: "path", Meta: map[string]string{"path.0": `C:\certs`}},
	)
	sort.Slice(pitems, func(i, j int) bool { return pitems[i].Name < pitems[j].Name })
	return BuildPlan("fe01", "20261125T151203Z-a1b2c3", manifestDisc, pitems, "/restore")
}

func TestRestorePlanGolden(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("golden plans hold Unix paths")
	}
	for _, c := range []struct{ fixture, product string }{{"threepools.json", "2015"}, {"se.json", "2019"}, {"onepool.json", "2013"}} {
		t.Run(c.fixture, func(t *testing.T) {
			p := planFor(t, c.fixture, c.product)
			var b strings.Builder
			p.Write(&b)
			got := strings.ReplaceAll(b.String(), filepath.Dir(p.Lync.Module), "$MODULEDIR")
			checkGolden(t, filepath.Join("testdata", "plan", strings.TrimSuffix(c.fixture, ".json")+"-"+c.product+".txt"), got)
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
}

// TestRestorePlanWithoutDiscovery: a set made without Lync (or whose
// discovery failed) still gets a plan with placeholders.
func TestRestorePlanWithoutDiscovery(t *testing.T) {
	p := BuildPlan("h", "id", nil, []PlanItem{{Name: "files", Kind: "path"}, {Name: "x", Kind: "future-kind"}}, "/r")
	var b strings.Builder
	p.Write(&b)
	s := b.String()
	for _, want := range []string{"product not recorded", "-SqlServerFqdn '<SQL server FQDN>'", "NOT IN THIS SET", "Copy the files back from /r/files", "Item x (future-kind)"} {
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
