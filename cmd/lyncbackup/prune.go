package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/retention"
	"github.com/lyncbackup/lyncbackup/upload"
)

func init() {
	register(&command{name: "prune", summary: "apply the retention policy: delete old sets, extend the locks of kept ones",
		usage: "prune [--dry-run] [--keep-daily N ...] [--from URL [--ca-file FILE]] [--host HOST] [flags]", flags: flagsCommon, notes: pruneNotes, run: runPrune})
	afterBackupHooks = append(afterBackupHooks, pruneAfterBackup)
}

// pruneNotes close prune -h: how the flags combine with the config.
const pruneNotes = `Policy: the config's retention section, with each --keep-*, --min-age, --grace,
--timezone or --count-partial flag given replacing that one key; the keys not
given keep the config's values (--keep-daily 1 changes keep_daily only). With
--from URL and no --config, the policy is the flags alone. Periods (days, weeks,
months, years) are counted in retention.timezone, else this machine's zone.`

// policyFlags override the config's retention section.
type policyFlags struct {
	fs                                           *flag.FlagSet
	last, hourly, daily, weekly, monthly, yearly int
	within, minAge, grace, timezone              string
	countPartial                                 bool
}

func (p *policyFlags) add(fs *flag.FlagSet) {
	p.fs = fs
	fs.IntVar(&p.last, "keep-last", 0, "keep the N newest sets")
	fs.IntVar(&p.hourly, "keep-hourly", 0, "keep the newest set of each of the last N hours that have one")
	fs.IntVar(&p.daily, "keep-daily", 0, "keep the newest set of each of the last N days that have one")
	fs.IntVar(&p.weekly, "keep-weekly", 0, "keep the newest set of each of the last N ISO weeks that have one")
	fs.IntVar(&p.monthly, "keep-monthly", 0, "keep the newest set of each of the last N months that have one")
	fs.IntVar(&p.yearly, "keep-yearly", 0, "keep the newest set of each of the last N years that have one")
	fs.StringVar(&p.within, "keep-within", "", "keep every set within DURATION of the host's newest set (e.g. 90d, 1y2m)")
	fs.StringVar(&p.minAge, "min-age", "", "never delete a set younger than DURATION (e.g. 30d)")
	fs.StringVar(&p.grace, "grace", "", "incomplete sets older than DURATION are garbage (default 24h)")
	fs.StringVar(&p.timezone, "timezone", "", "time zone of days, weeks, months and years (default: the machine's)")
	fs.BoolVar(&p.countPartial, "count-partial", false, "let partial sets fill the period buckets")
}

// apply writes the flags that were given over r.
func (p *policyFlags) apply(r *config.Retention) error {
	var err error
	p.fs.Visit(func(f *flag.Flag) {
		if err != nil {
			return
		}
		num := map[string]*int{"keep-last": &r.KeepLast, "keep-hourly": &r.KeepHourly, "keep-daily": &r.KeepDaily,
			"keep-weekly": &r.KeepWeekly, "keep-monthly": &r.KeepMonthly, "keep-yearly": &r.KeepYearly}
		dur := map[string]*config.Duration{"keep-within": &r.KeepWithin, "min-age": &r.MinAge, "grace": &r.Grace}
		switch {
		case num[f.Name] != nil:
			v := map[string]int{"keep-last": p.last, "keep-hourly": p.hourly, "keep-daily": p.daily,
				"keep-weekly": p.weekly, "keep-monthly": p.monthly, "keep-yearly": p.yearly}[f.Name]
			if v < 0 {
				err = usagef("--%s must not be negative", f.Name)
				return
			}
			if m, ok := config.MaxKeep[strings.ReplaceAll(f.Name, "-", "_")]; ok && v > m {
				err = usagef("--%s: at most %d (200 years of them: a larger number keeps nothing else)", f.Name, m)
				return
			}
			*num[f.Name] = v
		case dur[f.Name] != nil:
			d, derr := config.ParseDuration(f.Value.String())
			if derr != nil {
				err = usagef("--%s: %v", f.Name, derr)
				return
			}
			if f.Name == "grace" && d.IsZero() {
				// A zero grace is no grace but the default (24h): say so
				// rather than take it silently.
				err = usagef("--grace must be longer than 0 (without it: 24h)")
				return
			}
			*dur[f.Name] = d
		case f.Name == "timezone":
			if _, lerr := time.LoadLocation(p.timezone); lerr != nil {
				err = usagef("--timezone: unknown time zone %q (use an IANA name like Europe/Berlin, or Local)", p.timezone)
				return
			}
			r.TimeZone = p.timezone
		case f.Name == "count-partial":
			r.CountPartial = p.countPartial
		}
	})
	return err
}

