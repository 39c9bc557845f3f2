package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/diskfree"
	"github.com/lyncbackup/lyncbackup/internal/oserr"
	"github.com/lyncbackup/lyncbackup/notify"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/schedule"
)

func init() {
	register(&command{name: "check", summary: "check the config, keys, exporter prerequisites and the destination; print what to fix",
		usage: "check [--config FILE] [--skip-lync] [flags]", flags: flagsCommon, run: runCheck})
}

// checkResult is one line of the checklist. ID is stable for scripts
// ("config", "encryption.recipients", "destination.access", …).
type checkResult struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, fail
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
	// configError: the cause is the config itself (exit 2, as backup).
	configError bool
}

type checkReport struct {
	OK       bool          `json:"ok"`
	ExitCode int           `json:"exit_code"`
	Config   string        `json:"config"`
	Checks   []checkResult `json:"checks"`
	Error    string        `json:"error,omitempty"`
	ids      map[string]int
}

func (r *checkReport) add(id, name, status, detail, fix string) *checkResult {
	if r.ids == nil {
		r.ids = map[string]int{}
	}
	// Ids stay unique: a second "destination.note" is "destination.note.2".
	r.ids[id]++
	if n := r.ids[id]; n > 1 {
		id = fmt.Sprintf("%s.%d", id, n)
	}
	r.Checks = append(r.Checks, checkResult{ID: id, Name: name, Status: status, Detail: detail, Fix: fix})
	if status == "fail" {
		r.OK = false
	}
	return &r.Checks[len(r.Checks)-1]
}

func runCheck(ctx context.Context, a *app, args []string) error {
	fset := flag.NewFlagSet("check", flag.ContinueOnError)
	a.addGlobal(fset)
	skipLync := fset.Bool("skip-lync", false, "do not run PowerShell to prove the account can read the Lync topology")
	pos, err := a.parseArgs(fset, args)
	if err != nil {
		return err
	}
	if err := noArgs("check", pos); err != nil {
		return err
	}
	rep := &checkReport{OK: true, Config: a.configPath(), Checks: []checkResult{}}
	cfg, err := a.loadConfig()
	if err != nil {
		rep.add("config", "config", "fail", err.Error(), configFix(err))
		rep.ExitCode, rep.Error = a.code(err), oneLine(err.Error())
		a.printCheck(rep)
		return err // a config error: exit 2
	}
	rep.add("config", "config", "ok", a.configPath(), "")
	checkAll(ctx, a, cfg, rep, *skipLync)
	var fails []string
	usage := false
	for _, c := range rep.Checks {
		if c.Status == "fail" {
			fails = append(fails, c.Name)
			usage = usage || c.configError
		}
	}
	if len(fails) > 0 {
		err = fmt.Errorf("check: %d problem(s) to fix before the next backup (%s)", len(fails), strings.Join(fails, ", "))
		if usage {
			// The same cause makes backup exit 2: so does check.
			err = usageError{err}
		}
		rep.ExitCode, rep.Error = a.code(err), oneLine(err.Error())
	}
	a.printCheck(rep)
	return err
}

// configFix is the fix for a config file that did not load (err): create
// it when it is not there; where its share's server cannot be reached
// (Windows' ERROR_BAD_NETPATH, which Go counts as not existing) the file
// may well be there, and creating it is not the fix.
func configFix(err error) string {
	var ce *config.Error
	if errors.As(err, &ce) {
		switch {
		case oserr.NetPathDown(ce.Err):
			return "make the server of the config file's share reachable from this machine (or its name resolvable), or point --config or LYNCBACKUP_CONFIG at a copy on a local disk"
		case oserr.Missing(ce.Err):
			return "create the config file (start from examples/lyncbackup.example.yaml), or point --config or LYNCBACKUP_CONFIG at it"
		}
	}
	return "fix the key named above (see examples/lyncbackup.example.yaml for a complete file)"
}

