package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/config"
)

func TestExitCodes(t *testing.T) {
	for _, c := range []struct {
		err  error
		want int
	}{
		{nil, 0},
		{flag.ErrHelp, 0},
		{errors.New("boom"), 1},
		{usagef("bad flag"), 2},
		{fmt.Errorf("wrapped: %w", &config.Error{Key: "host", Msg: "missing"}), 2},
		{partialError{errors.New("one exporter failed")}, 3},
	} {
		if got := exitCode(c.err); got != c.want {
			t.Errorf("exitCode(%v) = %d, want %d", c.err, got, c.want)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	a := &app{ctx: ctx}
	if got := a.code(errors.New("backup interrupted: context canceled")); got != exitInterrupted {
		t.Errorf("interrupted run: code %d, want 130", got)
	}
	if got := a.code(nil); got != 0 {
		t.Errorf("interrupted but successful run: code %d", got)
	}
}

// TestEveryCommandAnswersJSON runs each command in-process with a bad
// flag: exit 2, one JSON document, and the stderr line names the flag.
func TestEveryCommandAnswersJSON(t *testing.T) {
	for name := range commands {
		var out, errb bytes.Buffer
		code := run(context.Background(), []string{name, "--json", "--no-such-flag"}, &out, &errb)
		if code != 2 {
			t.Errorf("%s: exit %d, want 2", name, code)
			continue
		}
		var doc map[string]any
		if err := json.Unmarshal(out.Bytes(), &doc); err != nil || doc["ok"] != false || doc["exit_code"] != float64(2) {
			t.Errorf("%s: stdout %q (%v)", name, out.String(), err)
		}
		if !strings.Contains(errb.String(), "no-such-flag") {
			t.Errorf("%s: stderr %q", name, errb.String())
		}
	}
}

func TestRefusedFlagsSayWhy(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"list", "--limit-upload", "1MiB/s"}, &out, &errb); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if got := strings.TrimSpace(errb.String()); got != "lyncbackup: --limit-upload does not apply to list" {
		t.Errorf("stderr %q", got)
	}
}

// TestRefusedFlagIsKnownByItsError: a refused global flag is told from
// flag.Parse's error by its own error, not by words in the text: another
// flag's value holding ": --x does not apply to y" was cut there and
// reported as a refusal ("--y does not apply to z\" for flag …").
func TestRefusedFlagIsKnownByItsError(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"list", "--log-format", "x: --y does not apply to z"}, &out, &errb); code != 2 {
		t.Fatalf("exit %d", code)
	}
	if got := strings.TrimSpace(errb.String()); !strings.HasPrefix(got, "lyncbackup: invalid value ") || !strings.Contains(got, "for flag -log-format: must be text or json") {
		t.Errorf("stderr %q", got)
	}
}

// TestParseFlagsTerminator: flags before and after positionals; after a
// "--" (which flag.Parse takes away) everything is positional, also what
// looks like a flag; a flag's value "--" is a value.
func TestParseFlagsTerminator(t *testing.T) {
	for _, c := range []struct {
		args, pos []string
		host      string
	}{
		{[]string{"show", "--json", "x"}, []string{"show", "x"}, ""},
		{[]string{"show", "--host", "h", "--", "--parallel", "3", "--keep-staging"}, []string{"show", "--parallel", "3", "--keep-staging"}, "h"},
		{[]string{"--", "--json"}, []string{"--json"}, ""},
		{[]string{"a", "--", "--", "b"}, []string{"a", "--", "b"}, ""},
		{[]string{"--host", "--", "x", "--json"}, []string{"x"}, "--"},
		{[]string{"--host=--", "--", "--json"}, []string{"--json"}, "--"},
		{[]string{"--json", "--", "x", "-y"}, []string{"x", "-y"}, ""},
	} {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		host := fs.String("host", "", "")
		fs.Bool("json", false, "")
		pos, err := parseFlags(fs, c.args)
		if err != nil || fmt.Sprint(pos) != fmt.Sprint(c.pos) || *host != c.host {
			t.Errorf("%q: positionals %q, host %q, %v; want %q, host %q", c.args, pos, *host, err, c.pos, c.host)
		}
	}
}

// TestRepeatedItemOnce: "--item a --item b --item a" names a and b once.
func TestRepeatedItemOnce(t *testing.T) {
	var m multiFlag
	for _, v := range []string{"a", "b", "a"} {
		if err := m.Set(v); err != nil {
			t.Fatal(err)
		}
	}
	if fmt.Sprint(m) != "[a b]" {
		t.Errorf("items %q, want [a b]", m)
	}
}

// TestBadFlagValuesNamedFirst: a bad flag value is named as the flag's
// (not as the config key it overrides), exit 2, before the destination
// is opened (here a folder that does not exist).
func TestBadFlagValuesNamedFirst(t *testing.T) {
	missing := "file://" + filepath.ToSlash(filepath.Join(t.TempDir(), "none"))
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"prune", "--from", missing, "--keep-last", "1", "--timezone", "Mars/Base"}, `lyncbackup: --timezone: unknown time zone "Mars/Base" (use an IANA name like Europe/Berlin, or Local)`},
		{[]string{"prune", "--from", missing, "--keep-last", "1", "--grace", "0s"}, "lyncbackup: --grace must be longer than 0 (without it: 24h)"},
		{[]string{"prune", "--from", missing, "--keep-yearly", "9999"}, "lyncbackup: --keep-yearly: at most 200 (200 years of them: a larger number keeps nothing else)"},
		{[]string{"restore", "latest", "--from", missing, "--to", "x", "--yes"}, "lyncbackup: --yes is taken with --run-imports only"},
		// --config with --from is loaded (its log file and metrics apply),
		// not ignored: a config that is not there is named.
		{[]string{"verify", "--from", missing, "--config", "/nonexistent.yaml"}, "lyncbackup: config /nonexistent.yaml: file not found (use --config FILE or set LYNCBACKUP_CONFIG)"},
		{[]string{"list", "--from", missing, "--config", "/nonexistent.yaml"}, "lyncbackup: config /nonexistent.yaml: file not found (use --config FILE or set LYNCBACKUP_CONFIG)"},
		{[]string{"restore", "latest", "--from", missing, "--thaw", "--identity", "k"}, "lyncbackup: --thaw only starts bringing the set's objects online; --identity belongs to the restore that follows, run without --thaw once they are"},
	} {
		var out, errb bytes.Buffer
		if code := run(context.Background(), c.args, &out, &errb); code != 2 || strings.TrimSpace(errb.String()) != c.want {
			t.Errorf("%q: exit %d, stderr %q", c.args, code, errb.String())
		}
	}
}

