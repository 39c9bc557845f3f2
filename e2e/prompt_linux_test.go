package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/lyncbackup/lyncbackup/internal/testbin"
)

// waitOf waits for cmd in the background.
func waitOf(cmd *exec.Cmd) chan error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	return done
}

// endsWithin fails the test with msg (and kills cmd) unless done, cmd's
// wait, ends within 10 s.
func endsWithin(t *testing.T, cmd *exec.Cmd, done chan error, msg string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		cmd.Process.Kill()
		<-done
		t.Fatal(msg)
	}
}

// TestLyncCtrlCAtPrompt: a Ctrl-C while --run-imports waits for an answer
// ends the run at once (exit 130, nothing run). The prompt ignored it
// before: the read went on, and the next step ran after the answer.
func TestLyncCtrlCAtPrompt(t *testing.T) {
	s := newLyncSite(t)
	r := testbin.Run(t, s.dir, s.env, "backup", "--json")
	if r.Code != 0 {
		t.Fatalf("backup: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	setID := setIDRe.FindString(r.Stdout)
	before := len(s.calls(t))
	stdin, feed, err := os.Pipe() // nothing is ever written: nobody answers
	if err != nil {
		t.Fatal(err)
	}
	defer feed.Close()
	out, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	var se bytes.Buffer
	cmd, err := testbin.Start(t, func() *exec.Cmd {
		cmd := exec.Command(testbin.Path(t), "restore", setID, "--to", t.TempDir(), "--run-imports", "--scenario", "cms")
		cmd.Dir, cmd.Env = s.dir, append(os.Environ(), s.env...)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, outW, &se
		return cmd
	})
	stdin.Close()
	outW.Close()
	if err != nil {
		t.Fatal(err)
	}
	asked := make(chan bool, 1)
	go func() {
		br := bufio.NewReader(out)
		var seen strings.Builder
		buf := make([]byte, 256)
		for {
			n, err := br.Read(buf)
			seen.Write(buf[:n])
			if strings.Contains(seen.String(), "done? [y]es / [q]uit: ") {
				asked <- true
				return
			}
			if err != nil {
				asked <- false
				return
			}
		}
	}()
	if !<-asked {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("no prompt\n%s", se.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	endsWithin(t, cmd, waitOf(cmd), "still waiting for an answer 10 s after Ctrl-C")
	if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(se.String(), "lyncbackup: interrupted") {
		t.Errorf("exit %d\n%s", code, se.String())
	}
	if n := len(s.calls(t)); n != before {
		t.Errorf("%d PowerShell calls after the Ctrl-C", n-before)
	}
}

// TestCoreSecondCtrlCEndsTheRun: a run stuck after its first Ctrl-C (here
// a notification to a webhook that accepts and never answers, which has
// minutes to finish) ends at the second one. Later signals were swallowed.
func TestCoreSecondCtrlCEndsTheRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 4)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c // held open, never answered
		}
	}()
	e := newCoreEnv(t)
	e.oneFileSource("x", "notify: {on: always, webhooks: [{url: 'http://"+ln.Addr().String()+"/hook'}]}\n")
	var se bytes.Buffer
	cmd, err := testbin.Start(t, func() *exec.Cmd {
		cmd := exec.Command(testbin.Path(t), "backup", "--progress=never")
		cmd.Dir, cmd.Env, cmd.Stderr = e.dir, append(os.Environ(), e.env...), &se
		return cmd
	})
	if err != nil {
		t.Fatal(err)
	}
	done := waitOf(cmd)
	select {
	case c := <-accepted:
		defer c.Close()
	case <-done:
		t.Fatalf("the run ended before it notified\n%s", se.String())
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatal("no notification within a minute")
	}
	cmd.Process.Signal(syscall.SIGINT)
	time.Sleep(500 * time.Millisecond)
	cmd.Process.Signal(syscall.SIGINT)
	endsWithin(t, cmd, done, "still running 10 s after the second Ctrl-C\n"+se.String())
}

// TestCorePassphrasePrompt: at the passphrase prompt on a terminal, Ctrl-C
// ends the run at once (exit 130; it waited for Enter, then reported a
// wrong passphrase), and an empty answer says no passphrase was given
// (it said "bcrypt_pbkdf: empty password" for an ssh key).
func TestCorePassphrasePrompt(t *testing.T) {
	e := newCoreEnv(t)
	_, set := e.oneFileSet("payload")
	protected := e.protectedIdentity("tr0ub4dor & 3")
	for _, c := range []struct {
		name, keys string
		code       int
		want       string
	}{
		{"ctrl-c", "\x03", 130, "is protected by a passphrase: interrupted\r\n"},
		{"empty", "\r", 2, "identity file " + protected + " is protected by a passphrase: no passphrase given\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command(testbin.Path(t), "verify", set, "--identity", protected)
			cmd.Dir, cmd.Env = e.dir, append(os.Environ(), e.env...)
			f, err := pty.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			out := &syncBuf{marker: "Passphrase for", seen: make(chan struct{})}
			go io.Copy(out, f)
			select {
			case <-out.seen:
			case <-time.After(time.Minute):
				cmd.Process.Kill()
				t.Fatalf("no prompt:\n%q", out.String())
			}
			f.Write([]byte(c.keys))
			endsWithin(t, cmd, waitOf(cmd), fmt.Sprintf("still running 10 s after %q:\n%s", c.keys, out.String()))
			time.Sleep(100 * time.Millisecond) // the last output through the pty
			if code := cmd.ProcessState.ExitCode(); code != c.code || !strings.Contains(out.String(), c.want) {
				t.Errorf("exit %d, want %d and %q:\n%q", code, c.code, c.want, out.String())
			}
		})
	}
}