func checkAll(ctx context.Context, a *app, cfg *config.Config, rep *checkReport, skipLync bool) {
	// Recipients.
	if recips, err := crypto.ParseRecipients(cfg.Encryption.Recipients, cfg.Encryption.RecipientsFile); err != nil {
		rep.add("encryption.recipients", "encryption recipients", "fail", err.Error(), "list age public keys (age1…) or ssh public keys under encryption.recipients").configError = true
	} else {
		rep.add("encryption.recipients", "encryption recipients", "ok", fmt.Sprintf("%d recipient(s); keep the matching identity offline, away from this server", len(recips)), "")
	}

	// Exporters (and the staging folder).
	// Lync exporters listed under exporters: (no lync: section) run the
	// cmdlets too: CheckLync proves they work (it probes the module).
	usesLync := exporters.UsesLync(cfg)
	psOK := true
	for _, p := range exporters.Prerequisites(cfg) {
		st := "ok"
		if !p.OK {
			st = "fail"
			if p.Name == "PowerShell" {
				psOK = false
			}
		} else if p.Warn {
			st = "warn"
		}
		rep.add("prerequisite."+slug(p.Name), p.Name, st, p.Detail, p.Fix)
	}
	if cfg.Format == pipeline.FormatChunked {
		checkChunkKey(rep, chunk.KeyFile(cfg.Staging, cfg.Host))
	}
	if usesLync && psOK && !skipLync {
		lctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		ps := exporters.CheckLync(lctx, cfg)
		cancel()
		addPrereqs(rep, "lync.", ps)
	}
	if exporters.UsesLync(cfg) {
		// The groups of this account's token, and whether the task runs as it.
		taskUser, _ := installedTaskUser(ctx)
		addPrereqs(rep, "account.", exporters.AccountChecks(exporters.CurrentAccount(), exporters.NeedsChatAdmin(cfg), taskUser))
	}

	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	reached := false
	for _, f := range destination.Check(pctx, cfg.Destination) {
		rep.add(f.ID, f.Name, f.Status, f.Detail, f.Fix)
		reached = reached || (f.ID == destination.IDAccess && f.Status == "ok")
	}
	if reached {
		checkHostSets(pctx, rep, cfg)
	}
	cancel()

	// Where the run writes its side outputs.
	if f := cfg.Metrics.Textfile; f != "" {
		checkWritableDir(rep, "metrics.textfile", "metrics textfile", f, "metrics.textfile must be in an existing folder this account can write (the exporter's textfile directory)")
	}
	logFile := a.g.logFile
	if logFile == "" {
		logFile = cfg.Log.File
	}
	if logFile != "" {
		checkWritableDir(rep, "log.file", "log file", logFile, "log.file must be in an existing folder this account can write")
	}
	if cfg.Limits.Upload > 0 {
		rep.add("limits.upload", "upload limit", "ok", humanBytes(int64(cfg.Limits.Upload))+"/s across all uploads", "")
	}

	// Notifications.
	for _, f := range notify.Check(cfg.Notify, os.Getenv) {
		rep.add(f.ID, f.Name, f.Status, f.Detail, f.Fix)
	}
}

// checkChunkKey reads the host's chunk key as a backup does: one that
// does not parse fails every backup with this error until it is deleted;
// one that is there but cannot be read (no read access, held open by
// another process, its share's server away) until it can be read, and
// its fix says so (never to delete it).
func checkChunkKey(rep *checkReport, file string) {
	switch st, err := chunk.CheckKey(file); st {
	case chunk.KeyGood:
		rep.add("chunk_key", "chunk key", "ok", file, "")
	case chunk.KeyMissing:
		rep.add("chunk_key", "chunk key", "ok", file+": none yet, the first backup makes it", "")
	case chunk.KeyEmpty:
		rep.add("chunk_key", "chunk key", "warn", err.Error()+": the next backup writes a new key into it", "")
	default:
		// The backup's error says to delete the file; the fix line says
		// it here, once.
		detail, fix := err.Error(), "delete "+file+": the next backup makes a new one and only loses deduplication against older chunks"
		var bad *chunk.BadKeyError
		if errors.As(err, &bad) {
			detail, fix = bad.Cause(), bad.Fix(file)
		}
		rep.add("chunk_key", "chunk key", "fail", detail, fix)
	}
}

