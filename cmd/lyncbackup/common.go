package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/internal/logfile"
	"github.com/lyncbackup/lyncbackup/progress"
	"github.com/lyncbackup/lyncbackup/upload"
)

// app carries what every command shares.
type app struct {
	ctx            context.Context // the signal context (Ctrl-C, SIGTERM)
	stdout, stderr io.Writer
	out            *outWriter // under stdout: its first failed write
	g              globalFlags
	cmd            *command
	started        time.Time
	// cfg is the loaded config, once loadConfig succeeded.
	cfg *config.Config
	// wantJSON: --json appeared among the arguments (even if parsing
	// failed before reaching it): errors are then answered in JSON too.
	wantJSON bool
	jsonDone bool  // the command's one JSON document is printed
	jsonErr  error // the document could not be made

	log                *slog.Logger
	logFile            *os.File          // nil when logging to the console
	logFallback        *logfile.Fallback // the log file's writer: stderr once a write to the file failed
	logPath, logFormat string            // what log was opened for

	// trust: where the opened destination's CAs came from (cafile.go),
	// for the fix of a refused certificate (destination.Trust.Hint).
	trust destination.Trust
}

// globalFlags are the flags shared by the commands; each command lists
// those that apply to it (command.flags) and refuses the others.
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

// The global flags, and the sets commands take.
const (
	flagConfig      = "config"
	flagJSON        = "json"
	flagQuiet       = "quiet"
	flagProgress    = "progress"
	flagLogFormat   = "log-format"
	flagLogFile     = "log-file"
	flagLimitUpload = "limit-upload"
)

var (
	globalFlagNames = []string{flagConfig, flagJSON, flagQuiet, flagProgress, flagLogFormat, flagLogFile, flagLimitUpload}
	// flagsCommon: commands that read a config and log their run.
	flagsCommon = []string{flagConfig, flagJSON, flagQuiet, flagLogFormat, flagLogFile}
	// flagsTransfer: commands that move data and show progress.
	flagsTransfer = []string{flagConfig, flagJSON, flagQuiet, flagProgress, flagLogFormat, flagLogFile}
)

// notApplicable marks a refused flag's usage text (printHelp hides them).
const notApplicable = "(does not apply to "

// takes reports whether the running command accepts global flag name.
func (a *app) takes(name string) bool {
	if a.cmd == nil {
		return false
	}
	for _, f := range a.cmd.flags {
		if f == name {
			return true
		}
	}
	return false
}

// addGlobal registers the shared flags the command takes. Their defaults
// are the values already set: a command that runs another (demo runs list
// and verify) keeps its --json, --quiet, --config and --log-file.
func (a *app) addGlobal(fs *flag.FlagSet) {
	if c, ok := commands[fs.Name()]; ok && a.cmd == nil {
		a.cmd = c
	}
	c := commands[fs.Name()]
	applies := func(name string) bool {
		if c == nil {
			return true
		}
		for _, f := range c.flags {
			if f == name {
				return true
			}
		}
		return false
	}
	for _, name := range globalFlagNames {
		if !applies(name) {
			refuse := func(string) error {
				err := fmt.Errorf("--%s does not apply to %s", name, fs.Name())
				refusals.Store(fs, err) // flag.Parse keeps only its text
				return err
			}
			if name == flagJSON || name == flagQuiet {
				fs.BoolFunc(name, notApplicable+fs.Name()+")", refuse)
			} else {
				fs.Func(name, notApplicable+fs.Name()+")", refuse)
			}
			continue
		}
		switch name {
		case flagConfig:
			fs.StringVar(&a.g.config, name, a.g.config, "config file (default: $LYNCBACKUP_CONFIG, else ./lyncbackup.yaml)")
		case flagJSON:
			fs.BoolVar(&a.g.json, name, a.g.json, "print one machine-readable JSON document on stdout, also on failure (schema: README)")
		case flagQuiet:
			fs.BoolVar(&a.g.quiet, name, a.g.quiet, "print only errors (the log file still records everything)")
		case flagProgress:
			fs.Func(name, "progress display: never, auto (bars on a terminal, log lines otherwise) or always", setProgressMode(a))
		case flagLogFormat:
			fs.Func(name, "log format: text or json (default: log.format, else text); json makes every stderr and log line JSON", func(v string) error {
				if v != "text" && v != "json" {
					return fmt.Errorf("must be text or json, not %q", v)
				}
				a.g.logFormat = v
				return nil
			})
		case flagLogFile:
			fs.StringVar(&a.g.logFile, name, a.g.logFile, "append this run's record to FILE (default: log.file)")
		case flagLimitUpload:
			fs.StringVar(&a.g.limitUpload, name, a.g.limitUpload, "upload bandwidth across all uploads, e.g. 20MiB/s (overrides limits.upload)")
		}
	}
}

