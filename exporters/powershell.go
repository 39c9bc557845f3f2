package exporters

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"html"
	"io"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/lyncbackup/lyncbackup/internal/clip"
	"github.com/lyncbackup/lyncbackup/internal/shellquote"
	"github.com/lyncbackup/lyncbackup/internal/wintext"
)

// PowerShell runs scripts through Windows PowerShell the way the Lync
// cmdlets need: no profile, no prompts, the script passed as
// -EncodedCommand (base64 of UTF-16LE) so that nothing in it is ever
// re-parsed by a command line.
type PowerShell struct {
	Exe string // powershell.exe (or a stand-in in tests)
	// Module is the full path of the Lync / SfB module imported first.
	Module string
	// TimeoutAdvice is what a timed-out run's error says to do ("" for
	// an exporter's: raise its timeout). A restore step's timeout is no
	// setting.
	TimeoutAdvice string
}

// timeoutAdvice is an exporter's: its timeout is a config setting.
const timeoutAdvice = "raise the exporter's timeout if it needs longer"

func (p PowerShell) onTimeout() string {
	if p.TimeoutAdvice != "" {
		return p.TimeoutAdvice
	}
	return timeoutAdvice
}

// maxCapture bounds what is kept of a child's stdout / stderr.
const maxCapture = 16 << 20

// PSQuote returns s as a PowerShell single-quoted literal
// (shellquote.PowerShell: the typographic single quotes are doubled too).
func PSQuote(s string) string { return shellquote.PowerShell(s) }

// checkPSValue refuses values no Lync name or path can hold (they would
// be silently mangled by Windows APIs).
func checkPSValue(what, s string) error {
	if s == "" {
		return fmt.Errorf("%s is empty", what)
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return fmt.Errorf("%s %q is not valid text", what, s)
	}
	return nil
}

// Script wraps body into the house script: stop on every error, import
// the module by path, and report a failure as one line on stderr with
// exit code 1 (PowerShell's own exit code for -EncodedCommand says little).
//
// The line is $_.Exception.Message, led by the failing command's name
// ("Import-CsUserData: ...") when the error record carries one: a step runs
// several cmdlets and the message alone does not say which one failed.
// InvocationInfo.MyCommand is the cmdlet for its own errors (WriteError,
// ThrowTerminatingError), for its parameter binding errors
// (ParameterBindingException is built from the binder's InvocationInfo)
// and for Import-Module's "module not loaded"; it is null for a throw in
// the script, a .NET method's exception and a command that is not found
// (the engine sets InvocationInfo(null, extent)): those stay bare (the
// latter's message names the command itself). No ?. or ternary: the
// script must run on PowerShell 3 (Server 2012) as on 5.1 and 7.
func (p PowerShell) Script(body string) string {
	var b strings.Builder
	b.WriteString("$ErrorActionPreference = 'Stop'\n")
	b.WriteString("$ProgressPreference = 'SilentlyContinue'\n")
	b.WriteString("try {\n")
	if p.Module != "" {
		b.WriteString("    Import-Module -Name " + PSQuote(p.Module) + " -DisableNameChecking -WarningAction SilentlyContinue\n")
	}
	for _, line := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
		b.WriteString("    " + line + "\n")
	}
	b.WriteString("} catch {\n")
	b.WriteString("    $lbMessage = ($_.Exception.Message -replace '\\s+', ' ').Trim()\n")
	b.WriteString("    if ($null -ne $_.InvocationInfo -and $null -ne $_.InvocationInfo.MyCommand -and $_.InvocationInfo.MyCommand.Name) { $lbMessage = $_.InvocationInfo.MyCommand.Name + ': ' + $lbMessage }\n")
	b.WriteString("    [Console]::Error.WriteLine($lbMessage)\n")
	b.WriteString("    exit 1\n")
	b.WriteString("}\n")
	b.WriteString("exit 0\n")
	return b.String()
}

// EncodeCommand returns the -EncodedCommand argument for script.
func EncodeCommand(script string) string {
	u := utf16.Encode([]rune(script))
	buf := make([]byte, 2*len(u))
	for i, c := range u {
		buf[2*i] = byte(c)
		buf[2*i+1] = byte(c >> 8)
	}
	return base64.StdEncoding.EncodeToString(buf)
}

// DecodeCommand is EncodeCommand's inverse (used by the test stand-in).
func DecodeCommand(arg string) (string, error) {
	raw, err := base64.StdEncoding.DecodeString(arg)
	if err != nil {
		return "", err
	}
	if len(raw)%2 != 0 {
		return "", errors.New("odd length UTF-16")
	}
	return string(wintext.UTF16(raw, false)), nil
}

// Args returns the PowerShell arguments for script.
func (p PowerShell) Args(script string) []string {
	return []string{"-NoProfile", "-NonInteractive", "-ExecutionPolicy", "Bypass", "-EncodedCommand", EncodeCommand(script)}
}

