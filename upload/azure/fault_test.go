package azure

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"
	"github.com/lyncbackup/lyncbackup/internal/faultproxy"
	"github.com/lyncbackup/lyncbackup/internal/testenv"
	"github.com/lyncbackup/lyncbackup/upload"
)

func startProxy(t *testing.T) (*faultproxy.Proxy, *testenv.AzureServer) {
	t.Helper()
	az := testenv.Azurite(t)
	p, err := faultproxy.Start(strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	if err != nil {
		t.Fatal(err)
	}
	p.StallFor = 300 * time.Millisecond
	t.Cleanup(func() { p.Close() })
	return p, az
}

func isBlock(r *http.Request) bool { return r.Method == "PUT" && r.URL.Query().Get("comp") == "block" }
func isCommit(r *http.Request) bool {
	return r.Method == "PUT" && r.URL.Query().Get("comp") == "blocklist"
}
func isBlobGet(r *http.Request) bool   { return r.Method == "GET" && r.URL.Query().Get("comp") == "" }
func isPutBlob(r *http.Request) bool   { return r.Method == "PUT" && r.URL.Query().Get("comp") == "" }
func isContainer(r *http.Request) bool { return r.URL.Query().Get("restype") == "container" }

// Resets, 500s, 503s and stalls during upload and download are retried:
// the data read back is identical.
func TestTransfersSurviveFaults(t *testing.T) {
	for _, f := range []struct {
		name  string
		fault faultproxy.Fault
	}{{"reset", faultproxy.FaultReset}, {"500", faultproxy.Fault500}, {"503", faultproxy.Fault503}, {"stall", faultproxy.FaultStall}, {"cut-response", faultproxy.FaultResetResponse}} {
		t.Run(f.name, func(t *testing.T) {
			p, _ := startProxy(t)
			e := newEnv(t, withProxy(p.URL))
			ctx := context.Background()
			var n atomic.Int64
			p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
				if isBlock(r) || isCommit(r) || isPutBlob(r) || isBlobGet(r) {
					if n.Add(1)%3 == 0 {
						return f.fault
					}
				}
				return faultproxy.FaultNone
			})
			data := randBytes(11, 12*int(e.store.blockSize)+77)
			if _, err := e.store.Put(ctx, "f/big", bytes.NewReader(data), upload.PutOptions{}); err != nil {
				t.Fatalf("put: %v", err)
			}
			if _, err := e.store.Put(ctx, "f/small", strings.NewReader("small"), upload.PutOptions{}); err != nil {
				t.Fatalf("put small: %v", err)
			}
			for i := 0; i < 3; i++ { // several reads so GETs meet the faults too
				if got := get(t, e.store, "f/big", 0, -1); !bytes.Equal(got, data) {
					t.Fatalf("read back differs (%d of %d bytes)", len(got), len(data))
				}
			}
			if got := get(t, e.store, "f/small", 0, -1); string(got) != "small" {
				t.Fatalf("small: %q", got)
			}
			if p.Injected() < 3 {
				t.Fatalf("only %d faults injected", p.Injected())
			}
			t.Logf("%d faults injected", p.Injected())
		})
	}
}

// When blocks keep failing past the retries, Put fails and leaves neither a
// committed blob nor uncommitted blocks.
func TestPutFailsCleanlyUnderPersistentFaults(t *testing.T) {
	p, _ := startProxy(t)
	e := newEnv(t, withProxy(p.URL), func(o *Options) { o.MaxRetries = 2 })
	var blocks atomic.Int64
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if isBlock(r) && blocks.Add(1) > 4 {
			return faultproxy.Fault500
		}
		return faultproxy.FaultNone
	})
	_, err := e.store.Put(context.Background(), "doomed", newRand(1, 20*e.store.blockSize), upload.PutOptions{})
	if err == nil {
		t.Fatal("Put succeeded through persistent 500s")
	}
	if !strings.Contains(err.Error(), "doomed") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("error %q: want one line naming the key", err)
	}
	t.Logf("error: %v", err)
	p.SetRule(nil)
	if _, err := e.store.Stat(context.Background(), "doomed"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("a failed Put left a blob: %v", err)
	}
	assertNoUncommitted(t, e)

	// The commit itself failing for good: nothing visible either.
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if isCommit(r) {
			return faultproxy.Fault503
		}
		return faultproxy.FaultNone
	})
	if _, err := e.store.Put(context.Background(), "nocommit", newRand(2, 3*e.store.blockSize), upload.PutOptions{}); err == nil {
		t.Fatal("Put succeeded without a commit")
	}
	p.SetRule(nil)
	if _, err := e.store.Stat(context.Background(), "nocommit"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("a failed commit left a blob: %v", err)
	}
	assertNoUncommitted(t, e)
}

