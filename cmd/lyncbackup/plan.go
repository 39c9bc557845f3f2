package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/shellquote"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"golang.org/x/term"
)

// restore --plan / --run-imports: the restore plan of a set, from its
// manifest alone (works with --from URL and no config).
func init() {
	registerRestoreFlags = func(fs *flag.FlagSet) func(ctx context.Context, a *app, set catalog.Set, to string) (bool, error) {
		plan := fs.Bool("plan", false, "print the restore plan (Microsoft's order, with the Import-* commands filled in) instead of restoring")
		run := fs.Bool("run-imports", false, "run the plan's Import-* steps (files already restored under --to), asking before each")
		yes := fs.Bool("yes", false, "with --run-imports: do not ask before each step")
		startAt := fs.Int("start-at", 1, "with --run-imports: begin at this step of the plan")
		psExe := fs.String("powershell", "", "with --run-imports: PowerShell program (default: the config's lync.powershell, else powershell.exe)")
		module := fs.String("module", "", "with --run-imports: Lync / SfB module path (default: probed, else the one recorded at backup)")
		scenario := fs.String("scenario", "", "with --plan / --run-imports: what was lost: "+exporters.ScenarioIDs()+" (asked on a terminal)")
		var pools multiFlag
		fs.Var(&pools, "pool", "with --scenario cms|standard|pool|frontend: the pool (or Standard Edition server) that was lost; for cms, the pool(s) whose back end was lost with the Central Management store, or all (repeatable)")
		var stores multiFlag
		fs.Var(&stores, "filestore", "with --scenario filestore or cms: the file store that was lost, by share (\\\\fs01.contoso.com\\LyncShare) or file server (fs01.contoso.com), or all (repeatable; filestore: needed when the set holds several; cms: without it only a lost Standard Edition server's own file store, none for none)")
		var dbs multiFlag
		fs.Var(&dbs, "database", "with --scenario sql: the database that was lost, by name as the set records it (LcsCDR, QoEMetrics, LcsLog, mgc, mgccomp) or item name, or all (repeatable; needed when the set holds several); with --scenario cms: one on the Central Management store's SQL server, or all of those (none unless named; one elsewhere is --scenario sql's)")
		rgsTo := fs.String("rgs-to", "", "with --scenario cms|standard|pool: import the lost pool's Response Groups into this pool, which survived (Microsoft's Response Group failover), instead of the rebuilt one")
		overwrite := fs.Bool("overwrite-newer", false, "with --plan / --run-imports: the file store copy-back replaces files that are newer on the share")
		return func(ctx context.Context, a *app, set catalog.Set, to string) (bool, error) {
			if !*plan && !*run {
				return false, nil
			}
			abs, err := filepath.Abs(to)
			if err != nil {
				return true, usagef("--to %s: %v", to, err)
			}
			if flagGiven(fs, "rgs-to") && strings.TrimSpace(*rgsTo) == "" {
				return true, usagef("--rgs-to needs the FQDN of a pool that survived (to import the lost pool's Response Groups into); leave it out to import them into the rebuilt pool")
			}
			sc, err := askScenario(a, *scenario)
			if err != nil {
				return true, err
			}
			p, err := buildPlan(set, abs, exporters.PlanOptions{Scenario: sc, Pools: pools, FileStores: stores, Databases: dbs, RgsTo: *rgsTo, OverwriteNewer: *overwrite})
			if err != nil {
				return true, err
			}
			if p.Options.Pools == nil {
				p.Options.Pools = []string{}
			}
			if p.Options.FileStores == nil {
				p.Options.FileStores = []string{}
			}
			if p.Options.Databases == nil {
				p.Options.Databases = []string{}
			}
			if *plan && !*run {
				if a.g.json {
					return true, a.printJSON(planDoc{OK: true, Plan: &p})
				}
				return true, p.Write(a.stdout)
			}
			if a.g.json && !*yes {
				return true, usagef("--run-imports --json needs --yes: the questions before each step would go into the document")
			}
			// The files the steps import must be this set's (the restore
			// folder's record), before any step runs.
			var files []string
			for i, s := range p.Steps {
				if s.Run && i+1 >= *startAt {
					files = append(files, s.Files...)
				}
			}
			if err := pipeline.CheckImportFiles(abs, set.Manifest, files); err != nil {
				return true, err
			}
			ri := runImports{a: a, plan: p, set: set, yes: *yes, startAt: *startAt, in: bufio.NewReader(os.Stdin), goos: runtime.GOOS}
			ri.flags, ri.flagsErr = givenFlags(ri.goos, fs, a, "start-at")
			if fs.Lookup("scenario").Value.String() == "" { // asked on the terminal
				ri.flags = append(ri.flags, "--scenario", p.Scenario)
			}
			// The restore of the files: where the set is and where it goes.
			ri.filesFlags, ri.filesFlagsErr = givenFlags(ri.goos, fs, a, "plan", "run-imports", "yes", "start-at", "powershell", "module", "scenario", "pool", "filestore", "database", "rgs-to", "overwrite-newer")
			var cfg *config.Config // none on a DR server restoring with --from
			if *psExe == "" || *module == "" {
				if c, err := a.loadConfig(); err == nil {
					cfg = c
				}
			}
			if ri.ps, err = exporters.ImportsPowerShell(*psExe, *module, cfg, p.Lync); err != nil {
				return true, err
			}
			err = ri.run(ctx)
			if a.g.json {
				d := runImportsDoc{OK: err == nil, ExitCode: a.code(err), Host: p.Host, SetID: p.SetID, Scenario: p.Scenario, Steps: ri.done}
				if d.Steps == nil {
					d.Steps = []exporters.StepResult{}
				}
				if err != nil {
					d.Error = oneLine(err.Error())
				}
				a.printJSON(d)
			}
			return true, err
		}
	}
}