// TestSmallUsageCases: keygen onto an existing file is a usage error
// (exit 2, it was 1) and leaves the file; "help version" answers (it said
// unknown command, though the usage lists it).
func TestSmallUsageCases(t *testing.T) {
	key := filepath.Join(t.TempDir(), "k.txt")
	os.WriteFile(key, []byte("keep me"), 0o600)
	var out, errb bytes.Buffer
	if code := run(context.Background(), []string{"keygen", "-o", key}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "already exists (refusing to overwrite)") {
		t.Errorf("keygen onto an existing file: exit %d, %q", code, errb.String())
	}
	if b, _ := os.ReadFile(key); string(b) != "keep me" {
		t.Errorf("the existing file was changed: %q", b)
	}
	out.Reset()
	if code := run(context.Background(), []string{"help", "version"}, &out, &errb); code != 0 || !strings.Contains(out.String(), "lyncbackup version [--json]") {
		t.Errorf("help version: exit %d, %q", code, out.String())
	}
}

// TestJSONDocumentThatCannotBeMade: a value JSON cannot hold (a date past
// the year 9999) fails the run with the failure document, instead of an
// empty stdout and exit 0.
func TestJSONDocumentThatCannotBeMade(t *testing.T) {
	var out, errb bytes.Buffer
	a := &app{ctx: context.Background(), stdout: &out, out: &outWriter{w: &out}, stderr: &errb, wantJSON: true, cmd: commands["prune"]}
	if err := a.printJSON(struct{ T time.Time }{time.Date(12025, 1, 1, 0, 0, 0, 0, time.UTC)}); err == nil {
		t.Fatal("a year past 9999 made JSON")
	}
	code := a.finish(nil)
	var doc struct {
		OK       bool   `json:"ok"`
		ExitCode int    `json:"exit_code"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal(out.Bytes(), &doc); err != nil || code != 1 || doc.OK || doc.ExitCode != 1 || !strings.Contains(doc.Error, "could not make the JSON document") {
		t.Errorf("exit %d, %+v %v\n%s", code, doc, err, out.String())
	}
}

// SIGTERM ends a run as Ctrl-C does, on Windows too (a closed console, a
// logoff or a shutdown): there it was not subscribed, and Windows ended the
// process with no clean-up.
func TestInterruptSignalsIncludeTerm(t *testing.T) {
	if !slices.Contains(interruptSignals(), os.Signal(syscall.SIGTERM)) {
		t.Errorf("interrupt signals %v lack SIGTERM", interruptSignals())
	}
}

// TestReadable: an error line echoes names from paths, files and stores as
// they are; one holding U+202E showed the rest of the line reversed, ESC
// drove the terminal, a carriage return overwrote the line's start. The
// line printed escapes them (as Go's %q does), and keeps what prints.
func TestReadable(t *testing.T) {
	for in, want := range map[string]string{
		"destination folder /tmp/nodir\u202ex does not exist": `destination folder /tmp/nodir\u202ex does not exist`,
		"open a\u2066b\u2069 \u2028: denied":                  `open a\u2066b\u2069 \u2028: denied`,
		// Letters and a symbol that print as blank (strconv.QuoteRune
		// leaves them as they are).
		"open /srv/a\u3164 \u115f\u1160\uffa0\u2800: denied": `open /srv/a\u3164 \u115f\u1160\uffa0\u2800: denied`,
		"open \ud55c\uae00 \u1100\u1161 \u2801: denied":      "open \ud55c\uae00 \u1100\u1161 \u2801: denied",
		// Parts of words print as they are.
		"open \u0646\u0627\u0645\u0647\u200c\u0647\u0627: denied": "open \u0646\u0627\u0645\u0647\u200c\u0647\u0627: denied",
		// A line that needs an escape has its backslashes doubled: the
		// escaped character is not read as the text "\u202e" in a path.
		"open C:\\Data\\x\u202e: denied":                `open C:\\Data\\x\u202e: denied`,
		"open C:\\Data\\u202e: denied":                  "open C:\\Data\\u202e: denied",
		"x\x1b[2Jy\rz\x7f\u0085":                        `x\x1b[2Jy\rz\x7f\u0085`,
		"caf\xe9 \uFFFD":                                `caf\xe9 ` + "\uFFFD",
		"D:\\Lync Restore\tÜnïcödé \u05d0\u05d1 \u00a0": "D:\\Lync Restore\tÜnïcödé \u05d0\u05d1 \u00a0",
	} {
		if got := readable(in); got != want {
			t.Errorf("readable(%+q) = %+q, want %+q", in, got, want)
		}
	}
}
