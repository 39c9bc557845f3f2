package main

import (
	"flag"
	"runtime"
	"strings"
	"testing"
)

// TestGivenFlagsNoCommandToPaste: the "continue with:" command repeats
// every flag given; a value no Windows form brings to the program as it
// is (one holding '"': Windows PowerShell 5.1 drops the quote) is an error
// naming the flag, which resume turns into words instead of a command
// that runs with another value. Elsewhere every value has a form.
func TestGivenFlagsNoCommandToPaste(t *testing.T) {
	fs := flag.NewFlagSet("restore", flag.ContinueOnError)
	fs.String("to", "", "")
	fs.String("pool", "", "")
	fs.Int("start-at", 1, "")
	if err := fs.Parse([]string{"--to", `D:\Lync Restore\`, "--pool", `pool"01`, "--start-at", "2"}); err != nil {
		t.Fatal(err)
	}
	words, err := givenFlags(fs, &app{}, "start-at")
	if runtime.GOOS != "windows" {
		if err != nil || strings.Join(words, " ") != `--pool 'pool"01' --to 'D:\Lync Restore\'` {
			t.Errorf("%q %v", words, err)
		}
		return
	}
	if err == nil || !strings.Contains(err.Error(), `--pool's value 'pool"01' holds a double quote`) {
		t.Errorf("%q %v, want the error naming --pool", words, err)
	}
	r := runImports{flagsErr: err}
	if got := r.resume(3); !strings.HasPrefix(got, "this command again with --start-at 3 (no command to paste: --pool's value") {
		t.Errorf("resume: %s", got)
	}
}
