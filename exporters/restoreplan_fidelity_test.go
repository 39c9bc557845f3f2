package exporters

import (
	"strings"
	"testing"
)

// The rules below each rest on one of Microsoft's Lync Server 2013
// restore procedures (the Skype for Business Server 2015/2019 pages
// repeat them): the plan of a loss says what that procedure says.

// stepIndex is the index of the first step whose title holds s, -1 if none.
func stepIndex(p Plan, s string) int {
	for i, st := range p.Steps {
		if strings.Contains(st.Title, s) {
			return i
		}
	}
	return -1
}

func stepText(st Step) string {
	return st.Title + "\n" + strings.Join(st.Commands, "\n") + "\n" + strings.Join(st.Notes, "\n")
}

// TestPlanStandardSavesTheTopologyAndPublishesNothing: "Restoring a
// Standard Edition server" (Hh202190) downloads the topology and saves
// it, then runs the Deployment Wizard, which creates the server's
// collocated databases; it publishes nothing (Topology Builder's Create
// databases page lists stand-alone databases only, Hh202172).
func TestPlanStandardSavesTheTopologyAndPublishesNothing(t *testing.T) {
	_, items, disc := backupFor(t, "migration.json", "2015")
	p, text := planText(t, disc, items, PlanOptions{Scenario: "standard", Pools: []string{"pool02.contoso.com"}})
	i := stepIndex(p, "Download the topology")
	if i < 0 {
		t.Fatalf("no step downloads the topology:\n%s", text)
	}
	tb := stepText(p.Steps[i])
	for _, w := range []string{"Download Topology from existing deployment", "Save it", "do not publish the topology", "collocated: the Deployment Wizard steps below install the instance and create them"} {
		if !strings.Contains(tb, w) {
			t.Errorf("the topology step lacks %q:\n%s", w, tb)
		}
	}
	for _, st := range p.Steps {
		if strings.Contains(stepText(st), "Publish Topology") {
			t.Errorf("step %q tells to publish the topology:\n%s", st.Title, stepText(st))
		}
	}
	if dw := stepIndex(p, "Deployment Wizard steps 1-4"); dw < i {
		t.Errorf("the Deployment Wizard (step %d) comes before the topology is downloaded (step %d):\n%s", dw, i, text)
	}
}

// TestPlanStandardResetsTheCopiedFileStore: a Standard Edition server's
// own file store copied back gets its permissions from Enable-CsTopology
// (docs/lync-sfb.md, File store: copy back, then Enable-CsTopology), run
// after the copy; nothing else in that procedure sets them, since it
// publishes nothing. Without a file store copied back, no such step.
func TestPlanStandardResetsTheCopiedFileStore(t *testing.T) {
	_, items, disc := backupFor(t, "se.json", "2019")
	p, text := planText(t, disc, items, PlanOptions{Scenario: "standard"})
	cp, en := stepIndex(p, "Copy the file store back to \\\\se01.contoso.com\\LyncShare"), stepIndex(p, "Reset the file store permissions")
	if cp < 0 || en < 0 {
		t.Fatalf("want the copy (step %d) and the permissions reset (step %d):\n%s", cp, en, text)
	}
	if st := p.Steps[en]; en < cp || !st.Run || strings.Join(st.Commands, "\n") != "Enable-CsTopology" {
		t.Errorf("the reset must be Enable-CsTopology, run after the copy (copy %d, reset %d):\n%s", cp, en, text)
	}

	_, items, disc = backupFor(t, "migration.json", "2015")
	p, text = planText(t, disc, items, PlanOptions{Scenario: "standard", Pools: []string{"pool02.contoso.com"}})
	if stepIndex(p, "Reset the file store permissions") >= 0 {
		t.Errorf("no file store is copied back, yet the plan resets its permissions:\n%s", text)
	}
}
