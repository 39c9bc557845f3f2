package e2e

import (
	"fmt"
	"os"
	"path/filepath"
)

// The e2e test binary doubles as the small programs exporters run in the
// tests, on every system (Windows has no sh): run as
// `e2e.test lyncbackup-helper ACTION ARGS...` it does ACTION and exits.
const helperArg = "lyncbackup-helper"

func runHelper(action string, args []string) int {
	switch action {
	case "write": // write DIR NAME TEXT: DIR/NAME holding TEXT and a newline
		if len(args) != 3 {
			break
		}
		if err := os.WriteFile(filepath.Join(args[0], args[1]), []byte(args[2]+"\n"), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		return 0
	}
	fmt.Fprintf(os.Stderr, "bad helper call %s %q\n", action, args)
	return 2
}
