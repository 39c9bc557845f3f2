package exporters

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/internal/stubbin"
)

// runPlanFixture is a plan of a manual step, a step that needs a restored
// file and one that fails in the PowerShell stand-in, with a run over it
// whose answers are given in turn.
func runPlanFixture(t *testing.T, answers ...string) (*PlanRun, *strings.Builder, string) {
	t.Helper()
	newHarness(t, "2015", fixture{Fail: map[string]string{"Boom-CsStep": "the pool is not ready."}})
	prod, _ := ProductByID("2015")
	dir := t.TempDir()
	file := filepath.Join(dir, "conf", "CsConfig.zip")
	p := Plan{Host: "fe01", SetID: "id", Dir: dir, Steps: []Step{
		{Title: "Rebuild the server", Commands: []string{"Install-CsDatabase -CentralManagementDatabase"}, Notes: []string{"by hand"}},
		{Title: "Import the configuration", Run: true, Commands: []string{"Write-Host 'imported'"}, Files: []string{file}},
		{Title: "Start the pool", Run: true, Commands: []string{"Boom-CsStep -PoolFqdn pool01"}, OnFailure: "Check the pool."},
	}}
	out := &strings.Builder{}
	r := &PlanRun{Plan: p, PS: PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}, StartAt: 1, Out: out,
		Resume:       func(n int) string { return "resume at " + strconv.Itoa(n) },
		RestoreFiles: func() string { return "restore the files" },
		Ask: func(prompt string) (string, error) {
			out.WriteString("? " + prompt + "\n")
			if len(answers) == 0 {
				return "", errors.New("no more answers")
			}
			a := answers[0]
			answers = answers[1:]
			return a, nil
		}}
	return r, out, file
}

func results(done []StepResult) string {
	var s []string
	for _, d := range done {
		s = append(s, strconv.Itoa(d.Step)+":"+d.Result)
	}
	return strings.Join(s, " ")
}

// TestPlanRun: the steps are shown, asked about and run in order; a
// missing restored file, a "quit" and a failed step each stop the run
// with the command that continues it; --start-at outside the plan is a
// PlanError.
func TestPlanRun(t *testing.T) {
	ctx := context.Background()

	t.Run("missing file", func(t *testing.T) {
		r, out, file := runPlanFixture(t)
		r.Yes = true
		ran, err := r.Run(ctx)
		want := "step 2 (Import the configuration) needs " + file + ", which is not there: restore the set first (restore the files), then: resume at 2"
		if err == nil || err.Error() != want || ran != 0 {
			t.Fatalf("ran %d, %v\nwant %s", ran, err, want)
		}
		if got := results(r.Done); got != "1:manual" {
			t.Errorf("done %s", got)
		}
		if want := "step 1 [manual] Rebuild the server\n      Install-CsDatabase -CentralManagementDatabase\n      # by hand\n"; out.String() != want {
			t.Errorf("output:\n%s\nwant:\n%s", out, want)
		}
	})

	t.Run("failed step", func(t *testing.T) {
		r, out, file := runPlanFixture(t)
		os.MkdirAll(filepath.Dir(file), 0o755)
		os.WriteFile(file, []byte("x"), 0o644)
		r.Yes = true
		ran, err := r.Run(ctx)
		if err == nil || ran != 1 || !strings.HasPrefix(err.Error(), "restore stopped at step 3 (Start the pool): ") ||
			!strings.Contains(err.Error(), "failed (exit 1): Boom-CsStep: the pool is not ready") ||
			!strings.HasSuffix(err.Error(), ". Check the pool. Fix the cause, then continue with: resume at 3") {
			t.Fatalf("ran %d, %v", ran, err)
		}
		if got := results(r.Done); got != "1:manual 2:done" {
			t.Errorf("done %s", got)
		}
		want := "step 1 [manual] Rebuild the server\n      Install-CsDatabase -CentralManagementDatabase\n      # by hand\n" +
			"step 2 [run] Import the configuration\n      Write-Host 'imported'\nstep 2 done\n" +
			"step 3 [run] Start the pool\n      Boom-CsStep -PoolFqdn pool01\n"
		if out.String() != want {
			t.Errorf("output:\n%s\nwant:\n%s", out, want)
		}
	})

	t.Run("asked", func(t *testing.T) {
		r, out, file := runPlanFixture(t, "y", "s", "q")
		os.MkdirAll(filepath.Dir(file), 0o755)
		os.WriteFile(file, []byte("x"), 0o644)
		ran, err := r.Run(ctx)
		if err == nil || ran != 0 || err.Error() != "stopped before step 3 (Start the pool); continue with: resume at 3" {
			t.Fatalf("ran %d, %v", ran, err)
		}
		if got := results(r.Done); got != "1:manual 2:skipped" {
			t.Errorf("done %s", got)
		}
		want := "step 1 [manual] Rebuild the server\n      Install-CsDatabase -CentralManagementDatabase\n      # by hand\n" +
			"? Step 1 is yours: done? [y]es / [q]uit: \n" +
			"step 2 [run] Import the configuration\n      Write-Host 'imported'\n" +
			"? Run step 2? [y]es / [s]kip / [q]uit: \nstep 2 skipped\n" +
			"step 3 [run] Start the pool\n      Boom-CsStep -PoolFqdn pool01\n" +
			"? Run step 3? [y]es / [s]kip / [q]uit: \n"
		if out.String() != want {
			t.Errorf("output:\n%s\nwant:\n%s", out, want)
		}
	})

	t.Run("manual step not done", func(t *testing.T) {
		r, _, _ := runPlanFixture(t, "")
		if _, err := r.Run(ctx); err == nil || err.Error() != "stopped before step 1 (Rebuild the server); continue with: resume at 1" || len(r.Done) != 0 {
			t.Fatalf("%v, done %v", err, r.Done)
		}
	})

	t.Run("start at", func(t *testing.T) {
		r, out, _ := runPlanFixture(t)
		r.Yes, r.StartAt = true, 3
		if _, err := r.Run(ctx); err == nil || !strings.HasPrefix(err.Error(), "restore stopped at step 3") || strings.Contains(out.String(), "step 1") {
			t.Fatalf("%v\n%s", err, out)
		}
		for _, n := range []int{0, 4} {
			r, out, _ := runPlanFixture(t)
			r.StartAt = n
			var pe *PlanError
			if _, err := r.Run(ctx); !errors.As(err, &pe) || err.Error() != "--start-at "+strconv.Itoa(n)+": the plan has steps 1 to 3" || out.Len() != 0 {
				t.Errorf("--start-at %d: %v, output %q", n, err, out)
			}
		}
	})
}

