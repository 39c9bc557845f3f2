package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"github.com/lyncbackup/lyncbackup/notify"
	"io"
	"log/slog"
	"os"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/pipeline"
	"github.com/lyncbackup/lyncbackup/upload"
)

// globalFlags are accepted by every command.
type globalFlags struct {
	config    string
	json      bool
	quiet     bool
	progress  string
	logFormat string
	logFile   string
	// limitUpload overrides limits.upload ("20MiB/s").
	limitUpload string
}

func (a *app) addGlobal(fs *flag.FlagSet) {
	fs.StringVar(&a.g.config, "config", "", "config file (default: $LYNCBACKUP_CONFIG, else ./lyncbackup.yaml)")
	fs.BoolVar(&a.g.json, "json", false, "print one machine-readable JSON summary on stdout")
	fs.BoolVar(&a.g.quiet, "quiet", false, "print only errors")
	fs.Func("progress", "progress display: never, auto (bars on a terminal, log lines otherwise) or always", setProgressMode(a))
	fs.StringVar(&a.g.logFormat, "log-format", "", "log format: text or json")
	fs.StringVar(&a.g.logFile, "log-file", "", "append logs to this file")
	fs.StringVar(&a.g.limitUpload, "limit-upload", "", "upload bandwidth across all uploads, e.g. 20MiB/s (overrides limits.upload)")
}

// configPath resolves --config, then LYNCBACKUP_CONFIG, then ./lyncbackup.yaml.
func (a *app) configPath() string {
	if a.g.config != "" {
		return a.g.config
	}
	if p := os.Getenv("LYNCBACKUP_CONFIG"); p != "" {
		return p
	}
	return "lyncbackup.yaml"
}

func (a *app) loadConfig() (*config.Config, error) {
	cfg, err := config.Load(a.configPath())
	if err != nil {
		return nil, err
	}
	learnSecrets(cfg)
	if a.g.limitUpload != "" {
		r, err := config.ParseRate(a.g.limitUpload)
		if err != nil || r < 0 {
			return nil, usagef("--limit-upload: invalid rate %q (use e.g. 20MiB/s)", a.g.limitUpload)
		}
		cfg.Limits.Upload = config.Rate(r)
	}
	return cfg, nil
}

// logger builds the run's logger; closeFn closes a log file.
func (a *app) logger(cfg *config.Config) (*slog.Logger, func(), error) {
	format, file := a.g.logFormat, a.g.logFile
	if cfg != nil {
		if format == "" {
			format = cfg.Log.Format
		}
		if file == "" {
			file = cfg.Log.File
		}
	}
	var w io.Writer = a.stderr
	closeFn := func() {}
	level := slog.LevelInfo
	if a.g.quiet {
		level = slog.LevelError
	}
	if file != "" {
		f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o640)
		if err != nil {
			return nil, nil, usagef("log file %s: %v", file, err)
		}
		w = secrets.Writer(f)
		closeFn = func() { f.Close() }
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: secrets.ReplaceAttr}
	var h slog.Handler
	switch format {
	case "", "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		return nil, nil, usagef("--log-format must be text or json, not %q", format)
	}
	return slog.New(h), closeFn, nil
}

func openStore(ctx context.Context, cfg *config.Config) (upload.Store, error) {
	st, err := destination.Open(ctx, cfg.Destination)
	if err != nil {
		return nil, err
	}
	// One shared budget for every concurrent upload of the run.
	return upload.Limit(st, int64(cfg.Limits.Upload)), nil
}

// printJSON writes v as the command's one JSON document.
func (a *app) printJSON(v any) error {
	enc := json.NewEncoder(a.stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// say prints a human line unless --quiet or --json.
func (a *app) say(format string, args ...any) {
	if a.g.quiet || a.g.json {
		return
	}
	fmt.Fprintf(a.stdout, format+"\n", args...)
}

// newProgress returns the display for a run (see progress.go).
var newProgress = func(a *app, log *slog.Logger) (pipeline.Progress, func()) {
	return pipeline.NoProgress{}, func() {}
}

// humanBytes formats a size with binary units (as the e-mail report does).
func humanBytes(n int64) string { return notify.HumanBytes(n) }
