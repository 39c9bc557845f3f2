// Command withservers starts the test servers (VersityGW, Azurite) on
// 127.0.0.1, runs a command with their addresses in its environment (see
// internal/testenv/external.go), stops the servers and exits with the
// command's status. The Windows test lane uses it so that test binaries
// under Wine reach Linux servers over loopback:
//
//	go run ./internal/testenv/withservers [-wine] -- go test ./...
//
// -wine hands the servers' data folders over as Wine sees them (Z:\…).
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"

	"github.com/lyncbackup/lyncbackup/internal/testenv"
)

func main() {
	wine := flag.Bool("wine", false, "hand data folders over as Z:\\ paths")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: withservers [-wine] -- command [args]")
		os.Exit(2)
	}
	var winPath func(string) string
	if *wine {
		winPath = func(p string) string { return `Z:` + strings.ReplaceAll(p, "/", `\`) }
	}
	env, stop, err := testenv.StartForChildren(winPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, "withservers:", err)
		os.Exit(1)
	}
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		stop()
		fmt.Fprintln(os.Stderr, "withservers:", err)
		os.Exit(1)
	}
	go func() {
		s := <-sig
		cmd.Process.Signal(s)
	}()
	err = cmd.Wait()
	stop()
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee):
		if ee.ExitCode() < 0 {
			os.Exit(1)
		}
		os.Exit(ee.ExitCode())
	default:
		fmt.Fprintln(os.Stderr, "withservers:", err)
		os.Exit(1)
	}
}
