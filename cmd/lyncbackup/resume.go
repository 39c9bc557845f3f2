package main

import (
	"flag"
	"github.com/lyncbackup/lyncbackup/exporters"
	"runtime"
	"strings"
)

// The command printed after a --run-imports step fails ("continue with:")
// is this run's own command line: every flag given (--from, --ca-file,
// --host, --config, --to, --powershell, --module, --pool …), the set by its
// id, --scenario even when it was asked on the terminal, and --start-at the
// failed step. A DR server often has no config (the plan works from --from
// URL alone), so a hint that drops --from fails when pasted.

// givenFlags returns the flags given to fs as arguments, each value quoted
// for the shell the command is pasted into (shellQuote), in fs's order,
// leaving out those named in skip.
func givenFlags(fs *flag.FlagSet, a *app, skip ...string) []string {
	var out []string
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
			out = append(out, "--"+f.Name, shellQuote(v))
		}
	})
	return out
}

// shellQuote quotes one argument for the shell it is pasted into. The
// choice: on Windows (PowerShell, where the Lync Management Shell runs, or
// cmd) an ordinary value with a space goes in double quotes, which both
// read alike; a value holding a character either of them expands inside
// double quotes ($ ` in PowerShell, % in cmd) or a double quote goes in
// PowerShell's single quotes (a quote in it doubled). Elsewhere POSIX
// single quotes (a quote in it closes them, is escaped with a backslash
// and reopens them). A value of only safe characters stays bare.
func shellQuote(s string) string {
	return quoteFor(runtime.GOOS, s)
}

func quoteFor(goos, s string) string {
	safe := s != ""
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', strings.ContainsRune("_-./:=+", c):
		case c == '\\' && goos == "windows":
		default:
			safe = false
		}
	}
	if safe {
		return s
	}
	if goos == "windows" {
		if !strings.ContainsAny(s, "\"$`%") {
			return `"` + s + `"`
		}
		return exporters.PSQuote(s) // the plan's own quoting, typographic quotes included
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
