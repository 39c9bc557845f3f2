package main

import (
	"context"
	"flag"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/schedule"
	"github.com/lyncbackup/lyncbackup/upload"
)

func init() {
	register(&command{name: "check", summary: "check the config, keys, exporter prerequisites and the destination; print what to fix",
		usage: "check [--config FILE] [--skip-lync] [flags]", flags: flagsCommon, run: runCheck})
}

// checkResult is one line of the checklist.
type checkResult struct {
	Name   string `json:"name"`
	Status string `json:"status"` // ok, warn, fail
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

type checkReport struct {
	OK     bool          `json:"ok"`
	Config string        `json:"config"`
	Checks []checkResult `json:"checks"`
}

func (r *checkReport) add(name, status, detail, fix string) {
	r.Checks = append(r.Checks, checkResult{Name: name, Status: status, Detail: detail, Fix: fix})
	if status == "fail" {
		r.OK = false
	}
}

func runCheck(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("check", flag.ContinueOnError)
	a.addGlobal(fs)
	skipLync := fs.Bool("skip-lync", false, "do not run PowerShell to prove the account can read the Lync topology")
	if _, err := a.parseArgs(fs, args); err != nil {
		return err
	}
	rep := &checkReport{OK: true, Config: a.configPath()}
	cfg, err := a.loadConfig()
	if err != nil {
		rep.add("config", "fail", err.Error(), "fix the key named above (see examples/ for a complete file)")
		a.printCheck(rep)
		return err // a config error: exit 2
	}
	rep.add("config", "ok", a.configPath(), "")
	checkAll(ctx, a, cfg, rep, *skipLync)
	a.printCheck(rep)
	if !rep.OK {
		n := 0
		for _, c := range rep.Checks {
			if c.Status == "fail" {
				n++
			}
		}
		return fmt.Errorf("check: %d problem(s) to fix before the next backup", n)
	}
	return nil
}

func checkAll(ctx context.Context, a *app, cfg *config.Config, rep *checkReport, skipLync bool) {
	// Recipients.
	if recips, err := crypto.ParseRecipients(cfg.Encryption.Recipients, cfg.Encryption.RecipientsFile); err != nil {
		rep.add("encryption recipients", "fail", err.Error(), "list age public keys (age1…) or ssh public keys under encryption.recipients")
	} else {
		rep.add("encryption recipients", "ok", fmt.Sprintf("%d recipient(s); keep the matching identity offline, away from this server", len(recips)), "")
	}

	// Exporters (and the staging folder).
	usesLync := cfg.Lync != nil
	psOK := true
	for _, p := range exporters.Prerequisites(cfg) {
		st := "ok"
		if !p.OK {
			st = "fail"
			if p.Name == "PowerShell" {
				psOK = false
			}
		}
		rep.add(p.Name, st, p.Detail, p.Fix)
	}
	if usesLync && psOK && !skipLync {
		lctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
		ps := exporters.CheckLync(lctx, cfg)
		cancel()
		addPrereqs(rep, ps)
	}
	if exporters.UsesLync(cfg) {
		// The groups of this account's token, and whether the task runs as it.
		taskUser, _ := installedTaskUser(ctx)
		addPrereqs(rep, exporters.AccountChecks(exporters.CurrentAccount(), exporters.NeedsChatAdmin(cfg), taskUser))
	}

	checkDestination(ctx, cfg, rep)

	// Where the run writes its side outputs.
	if f := cfg.Metrics.Textfile; f != "" {
		checkWritableDir(rep, "metrics textfile", f, "metrics.textfile must be in an existing folder this account can write (the exporter's textfile directory)")
	}
	logFile := a.g.logFile
	if logFile == "" {
		logFile = cfg.Log.File
	}
	if logFile != "" {
		checkWritableDir(rep, "log file", logFile, "log.file must be in an existing folder this account can write")
	}
	if cfg.Limits.Upload > 0 {
		rep.add("upload limit", "ok", humanBytes(int64(cfg.Limits.Upload))+"/s across all uploads", "")
	}

	// Notifications.
	for i, w := range cfg.Notify.Webhooks {
		name := fmt.Sprintf("webhook %d", i+1)
		u, err := url.Parse(w.URL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			rep.add(name, "fail", "not an http(s) URL", "notify.webhooks[].url must be https://…")
			continue
		}
		kind := "POST of the JSON summary"
		if w.Ping {
			kind = "ping (GET, /fail on failure)"
		}
		st, fix := "ok", ""
		if u.Scheme == "http" {
			st, fix = "warn", "use https: the URL and the summary cross the network in clear"
		}
		rep.add(name, st, kind+" to "+u.Host, fix)
	}
	if e := cfg.Notify.Email; e != nil {
		switch {
		case e.Server == "" || e.From == "" || len(e.To) == 0:
			rep.add("e-mail", "fail", "server, from and to are required", "fill notify.email.server (host:port), from and to")
		case e.Username != "" && (e.PasswordEnv == "" || os.Getenv(e.PasswordEnv) == ""):
			rep.add("e-mail", "fail", fmt.Sprintf("the password variable %q is not set in this environment", e.PasswordEnv),
				"set notify.email.password_env and define that variable for the account the task runs as")
		case e.StartTLS != nil && !*e.StartTLS:
			rep.add("e-mail", "warn", "report to "+strings.Join(e.To, ", ")+" via "+e.Server+" without STARTTLS", "enable starttls unless the relay is on this machine")
		default:
			on := cfg.Notify.On
			if on == "" {
				on = "failure"
			}
			rep.add("e-mail", "ok", "report to "+strings.Join(e.To, ", ")+" via "+e.Server+" on "+on, "")
		}
	}
}

func addPrereqs(rep *checkReport, ps []exporters.Prereq) {
	for _, p := range ps {
		st := "ok"
		switch {
		case !p.OK && !p.Warn:
			st = "fail"
		case p.Warn:
			st = "warn"
		}
		rep.add(p.Name, st, p.Detail, p.Fix)
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

func checkDestination(ctx context.Context, cfg *config.Config, rep *checkReport) {
	pctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	st, err := openStore(pctx, cfg)
	if err != nil {
		rep.add("destination", "fail", err.Error(), "check destination.url and the credentials in this account's environment")
		return
	}
	name := "destination " + st.String()
	var pr upload.ProbeReport
	if p, ok := upload.As[upload.Prober](st); ok {
		pr, err = p.Probe(pctx)
	} else { // every backend probes; a new one must too
		err = fmt.Errorf("%s cannot be probed", st)
	}
	if err != nil {
		rep.add(name, "fail", err.Error(), "check that the bucket/container/folder exists and this account may write, read and delete in it")
		return
	}
	var missing []string
	for _, c := range []struct {
		ok   bool
		what string
	}{{pr.Writable, "write"}, {pr.Readable, "read"}, {pr.Deletable, "delete"}} {
		if !c.ok {
			missing = append(missing, c.what)
		}
	}
	if len(missing) > 0 {
		rep.add(name, "fail", "cannot "+strings.Join(missing, ", ")+" a test object", "grant this account write, read and delete (delete is needed for pruning)")
	} else {
		rep.add(name, "ok", "wrote, read back and deleted a test object", "")
	}
	wantLock := cfg.Destination.ObjectLock != nil || cfg.Destination.Immutability != nil
	switch {
	case wantLock && pr.ObjectLock == "disabled":
		rep.add("object lock / immutability", "fail", "configured, but the destination does not support it",
			"create the bucket with Object Lock enabled (S3) or enable version-level immutability on the container (Azure)")
	case wantLock && pr.ObjectLock == "enabled":
		rep.add("object lock / immutability", "ok", "enabled on the destination", "")
	case wantLock:
		rep.add("object lock / immutability", "warn", "configured; the destination reports "+orUnknown(pr.ObjectLock), "verify it in the provider's console")
	case pr.ObjectLock == "enabled":
		rep.add("object lock / immutability", "ok", "enabled on the destination (not requested in the config)", "")
	case pr.ObjectLock == "n/a":
		// The backend's own note says what protects it instead.
	default:
		rep.add("object lock / immutability", "warn", "not used: a stolen credential can delete the backups",
			"consider destination.object_lock (S3) or destination.immutability (Azure)")
	}
	if pr.Versioning != "" && pr.Versioning != "n/a" {
		rep.add("versioning", "ok", pr.Versioning, "")
	}
	for _, n := range pr.Notes {
		rep.add("destination note", "warn", n, "")
	}
}

func orUnknown(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func checkWritableDir(rep *checkReport, name, file, fix string) {
	dir := filepath.Dir(file)
	f, err := os.CreateTemp(dir, ".lyncbackup-check-*")
	if err != nil {
		rep.add(name, "fail", fmt.Sprintf("cannot write in %s: %v", dir, err), fix)
		return
	}
	f.Close()
	os.Remove(f.Name())
	rep.add(name, "ok", file, "")
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