// printHelp is a command's -h: its usage line, summary and flags (not
// those it refuses).
func (a *app) printHelp(w io.Writer, fs *flag.FlagSet) {
	c := commands[fs.Name()]
	if c != nil {
		u := c.usage
		if u == "" {
			u = c.name + " [flags]"
		}
		fmt.Fprintf(w, "Usage: lyncbackup %s\n\n%s\n\nFlags:\n", u, c.summary)
	}
	fs.VisitAll(func(f *flag.Flag) {
		if strings.HasPrefix(f.Usage, notApplicable) {
			return
		}
		name, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if name != "" {
			line += " " + name
		}
		fmt.Fprintln(w, line)
		if f.DefValue != "" && f.DefValue != "false" && f.DefValue != "0" {
			usage += fmt.Sprintf(" (default %s)", f.DefValue)
		}
		fmt.Fprintf(w, "    \t%s\n", strings.ReplaceAll(usage, "\n", "\n    \t"))
	})
	if c != nil && c.notes != "" {
		fmt.Fprintf(w, "\n%s\n", c.notes)
	}
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
	a.cfg = cfg
	if err := a.openLog(); err != nil {
		return nil, err
	}
	if a.logFile != nil {
		a.log.Info("config loaded", "host", cfg.Host, "destination", cfg.Destination.URL)
	}
	return cfg, nil
}

// logTarget is the log's format and file: the flags, else the config's.
func (a *app) logTarget() (format, file string) {
	format, file = a.g.logFormat, a.g.logFile
	if a.cfg != nil {
		if format == "" {
			format = a.cfg.Log.Format
		}
		if file == "" {
			file = a.cfg.Log.File
		}
	}
	return format, file
}

// openLog opens the run's log for the flags (and the config, once loaded):
// the log file when one is named, else the console. It reopens when the
// config names a file the flags did not. A log file gets the run's start
// line (command, version, config, host), and finish writes its end.
func (a *app) openLog() error {
	format, file := a.logTarget()
	if a.log != nil && format == a.logFormat && file == a.logPath {
		return nil
	}
	level := slog.LevelInfo
	var w io.Writer = a.stderr
	var f *os.File
	var fb *logfile.Fallback
	var rotation string
	if file != "" {
		var max int64
		if a.cfg != nil {
			max = int64(a.cfg.Log.MaxSize)
		}
		var err error
		f, rotation, err = logfile.Open(file, max)
		if err != nil {
			return usagef("log file %s: %v", file, unwrapPath(err))
		}
		fb = logfile.NewFallback(f, a.stderr, func(err error) {
			a.stderrWarn(fmt.Sprintf("log file %s: write: %v; the rest of this run's log goes to stderr", file, unwrapPath(err)))
		})
		w = secrets.Writer(fb)
	} else if a.g.quiet {
		level = slog.LevelError
	}
	opts := &slog.HandlerOptions{Level: level, ReplaceAttr: secrets.ReplaceAttr}
	var h slog.Handler
	switch format {
	case "", "text":
		h = slog.NewTextHandler(w, opts)
	case "json":
		h = slog.NewJSONHandler(w, opts)
	default:
		if f != nil {
			f.Close()
		}
		return &config.Error{Key: "log.format", Msg: fmt.Sprintf("must be text or json, not %q", format)}
	}
	if a.logFile != nil {
		a.logFile.Close()
	}
	a.log, a.logFile, a.logFallback, a.logPath, a.logFormat = slog.New(h), f, fb, file, format
	if f != nil {
		host := ""
		if a.cfg != nil {
			host = a.cfg.Host
		} else if h, err := os.Hostname(); err == nil {
			host = h
		}
		args := []any{"command", a.cmdName(), "version", version, "host", host, "pid", os.Getpid()}
		if a.takes(flagConfig) {
			p := a.configPath()
			if abs, err := filepath.Abs(p); err == nil {
				p = abs
			}
			args = append(args, "config", p)
		}
		a.log.Info("run started", args...)
		if rotation != "" {
			a.log.Info(rotation)
		}
	}
	return nil
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

func (a *app) cmdName() string {
	if a.cmd == nil {
		return ""
	}
	return a.cmd.name
}

// runLog is the run's logger (the console's when the log cannot open:
// that error is reported by the command itself).
func (a *app) runLog() *slog.Logger {
	if a.log == nil {
		if err := a.openLog(); err != nil || a.log == nil {
			return slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{ReplaceAttr: secrets.ReplaceAttr}))
		}
	}
	return a.log
}

// logger is kept for the commands' call sites: the run's logger.
func (a *app) logger(cfg *config.Config) (*slog.Logger, func(), error) {
	if cfg != nil && a.cfg == nil {
		a.cfg = cfg
	}
	if err := a.openLog(); err != nil {
		return nil, nil, err
	}
	return a.log, func() {}, nil
}

// failDoc is the --json document of a run that failed before its command
// could say more.
type failDoc struct {
	OK       bool   `json:"ok"`
	Command  string `json:"command"`
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error"`
}

