package exporters

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/internal/stubbin"
)

// TestFailedStepNamesTheCmdlet: "Import the user data" runs several
// cmdlets in one script (Stop-CsWindowsService on each server,
// Import-CsUserData, Start-CsPool); when one of them fails, the line the
// admin reads names it ("Import-CsUserData: ..."), not only the step: the
// house script prints $_.InvocationInfo.MyCommand.Name in front of the
// message (the stand-in prints it only when the script's catch does).
func TestFailedStepNamesTheCmdlet(t *testing.T) {
	newHarness(t, "2015", fixture{Fail: map[string]string{"Import-CsUserData": "Cannot open database \"rtcxds\" requested by the login."}})
	prod, _ := ProductByID("2015")
	dir := t.TempDir()
	items := []PlanItem{{Name: "userdata-pool01", Kind: "userdata", Meta: map[string]string{
		"pool": "pool01.contoso.com", "file": "u.zip", "computers": "fe01.contoso.com,fe02.contoso.com", "product": "2015"}}}
	p, err := BuildPlan("fe01", "id", nil, items, dir, PlanOptions{Scenario: "pool"})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, s := range p.Steps {
		if strings.HasPrefix(s.Title, "Import the user data") {
			n = i + 1
			for _, f := range s.Files {
				os.MkdirAll(filepath.Dir(f), 0o755)
				os.WriteFile(f, []byte("PK"), 0o644)
			}
			if cmds := strings.Join(s.Commands, "\n"); !strings.Contains(cmds, "Stop-CsWindowsService") || !strings.Contains(cmds, "Start-CsPool") {
				t.Fatalf("the step runs one cmdlet only:\n%s", cmds)
			}
		}
	}
	if n == 0 {
		t.Fatalf("no user data step in %+v", p.Steps)
	}
	r := &PlanRun{Plan: p, PS: PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}, StartAt: n, Yes: true, Out: &strings.Builder{},
		Resume:       func(n int) string { return "resume at " + strconv.Itoa(n) },
		RestoreFiles: func() string { return "restore the files" }}
	_, err = r.Run(context.Background())
	want := "step " + strconv.Itoa(n) + " failed (exit 1): Import-CsUserData: Cannot open database \"rtcxds\" requested by the login."
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Fatalf("got %v\nwant it to hold %s", err, want)
	}
}
