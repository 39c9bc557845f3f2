package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/metrics"
	"github.com/lyncbackup/lyncbackup/notify"
)

// After every backup: the metrics textfile, then notifications. Both see
// the final outcome (retention included). Their own failures are logged as
// errors but do not change the exit code: a good backup whose e-mail
// bounced is still a good backup, and the missing healthchecks ping or the
// stale metrics timestamp is what alerts in that case.
func init() {
	reportHooks = append(reportHooks, writeMetrics, sendNotifications)
}

func writeMetrics(ctx context.Context, a *app, cfg *config.Config, sum *backupSummary, runErr error, log *slog.Logger) {
	if cfg.Metrics.Textfile == "" {
		return
	}
	r := metrics.Run{
		// A committed complete set is a successful backup, even when the
		// prune after it failed: that is lyncbackup_last_prune_success.
		Host: cfg.Host, Status: sum.Status, OK: sum.stored, ExitCode: sum.ExitCode,
		Start: sum.Start, End: sum.Start.Add(time.Duration(sum.Duration * float64(time.Second))),
	}
	if r.Status == "" {
		r.Status = "failed"
	}
	for _, it := range sum.Items {
		r.Items = append(r.Items, metrics.Item{Name: it.Name, Kind: it.Kind, Files: it.Files, PlainBytes: it.PlainBytes,
			StoredBytes: it.StoredBytes, Warnings: len(it.Warnings)})
	}
	for _, f := range sum.Failures {
		r.Failures = append(r.Failures, metrics.Failure{Name: f.Exporter, Kind: f.Kind})
	}
	if p := sum.Prune; p != nil {
		r.Prune = &metrics.Prune{OK: p.OK, Kept: p.Kept, Deleted: len(p.Deleted), DeleteFailed: len(p.DeleteFailed), FreedBytes: p.FreedBytes, Errors: len(p.Errors)}
	}
	r.Sets = completeSets(ctx, cfg, log)
	if err := metrics.Write(cfg.Metrics.Textfile, r); err != nil {
		log.Error("metrics not written", "err", err)
		return
	}
	log.Info("metrics written", "textfile", cfg.Metrics.Textfile)
}

// completeSets counts the complete sets per host in the destination (nil
// when it cannot be listed: the metric is then left out, not zero).
func completeSets(ctx context.Context, cfg *config.Config, log *slog.Logger) map[string]int {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil
	}
	sets, err := (&catalog.Catalog{Store: st, NoChunks: true}).List(context.WithoutCancel(ctx))
	if err != nil {
		log.Warn("metrics: cannot count the sets", "err", err)
		return nil
	}
	return catalog.CompleteByHost(sets)
}

// recordVerify writes the time of this successful verify beside the
// metrics textfile, when the config names one.
func (a *app) recordVerify(set catalog.Set, mode string) {
	if a.cfg == nil || a.cfg.Metrics.Textfile == "" {
		return
	}
	v := metrics.Verify{Host: set.Host, Mode: mode, SetTime: set.Time, End: time.Now()}
	if err := metrics.WriteVerify(a.cfg.Metrics.Textfile, v); err != nil {
		a.runLog().Error("verify metrics not written", "err", err)
	}
}

func sendNotifications(ctx context.Context, a *app, cfg *config.Config, sum *backupSummary, runErr error, log *slog.Logger) {
	n := cfg.Notify
	if len(n.Webhooks) == 0 && n.Email == nil {
		return
	}
	rep := notify.Report{
		Tool: "lyncbackup " + version, Host: cfg.Host, SetID: sum.SetID, Status: sum.Status, OK: sum.OK,
		ExitCode: sum.ExitCode, Start: sum.Start, Duration: time.Duration(sum.Duration * float64(time.Second)),
		Error: sum.Error, Retention: retentionLines(sum.Prune),
	}
	if rep.Status == "" {
		rep.Status = "failed"
	}
	for _, it := range sum.Items {
		rep.Items = append(rep.Items, notify.Item{Name: it.Name, Kind: it.Kind, Files: it.Files, PlainBytes: it.PlainBytes,
			StoredBytes: it.StoredBytes, Warnings: it.Warnings, Duration: sum.itemDuration(it.Name)})
	}
	for _, f := range sum.Failures {
		rep.Failures = append(rep.Failures, notify.Failure{Exporter: f.Exporter, Kind: f.Kind, Error: f.Error})
	}
	body, err := json.Marshal(sum)
	if err != nil {
		log.Error("notification summary", "err", err)
		return
	}
	// Send even when the run was interrupted: that is when it matters.
	nctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 3*time.Minute)
	defer cancel()
	for _, e := range notify.Send(nctx, n, rep, body, notify.Options{Redact: secrets.String, Log: log}) {
		log.Error("notification failed", "err", e)
	}
}

// retentionLines describes what after-backup retention did: its summary
// line, then each error.
func retentionLines(ps *pruneSummary) []string {
	if ps == nil {
		return nil
	}
	lines := []string{ps.Summary()}
	for _, e := range ps.Errors {
		lines = append(lines, "error: "+e)
	}
	return lines
}
