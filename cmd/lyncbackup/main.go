// Command lyncbackup backs up a Lync Server 2013 / Skype for Business Server
// deployment offsite as tar | zstd | age streams. This package is wiring
// only: flags, config, one call per command, exit codes and printing.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/internal/shellquote"
	"github.com/lyncbackup/lyncbackup/pipeline"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "0.1.0-dev"

// Exit codes (documented in README).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
	exitPartial = 3
	// exitInterrupted: Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
	exitInterrupted = 130
)

// usageError marks bad flags or config: exit 2.
type usageError struct{ err error }

func (u usageError) Error() string { return u.err.Error() }
func (u usageError) Unwrap() error { return u.err }

func usagef(format string, a ...any) error { return usageError{fmt.Errorf(format, a...)} }

// partialError marks a committed partial backup: exit 3.
type partialError struct{ err error }

func (p partialError) Error() string { return p.err.Error() }
func (p partialError) Unwrap() error { return p.err }

// command is one subcommand.
type command struct {
	name    string
	summary string
	// usage is the line after "lyncbackup " in -h: arguments and the
	// essential flags ("restore [SET|latest] --to DIR --identity FILE").
	usage string
	// flags lists the global flags that apply (see globalFlagNames); the
	// others are refused with exit 2.
	flags []string
	run   func(ctx context.Context, a *app, args []string) error
	// notes close the -h text (semantics worth stating).
	notes string
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

func main() {
	pipeline.Version = version
	ignoreBrokenPipe()
	ctx, stop := signal.NotifyContext(context.Background(), interruptSignals()...)
	// The first Ctrl-C (or SIGTERM) ends the run cleanly; once it is
	// heard, the signals take their default action again, so a second one
	// ends a run stuck in a clean-up (a notification to a dead webhook).
	go func() { <-ctx.Done(); stop() }()
	if os.Getenv("GOGC") == "" {
		// The heap is mostly a few large, pointer-free buffers (S3 parts,
		// zstd windows), so collecting at +25% instead of +100% costs next
		// to no CPU and keeps peak RSS near the live set: flat and within
		// the 160 MiB budget with two items in flight (docs/BENCHMARKS.md).
		debug.SetGCPercent(25)
	}
	stopProfile := startProfile()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// startProfile honours the hidden LYNCBACKUP_CPUPROFILE=FILE hook used by
// the benchmarks (bench/run.sh --profile): a pprof CPU profile of the run.
func startProfile() func() {
	p := os.Getenv("LYNCBACKUP_CPUPROFILE")
	if p == "" {
		return func() {}
	}
	f, err := os.Create(p)
	if err != nil {
		fmt.Fprintln(os.Stderr, "lyncbackup: LYNCBACKUP_CPUPROFILE:", err)
		return func() {}
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		fmt.Fprintln(os.Stderr, "lyncbackup: LYNCBACKUP_CPUPROFILE:", err)
		f.Close()
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
		// LYNCBACKUP_MEMPROFILE=FILE: where the run allocated (allocs profile).
		if mp := os.Getenv("LYNCBACKUP_MEMPROFILE"); mp != "" {
			if mf, err := os.Create(mp); err == nil {
				pprof.Lookup("allocs").WriteTo(mf, 0)
				mf.Close()
			}
		}
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	out := &outWriter{w: stdout}
	a := &app{ctx: ctx, stdout: secrets.Writer(out), out: out, stderr: newConsole(stderr), started: time.Now()}
	if len(args) == 0 {
		printUsage(stdout)
		return exitUsage
	}
	switch args[0] {
	case "help", "-h", "--help", "-help":
		if len(args) > 1 && args[1] == "version" {
			fmt.Fprintln(stdout, "Usage: lyncbackup version [--json]\n\nprint the version")
			return exitOK
		}
		if len(args) > 1 {
			c, ok := commands[args[1]]
			if !ok {
				fmt.Fprintf(stderr, "lyncbackup: unknown command %q (run 'lyncbackup help')\n", args[1])
				return exitUsage
			}
			a.cmd = c
			c.run(ctx, a, []string{"-h"})
			return exitOK
		}
		printUsage(stdout)
		return exitOK
	case "version", "--version", "-version":
		code := runVersion(a, args[1:])
		if code == exitOK && a.out.failed() != nil {
			fmt.Fprintf(stderr, "lyncbackup: could not write the output: %v\n", a.out.failed())
			return exitFailure
		}
		return code
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "lyncbackup: unknown command %q (run 'lyncbackup help')\n", args[0])
		return exitUsage
	}
	a.cmd = c
	for _, arg := range args[1:] {
		if arg == "--" {
			break
		}
		if arg == "--json" || arg == "-json" || arg == "--json=true" || arg == "-json=true" {
			a.wantJSON = true
		}
	}
	err := c.run(ctx, a, args[1:])
	return a.finish(err)
}

// runVersion prints the version (with --json, as a document).
func runVersion(a *app, args []string) int {
	for _, arg := range args {
		if arg == "--json" || arg == "-json" {
			a.g.json = true
			a.printJSON(map[string]any{"ok": true, "exit_code": 0, "version": version, "tool": "lyncbackup"})
			return exitOK
		}
		fmt.Fprintf(a.stderr, "lyncbackup: version takes no arguments but --json (got %q)\n", arg)
		return exitUsage
	}
	fmt.Fprintln(a.stdout, "lyncbackup", version)
	return exitOK
}

// outWriter is stdout, remembering the first write that failed.
type outWriter struct {
	w   io.Writer
	err error
}

func (o *outWriter) Write(p []byte) (int, error) {
	n, err := o.w.Write(p)
	if err != nil && o.err == nil {
		o.err = err
	}
	return n, err
}

// failed is the output's first write error, unless the reader went away
// (a broken pipe: `lyncbackup list | head` ends without a complaint).
func (o *outWriter) failed() error {
	if o == nil || o.err == nil || brokenPipe(o.err) {
		return nil
	}
	return o.err
}

// exitCode maps an error to the process exit code.
func exitCode(err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	var ue usageError
	var ce *config.Error
	var pe partialError
	var de *destination.ConfigError
	switch {
	case errors.As(err, &pe):
		return exitPartial
	case errors.As(err, &ue), errors.As(err, &ce), errors.As(err, &de), errors.Is(err, catalog.ErrChooseHost):
		return exitUsage
	}
	return exitFailure
}

// code is exitCode, and 130 for a run the user interrupted (Ctrl-C,
// SIGTERM), as shells report a process killed by SIGINT.
func (a *app) code(err error) int {
	if err != nil && !errors.Is(err, flag.ErrHelp) && a.ctx != nil && a.ctx.Err() != nil {
		return exitInterrupted
	}
	return exitCode(err)
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", " | ")
	return strings.ReplaceAll(s, "\n", " | ")
}

// readable is a message line as the terminal is to show it: every control
// character but a tab, every invisible character (a bidi override, a line
// separator, a Hangul filler that prints as blank: shellquote.Invisible)
// and every byte that is not UTF-8 written as Go escapes it (\x1b, \u202e,
// \u3164, \xff), so a name from a file, a path or a store cannot end the
// line, drive the terminal, show the text after it reordered, or hide a
// letter as blank space. A line that needs such an escape has its
// backslashes doubled too, so that a Windows path holding an escaped
// character (C:\\Data\\x\u202e) is not read as one holding the text.
func readable(s string) string {
	plain := func(i int, r rune) bool {
		return !(r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD")) && (r == '\t' || !unicode.IsControl(r) && !shellquote.Invisible(r))
	}
	escape := false
	for i, r := range s {
		if !plain(i, r) {
			escape = true
			break
		}
	}
	if !escape {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case plain(i, r):
			b.WriteRune(r)
		default:
			q := shellquote.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "lyncbackup: offsite backup of Lync Server 2013 / Skype for Business Server as tar | zstd | age")
	fmt.Fprintln(w, "\nUsage: lyncbackup COMMAND [ARGS] [flags]\n\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintf(w, "  %-10s %s\n", "help", "show this list, or with COMMAND that command's usage and flags")
	fmt.Fprintf(w, "  %-10s %s\n", "version", "print the version")
	fmt.Fprintln(w, "\nRun 'lyncbackup help COMMAND' (or 'lyncbackup COMMAND -h') for a command's usage and flags.")
	fmt.Fprintln(w, "Exit codes: 0 ok, 1 failure, 2 usage or config error, 3 partial backup, 130 interrupted.")
}

// parseArgs parses flags that may stand before or after positional
// arguments ("restore SET --to DIR") and returns the positionals.
// The log opens as soon as the flags are known, so that a run that fails
// on its config is still recorded in --log-file.
func (a *app) parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		a.printHelp(os.Stdout, fs)
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	if err := a.openLog(); err != nil {
		return pos, err
	}
	return pos, nil
}

// refusals holds, per flag set, the refusal of a global flag that does
// not apply to its command (addGlobal): flag.Parse wraps a flag's error
// into its own text, and parseFlags reports the refusal alone.
var refusals sync.Map // *flag.FlagSet → error

// parseFlags is parseArgs without its effects (help, log): flags may
// stand before or after the positionals, which it returns; everything
// after a "--" is positional ("schedule install --time 03:00 --
// --parallel 3 --keep-staging").
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		before := args
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			// "invalid value … for flag -x: --x does not apply to list" → the cause.
			if refused, ok := refusals.LoadAndDelete(fs); ok {
				return nil, usageError{refused.(error)}
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		// flag.Parse takes the "--" it stops at away, so that the rest
		// would be parsed for flags again on the next round.
		if endedAtTerminator(fs, before[:len(before)-len(args)]) {
			return append(pos, args...), nil
		}
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// endedAtTerminator reports whether the arguments flag.Parse consumed
// end with the "--" that stops it, and not a flag's value "--": it walks
// them as the flag package does (a flag without "=" takes the next
// argument as its value unless it is a bool flag).
func endedAtTerminator(fs *flag.FlagSet, consumed []string) bool {
	for i := 0; i < len(consumed); i++ {
		a := consumed[i]
		if a == "--" {
			return true
		}
		name := strings.TrimPrefix(strings.TrimPrefix(a, "-"), "-")
		if strings.Contains(name, "=") {
			continue
		}
		if f := fs.Lookup(name); f != nil {
			if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
				continue
			}
		}
		i++ // the flag's value
	}
	return false
}

// noArgs refuses positionals given to a command that takes none: they
// were ignored, so "backup fe01.yaml" ran on the default config and
// "list fe01" listed every host.
func noArgs(cmd string, pos []string) error {
	if len(pos) == 0 {
		return nil
	}
	hint := ""
	switch {
	case cmd == "list" || cmd == "prune":
		hint = "; one host's sets: --host HOST"
	case strings.HasSuffix(strings.ToLower(pos[0]), ".yaml") || strings.HasSuffix(strings.ToLower(pos[0]), ".yml"):
		hint = "; a config file is given as --config FILE"
	}
	return usagef("%s takes no arguments (got %q)%s", cmd, strings.Join(pos, " "), hint)
}
