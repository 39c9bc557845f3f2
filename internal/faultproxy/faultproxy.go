// Package faultproxy is a loopback HTTP reverse proxy for tests that sits
// between the tool and a real storage server (VersityGW, Azurite) and
// injects faults: connection resets mid-body, 500/503 answers, stalls.
package faultproxy

import (
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"sync/atomic"
	"time"
)

// Fault decides what to do with one request. Return FaultNone to pass it through.
type Fault int

const (
	FaultNone          Fault = iota
	FaultReset               // read part of the request body, then drop the connection
	Fault500                 // answer 500 without forwarding
	Fault503                 // answer 503 SlowDown without forwarding
	FaultStall               // hold the request for StallFor, then forward it
	FaultResetResponse       // forward, then drop the connection mid-response body
	FaultShortResponse       // forward, pass 32 KiB of the response body, then close cleanly (FIN): the client surely got those bytes
	FaultLoseAnswer          // forward, then drop the connection (RST) instead of the answer: the request took effect, the client cannot know
	Fault404                 // answer 404 NotFound (S3's code) without forwarding
	Fault403                 // answer 403 AccessDenied (S3's code) without forwarding: a permission the credentials lack
	FaultAnswer              // answer with Proxy.Answer without forwarding
)

// Rule picks a fault for the n-th request (n counts from 1) seen by the proxy.
type Rule func(n int64, r *http.Request) Fault

// Proxy is a running fault-injecting proxy.
type Proxy struct {
	URL      string // http://127.0.0.1:PORT
	StallFor time.Duration
	// Answer writes the answer of FaultAnswer (set it before the rule).
	Answer http.HandlerFunc

	srv     *http.Server
	ln      net.Listener
	count   atomic.Int64
	mu      sync.Mutex
	rule    Rule
	seen    []Seen
	injects atomic.Int64
	gaveUp  atomic.Int64
}

// Seen records a request that passed the proxy (method, path, query and headers).
type Seen struct {
	Method string
	URL    string
	Header http.Header
	Fault  Fault
}

// Start proxies to target (e.g. "http://127.0.0.1:9000") on a free loopback port.
func Start(target string) (*Proxy, error) {
	tu, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{URL: "http://" + ln.Addr().String(), ln: ln, StallFor: 3 * time.Second}
	rp := httputil.NewSingleHostReverseProxy(tu)
	// Injected faults make the proxy log "proxy error" lines: they are expected.
	rp.ErrorLog = log.New(io.Discard, "", 0)
	p.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := p.count.Add(1)
		p.mu.Lock()
		rule := p.rule
		p.mu.Unlock()
		f := FaultNone
		if rule != nil {
			f = rule(n, r)
		}
		p.mu.Lock()
		p.seen = append(p.seen, Seen{Method: r.Method, URL: r.URL.String(), Header: r.Header.Clone(), Fault: f})
		p.mu.Unlock()
		if f != FaultNone {
			p.injects.Add(1)
		}
		switch f {
		case FaultReset:
			io.CopyN(io.Discard, r.Body, 64<<10)
			hijackClose(w)
			return
		case Fault500:
			io.Copy(io.Discard, r.Body)
			http.Error(w, "injected internal error", http.StatusInternalServerError)
			return
		case Fault503:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Retry-After", "0")
			w.WriteHeader(http.StatusServiceUnavailable)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>SlowDown</Code><Message>injected</Message></Error>`)
			return
		case FaultStall:
			select {
			case <-time.After(p.StallFor):
			case <-r.Context().Done():
				p.gaveUp.Add(1)
				return
			}
		case FaultResetResponse:
			rw := &cutWriter{ResponseWriter: w, limit: 32 << 10}
			rp.ServeHTTP(rw, r)
			return
		case FaultShortResponse:
			rw := &cutWriter{ResponseWriter: w, limit: 32 << 10, clean: true}
			rp.ServeHTTP(rw, r)
			return
		case FaultLoseAnswer:
			rp.ServeHTTP(loseAnswer{w}, r)
			return
		case FaultAnswer:
			io.Copy(io.Discard, r.Body)
			p.Answer(w, r)
			return
		case Fault403:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusForbidden)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>`)
			return
		case Fault404:
			io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusNotFound)
			if r.Method != http.MethodHead {
				io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code><Message>injected</Message></Error>`)
			}
			return
		}
		rp.ServeHTTP(w, r)
	})}
	go p.srv.Serve(ln)
	return p, nil
}

// SetRule replaces the fault rule (nil: no faults).
func (p *Proxy) SetRule(r Rule) {
	p.mu.Lock()
	p.rule = r
	p.mu.Unlock()
}

// Requests returns what the proxy has seen so far.
func (p *Proxy) Requests() []Seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Seen(nil), p.seen...)
}

// Injected counts the faults injected so far.
func (p *Proxy) Injected() int64 { return p.injects.Load() }

// Abandoned counts stalled requests whose client gave up (cancelled or
// timed out) before the stall ended.
func (p *Proxy) Abandoned() int64 { return p.gaveUp.Load() }

// Close stops the proxy.
func (p *Proxy) Close() error { return p.srv.Close() }

func hijackClose(w http.ResponseWriter) { hijack(w, false) }

func hijack(w http.ResponseWriter, clean bool) {
	if hj, ok := w.(http.Hijacker); ok {
		if c, bw, err := hj.Hijack(); err == nil {
			if clean {
				bw.Flush()
			} else if tc, ok := c.(*net.TCPConn); ok {
				tc.SetLinger(0) // RST, not FIN
			}
			c.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

// loseAnswer drops the connection (RST) when the answer's status line
// would be written.
type loseAnswer struct{ http.ResponseWriter }

func (l loseAnswer) WriteHeader(int) { hijack(l.ResponseWriter, false) }

func (l loseAnswer) Write([]byte) (int, error) {
	hijack(l.ResponseWriter, false)
	return 0, io.ErrClosedPipe
}

// cutWriter passes limit bytes of the response body, then drops the
// connection (clean: closes it with a FIN after the bytes passed).
type cutWriter struct {
	http.ResponseWriter
	limit int64
	n     int64
	clean bool
}

func (c *cutWriter) Write(b []byte) (int, error) {
	if c.n+int64(len(b)) > c.limit {
		if f, ok := c.ResponseWriter.(http.Flusher); ok {
			f.Flush()
		}
		hijack(c.ResponseWriter, c.clean)
		return 0, io.ErrClosedPipe
	}
	c.n += int64(len(b))
	return c.ResponseWriter.Write(b)
}

// EveryNth injects f on every n-th request whose method is in methods (all if empty).
func EveryNth(nth int64, f Fault, methods ...string) Rule {
	var c atomic.Int64
	return func(_ int64, r *http.Request) Fault {
		if len(methods) > 0 {
			ok := false
			for _, m := range methods {
				if r.Method == m {
					ok = true
				}
			}
			if !ok {
				return FaultNone
			}
		}
		if c.Add(1)%nth == 0 {
			return f
		}
		return FaultNone
	}
}