// askScenario returns --scenario, or asks on a terminal; without a
// terminal a missing --scenario is a usage error (a plan for the wrong
// loss imports old data over live servers).
func askScenario(a *app, flagValue string) (string, error) {
	if flagValue != "" {
		if _, ok := exporters.ScenarioByID(flagValue); !ok {
			return "", usagef("--scenario %q: what was lost? %s", flagValue, exporters.ScenarioIDs())
		}
		return flagValue, nil
	}
	if !term.IsTerminal(int(os.Stdin.Fd())) {
		return "", usagef("restore --plan / --run-imports needs --scenario: what was lost? %s (each loss has its own procedure)", exporters.ScenarioIDs())
	}
	fmt.Fprint(a.stdout, exporters.ScenarioMenu())
	line, err := a.answer(func() (string, error) { return bufio.NewReader(os.Stdin).ReadString('\n') })
	if a.ctx.Err() != nil {
		return "", err
	}
	sc, err := exporters.ParseScenarioAnswer(line)
	if err != nil {
		return "", usageError{err}
	}
	return sc, nil
}

// buildPlan is the set's restore plan; a plan that cannot be made as
// asked is a usage error.
func buildPlan(set catalog.Set, dir string, opt exporters.PlanOptions) (exporters.Plan, error) {
	p, err := exporters.PlanFromManifest(set.Manifest, dir, opt)
	var pe *exporters.PlanError
	if errors.As(err, &pe) {
		return p, usageError{err}
	}
	return p, err
}

// planDoc is the --json document of restore --plan (schema: README).
type planDoc struct {
	OK       bool `json:"ok"`
	ExitCode int  `json:"exit_code"`
	*exporters.Plan
}

// runImportsDoc is the --json document of restore --run-imports --yes.
type runImportsDoc struct {
	OK       bool                   `json:"ok"`
	ExitCode int                    `json:"exit_code"`
	Host     string                 `json:"host"`
	SetID    string                 `json:"set_id"`
	Scenario string                 `json:"scenario"`
	Steps    []exporters.StepResult `json:"steps"`
	Error    string                 `json:"error,omitempty"`
}

// runImports is a run of the plan's steps (exporters.PlanRun) with this
// command's terminal, answers and resume commands.
type runImports struct {
	done    []exporters.StepResult
	a       *app
	plan    exporters.Plan
	set     catalog.Set
	yes     bool
	startAt int
	in      *bufio.Reader
	ps      exporters.PowerShell
	// flags: this run's flags as given, quoted (givenFlags), without
	// --start-at; filesFlags: those the restore of the files takes; the
	// errors: a value among them no form brings to the program unchanged.
	flags, filesFlags       []string
	flagsErr, filesFlagsErr error
	// goos is the system whose shells the commands are quoted for.
	goos string
}

// resume is the command that continues this run at step n: its own
// flags (resume.go), the set by its id; in words when a value cannot be
// printed to paste; preceded by "in PowerShell: " when a value is in
// PowerShell's single quotes, which cmd does not read (shellquote.OnlyIn).
func (r *runImports) resume(n int) string {
	if r.flagsErr != nil {
		return fmt.Sprintf("this command again with --start-at %d (no command to paste: %v)", n, r.flagsErr)
	}
	return r.shell(r.flags) + fmt.Sprintf("lyncbackup restore %s %s --start-at %d", r.set.ID, strings.Join(r.flags, " "), n)
}

// shell is "in SHELL: " when only that shell reads words as they are, else "".
func (r *runImports) shell(words []string) string {
	if sh := shellquote.OnlyIn(r.goos, words...); sh != "" {
		return "in " + sh + ": "
	}
	return ""
}

// restoreFiles is the command that restores the set's files first.
func (r *runImports) restoreFiles() string {
	if r.filesFlagsErr != nil {
		return fmt.Sprintf("lyncbackup restore %s with this command's --to and where the set is, and --identity KEY (no command to paste: %v)", r.set.ID, r.filesFlagsErr)
	}
	return r.shell(r.filesFlags) + fmt.Sprintf("lyncbackup restore %s %s --identity KEY", r.set.ID, strings.Join(r.filesFlags, " "))
}

func (r *runImports) run(ctx context.Context) error {
	w := r.a.stdout
	if r.a.g.json {
		w = r.a.stderr // stdout holds the one document
	}
	pr := exporters.PlanRun{Plan: r.plan, PS: r.ps, StartAt: r.startAt, Yes: r.yes, Out: w,
		Ask: r.ask, Resume: r.resume, RestoreFiles: r.restoreFiles}
	ran, err := pr.Run(ctx)
	r.done = pr.Done
	if pe := (*exporters.PlanError)(nil); errors.As(err, &pe) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	r.a.say("restore plan of %s/%s finished: %d step(s) run", r.set.Host, r.set.ID, ran)
	return nil
}

// ask reads one answer (first letter, lower case) from stdin.
func (r *runImports) ask(prompt string) (string, error) {
	fmt.Fprint(r.a.stdout, prompt)
	line, err := r.a.answer(func() (string, error) { return r.in.ReadString('\n') })
	if r.a.ctx.Err() != nil {
		return "", err
	}
	if err != nil && (!errors.Is(err, io.EOF) || line == "") {
		return "", usagef("no answer on standard input (use --yes to run the steps without asking)")
	}
	line = strings.ToLower(strings.TrimSpace(line))
	if line == "" {
		return "", nil
	}
	return line[:1], nil
}

// flagGiven reports whether the flag was on the command line (an empty
// value included).
func flagGiven(fs *flag.FlagSet, name string) bool {
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == name })
	return given
}
