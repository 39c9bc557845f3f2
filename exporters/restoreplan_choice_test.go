package exporters

import (
	"errors"
	"strings"
	"testing"
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