// lockOf is the config's object lock / immutability (none without a config).
func lockOf(cfg *config.Config) destination.Lock {
	if cfg == nil {
		return destination.Lock{}
	}
	return destination.LockOf(cfg.Destination)
}

func runPrune(ctx context.Context, a *app, args []string) error {
	fs := flag.NewFlagSet("prune", flag.ContinueOnError)
	a.addGlobal(fs)
	dryRun := fs.Bool("dry-run", false, "decide and print, change nothing")
	from := fs.String("from", "", "destination URL (instead of the config's; the policy then comes from the flags, or --config)")
	host := fs.String("host", "", "prune only this host's sets (with a config: the config's host by default)")
	allHosts := fs.Bool("all-hosts", false, "prune every host's sets of the destination with this policy (with a config)")
	var caFile string
	addCAFileFlag(fs, &caFile)
	var pf policyFlags
	pf.add(fs)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("prune", pos); err != nil {
		return err
	}
	if err := pf.apply(&config.Retention{}); err != nil {
		return err // a bad flag is named before the destination is opened
	}
	if *allHosts && *host != "" {
		return usagef("--all-hosts and --host exclude each other")
	}
	cfg, st, err := a.pruneTarget(ctx, *from, caFile)
	if err != nil {
		return err
	}
	// A config is one host's: its policy is for that host's sets. Several
	// front ends backing up to one share each prune their own, as the
	// prune after a backup does; one host's config never thins another's
	// sets by its own rules unless --all-hosts says so. With --from and no
	// config the flags are the policy, for every host (or --host).
	if *host == "" && cfg != nil && !*allHosts {
		*host = cfg.Host
	}
	var ret config.Retention
	if cfg != nil {
		ret = cfg.Retention
	}
	if err := pf.apply(&ret); err != nil {
		return err
	}
	pol, err := retention.FromConfig(ret)
	if err != nil {
		return err
	}
	lg, closeLog, err := a.logger(cfg)
	if err != nil {
		return err
	}
	defer closeLog()
	ap := &retention.Applier{Store: st, Policy: pol, DryRun: *dryRun, Host: *host, ExtendLocks: lockOf(cfg).Mode != "", LockDays: lockOf(cfg).Days, Log: lg}
	rep, err := ap.Run(ctx)
	if err != nil && rep != nil && len(rep.Decisions) == 0 && len(rep.Actions) == 0 {
		// The sets could not be listed: nothing was decided, and "no
		// backup sets" would be a wrong cause; the error says it.
		if a.g.json {
			a.printJSON(a.pruneDoc(rep, pol, err))
		}
		return err
	}
	logDecisions(lg, rep)
	if a.g.json {
		a.printJSON(a.pruneDoc(rep, pol, err))
		return err
	}
	if !a.g.quiet && rep != nil {
		a.printPrune(rep, pol.Location)
	}
	return err
}

// pruneTarget is the config (nil with --from and no --config) and the store
// prune works on.
func (a *app) pruneTarget(ctx context.Context, from, caFile string) (*config.Config, upload.Store, error) {
	var cfg *config.Config
	if from == "" || a.g.config != "" {
		var err error
		if cfg, err = a.loadConfig(); err != nil {
			if from == "" {
				return nil, nil, fmt.Errorf("%w (or give --from URL and --keep-* flags)", err)
			}
			return nil, nil, err
		}
	}
	if from != "" {
		if err := checkCAFileFlag(from, caFile); err != nil {
			return nil, nil, err
		}
		st, err := destination.FromURL(ctx, from, caFile)
		if err == nil {
			a.fromURLTrust(caFile)
		}
		return cfg, st, err
	}
	if err := a.configTrust(cfg, caFile); err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	return cfg, st, err
}

