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

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
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
	run     func(ctx context.Context, a *app, args []string) error
}

var commands = map[string]*command{}

func register(c *command) { commands[c.name] = c }

// app carries what every command shares.
type app struct {
	stdout, stderr io.Writer
	g              globalFlags
}

func main() {
	pipeline.Version = version
	ctx, stop := signal.NotifyContext(context.Background(), interruptSignals()...)
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
	a := &app{stdout: secrets.Writer(stdout), stderr: newConsole(stderr)}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printUsage(stdout)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	if args[0] == "version" || args[0] == "--version" {
		fmt.Fprintln(stdout, "lyncbackup", version)
		return exitOK
	}
	c, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "lyncbackup: unknown command %q (run 'lyncbackup help')\n", args[0])
		return exitUsage
	}
	err := c.run(ctx, a, args[1:])
	return a.exit(err)
}

// exit prints err as one line and maps it to an exit code.
func (a *app) exit(err error) int {
	if err == nil {
		return exitOK
	}
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	msg := oneLine(err.Error())
	fmt.Fprintln(a.stderr, "lyncbackup: "+msg)
	return exitCode(err)
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
	case errors.As(err, &ue), errors.As(err, &ce), errors.As(err, &de):
		return exitUsage
	}
	return exitFailure
}

func oneLine(s string) string {
	s = strings.TrimSpace(s)
	s = strings.ReplaceAll(s, "\r\n", " | ")
	return strings.ReplaceAll(s, "\n", " | ")
}

func printUsage(w io.Writer) {
	fmt.Fprintln(w, "lyncbackup: offsite backup of Lync Server 2013 / Skype for Business Server as tar | zstd | age")
	fmt.Fprintln(w, "\nUsage: lyncbackup COMMAND [flags]\n\nCommands:")
	var names []string
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nRun 'lyncbackup COMMAND -h' for a command's flags.")
}

// parseArgs parses flags that may stand before or after positional
// arguments ("restore SET --to DIR") and returns the positionals.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	fs.SetOutput(io.Discard)
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				fs.SetOutput(os.Stdout)
				fs.PrintDefaults()
				return nil, flag.ErrHelp
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if args[0] == "--" {
			return append(pos, args[1:]...), nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
