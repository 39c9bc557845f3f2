package testenv

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv names the variable that turns a missing server or tool into
// a failure: scripts/test.sh (and so CI and README's test command) sets it
// to 1; with it unset, CI=... in the environment means 1 too. A developer
// who wants the S3 / Azure tests skipped runs with it set to 0.
const RequireEnv = "LYNCBACKUP_REQUIRE_SERVERS"

// Required reports whether missing servers and tools fail the tests.
func Required() bool {
	switch v := os.Getenv(RequireEnv); v {
	case "":
		return os.Getenv("CI") != ""
	default:
		return v != "0" && v != "false"
	}
}

// Unavailable skips t because what is named in why is missing, or fails it
// when Required: a run that should cover S3 and Azure must not pass without
// them.
func Unavailable(t testing.TB, why string) {
	t.Helper()
	if Required() {
		t.Fatalf("%s (%s=1: missing servers and tools fail the run; set it to 0 to skip instead)", why, RequireEnv)
	}
	t.Skip(why)
}

// server is one child process that serves HTTP on a free loopback port:
// started once per test process, logging into its own temporary folder,
// killed (and its folder removed) by stop, and by Linux when the test
// process dies.
type server struct {
	name string // for messages: "versitygw", "azurite-blob"

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
	tmp  string
	log  *os.File
}

// start creates the server's folder (prefix + random), lets prepare fill
// it, then tries up to five free ports: mk builds the command for a port
// and readyURL is polled until the server answers over HTTP. It returns
// the port in use.
func (s *server) start(prefix string, prepare func(tmp string) error, mk func(port int) *exec.Cmd, readyURL func(port int) string) (int, error) {
	tmp, err := os.MkdirTemp("", prefix)
	if err != nil {
		return 0, err
	}
	if prepare != nil {
		if err := prepare(tmp); err != nil {
			os.RemoveAll(tmp)
			return 0, err
		}
	}
	logPath := filepath.Join(tmp, s.name+".log")
	logf, err := os.Create(logPath)
	if err != nil {
		os.RemoveAll(tmp)
		return 0, err
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		port, err := freePort()
		if err != nil {
			lastErr = err
			continue
		}
		cmd := mk(port)
		cmd.Stdout, cmd.Stderr = logf, logf
		setPdeathsig(cmd)
		if err := cmd.Start(); err != nil {
			logf.Close()
			os.RemoveAll(tmp)
			return 0, err
		}
		exited := make(chan error, 1)
		go func() { exited <- cmd.Wait() }()
		if err := s.wait(readyURL(port), exited, 60*time.Second); err != nil {
			cmd.Process.Kill()
			<-exited
			lastErr = err
			continue
		}
		s.mu.Lock()
		s.cmd, s.done, s.tmp, s.log = cmd, exited, tmp, logf
		s.mu.Unlock()
		return port, nil
	}
	log, _ := os.ReadFile(logPath)
	logf.Close()
	os.RemoveAll(tmp)
	return 0, fmt.Errorf("%v; log: %s", lastErr, tail(string(log), 2000))
}

// wait polls url until the server answers anything, or exits, or limit passes.
func (s *server) wait(url string, exited <-chan error, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	c := &http.Client{Timeout: 2 * time.Second}
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return fmt.Errorf("%s exited: %v", s.name, err)
		default:
		}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s did not answer on %s within %v", s.name, url, limit)
}

// stop kills the server (if one was started) and removes its folder.
func (s *server) stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.done
		s.cmd = nil
	}
	if s.log != nil {
		s.log.Close()
		s.log = nil
	}
	if s.tmp != "" {
		os.RemoveAll(s.tmp)
		s.tmp = ""
	}
}

// setPdeathsig asks Linux to kill the server when the test process dies
// (the field only exists in syscall.SysProcAttr on Linux, hence reflection).
func setPdeathsig(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if f := reflect.ValueOf(cmd.SysProcAttr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.SetInt(9) // SIGKILL
	}
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