// A write that landed but whose answer was lost: the SDK sends it again.
// A plain blob takes the repeat (the same block list commits again); an
// immutable blob refuses it (409 BlobImmutableDueToPolicy), and Put tells
// its own write by the committed block list (staged) or by size and MD5
// (one Put Blob). Either way Put succeeds.
func TestCommitAnswerLost(t *testing.T) {
	for _, c := range []struct {
		name   string
		write  func(*http.Request) bool
		size   func(*Store) int
		repeat faultproxy.Fault
	}{
		{"staged", isCommit, func(s *Store) int { return 4 * int(s.blockSize) }, faultproxy.FaultNone},
		{"staged-immutable", isCommit, func(s *Store) int { return 4 * int(s.blockSize) }, faultproxy.FaultAnswer},
		{"single-immutable", isPutBlob, func(*Store) int { return 1000 }, faultproxy.FaultAnswer},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, _ := startProxy(t)
			e := newEnv(t, withProxy(p.URL))
			p.Answer = func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("x-ms-error-code", "BlobImmutableDueToPolicy")
				w.Header().Set("Content-Type", "application/xml")
				w.WriteHeader(http.StatusConflict)
				io.WriteString(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>BlobImmutableDueToPolicy</Code><Message>This operation is not permitted as the blob is immutable due to a policy.</Message></Error>`)
			}
			var n atomic.Int32
			p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
				if !c.write(r) || isContainer(r) {
					return faultproxy.FaultNone
				}
				if n.Add(1) == 1 {
					return faultproxy.FaultLoseAnswer
				}
				return c.repeat
			})
			data := randBytes(3, c.size(e.store))
			if _, err := e.store.Put(context.Background(), "k", bytes.NewReader(data), upload.PutOptions{}); err != nil {
				t.Fatalf("put whose write landed and whose answer was lost: %v", err)
			}
			if n.Load() < 2 {
				t.Fatalf("%d writes seen: the lost answer was not retried", n.Load())
			}
			p.SetRule(nil)
			if !bytes.Equal(get(t, e.store, "k", 0, -1), data) {
				t.Fatal("data differs")
			}
		})
	}
}

// rangeStart is where the X-Ms-Range of a GET begins (-1: none).
func rangeStart(r *http.Request) int64 {
	var from, to int64
	if _, err := fmt.Sscanf(r.Header.Get("X-Ms-Range"), "bytes=%d-%d", &from, &to); err != nil {
		return -1
	}
	return from
}

// A download whose range keeps failing ends in an error, not short data.
func TestGetFailsLoudly(t *testing.T) {
	p, _ := startProxy(t)
	e := newEnv(t, withProxy(p.URL), func(o *Options) { o.MaxRetries = 1 })
	bs := e.store.blockSize
	data := randBytes(4, 6*int(bs))
	if _, err := e.store.Put(context.Background(), "k", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if from := rangeStart(r); isBlobGet(r) && from >= 3*bs && from < 4*bs {
			return faultproxy.Fault500
		}
		return faultproxy.FaultNone
	})
	rc, err := e.store.Get(context.Background(), "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	_, err = buf.ReadFrom(rc)
	rc.Close()
	if err == nil {
		t.Fatalf("read %d bytes and no error through a broken range", buf.Len())
	}
	// The failing range stops the others, so fewer may come first, but
	// never a byte of the broken range or after it.
	if buf.Len() > 3*int(bs) || !bytes.Equal(buf.Bytes(), data[:buf.Len()]) {
		t.Fatalf("got %d bytes before the error; want at most the 3 good ranges", buf.Len())
	}
	if strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), "azure: get") {
		t.Fatalf("error %q: want one line naming the operation", err)
	}
	t.Logf("error: %v", err)
}

// A range whose body breaks off mid-way is resumed from the byte reached,
// not fetched again from its start (the drift issue 19 found: S3 resumed,
// Azure downloaded the whole range again).
func TestGetResumesMidBody(t *testing.T) {
	p, _ := startProxy(t)
	e := newEnv(t, withProxy(p.URL))
	bs := e.store.blockSize
	data := randBytes(5, 6*int(bs))
	if _, err := e.store.Put(context.Background(), "k", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	var cut atomic.Bool
	var starts sync.Map // range start -> count
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if !isBlobGet(r) {
			return faultproxy.FaultNone
		}
		from := rangeStart(r)
		v, _ := starts.LoadOrStore(from, new(atomic.Int32))
		v.(*atomic.Int32).Add(1)
		if from == 3*bs && cut.CompareAndSwap(false, true) {
			return faultproxy.FaultShortResponse
		}
		return faultproxy.FaultNone
	})
	if got := get(t, e.store, "k", 0, -1); !bytes.Equal(got, data) {
		t.Fatal("read back different data")
	}
	if !cut.Load() {
		t.Fatal("the fault was never injected")
	}
	resumed := false
	starts.Range(func(k, v any) bool {
		from := k.(int64)
		if from == 3*bs && v.(*atomic.Int32).Load() != 1 {
			t.Errorf("range at %d fetched %d times from its start", from, v.(*atomic.Int32).Load())
		}
		if from > 3*bs && from < 4*bs {
			resumed = true
		}
		return true
	})
	if !resumed {
		t.Fatal("no request resumed inside the cut range")
	}
}

// One range failing for good stops the ranges still in flight at once,
// before the reader is closed (the drift issue 19 found: Azure left them
// running until Close).
func TestGetFailureCancelsOtherRanges(t *testing.T) {
	p, _ := startProxy(t)
	p.StallFor = 2 * time.Minute
	e := newEnv(t, withProxy(p.URL), func(o *Options) { o.MaxRetries = 1; o.Concurrency = 3 })
	bs := e.store.blockSize
	data := randBytes(6, 6*int(bs))
	if _, err := e.store.Put(context.Background(), "k", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		switch from := rangeStart(r); {
		case !isBlobGet(r):
		case from == 0:
			return faultproxy.FaultStall // the first range hangs
		case from == bs:
			return faultproxy.Fault500 // the second fails for good
		}
		return faultproxy.FaultNone
	})
	rc, err := e.store.Get(context.Background(), "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	readErr := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, rc)
		readErr <- err
	}()
	deadline := time.After(30 * time.Second)
	for p.Abandoned() == 0 {
		select {
		case <-deadline:
			t.Fatal("the hanging range was not cancelled after another range failed")
		case <-time.After(10 * time.Millisecond): // polling the proxy's count
		}
	}
	select {
	case err := <-readErr:
		if err == nil || errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "500") {
			t.Fatalf("read error %v: want the failing range's 500", err)
		}
		t.Logf("error: %v", err)
	case <-deadline:
		t.Fatal("read did not end after a range failed")
	}
}

// containerSAS is a SAS URL for e's container with every right (its query is
// the token).
func containerSAS(t *testing.T, e *env) *url.URL {
	t.Helper()
	sasURL, err := e.raw.GetSASURL(sas.ContainerPermissions{Read: true, Add: true, Create: true, Write: true, Delete: true, List: true}, time.Now().Add(time.Hour), nil)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(sasURL)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// Secrets (account key, SAS signature) never appear in error text, even
// from transport errors that quote the request URL.
func TestErrorsCarryNoSecrets(t *testing.T) {
	az := testenv.Azurite(t)
	e := newEnv(t)
	ctx := context.Background()
	u := containerSAS(t, e)
	sig := u.Query().Get("sig")
	if sig == "" {
		t.Fatal("no signature in the SAS")
	}
	open := func(serviceURL string, a Auth) *Store {
		s, err := Open(ctx, Options{Location: Location{ServiceURL: serviceURL, Account: az.Account, Container: e.container}, Auth: a, RetryDelay: time.Millisecond, MaxRetries: 1})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	sasStore := open(az.Endpoint, Auth{Kind: "sas", SAS: u.RawQuery})
	if _, err := sasStore.Put(ctx, "via-sas", strings.NewReader("hello"), upload.PutOptions{}); err != nil {
		t.Fatalf("put with a SAS: %v", err)
	}
	if got := get(t, sasStore, "via-sas", 0, -1); string(got) != "hello" {
		t.Fatalf("get with a SAS: %q", got)
	}
	check := func(what string, err error, secrets ...string) {
		t.Helper()
		if err == nil {
			t.Fatalf("%s: no error", what)
		}
		msg := err.Error()
		for _, s := range secrets {
			if strings.Contains(msg, s) || strings.Contains(msg, url.QueryEscape(s)) {
				t.Fatalf("%s: error leaks a secret: %s", what, msg)
			}
		}
		if strings.Contains(msg, "\n") {
			t.Fatalf("%s: multi-line error: %q", what, msg)
		}
		t.Logf("%s: %s", what, msg)
	}
	_, err := sasStore.Get(ctx, "missing", 0, -1)
	if !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("missing via SAS: %v", err)
	}
	check("missing blob (SAS)", err, sig)

	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + ln.Addr().String() + "/" + az.Account
	ln.Close()
	_, err = open(dead, Auth{Kind: "sas", SAS: u.RawQuery}).Put(ctx, "x", strings.NewReader("x"), upload.PutOptions{})
	check("refused connection (SAS)", err, sig)

	badKey := "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODkwMTIzNDU2Nzg5MDEyMzQ1Njc4OTAxMjM0NTY3OA=="
	_, err = open(az.Endpoint, Auth{Kind: "shared-key", Account: az.Account, Key: badKey}).Stat(ctx, "x")
	check("wrong key", err, badKey)
	_, err = open(az.Endpoint, Auth{Kind: "shared-key", Account: az.Account, Key: badKey}).Put(ctx, "x", strings.NewReader("x"), upload.PutOptions{})
	check("wrong key put", err, badKey)
	if !strings.Contains(err.Error(), "credentials") {
		t.Fatalf("auth failure does not point at the credentials: %v", err)
	}
	if s := sasStore.String(); strings.Contains(s, sig) || strings.Contains(s, "?") {
		t.Fatalf("String() leaks the SAS: %s", s)
	}
}

// A middlebox that drops x-ms-range (a SAS does not sign it) makes the
// service send the whole blob for every range: Get fails naming it instead
// of handing back the blob's first bytes as each range.
func TestGetRangeNotHonoured(t *testing.T) {
	p, az := startProxy(t)
	e := newEnv(t)
	ctx := context.Background()
	u := containerSAS(t, e)
	st, err := Open(ctx, Options{Location: Location{ServiceURL: p.URL + "/" + testenv.AzuriteAccount, Account: az.Account, Container: e.container},
		Auth: Auth{Kind: "sas", SAS: u.RawQuery}, BlockSize: 64 << 10, RetryDelay: time.Millisecond, MaxRetries: 1})
	if err != nil {
		t.Fatal(err)
	}
	data := randBytes(9, 4*64<<10+123)
	if _, err := st.Put(ctx, "k", bytes.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(strings.TrimSuffix(az.Endpoint, "/"+testenv.AzuriteAccount))
	rp := httputil.NewSingleHostReverseProxy(target)
	p.Answer = func(w http.ResponseWriter, r *http.Request) {
		r.Header.Del("X-Ms-Range")
		r.Header.Del("Range")
		rp.ServeHTTP(w, r)
	}
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if isBlobGet(r) {
			return faultproxy.FaultAnswer
		}
		return faultproxy.FaultNone
	})
	rc, err := st.Get(ctx, "k", 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	rc.Close()
	if err == nil {
		t.Fatalf("read %d bytes (equal: %v) although the service ignored every range", len(got), bytes.Equal(got, data))
	}
	if !strings.Contains(err.Error(), "Range not honoured") || strings.Contains(err.Error(), u.Query().Get("sig")) {
		t.Fatalf("error: %v", err)
	}
}

// A service that stops answering: after the retries the error says it
// timed out, not that the run was interrupted (nobody cancelled it).
func TestStalledServiceTimesOut(t *testing.T) {
	p, _ := startProxy(t)
	p.StallFor = 3 * time.Second
	e := newEnv(t, withProxy(p.URL), func(o *Options) { o.TryTimeout = 200 * time.Millisecond; o.MaxRetries = 1 })
	p.SetRule(func(_ int64, r *http.Request) faultproxy.Fault {
		if isContainer(r) {
			return faultproxy.FaultNone
		}
		return faultproxy.FaultStall
	})
	_, err := e.store.Put(context.Background(), "small", strings.NewReader("data"), upload.PutOptions{})
	if err == nil || strings.Contains(err.Error(), "interrupted") || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("put to a stalled service: %v", err)
	}
	_, err = e.store.Stat(context.Background(), "small")
	if err == nil || strings.Contains(err.Error(), "interrupted") || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("stat on a stalled service: %v", err)
	}
}
