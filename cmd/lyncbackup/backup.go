package main

import (
	"context"
	"errors"
	"flag"
	"fmt"

	"log/slog"
	"os"
	"runtime/debug"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/chunk"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/crypto"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/exporters"
	"github.com/lyncbackup/lyncbackup/internal/oserr"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/retention"
	"github.com/lyncbackup/lyncbackup/upload"
)

func init() {
	register(&command{name: "backup", summary: "run the exporters and store a new backup set",
		usage: "backup [--config FILE] [--parallel N] [--keep-staging] [flags]", flags: globalFlagNames, run: runBackup})
}

// backupSummary is the --json document of backup (schema: README).
type backupSummary struct {
	OK       bool      `json:"ok"`
	Status   string    `json:"status"`
	Tool     string    `json:"tool"`
	Version  string    `json:"version"`
	Host     string    `json:"host"`
	SetID    string    `json:"set_id,omitempty"`
	Start    time.Time `json:"start"`
	End      time.Time `json:"end"`
	Duration float64   `json:"duration_seconds"`
	// Items and Failures are arrays, empty rather than absent.
	Items    []summaryItem     `json:"items"`
	Failures []catalog.Failure `json:"failures"`
	Error    string            `json:"error,omitempty"`
	Prune    *pruneSummary     `json:"prune,omitempty"`
	// Totals of the stored items and the process exit code (0, 1, 2, 3).
	Destination string `json:"destination,omitempty"`
	PlainBytes  int64  `json:"plain_bytes"`
	StoredBytes int64  `json:"stored_bytes"`
	Files       int64  `json:"files"`
	ExitCode    int    `json:"exit_code"`
	// UploadsAborted counts unfinished uploads of earlier runs cleaned up.
	UploadsAborted int `json:"uploads_aborted"`
	// Format written; for chunked: chunks stored new / reused, and the
	// bytes this run uploaded (stored_bytes counts reused chunks too).
	Format        string `json:"format,omitempty"`
	NewChunks     int64  `json:"new_chunks,omitempty"`
	ReusedChunks  int64  `json:"reused_chunks,omitempty"`
	UploadedBytes int64  `json:"uploaded_bytes,omitempty"`
	// stored: this run committed a complete set. It stays true when the
	// prune after the backup fails (OK is then false, the exit code 3):
	// the metrics count the backup as a success, the prune apart.
	stored bool
}

// summaryItem is a stored item and how long it took. The manifest's
// "path.0", "path.1"… meta keys become the array "paths".
type summaryItem struct {
	catalog.Item
	Meta    map[string]string `json:"meta,omitempty"`
	Paths   []string          `json:"paths,omitempty"`
	Seconds float64           `json:"duration_seconds"`
}

func newSummaryItem(it catalog.Item, took time.Duration) summaryItem {
	// The chunk list stays in the manifest: a summary of a big host would
	// otherwise carry tens of thousands of entries.
	it.Chunks = nil
	si := summaryItem{Item: it, Seconds: took.Seconds()}
	for i := 0; ; i++ {
		p, ok := it.Meta[fmt.Sprintf("path.%d", i)]
		if !ok {
			break
		}
		si.Paths = append(si.Paths, p)
	}
	for k, v := range it.Meta {
		if strings.HasPrefix(k, "path.") && len(si.Paths) > 0 {
			continue
		}
		if si.Meta == nil {
			si.Meta = map[string]string{}
		}
		si.Meta[k] = v
	}
	return si
}

// itemDuration is how long item name took in this run (0 if unknown).
func (s *backupSummary) itemDuration(name string) time.Duration {
	for _, it := range s.Items {
		if it.Name == name {
			return time.Duration(it.Seconds * float64(time.Second))
		}
	}
	return 0
}

// afterBackup hooks (retention, notifications, metrics) run after a backup.
var afterBackupHooks []func(ctx context.Context, a *app, cfg *config.Config, sum *backupSummary) error

// reportHooks (notifications, metrics) run after afterBackupHooks, so they
// see the final outcome including retention; err is the run's error. They
// log their own failures and never change the exit code.
var reportHooks []func(ctx context.Context, a *app, cfg *config.Config, sum *backupSummary, err error, log *slog.Logger)

