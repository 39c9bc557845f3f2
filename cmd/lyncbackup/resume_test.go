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

// TestResumeSaysPowerShell: a value in PowerShell's single quotes (here an
// administrative share, C$) is not read by cmd as typed (it passes the
// quotes on as part of the value), so the Windows command says it is for
// PowerShell; one cmd reads as typed too, and every POSIX one, says no
// shell.
func TestResumeSaysPowerShell(t *testing.T) {
	for _, c := range []struct{ goos, to, want string }{
		{"windows", `\\fs01\D$\Lync Restore`, `in PowerShell: lyncbackup restore 20261201T010000Z-ab12cd --to '\\fs01\D$\Lync Restore' --start-at 3`},
		{"windows", `D:\Lync Restore\`, `lyncbackup restore 20261201T010000Z-ab12cd --to "D:\Lync Restore\\" --start-at 3`},
		{"linux", `/srv/$x restore`, `lyncbackup restore 20261201T010000Z-ab12cd --to '/srv/$x restore' --start-at 3`},
	} {
		fs := parsedRestoreFlags(t, "--to", c.to, "--start-at", "2")
		r := runImports{goos: c.goos}
		r.set.ID = "20261201T010000Z-ab12cd"
		r.flags, r.flagsErr = givenFlags(c.goos, fs, &app{}, "start-at")
		r.filesFlags, r.filesFlagsErr = r.flags, r.flagsErr
		if got := r.resume(3); got != c.want {
			t.Errorf("%s %s:\n got %s\nwant %s", c.goos, c.to, got, c.want)
		}
		if got, only := r.restoreFiles(), strings.HasPrefix(c.want, "in PowerShell: "); strings.HasPrefix(got, "in PowerShell: ") != only {
			t.Errorf("%s %s: restoreFiles %s", c.goos, c.to, got)
		}
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

// TestResumeBidiOverride: a --to holding U+202E was printed in the
// "continue with:" command as it is, where the terminal shows the text
// after it reversed; now the command is said in words, the value escaped.
func TestResumeBidiOverride(t *testing.T) {
	for _, goos := range []string{"linux", "windows"} {
		fs := parsedRestoreFlags(t, "--to", "/srv/restore\u202e1gol", "--start-at", "2")
		_, err := givenFlags(goos, fs, &app{}, "start-at")
		r := runImports{flagsErr: err, goos: goos}
		got := r.resume(3)
		if want := `this command again with --start-at 3 (no command to paste: --to's value "/srv/restore\u202e1gol" holds an invisible format character (U+202E)`; !strings.HasPrefix(got, want) {
			t.Errorf("%s:\n got %+q\nwant %+q…", goos, got, want)
		}
		if strings.ContainsRune(got, '\u202e') {
			t.Errorf("%s: the hint holds U+202E: %+q", goos, got)
		}
		// A folder ending in U+2800 BRAILLE PATTERN BLANK, which prints as blank.
		fs = parsedRestoreFlags(t, "--to", "/srv/restore\u2800", "--start-at", "2")
		_, err = givenFlags(goos, fs, &app{}, "start-at")
		r = runImports{flagsErr: err, goos: goos}
		got = r.resume(3)
		if want := `this command again with --start-at 3 (no command to paste: --to's value "/srv/restore\u2800" holds a character that prints as blank space (U+2800)`; !strings.HasPrefix(got, want) || strings.ContainsRune(got, '\u2800') {
			t.Errorf("%s:\n got %+q\nwant %+q…", goos, got, want)
		}
	}
}
