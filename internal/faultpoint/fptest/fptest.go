// Package fptest is the test's end of package faultpoint: a loopback
// server that sees the binary stop at points and lets it go on.
package fptest

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/internal/faultpoint"
)

// Hit is one process stopped at a point.
type Hit struct {
	Name, Detail string
	conn         net.Conn
}

// Release lets the stopped process go on.
func (h *Hit) Release() {
	h.conn.Write([]byte("go\n"))
	h.conn.Close()
}

// Server is the test's end: it collects hits as the binary reaches points.
type Server struct {
	t    testing.TB
	ln   net.Listener
	hits chan *Hit
}

// Listen starts a server on a free loopback port, closed with the test.
func Listen(t testing.TB) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{t: t, ln: ln, hits: make(chan *Hit, 64)}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					c.Close()
					return
				}
				name, detail, _ := strings.Cut(strings.TrimSpace(line), " ")
				s.hits <- &Hit{Name: name, Detail: detail, conn: c}
			}()
		}
	}()
	t.Cleanup(func() { ln.Close() })
	return s
}

// Env returns the environment that makes the binary stop at points.
func (s *Server) Env(points ...string) []string {
	return []string{faultpoint.EnvAddr + "=" + s.ln.Addr().String(), faultpoint.EnvPoints + "=" + strings.Join(points, ",")}
}

// Wait returns the next hit, which must be at point name (and, when detail
// is not empty, that detail); it fails the test after a generous limit
// (a hang is a bug, not a timing).
func (s *Server) Wait(name, detail string) *Hit {
	s.t.Helper()
	select {
	case h := <-s.hits:
		if h.Name != name || (detail != "" && h.Detail != detail) {
			s.t.Fatalf("the binary stopped at %s %q, want %s %q", h.Name, h.Detail, name, detail)
		}
		return h
	case <-time.After(3 * time.Minute):
		s.t.Fatalf("the binary never reached %s %q", name, detail)
	}
	return nil
}