// TestStandInErrorIsWhatTheHouseScriptPrints: the house script prints
// $_.Exception.Message led by $_.InvocationInfo.MyCommand.Name + ': ' when
// the error record names a command (a cmdlet's own error and its
// parameter binding errors do), and the message alone when it does not (a
// command that is not found). The console's "Cmdlet-Name : " and position
// lines never reach lyncbackup. So the stand-in's refusals read as a real
// run's do.
func TestStandInErrorIsWhatTheHouseScriptPrints(t *testing.T) {
	newHarness(t, "2015", fixture{})
	dir := t.TempDir()
	f := filepath.Join(dir, "x.zip")
	os.WriteFile(f, []byte("PK"), 0o644)
	q := PSQuote(f)
	for _, c := range []struct{ product, body, want string }{
		{"2015", "Import-CsLisConfiguration -FileName " + q + " -Force", "Import-CsLisConfiguration: A parameter cannot be found that matches parameter name 'Force'."},
		{"2015", "Import-CsConfiguration -FileName " + q, "Import-CsConfiguration: Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."},
		{"2015", "Import-CsPersistentChatData -DBInstance 'sql01' -FileName " + q, "Import-CsPersistentChatData: Windows PowerShell is in NonInteractive mode. Read and Prompt functionality is not available."},
		{"2013", "Import-CsUserData -PoolFqdn 'pool01.contoso.com' -FileName " + q + " -Force\nStart-CsPool -PoolFqdn 'pool01.contoso.com' -Force", "The term 'Start-CsPool' is not recognized as the name of a cmdlet, function, script file, or operable program. Check the spelling of the name, or if a path was included, verify that the path is correct and try again."},
		{"2015", "Install-CsDatabase -ConfiguredDatabases -SqlServerFqdn 'sql01' -SqlInstanceName 'rtc'", "Install-CsDatabase: Parameter set cannot be resolved using the specified named parameters."},
		{"2015", "Install-CsDatabase -DatabaseType PersistentChat", "Install-CsDatabase: Cannot process command because of one or more missing mandatory parameters: SqlServerFqdn."},
		{"2015", "Install-CsDatabase -DatabaseType PersistentChatStore -SqlServerFqdn 'sql01'", `Install-CsDatabase: Cannot bind parameter 'DatabaseType'. Cannot convert value "PersistentChatStore" to type "DatabaseNameType".`},
		{"2015", "Export-CsRgsConfiguration -Source 'ApplicationServer:pool02.contoso.com' -Owners 'pool01.contoso.com' -FileName " + PSQuote(filepath.Join(dir, "y.zip")), "Export-CsRgsConfiguration: A parameter cannot be found that matches parameter name 'Owners'."},
		{"2015", "Import-CsRgsConfiguration -Destination 'pool02.contoso.com' -FileName " + q, `Import-CsRgsConfiguration: Cannot bind parameter 'Destination': "pool02.contoso.com" is not a service identity.`},
	} {
		prod, _ := ProductByID(c.product)
		if c.product != "2015" {
			os.MkdirAll(filepath.Dir(prod.DefaultModulePath()), 0o755)
			os.WriteFile(prod.DefaultModulePath(), []byte("@{}"), 0o644)
		}
		ps := PowerShell{Exe: stubbin.PowerShell(t), Module: prod.DefaultModulePath()}
		_, err := ps.Run(context.Background(), "step 4", 0, c.body)
		if want := "step 4 failed (exit 1): " + c.want; err == nil || err.Error() != want {
			t.Errorf("%s\n got: %v\nwant: %s", c.body, err, want)
		}
	}
}