// finish ends the run: the --json document if the command printed none,
// the log file's last line (outcome and exit code), the one error line on
// stderr (a JSON object with --log-format json), and the exit code.
func (a *app) finish(err error) int {
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	err = a.trust.Hint(err)
	if err == nil && a.jsonErr != nil {
		err = fmt.Errorf("could not make the JSON document: %w", a.jsonErr)
	}
	if err == nil && a.out.failed() != nil {
		// The report asked for is lost (stdout on a full disk): a failure,
		// even when the command's own work was done.
		err = fmt.Errorf("could not write the output: %w", a.out.failed())
	}
	code := a.code(err)
	msg := ""
	if err != nil {
		msg = oneLine(err.Error())
	}
	if err != nil && (a.g.json || a.wantJSON) && !a.jsonDone && a.takes(flagJSON) {
		a.printJSON(failDoc{Command: a.cmdName(), ExitCode: code, Error: msg})
	}
	if a.log == nil && a.takes(flagLogFile) {
		a.openLog() // a failure here is the command's own error already
	}
	if a.logFile != nil {
		args := []any{"command", a.cmdName(), "exit_code", code, "seconds", float64(time.Since(a.started).Milliseconds()) / 1000}
		switch {
		case err != nil && a.logFallback.Failed():
			// The log goes to stderr now: the "lyncbackup: …" line below
			// says the same, and a record as well printed it twice.
		case err == nil:
			a.log.Info("run finished", args...)
		case code == exitInterrupted:
			a.log.Warn("run interrupted", append(args, "err", msg)...)
		case code == exitPartial:
			a.log.Warn("run partial", append(args, "err", msg)...)
		default:
			a.log.Error("run failed", append(args, "err", msg)...)
		}
		a.logFile.Close()
		a.logFile = nil
	}
	if err != nil {
		format, _ := a.logTarget()
		if format == "json" {
			h := slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{ReplaceAttr: secrets.ReplaceAttr})
			slog.New(h).Error("lyncbackup: "+msg, "command", a.cmdName(), "exit_code", code)
		} else {
			fmt.Fprintln(a.stderr, "lyncbackup: "+readable(msg))
		}
	}
	return code
}

// warnLine writes a warning the operator must see even with --quiet or
// --json: one JSON line on stderr with --log-format json (every line is JSON
// there), else a plain "lyncbackup: warning: …" line; it goes to the log file
// too when one is open.
func (a *app) warnLine(msg string, attrs ...any) {
	if a.log != nil && a.logFile != nil && !a.logFallback.Failed() {
		a.log.Warn(msg, attrs...)
	}
	a.stderrWarn(msg, attrs...)
}

// stderrWarn is warnLine's line on stderr.
func (a *app) stderrWarn(msg string, attrs ...any) {
	if format, _ := a.logTarget(); format == "json" {
		h := slog.NewJSONHandler(a.stderr, &slog.HandlerOptions{ReplaceAttr: secrets.ReplaceAttr})
		slog.New(h).Warn("lyncbackup: "+msg, append([]any{"command", a.cmdName()}, attrs...)...)
		return
	}
	fmt.Fprintln(a.stderr, "lyncbackup: warning: "+readable(oneLine(msg)))
}

func openStore(ctx context.Context, cfg *config.Config) (upload.Store, error) {
	st, err := destination.Open(ctx, cfg.Destination)
	if err != nil {
		return nil, err
	}
	// One shared budget for every concurrent upload of the run.
	return upload.Limit(st, int64(cfg.Limits.Upload)), nil
}

// printJSON writes v as the command's one JSON document (later calls
// print nothing: one document per run).
func (a *app) printJSON(v any) error {
	if a.jsonDone {
		return nil
	}
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		// Nothing was printed: the run fails, and finish prints the
		// failure document instead (a value JSON cannot hold, such as a
		// date past the year 9999, made prune --json print nothing, exit 0).
		a.jsonErr = err
		return err
	}
	a.jsonDone = true
	_, err = a.stdout.Write(append(b, '\n'))
	return err
}

// answer runs read, a blocking read of the terminal or of stdin, and gives
// up when the run is interrupted: a Ctrl-C at a prompt ends the run at
// once (the read is left to the process's end).
func (a *app) answer(read func() (string, error)) (string, error) {
	type result struct {
		s   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		s, err := read()
		ch <- result{s, err}
	}()
	select {
	case r := <-ch:
		return r.s, r.err
	case <-a.ctx.Done():
		return "", errors.New("interrupted")
	}
}

// say prints a human line unless --quiet or --json.
func (a *app) say(format string, args ...any) {
	if a.g.quiet || a.g.json {
		return
	}
	fmt.Fprintf(a.stdout, format+"\n", args...)
}

// newProgress returns the display for a run (see progress.go).
var newProgress = func(a *app, log *slog.Logger) progress.Display { return progress.NewQuiet() }

// humanBytes formats a size with binary units (as the e-mail report does).
func humanBytes(n int64) string { return progress.HumanBytes(n) }

// parallelFlag is --parallel N: items at once, 0 for the default. A
// negative N had been taken as the default without a word.
func parallelFlag(fs *flag.FlagSet, p *int, usage string) {
	fs.Func("parallel", usage, func(v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return errors.New("must be a number of items, 1 or more (0: the default)")
		}
		*p = n
		return nil
	})
}