// Run runs body (wrapped by Script) with a timeout and returns stdout.
// what names the work in errors ("Export-CsConfiguration").
func (p PowerShell) Run(ctx context.Context, what string, timeout time.Duration, body string) ([]byte, error) {
	if p.Exe == "" {
		p.Exe = "powershell.exe"
	}
	return runProgram(ctx, what, timeout, p.onTimeout(), p.Exe, p.Args(p.Script(body)), nil, maxCapture)
}

// runProgram runs exe with a timeout, killing its whole process tree on
// timeout or cancellation, and turns a failure into one line that
// carries the program's own stderr; advice says what to do after a timeout.
func runProgram(ctx context.Context, what string, timeout time.Duration, advice, exe string, args []string, env []string, stdoutMax int) ([]byte, error) {
	if timeout <= 0 {
		timeout = time.Hour
	}
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd, err := treeCommand(cctx, exe, args)
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: program %s not found", what, exe)
		}
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	if env != nil {
		cmd.Env = env
	}
	// Grandchildren may hold the pipes open after the kill; do not wait
	// for them forever.
	cmd.WaitDelay = 5 * time.Second
	var stdout, stderr capBuffer
	stdout.max, stderr.max = stdoutMax, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.Stdin = nil
	err = runTree(cmd)
	if err != nil {
		if ctx.Err() != nil {
			if cmd.started {
				return nil, &StoppedError{What: what}
			}
			return nil, fmt.Errorf("%s: interrupted", what)
		}
		if cctx.Err() == context.DeadlineExceeded {
			if cmd.started {
				return nil, &StoppedError{What: what, Timeout: timeout, Advice: advice}
			}
			return nil, fmt.Errorf("%s: timed out after %s (process killed; %s)", what, timeout, advice)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			msg := stderrLine(stderr.Bytes())
			if msg == "" {
				msg = stderrLine(stdout.Bytes())
			}
			if msg == "" {
				msg = "no error text"
			}
			return nil, &ExitError{What: what, Code: ee.ExitCode(), Msg: msg}
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%s: program %s not found", what, exe)
		}
		return nil, fmt.Errorf("%s: %v", what, err)
	}
	return stdout.Bytes(), nil
}

// ExitError is a program that ran and exited non-zero: Msg is what it
// reported (its stderr, else its stdout) as one line (stderrLine), and
// only this failure carries the program's own words. Interrupted, timed
// out or not started are other errors.
type ExitError struct {
	What string
	Code int
	Msg  string
}

func (e *ExitError) Error() string {
	return fmt.Sprintf("%s failed (exit %d): %s", e.What, e.Code, e.Msg)
}

// StoppedError is a program that started and was stopped before it
// ended: interrupted (Ctrl-C: the caller's context ended) or, with a
// Timeout, killed when it ran longer. What it had done by then is not
// known; nothing it printed is its verdict. Not started is another error.
type StoppedError struct {
	What    string
	Timeout time.Duration // 0: interrupted
	Advice  string        // after a timeout, what to do ("": an exporter's)
}

func (e *StoppedError) Error() string {
	if e.Timeout == 0 {
		return e.What + ": interrupted"
	}
	advice := e.Advice
	if advice == "" {
		advice = timeoutAdvice
	}
	return fmt.Sprintf("%s: timed out after %s (process killed; %s)", e.What, e.Timeout, advice)
}

// capBuffer keeps the first max bytes written and drops the rest.
type capBuffer struct {
	bytes.Buffer
	max int
}

func (c *capBuffer) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		if len(p) > room {
			c.Buffer.Write(p[:room])
		} else {
			c.Buffer.Write(p)
		}
	}
	return len(p), nil
}

var (
	clixmlString = regexp.MustCompile(`(?s)<S S="Error">(.*?)</S>`)
	clixmlEscape = regexp.MustCompile(`_x([0-9A-Fa-f]{4})_`)
)

// stderrLine turns a child's stderr into one trimmed line. Windows
// PowerShell may wrap stderr into CLIXML ("#< CLIXML"); the error strings
// are taken out of it.
func stderrLine(b []byte) string {
	s := DecodeText(b)
	if strings.HasPrefix(strings.TrimSpace(s), "#< CLIXML") {
		var parts []string
		for _, m := range clixmlString.FindAllStringSubmatch(s, -1) {
			t := clixmlEscape.ReplaceAllStringFunc(m[1], func(e string) string {
				var r rune
				fmt.Sscanf(e[2:6], "%x", &r)
				return string(r)
			})
			parts = append(parts, html.UnescapeString(t))
		}
		s = strings.Join(parts, " ")
	}
	s = strings.Join(strings.Fields(s), " ")
	return clip.String(s, 600)
}

// DecodeText turns what Windows programs print into a Go string (see
// wintext.Decode); bytes that are not UTF-8 become U+FFFD.
func DecodeText(b []byte) string {
	b = wintext.Decode(b)
	if !utf8.Valid(b) {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return string(b)
}

var _ io.Writer = (*capBuffer)(nil)