// logDecisions records each keep / delete decision and the outcome.
func logDecisions(lg *slog.Logger, rep *retention.Report) {
	if rep == nil {
		return
	}
	for _, d := range rep.Decisions {
		act := "keep"
		if !d.Keep {
			act = "delete"
		}
		attrs := []any{"set", d.Host + "/" + d.ID, "status", d.Status, "action", act}
		if d.Outcome != "" {
			attrs = append(attrs, "outcome", d.Outcome)
		}
		attrs = append(attrs, "reasons", strings.Join(d.Reasons, ", "))
		lvl := slog.LevelInfo
		if d.Outcome == retention.OutcomeLeftWhole || d.Outcome == retention.OutcomePartlyDeleted {
			lvl = slog.LevelWarn // the policy let it go, and it is still there
		}
		lg.Log(context.Background(), lvl, "prune decision", attrs...)
	}
	for _, e := range rep.Errors {
		lg.Error("prune action failed", "err", e)
	}
	locked := 0
	if rep.ChunksLocked != nil {
		locked = rep.ChunksLocked.Count
	}
	lg.Info("prune result", "dry_run", rep.DryRun, "kept", rep.Kept, "deleted", rep.Deleted, "delete_failed", len(rep.DeleteFailed),
		"freed_bytes", rep.FreedBytes, "chunks_deleted", rep.ChunksDeleted, "chunks_delete_failed", rep.ChunksFailed,
		"chunks_locked", locked, "locks_extended", rep.LocksExtended, "uploads_aborted", rep.UploadsAborted, "errors", len(rep.Errors))
}

// pruneDoc is prune's --json document: the report, with the policy as
// machine values ("policy") beside its text ("policy_text").
type pruneDoc struct {
	OK       bool `json:"ok"`
	ExitCode int  `json:"exit_code"`
	*retention.Report
	Policy     policyDoc `json:"policy"`
	PolicyText string    `json:"policy_text"`
	Error      string    `json:"error,omitempty"`
}

// policyDoc is a retention policy in machine values.
type policyDoc struct {
	KeepLast     int     `json:"keep_last"`
	KeepHourly   int     `json:"keep_hourly"`
	KeepDaily    int     `json:"keep_daily"`
	KeepWeekly   int     `json:"keep_weekly"`
	KeepMonthly  int     `json:"keep_monthly"`
	KeepYearly   int     `json:"keep_yearly"`
	KeepWithin   string  `json:"keep_within,omitempty"`
	MinAge       string  `json:"min_age,omitempty"`
	GraceSeconds float64 `json:"grace_seconds"`
	TimeZone     string  `json:"timezone"`
	CountPartial bool    `json:"count_partial"`
}

func (a *app) pruneDoc(rep *retention.Report, pol retention.Policy, err error) pruneDoc {
	if rep == nil {
		rep = &retention.Report{Decisions: []retention.Decision{}, Actions: []retention.Action{}, Errors: []string{}}
	}
	grace := pol.Grace
	if grace <= 0 {
		grace = retention.DefaultGrace
	}
	err = a.trust.Hint(err)
	d := pruneDoc{OK: err == nil, ExitCode: a.code(err), Report: rep, PolicyText: pol.String(), Policy: policyDoc{
		KeepLast: pol.Last, KeepHourly: pol.Hourly, KeepDaily: pol.Daily, KeepWeekly: pol.Weekly, KeepMonthly: pol.Monthly,
		KeepYearly: pol.Yearly, KeepWithin: pol.Within.Text, MinAge: pol.MinAge.Text, GraceSeconds: grace.Seconds(),
		TimeZone: retention.ZoneName(pol.Location), CountPartial: pol.CountPartial}}
	if err != nil {
		d.Error = oneLine(err.Error())
	}
	return d
}

