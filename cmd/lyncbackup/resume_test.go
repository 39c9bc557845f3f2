package main

import (
	"flag"
	"strings"
	"testing"
	"unicode"
)

// parsedRestoreFlags is a restore's flag set after args.
func parsedRestoreFlags(t *testing.T, args ...string) *flag.FlagSet {
	t.Helper()
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.String("to", "", "")
	fs.String("pool", "", "")
	fs.Int("start-at", 1, "")
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return fs
}

// TestGivenFlagsNoCommandToPaste: the "continue with:" command repeats
// every flag given; a value no Windows form brings to the program as it
// is (one holding '"': Windows PowerShell 5.1 drops the quote) is an error
// naming the flag, which resume turns into words instead of a command
// that runs with another value. Elsewhere every such value has a form.
func TestGivenFlagsNoCommandToPaste(t *testing.T) {
	fs := parsedRestoreFlags(t, "--to", `D:\Lync Restore\`, "--pool", `pool"01`, "--start-at", "2")
	words, err := givenFlags("linux", fs, &app{}, "start-at")
	if err != nil || strings.Join(words, " ") != `--pool 'pool"01' --to 'D:\Lync Restore\'` {
		t.Errorf("linux: %q %v", words, err)
	}
	words, err = givenFlags("windows", fs, &app{}, "start-at")
	if err == nil || !strings.Contains(err.Error(), `--pool's value 'pool"01' holds a double quote`) {
		t.Errorf("%q %v, want the error naming --pool", words, err)
	}
	r := runImports{flagsErr: err, goos: "windows"}
	if got := r.resume(3); !strings.HasPrefix(got, "this command again with --start-at 3 (no command to paste: --pool's value") {
		t.Errorf("resume: %s", got)
	}
}

// TestResumeControlCharacters: a value holding a control character has no
// form to paste on any system (printed, the line break ends the command,
// ESC begins a terminal sequence): the hint is in words and names the
// value escaped, with no control character in it.
func TestResumeControlCharacters(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		fs := parsedRestoreFlags(t, "--to", "/srv/restore\n\x1b[2J", "--start-at", "2")
		_, err := givenFlags(goos, fs, &app{}, "start-at")
		r := runImports{flagsErr: err, goos: goos}
		got := r.resume(3)
		if want := `this command again with --start-at 3 (no command to paste: --to's value "/srv/restore\n\x1b[2J" holds a control character (U+000A)`; !strings.HasPrefix(got, want) {
			t.Errorf("%s:\n got %q\nwant %q…", goos, got, want)
		}
		if strings.IndexFunc(got, unicode.IsControl) >= 0 {
			t.Errorf("%s: the hint holds a control character: %q", goos, got)
		}
	}
}