// backupFlags are backup's own flags.
type backupFlags struct {
	keepStaging bool
	parallel    int
}

// newBackupFlags is backup's flag set, for a run and for schedule's check
// of the arguments a task will pass.
func newBackupFlags(a *app) (*flag.FlagSet, *backupFlags) {
	fs := flag.NewFlagSet("backup", flag.ContinueOnError)
	a.addGlobal(fs)
	var bf backupFlags
	fs.BoolVar(&bf.keepStaging, "keep-staging", false, "keep the staging folder after the run")
	parallelFlag(fs, &bf.parallel, "`N` items packed and uploaded at once (default 2)")
	return fs, &bf
}

func runBackup(ctx context.Context, a *app, args []string) error {
	fs, bf := newBackupFlags(a)
	pos, err := a.parseArgs(fs, args)
	if err != nil {
		return err
	}
	if err := noArgs("backup", pos); err != nil {
		return err
	}
	cfg, err := a.loadConfig()
	if err != nil {
		if a.cfg != nil {
			// The config was read, but the run cannot start (its log
			// file cannot be opened): the notifications and metrics it
			// names still tell the admin, who may hear of nothing else.
			a.reportFailedStart(ctx, a.cfg, err)
		}
		return err
	}
	a.backupTrust(cfg)
	return a.backup(ctx, cfg, bf.keepStaging, bf.parallel)
}

// newSummary is a run's summary before it has done anything: failed,
// with empty lists (never null in the JSON).
func newSummary(cfg *config.Config, start time.Time) *backupSummary {
	return &backupSummary{Host: cfg.Host, Start: start.UTC(), Status: "failed", Tool: "lyncbackup", Version: version,
		Items: []summaryItem{}, Failures: []catalog.Failure{}}
}

// reportFailedStart sends the reports of a backup that failed before it
// began (see runBackup).
func (a *app) reportFailedStart(ctx context.Context, cfg *config.Config, err error) {
	sum := newSummary(cfg, time.Now())
	sum.End, sum.Error, sum.ExitCode = sum.Start, oneLine(err.Error()), a.code(err)
	for _, h := range reportHooks {
		h(ctx, a, cfg, sum, err, a.runLog())
	}
}

// checkBackupArgs refuses, when a task is installed, the arguments it
// would pass to backup that backup refuses: otherwise the install
// succeeds and every night's run ends with exit 2.
// The task's config is schedule's own --config (checked here, written
// first), so a second one among them is refused too.
func checkBackupArgs(extra []string) error {
	fs, _ := newBackupFlags(&app{})
	pos, err := parseFlags(fs, extra)
	if errors.Is(err, flag.ErrHelp) {
		return usagef("schedule: the arguments for backup (%s) ask for help: see 'lyncbackup help backup'", strings.Join(extra, " "))
	}
	if err == nil {
		err = noArgs("backup", pos)
	}
	if err != nil {
		return usagef("schedule: backup would refuse the arguments the task passes to it (%s): %v", strings.Join(extra, " "), err)
	}
	config := false
	fs.Visit(func(f *flag.Flag) { config = config || f.Name == flagConfig })
	if config {
		return usagef("schedule: give the task's config as schedule's own --config FILE, before --, not among the backup arguments")
	}
	return nil
}