func (a *app) printPrune(rep *retention.Report, loc *time.Location) {
	if rep.DryRun {
		fmt.Fprintln(a.stdout, "dry run: nothing is changed")
	}
	fmt.Fprintf(a.stdout, "policy: %s\n", rep.Policy)
	if rep.Note != "" {
		fmt.Fprintln(a.stdout, rep.Note)
	}
	if len(rep.Decisions) == 0 {
		if len(rep.OtherHosts) > 0 {
			fmt.Fprintf(a.stdout, "no backup sets of host %s in %s; its sets are of %s\n", rep.Host, rep.Destination, strings.Join(rep.OtherHosts, ", "))
			return
		}
		if rep.Hint != "" {
			fmt.Fprintf(a.stdout, "no backup sets in %s (%s)\n", rep.Destination, rep.Hint)
			return
		}
		fmt.Fprintf(a.stdout, "no backup sets in %s\n", rep.Destination)
		return
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 2, 2, ' ', 0)
	fmt.Fprintf(tw, "SET\tHOST\tTIME (%s)\tSTATUS\tACTION\tREASONS\n", retention.ZoneName(loc))
	for _, d := range rep.Decisions {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.Host, d.Time.In(loc).Format("2006-01-02 15:04"), d.Status, d.Action(), strings.Join(d.Reasons, ", "))
	}
	tw.Flush()
	for _, e := range rep.Errors {
		fmt.Fprintln(a.stdout, "error:", e)
	}
	for _, n := range rep.Notes {
		fmt.Fprintln(a.stdout, "note:", n)
	}
	fmt.Fprintln(a.stdout, rep.Summary())
	if l := rep.LockedText(loc); l != "" {
		fmt.Fprintln(a.stdout, l)
	}
}

// pruneSummary is what a backup's --json summary says about the prune after it.
type pruneSummary struct {
	// OK: the prune did all it decided; false when it failed (the backup
	// then exits 3: its set is committed, the housekeeping is not done).
	OK   bool `json:"ok"`
	Kept int  `json:"kept"`
	// Deleted: the sets wholly deleted; DeleteFailed: those the policy let
	// go whose delete failed (left whole, or partly deleted).
	Deleted        []string               `json:"deleted"`
	DeleteFailed   []retention.SetFailure `json:"delete_failed,omitempty"`
	FreedBytes     int64                  `json:"freed_bytes"`
	LocksExtended  int                    `json:"locks_extended"`
	UploadsAborted int                    `json:"uploads_aborted"`
	ChunksDeleted  int                    `json:"chunks_deleted"`
	ChunksFailed   int                    `json:"chunks_delete_failed,omitempty"`
	// ChunksLocked: the chunks no set uses that stay for their lock (as
	// prune --json's chunks_locked); lockedText says it in words.
	ChunksLocked *chunk.Locked `json:"chunks_locked,omitempty"`
	Note         string        `json:"note,omitempty"`
	Errors       []string      `json:"errors,omitempty"`
	// undecided: the prune failed before it decided anything (the sets
	// could not be listed, the store not opened): no count is known.
	undecided  bool
	lockedText string
}

// Summary is the line notifications show (see retentionLines in notify.go).
func (p pruneSummary) Summary() string {
	if p.undecided {
		// "0 set(s) kept" would read as a destination without sets.
		return "prune failed before deciding anything: nothing was deleted (the cause below)"
	}
	s := fmt.Sprintf("%d set(s) kept, deleted %d", p.Kept, len(p.Deleted))
	if p.FreedBytes > 0 {
		s += " (" + humanBytes(p.FreedBytes) + ")"
	}
	if len(p.Deleted) > 0 {
		s += ": " + strings.Join(p.Deleted, ", ")
	}
	if len(p.DeleteFailed) > 0 {
		s += "; " + retention.FailedSetsText(p.DeleteFailed)
	}
	if p.LocksExtended > 0 {
		s += fmt.Sprintf("; %d lock(s) extended", p.LocksExtended)
	}
	if p.UploadsAborted > 0 {
		s += fmt.Sprintf("; %d stale upload(s) aborted", p.UploadsAborted)
	}
	if p.ChunksDeleted > 0 {
		s += fmt.Sprintf("; %d chunk(s) no set uses deleted", p.ChunksDeleted)
	}
	if p.ChunksFailed > 0 {
		s += fmt.Sprintf("; %d chunk(s) no set uses not deleted (delete failed)", p.ChunksFailed)
	}
	if p.lockedText != "" {
		s += "; " + p.lockedText
	}
	if p.Note != "" {
		s += "; " + p.Note
	}
	return s
}