// addPrereqs adds exporter prerequisites, their ids under prefix.
func addPrereqs(rep *checkReport, prefix string, ps []exporters.Prereq) {
	for _, p := range ps {
		st := "ok"
		switch {
		case !p.OK && !p.Warn:
			st = "fail"
		case p.Warn:
			st = "warn"
		}
		rep.add(prefix+slug(p.Name), p.Name, st, p.Detail, p.Fix)
	}
}

// installedTaskUser is the account of the installed scheduled task
// (Windows; "" elsewhere or when none is installed).
func installedTaskUser(ctx context.Context) (string, error) {
	if runtime.GOOS != "windows" {
		return "", nil
	}
	qctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	argv := schedule.SchtasksQuery(schedule.Task{Name: schedule.DefaultName})
	out, err := exec.CommandContext(qctx, argv[0], argv[1:]...).Output()
	if err != nil {
		return "", err
	}
	return schedule.TaskUserID(out)
}

// slug makes a stable id part of a name ("staging folder" → "staging_folder").
func slug(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b.WriteRune(r)
		case b.Len() > 0 && !strings.HasSuffix(b.String(), "_"):
			b.WriteByte('_')
		}
	}
	return strings.TrimSuffix(b.String(), "_")
}

func checkWritableDir(rep *checkReport, id, name, file, fix string) {
	dir := filepath.Dir(file)
	if err := diskfree.ProbeWrite(dir); err != nil {
		if diskfree.IsFull(err) {
			fix = "free space on that disk, or move " + id + " to a disk with room"
		}
		rep.add(id, name, "fail", fmt.Sprintf("cannot write in %s: %v", dir, unwrapPath(err)), fix)
		return
	}
	rep.add(id, name, "ok", file, "")
}

func (a *app) printCheck(rep *checkReport) {
	if a.g.json {
		a.printJSON(rep)
		return
	}
	if a.g.quiet && rep.OK {
		return
	}
	for _, c := range rep.Checks {
		mark := map[string]string{"ok": "[ OK ]", "warn": "[WARN]", "fail": "[FAIL]"}[c.Status]
		line := fmt.Sprintf("%s %s", mark, c.Name)
		if c.Detail != "" {
			line += ": " + oneLine(c.Detail)
		}
		fmt.Fprintln(a.stdout, line)
		if c.Fix != "" && c.Status != "ok" {
			fmt.Fprintln(a.stdout, "       fix: "+c.Fix)
		}
	}
	if rep.OK {
		fmt.Fprintln(a.stdout, "\nall essential checks passed")
	}
}

// checkHostSets reports what the backup would refuse or warn of about the
// host's sets in the destination: a host spelled in another case there
// (backup refuses it), sets dated after this machine's clock.
func checkHostSets(ctx context.Context, rep *checkReport, cfg *config.Config) {
	st, err := destination.Open(ctx, cfg.Destination)
	if err != nil {
		return // the access check above says why
	}
	if other := catalog.HostSpelledOtherwise(ctx, st, cfg.Host); other != "" {
		rep.add("destination.host", "host "+cfg.Host, "fail",
			fmt.Sprintf("the destination holds the sets of %s, which differs only in case: a backup refuses this host", other),
			"set host: "+other+" (a host name is one name without case; on a Windows folder both are one folder)").configError = true
	}
	if later := catalog.DatedAfter(ctx, st, cfg.Host, time.Now().Add(catalog.FutureAllowance)); len(later) > 0 {
		rep.add("destination.future_sets", "sets of "+cfg.Host, "warn",
			fmt.Sprintf("%d set(s) dated after this machine's clock, newest %s: restore latest picks it over every later backup", len(later), later[len(later)-1]),
			"check this machine's time (w32tm /query /status); delete those set folders by hand if they are not sets you need")
	}
}
