//go:build !windows

package exporters

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

// A program an exporter runs (PowerShell, sqlcmd, a command exporter's
// program) must not outlive lyncbackup, even when lyncbackup is killed
// with SIGKILL and nothing of it runs any more. So it is started through a
// small reaper — this same binary, re-executed with reaperEnv set — that
// puts the program in a process group of its own and kills that whole
// group when lyncbackup ends (its end of a pipe closes, and on Linux the
// reaper also gets SIGTERM as parent-death signal), when lyncbackup asks
// (it closes the pipe: timeout, Ctrl-C) and when the program exits
// (helpers it left behind). The program itself gets SIGKILL as
// parent-death signal on Linux, should the reaper die first. A descendant
// that moves itself into another process group or session escapes.
const reaperEnv = "LYNCBACKUP_EXPORTER_REAPER"

func init() {
	if os.Getenv(reaperEnv) == "1" {
		os.Exit(reaperMain(os.Args[1:]))
	}
}

// treeCmd is a program prepared to run as a tree that dies with us.
type treeCmd struct {
	*exec.Cmd
	ctx    context.Context
	reaper bool // started through the reaper
	// started: runTree started the program (startTree succeeded).
	started bool
}

// treeCommand prepares exe with args for runTree.
func treeCommand(ctx context.Context, exe string, args []string) (*treeCmd, error) {
	path, err := exec.LookPath(exe)
	if err != nil {
		return nil, err
	}
	self, err := os.Executable()
	if err != nil {
		// No reaper: the program still dies with its process group on a
		// timeout, and on Linux with lyncbackup.
		cmd := exec.CommandContext(ctx, path, args...)
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		setPdeathsig(cmd.SysProcAttr, syscall.SIGKILL)
		return &treeCmd{Cmd: cmd, ctx: ctx}, nil
	}
	cmd := exec.CommandContext(ctx, self, append([]string{path}, args...)...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	setPdeathsig(cmd.SysProcAttr, syscall.SIGTERM)
	return &treeCmd{Cmd: cmd, ctx: ctx, reaper: true}, nil
}

// runTree runs cmd (from treeCommand) to its end; however it ends, nothing
// it started is left running.
func runTree(tc *treeCmd) error {
	if !tc.reaper {
		cmd, err := startTree(tc, func(c *exec.Cmd) {
			c.Cancel = func() error { return killTree(c) }
		})
		if err != nil {
			return err
		}
		return cmd.Wait()
	}
	r, w, err := os.Pipe()
	if err != nil {
		return err
	}
	defer w.Close()
	env := tc.Env
	if env == nil {
		env = os.Environ()
	}
	cmd, err := startTree(tc, func(c *exec.Cmd) {
		c.ExtraFiles = []*os.File{r}
		c.Env = append(env[:len(env):len(env)], reaperEnv+"=1")
		// Closing our end is the reaper's order to kill the program's
		// group; should the reaper not end, exec kills it after WaitDelay.
		c.Cancel = func() error { return w.Close() }
	})
	r.Close()
	if err != nil {
		return err
	}
	return cmd.Wait()
}

// transientStartError reports whether a failed start may succeed when
// tried again: the system was out of processes or memory for the fork.
func transientStartError(err error) bool {
	return errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.ENOMEM)
}

// killTree kills the child's whole process group.
func killTree(cmd *exec.Cmd) error {
	if cmd.Process == nil {
		return nil
	}
	if err := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); err != nil {
		return cmd.Process.Kill()
	}
	return nil
}

// reaperStart starts the reaper's program (args[0] with args[1:], stdin,
// stdout and stderr passed through) in a process group of its own. A start
// refused for a passing reason is tried again like lyncbackup's start of
// the reaper (startRetrying), with a fresh command each time.
func reaperStart(args, env []string) (*exec.Cmd, error) {
	var cmd *exec.Cmd
	err := startRetrying(context.Background(), func(attempt int) error {
		cmd = exec.Command(args[0], args[1:]...)
		cmd.Env = env
		cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		setPdeathsig(cmd.SysProcAttr, syscall.SIGKILL)
		return startCmd(attempt, cmd)
	})
	return cmd, err
}

// reaperMain runs args[0] with args[1:] (stdin, stdout, stderr passed
// through) and exits as it did; see reaperEnv.
func reaperMain(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "lyncbackup reaper: no program")
		return 127
	}
	ctl := os.NewFile(3, "reaper-control")
	syscall.CloseOnExec(3)
	env := make([]string, 0, len(os.Environ()))
	for _, kv := range os.Environ() {
		if kv != reaperEnv+"=1" {
			env = append(env, kv)
		}
	}
	// Signals before the start, so that none is lost in between.
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP)
	cmd, err := reaperStart(args, env)
	if err != nil {
		fmt.Fprintf(os.Stderr, "start %s: %v\n", args[0], err)
		return 127
	}
	pgid := cmd.Process.Pid
	kill := func() { syscall.Kill(-pgid, syscall.SIGKILL) }
	go func() {
		// EOF (or an error) means lyncbackup is gone or wants the end.
		buf := make([]byte, 1)
		if ctl != nil {
			for {
				if _, err := ctl.Read(buf); err != nil {
					break
				}
			}
		}
		kill()
	}()
	go func() {
		for range sigs {
			kill()
		}
	}()
	err = cmd.Wait()
	kill() // whatever the program left running in its group
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			signal.Reset(ws.Signal())
			syscall.Kill(os.Getpid(), ws.Signal())
			return 128 + int(ws.Signal())
		}
		return ee.ExitCode()
	}
	fmt.Fprintf(os.Stderr, "wait for %s: %v\n", args[0], err)
	return 127
}