// pruneAfterBackup applies the policy after a fully successful backup when
// retention.after_backup is on; never after a partial or failed one.
// When it fails, the backup's set is committed all the same: the error is a
// partialError (exit 3), and sum.Prune says what failed (metrics, mail).
func pruneAfterBackup(ctx context.Context, a *app, cfg *config.Config, sum *backupSummary) error {
	if !cfg.Retention.AfterBackup {
		return nil
	}
	if !sum.OK || sum.Status != catalog.StatusComplete {
		a.runLog().Warn("prune after backup skipped: the backup is not complete", "status", sum.Status)
		return nil
	}
	ps := pruneSummary{Deleted: []string{}}
	sum.Prune = &ps
	lg := a.runLog()
	pol, err := retention.FromConfig(cfg.Retention)
	if err != nil {
		return pruneAfterBackupFailed(lg, &ps, nil, err)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return pruneAfterBackupFailed(lg, &ps, nil, err)
	}
	lg.Info("prune after backup", "policy", pol.String())
	ap := &retention.Applier{Store: st, Policy: pol, Host: cfg.Host, ExtendLocks: lockOf(cfg).Mode != "", LockDays: lockOf(cfg).Days, Log: lg}
	rep, err := ap.Run(ctx)
	if err != nil && rep != nil && len(rep.Decisions) == 0 && len(rep.Actions) == 0 {
		// Nothing was decided (as runPrune: the sets could not be listed).
		return pruneAfterBackupFailed(lg, &ps, nil, err)
	}
	logDecisions(lg, rep)
	if rep != nil {
		ps.Kept, ps.FreedBytes, ps.LocksExtended, ps.UploadsAborted, ps.Note = rep.Kept, rep.FreedBytes, rep.LocksExtended, rep.UploadsAborted, rep.Note
		ps.ChunksDeleted, ps.ChunksFailed = rep.ChunksDeleted, rep.ChunksFailed
		if len(rep.Notes) > 0 {
			ps.Note = strings.TrimPrefix(ps.Note+"; "+strings.Join(rep.Notes, "; "), "; ")
		}
		ps.Deleted = append(ps.Deleted, rep.DeletedSets...)
		ps.DeleteFailed = rep.DeleteFailed
		ps.Errors = rep.Errors
		ps.ChunksLocked, ps.lockedText = rep.ChunksLocked, rep.LockedText(pol.Location)
		a.say("prune: %s", rep.Summary())
		if ps.lockedText != "" {
			a.say("prune: %s", ps.lockedText)
		}
	}
	if err != nil {
		return pruneAfterBackupFailed(lg, &ps, rep, err)
	}
	ps.OK = true
	return nil
}

// pruneAfterBackupFailed logs and records err in ps (rep: what the prune did, nil
// when it decided nothing) and returns the backup's error: exit 3, the
// prune named as the cause; an interruption stays one (exit 130).
func pruneAfterBackupFailed(lg *slog.Logger, ps *pruneSummary, rep *retention.Report, err error) error {
	ps.undecided = rep == nil
	if ps.undecided {
		lg.Error("prune after backup failed before deciding anything", "err", err)
	}
	if rep == nil || len(rep.Errors) == 0 {
		ps.Errors = append(ps.Errors, err.Error())
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	return partialError{fmt.Errorf("backup committed, but the prune after it failed: %w", err)}
}
