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

// mustStep is the index and text of the first step whose title holds
// title; none stops the test (text: the whole plan, shown).
func mustStep(t *testing.T, p Plan, text, title string) (int, string) {
	t.Helper()
	i := stepIndex(p, title)
	if i < 0 {
		t.Fatalf("no step %q:\n%s", title, text)
	}
	return i, stepText(p.Steps[i])
}

// says checks that a step's text holds every one of words.
func says(t *testing.T, step, text string, words ...string) {
	t.Helper()
	for _, w := range words {
		if !strings.Contains(text, w) {
			t.Errorf("the %s step lacks %q:\n%s", step, w, text)
		}
	}
}

// TestPlanStandardSavesTheTopologyAndPublishesNothing: "Restoring a
// Standard Edition server" (Hh202190) downloads the topology and saves
// it, then runs the Deployment Wizard, which creates the server's
// collocated databases; it publishes nothing (Topology Builder's Create
// databases page lists stand-alone databases only, Hh202172).
func TestPlanStandardSavesTheTopologyAndPublishesNothing(t *testing.T) {
	_, items, disc := backupFor(t, "migration.json", "2015")
	p, text := planText(t, disc, items, PlanOptions{Scenario: "standard", Pools: []string{"pool02.contoso.com"}})
	i, tb := mustStep(t, p, text, "Download the topology")
	says(t, "topology", tb, "Download Topology from existing deployment", "Save it", "do not publish the topology", "collocated: the Deployment Wizard steps below install the instance and create them")
	for _, st := range p.Steps {
		if strings.Contains(stepText(st), "Publish Topology") {
			t.Errorf("step %q tells to publish the topology:\n%s", st.Title, stepText(st))
		}
	}
	if dw := stepIndex(p, "Deployment Wizard steps 1-4"); dw < i {
		t.Errorf("the Deployment Wizard (step %d) comes before the topology is downloaded (step %d):\n%s", dw, i, text)
	}
}

// TestPlanMirroredCMSAsksForTheMirrorFirst: "Restoring the server hosting
// the Central Management store" (Hh202172): when the store is mirrored and
// the mirror still works, back the mirror up and restore from that backup,
// not from an older one. The plan asks before the store is recreated
// (-Clean); a store that was not mirrored has no such step.
func TestPlanMirroredCMSAsksForTheMirrorFirst(t *testing.T) {
	_, items, disc := backupFor(t, "migration.json", "2015")
	p, text := planText(t, disc, items, PlanOptions{Scenario: "cms", Pools: []string{"all"}})
	m, note := mustStep(t, p, text, "The Central Management store was mirrored on sqlbe02.contoso.com")
	says(t, "mirror", note, "If it does, do not restore from this set: back up the mirror first", "Use it only when the mirror was lost too")
	if c := stepIndex(p, "Create the Central Management store database"); c < m {
		t.Errorf("the store is recreated (step %d) before the mirror is asked about (step %d):\n%s", c, m, text)
	}

	_, items, disc = backupFor(t, "se.json", "2019")
	p, text = planText(t, disc, items, PlanOptions{Scenario: "cms"})
	if stepIndex(p, "mirrored") >= 0 {
		t.Errorf("a store without a mirror gets a mirror step:\n%s", text)
	}
}

// TestPlanPoolIsForAnUnmirroredOrWhollyLostBackEnd: "Restoring an
// Enterprise Edition Back End Server" (Hh202163) is for a back end that is
// not mirrored or whose primary and mirror both failed; with one side
// still working, importing the set replaces current data.
func TestPlanPoolIsForAnUnmirroredOrWhollyLostBackEnd(t *testing.T) {
	_, items, disc := backupFor(t, "onepool.json", "2013")
	p, text := planText(t, disc, items, PlanOptions{Scenario: "pool"})
	_, be := mustStep(t, p, text, "Back end: recreate the pool's databases")
	says(t, "back end", be, "A mirrored back end whose primary or mirror still works? This is not the procedure", "a back end that was not mirrored, or whose primary and mirror were both lost")
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

// TestPlanInstallCsDatabaseOnAClusterNeedsPaths: Install-CsDatabase
// without -DatabasePaths or -UseDefaultSqlPaths picks the folders itself,
// which does not work on a SQL Server cluster (Install-CsDatabase
// reference): the steps that recreate a back end's databases say so.
func TestPlanInstallCsDatabaseOnAClusterNeedsPaths(t *testing.T) {
	_, items, disc := backupFor(t, "onepool.json", "2013")
	for _, c := range []struct{ scenario, step string }{{"cms", "Create the Central Management store database"}, {"pool", "Back end: recreate the pool's databases"}} {
		p, text := planText(t, disc, items, PlanOptions{Scenario: c.scenario})
		_, st := mustStep(t, p, text, c.step)
		says(t, c.scenario+" "+c.step, st, "SQL Server failover cluster? Add -UseDefaultSqlPaths")
	}
}

// TestPlanCMSDeploymentWizardOnTheRestoredServer: "Restoring the server
// hosting the Central Management store" (Hh202172, step 11) runs the
// Deployment Wizard on a Standard Edition server restored; an Enterprise
// back end runs no Lync Server role and its pool's front ends survived,
// so the plan does not send the admin to every server.
func TestPlanCMSDeploymentWizardOnTheRestoredServer(t *testing.T) {
	_, items, disc := backupFor(t, "onepool.json", "2013")
	p, text := planText(t, disc, items, PlanOptions{Scenario: "cms"})
	i, _ := mustStep(t, p, text, "Deployment Wizard steps 1-4")
	if title := p.Steps[i].Title; strings.Contains(title, "every server") || !strings.Contains(title, "the Standard Edition server restored (Enterprise Edition: none") {
		t.Errorf("the Deployment Wizard step is not for the restored Standard Edition server only: %q", title)
	}
}
