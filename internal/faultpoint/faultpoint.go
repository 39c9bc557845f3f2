// Package faultpoint lets a test stop the real binary at a named point of
// its work (after an item is stored, before the commit, …), do something
// there (run a prune, delete an object, kill the process) and then let it
// go on: interleavings become deterministic without sleeps.
//
// The binary reaches a point with Reach. Unless LYNCBACKUP_FAULTPOINT_ADDR
// names a loopback address and LYNCBACKUP_FAULTPOINTS lists the point (or
// is "*"), Reach returns at once and costs one map lookup. When it is
// listed, Reach connects to the address, sends "name detail\n" and waits for
// any line back (or the connection's end, or ctx).
package faultpoint

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"strings"
	"sync"
)

// Environment variables read by Reach.
const (
	EnvAddr   = "LYNCBACKUP_FAULTPOINT_ADDR"
	EnvPoints = "LYNCBACKUP_FAULTPOINTS"
)

var (
	once   sync.Once
	addr   string
	points map[string]bool
	all    bool
)

func load() {
	a := os.Getenv(EnvAddr)
	if a == "" {
		return
	}
	host, _, err := net.SplitHostPort(a)
	if err != nil || host != "127.0.0.1" {
		return // tests talk to themselves on loopback only
	}
	addr = a
	points = map[string]bool{}
	for _, p := range strings.Split(os.Getenv(EnvPoints), ",") {
		if p = strings.TrimSpace(p); p == "*" {
			all = true
		} else if p != "" {
			points[p] = true
		}
	}
}

// Reach stops at point name when a test asked for it (see the package
// comment); detail says which instance (an item name).
func Reach(ctx context.Context, name, detail string) {
	once.Do(load)
	if addr == "" || (!all && !points[name]) {
		return
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return
	}
	defer c.Close()
	stop := context.AfterFunc(ctx, func() { c.Close() })
	defer stop()
	fmt.Fprintf(c, "%s %s\n", name, detail)
	bufio.NewReader(c).ReadString('\n')
}