// TestImportsPowerShell: the program and module --run-imports runs the
// steps with: as given; else the config's lync.powershell, else
// powershell.exe; the module where the set's product installs it (or the
// config's lync.module), else the one recorded at backup, else an error
// that says to give --module.
func TestImportsPowerShell(t *testing.T) {
	common := t.TempDir()
	t.Setenv("CommonProgramFiles", common)
	p2015, _ := ProductByID("2015")
	recorded := `C:\Program Files\Common Files\Skype for Business Server 2015\Modules\SkypeForBusiness\SkypeForBusiness.psd1`
	info := LyncInfo{Product: "2015", Module: recorded}
	withPS := &config.Config{Lync: &config.Lync{PowerShell: `C:\pwsh\powershell.exe`}}
	withModule := &config.Config{Lync: &config.Lync{Module: `D:\SfB 2015\SkypeForBusiness.psd1`}}

	for _, c := range []struct {
		name             string
		exe, module      string
		cfg              *config.Config
		info             LyncInfo
		installed        bool
		wantExe, wantMod string
		wantErr          string
	}{
		{"as given", "ps.exe", "m.psd1", withPS, info, true, "ps.exe", "m.psd1", ""},
		{"no config, module recorded", "", "", nil, info, false, "powershell.exe", recorded, ""},
		{"config's program", "", "m.psd1", withPS, info, false, `C:\pwsh\powershell.exe`, "m.psd1", ""},
		{"config without lync", "", "", &config.Config{}, info, false, "powershell.exe", recorded, ""},
		{"installed here", "ps.exe", "", nil, info, true, "ps.exe", p2015.DefaultModulePath(), ""},
		{"config's module", "", "", withModule, info, true, "powershell.exe", `D:\SfB 2015\SkypeForBusiness.psd1`, ""},
		{"nothing recorded", "", "", nil, LyncInfo{Product: "2015"}, false, "", "",
			"cannot run the imports: the Skype for Business Server 2015 PowerShell module is not at " + p2015.DefaultModulePath() + " (set lync.module to its path) (give --module PATH)"},
	} {
		os.RemoveAll(filepath.Join(common, "Skype for Business Server 2015"))
		if c.installed {
			os.MkdirAll(filepath.Dir(p2015.DefaultModulePath()), 0o755)
			os.WriteFile(p2015.DefaultModulePath(), []byte("@{}"), 0o644)
		}
		ps, err := ImportsPowerShell(c.exe, c.module, c.cfg, c.info)
		if c.wantErr != "" {
			if err == nil || err.Error() != c.wantErr {
				t.Errorf("%s: %+v, %v\nwant the error %s", c.name, ps, err, c.wantErr)
			}
			continue
		}
		if err != nil || ps.Exe != c.wantExe || ps.Module != c.wantMod {
			t.Errorf("%s: %+v, %v\nwant exe %q, module %q", c.name, ps, err, c.wantExe, c.wantMod)
		}
	}
}

