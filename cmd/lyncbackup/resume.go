package main

import (
	"flag"
	"fmt"

	"github.com/lyncbackup/lyncbackup/internal/shellquote"
)

// The command printed after a --run-imports step fails ("continue with:")
// is this run's own command line: every flag given (--from, --ca-file,
// --host, --config, --to, --powershell, --module, --pool …), the set by its
// id, --scenario even when it was asked on the terminal, and --start-at the
// failed step. A DR server often has no config (the plan works from --from
// URL alone), so a hint that drops --from fails when pasted.

// givenFlags returns the flags given to fs as arguments, each value quoted
// for the shell of goos the command is pasted into (shellquote.For), in
// fs's order, leaving out those named in skip; the error names the first
// value no form brings to the program unchanged (on Windows one holding
// '"'; anywhere one holding a control character), escaped if need be
// (shellquote.Show).
func givenFlags(goos string, fs *flag.FlagSet, a *app, skip ...string) ([]string, error) {
	var out []string
	var bad error
	fs.Visit(func(f *flag.Flag) {
		for _, s := range skip {
			if f.Name == s {
				return
			}
		}
		if b, ok := f.Value.(interface{ IsBoolFlag() bool }); ok && b.IsBoolFlag() {
			if f.Value.String() == "true" {
				out = append(out, "--"+f.Name)
			} else {
				out = append(out, "--"+f.Name+"=false")
			}
			return
		}
		var values []string
		switch v := f.Value.(type) {
		case *multiFlag:
			values = *v
		default:
			values = []string{f.Value.String()}
		}
		// The flags set through a function keep their value in the app.
		switch f.Name {
		case flagProgress:
			values = []string{a.g.progress}
		case flagLogFormat:
			values = []string{a.g.logFormat}
		}
		for _, v := range values {
			q, err := shellquote.For(goos, v)
			if err != nil && bad == nil {
				bad = fmt.Errorf("--%s's value %s %w", f.Name, shellquote.Show(v), err)
			}
			out = append(out, "--"+f.Name, q)
		}
	})
	return out, bad
}