func (a *app) backup(ctx context.Context, cfg *config.Config, keepStaging bool, parallel int) error {
	log, _, err := a.logger(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	sum := newSummary(cfg, start)
	log.Info("backup started", "host", cfg.Host, "destination", cfg.Destination.URL, "exporters", len(cfg.Exporters))
	err = a.doBackup(ctx, cfg, log, keepStaging, parallel, sum)
	if err != nil {
		sum.Error = oneLine(err.Error())
	}
	for _, h := range afterBackupHooks {
		if herr := h(ctx, a, cfg, sum); herr != nil && err == nil {
			// The set is committed, but the prune after it failed (exit 3,
			// the prune named as the cause) or was interrupted (130): the
			// run is not OK and says so; the metrics still count the
			// backup as a success (sum.stored) and the prune apart.
			err = herr
			sum.Error = oneLine(err.Error())
			sum.OK = false
		}
	}
	end := time.Now()
	sum.End, sum.Duration = end.UTC(), end.Sub(start).Seconds()
	sum.ExitCode = a.code(err)
	for _, h := range reportHooks {
		h(ctx, a, cfg, sum, err, log)
	}
	if a.g.json {
		a.printJSON(sum)
	}
	return err
}

func (a *app) doBackup(ctx context.Context, cfg *config.Config, lg *slog.Logger, keepStaging bool, parallel int, sum *backupSummary) error {
	recips, err := crypto.ParseRecipients(cfg.Encryption.Recipients, cfg.Encryption.RecipientsFile)
	if err != nil {
		return usageError{fmt.Errorf("encryption: %w", err)}
	}
	if fi, err := os.Stat(cfg.Staging); err == nil && !fi.IsDir() {
		return usagef("staging: %s is a file, not a folder", cfg.Staging)
	}
	store, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	if other := catalog.HostSpelledOtherwise(ctx, store, cfg.Host); other != "" {
		return usagef("host: %s differs only in case from %s, whose sets the destination holds: a host name is one name without case (on a Windows folder both are one folder, and a backup under the new spelling would store its chunks again over the old sets'); set host: %s", cfg.Host, other, other)
	}
	env := exporters.Env{Staging: cfg.Staging, Log: lg}
	exps, disc, err := exporters.Build(ctx, cfg, env)
	if err != nil {
		return err
	}
	setMemoryBudget(cfg, parallel)
	prog := newProgress(a, lg)
	job := backupJob(cfg, store, exps, disc, recips, keepStaging, parallel)
	job.Progress, job.Log = prog, lg
	job.Format = cfg.Format
	newKey, emptyKey, keyFile := false, false, chunk.KeyFile(cfg.Staging, cfg.Host)
	if cfg.Format == pipeline.FormatChunked {
		fi, kerr := os.Stat(keyFile)
		newKey = oserr.Missing(kerr)
		emptyKey = kerr == nil && fi.Size() == 0 // a run stopped while making it: filled now
		key, err := chunk.LoadOrCreateKey(keyFile)
		if err != nil {
			prog.Stop()
			return err
		}
		job.ChunkKey = key
		job.KeyFile, job.DamagedFile = keyFile, chunk.DamagedFile(cfg.Staging, cfg.Host)
	}
	res, err := pipeline.Backup(ctx, job)
	prog.Stop()
	if nse := (*pipeline.NothingStoredError)(nil); errors.As(err, &nse) {
		sum.Failures = nse.Failures // every one, for --json, the metrics and the mail
		for _, f := range nse.Failures {
			lg.Error("not backed up", "exporter", f.Exporter, "kind", f.Kind, "err", f.Error)
		}
	}
	if err != nil {
		return err
	}
	m := res.Manifest
	recordResult(sum, res, lg)
	sum.UploadsAborted = retention.SweepStale(ctx, cfg.Retention, store, cfg.Host, lg)
	sum.Format, sum.NewChunks, sum.ReusedChunks, sum.UploadedBytes = cfg.Format, res.NewChunks, res.ReusedChunks, res.UploadedBytes
	plain, stored, files := m.Totals()
	sum.PlainBytes, sum.StoredBytes, sum.Files, sum.Destination = plain, stored, files, store.String()
	a.say("set %s/%s %s: %d items, %d files, %s read, %s stored in %s",
		m.Host, m.SetID, m.Status, len(m.Items), files, humanBytes(plain), humanBytes(stored), m.End.Sub(m.Start).Round(time.Millisecond))
	for _, it := range m.Items {
		for _, w := range it.Warnings {
			lg.Warn("warning", "item", it.Name, "warning", w)
		}
	}
	if (newKey || emptyKey) && res.KnownChunks > 0 && res.ReusedChunks == 0 {
		was, why := "there was no chunk key at "+keyFile, " (was the staging folder cleaned or moved? keep staging on a lasting disk, not in a temp folder)"
		if emptyKey {
			was, why = "the chunk key at "+keyFile+" was empty (a run was stopped while making it)", ""
		}
		a.warnLine(fmt.Sprintf("%s, so a new one was made: none of the %d chunks the destination holds for %s could be reused, and this backup stored every chunk again%s", was, res.KnownChunks, m.Host, why),
			"chunk_key", keyFile, "known_chunks", res.KnownChunks)
	}
	if later := catalog.DatedAfter(ctx, store, m.Host, time.Now().Add(catalog.FutureAllowance)); len(later) > 0 {
		// Made while a clock was ahead (or this one is behind now): the
		// newest of them is what restore latest picks, not this set.
		a.warnLine(fmt.Sprintf("%d set(s) of %s are dated after this machine's clock, newest %s: restore latest picks it, not %s, and prune keeps it as the newest, until its folder is deleted by hand; check this machine's time (w32tm /query /status)", len(later), m.Host, later[len(later)-1], m.SetID),
			"host", m.Host, "future_sets", later)
	}
	if res.Partial {
		return partialError{fmt.Errorf("partial backup: %d exporter(s) failed (set %s committed as partial): %s", len(m.Failures), m.SetID, m.Failures[0].Error)}
	}
	sum.OK, sum.stored = true, true
	return nil
}

// backupJob is the pipeline's job for cfg (the lock or immutability asked
// for included); the caller adds the progress display and the logger.
func backupJob(cfg *config.Config, store upload.Store, exps []exporters.Exporter, disc exporters.Discovery, recips []crypto.Recipient, keepStaging bool, parallel int) pipeline.BackupJob {
	job := pipeline.BackupJob{
		Host: cfg.Host, Store: store, Exporters: exps, Discovery: disc, Recipients: recips,
		Compression: cfg.Compression.Level, ZstdConcurrency: cfg.Compression.Concurrency,
		Parallel: parallel, Staging: pipeline.StagingDir(cfg.Staging, cfg.Host), KeepStaging: keepStaging,
		LeaseTTL: catalog.LeaseTTL(retention.GraceOf(cfg.Retention)),
		Avoid:    []string{cfg.Staging},
	}
	if p := destination.LocalPath(cfg.Destination); p != "" {
		job.Avoid = append(job.Avoid, p)
	}
	lock := destination.LockOf(cfg.Destination)
	job.LockMode, job.LockDays, job.LegalHold = lock.Mode, lock.Days, lock.LegalHold
	if pol, err := retention.FromConfig(cfg.Retention); err == nil { // validated with the config
		job.LockZone = pol.Location
	}
	return job
}

// recordResult puts the committed set into the summary and the log: its id
// and status, each item with its duration, each failure and why.
func recordResult(sum *backupSummary, res pipeline.BackupResult, lg *slog.Logger) {
	m := res.Manifest
	sum.SetID, sum.Status = m.SetID, m.Status
	for _, it := range m.Items {
		sum.Items = append(sum.Items, newSummaryItem(it, res.Durations[it.Name]))
	}
	if m.Failures != nil {
		sum.Failures = m.Failures
	}
	lg.Info("set committed", "set_id", m.SetID, "status", m.Status, "items", len(m.Items), "failures", len(m.Failures))
	for _, f := range m.Failures {
		lg.Error("not in the set", "exporter", f.Exporter, "kind", f.Kind, "err", f.Error)
	}
}

// setMemoryBudget gives the Go runtime the soft memory limit a backup
// needs by design (pipeline.BackupMemory); GOMEMLIMIT, when set, wins.
func setMemoryBudget(cfg *config.Config, parallel int) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	debug.SetMemoryLimit(pipeline.BackupMemory(cfg.Format, cfg.Compression.Level, parallel, int64(cfg.Destination.PartSize), int64(cfg.Destination.Concurrency)))
}

// setReadMemory gives a restore, ls or verify of the sets ms the soft
// memory limit it needs by design (pipeline.ReadMemory); GOMEMLIMIT, when
// set, wins.
func (a *app) setReadMemory(parallel int, ms ...*catalog.Manifest) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return
	}
	var part, conc int64
	if a.cfg != nil {
		part, conc = int64(a.cfg.Destination.PartSize), int64(a.cfg.Destination.Concurrency)
	}
	debug.SetMemoryLimit(pipeline.ReadMemory(parallel, part, conc, ms...))
}