// TestPlanRunOnFailureOnlyForTheStepsOwnError: a step's OnFailure (what
// the step's own failure means, e.g. a Response Group name conflict) is
// added only when the step's PowerShell ran and exited non-zero: not when
// the run was interrupted (Ctrl-C) or PowerShell could not be started,
// where the step's advice would blame the wrong thing.
func TestPlanRunOnFailureOnlyForTheStepsOwnError(t *testing.T) {
	ctx := context.Background()

	t.Run("interrupted", func(t *testing.T) {
		r, _, file := runPlanFixture(t)
		os.MkdirAll(filepath.Dir(file), 0o755)
		os.WriteFile(file, []byte("x"), 0o644)
		// The step hangs (instead of failing) until the run is interrupted.
		os.WriteFile(filepath.Join(os.Getenv("PSSTUB_DIR"), "fixture.json"), []byte(`{"hang":["Boom-CsStep"]}`), 0o644)
		r.Yes, r.StartAt = true, 3
		cctx, cancel := context.WithCancel(ctx)
		defer cancel()
		time.AfterFunc(time.Second, cancel)
		_, err := r.Run(cctx)
		if err == nil || !strings.Contains(err.Error(), "step 3: interrupted") || strings.Contains(err.Error(), "Check the pool.") {
			t.Fatalf("interrupted step: %v", err)
		}
	})

	t.Run("not started", func(t *testing.T) {
		r, _, file := runPlanFixture(t)
		os.MkdirAll(filepath.Dir(file), 0o755)
		os.WriteFile(file, []byte("x"), 0o644)
		r.Yes, r.StartAt = true, 3
		r.PS.Exe = filepath.Join(t.TempDir(), "no-powershell.exe")
		_, err := r.Run(ctx)
		if err == nil || !strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), "Check the pool.") {
			t.Fatalf("PowerShell missing: %v", err)
		}
	})
}

// TestPlanRunIfUnfinishedHoweverTheStepEnded: what a step may have left
// (IfUnfinished: "the Front End services may still be stopped") follows
// the step however it ended once its PowerShell started: failed (before
// the OnFailure advice), interrupted (Ctrl-C) or timed out; the advice
// about the commands' own failure (OnFailure) follows only the failure.
// A PowerShell that did not start left nothing: neither.
func TestPlanRunIfUnfinishedHoweverTheStepEnded(t *testing.T) {
	const left = "The services may still be stopped: start them."
	setup := func(t *testing.T, fx string) *PlanRun {
		r, _, file := runPlanFixture(t)
		os.MkdirAll(filepath.Dir(file), 0o755)
		os.WriteFile(file, []byte("x"), 0o644)
		if fx != "" {
			os.WriteFile(filepath.Join(os.Getenv("PSSTUB_DIR"), "fixture.json"), []byte(fx), 0o644)
		}
		r.Plan.Steps[2].IfUnfinished = left
		r.Yes, r.StartAt = true, 3
		return r
	}
	const hang = `{"hang":["Boom-CsStep"]}`

	t.Run("failed", func(t *testing.T) {
		_, err := setup(t, "").Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "failed (exit 1)") || !strings.HasSuffix(err.Error(), ". "+left+" Check the pool. Fix the cause, then continue with: resume at 3") {
			t.Fatalf("failed step: %v", err)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		time.AfterFunc(time.Second, cancel)
		_, err := setup(t, hang).Run(ctx)
		if err == nil || !strings.Contains(err.Error(), "step 3: interrupted. "+left+" Fix the cause") || strings.Contains(err.Error(), "Check the pool.") {
			t.Fatalf("interrupted step: %v", err)
		}
	})
	t.Run("timed out", func(t *testing.T) {
		r := setup(t, hang)
		r.Timeout = time.Second
		_, err := r.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "step 3: timed out after 1s") || !strings.Contains(err.Error(), ". "+left+" Fix the cause") || strings.Contains(err.Error(), "Check the pool.") {
			t.Fatalf("timed-out step: %v", err)
		}
		// No setting raises a step's time: the advice says what to do.
		if strings.Contains(err.Error(), "exporter's timeout") || !strings.Contains(err.Error(), "stopped after 1s: if it needs longer, run its commands in PowerShell by hand") {
			t.Errorf("timed-out step's advice: %v", err)
		}
	})
	t.Run("not started", func(t *testing.T) {
		r := setup(t, "")
		r.PS.Exe = filepath.Join(t.TempDir(), "no-powershell.exe")
		_, err := r.Run(context.Background())
		if err == nil || !strings.Contains(err.Error(), "not found") || strings.Contains(err.Error(), left) || strings.Contains(err.Error(), "Check the pool.") {
			t.Fatalf("PowerShell missing: %v", err)
		}
	})
	t.Run("interrupted before it started", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := setup(t, hang).Run(ctx)
		if err == nil || !strings.Contains(err.Error(), "interrupted") || strings.Contains(err.Error(), left) {
			t.Fatalf("interrupted before the step's PowerShell started: %v", err)
		}
	})
}
