package uploadtest

import (
	"crypto/tls"
	"net/http"
	"slices"
	"testing"
)

// SameTransport fails t when the transport a backend builds with a CA pool
// (destination.ca_file) differs from the one it builds without in anything
// but the TLS roots: the proxy from the environment, the dialer, HTTP/2,
// the time-outs, the idle-connection limits, the TLS minimum version and
// curves all stay. Functions are compared by being set.
func SameTransport(t *testing.T, without, with *http.Transport) {
	t.Helper()
	if without.Proxy == nil || with.Proxy == nil || (without.DialContext == nil) != (with.DialContext == nil) {
		t.Errorf("proxy from the environment or dialer lost: proxy %v/%v, dialer %v/%v",
			without.Proxy != nil, with.Proxy != nil, without.DialContext != nil, with.DialContext != nil)
	}
	a, b := without, with
	if a.ForceAttemptHTTP2 != b.ForceAttemptHTTP2 || a.TLSHandshakeTimeout != b.TLSHandshakeTimeout ||
		a.MaxIdleConns != b.MaxIdleConns || a.MaxIdleConnsPerHost != b.MaxIdleConnsPerHost || a.MaxConnsPerHost != b.MaxConnsPerHost ||
		a.IdleConnTimeout != b.IdleConnTimeout || a.ResponseHeaderTimeout != b.ResponseHeaderTimeout ||
		a.ExpectContinueTimeout != b.ExpectContinueTimeout || a.DisableKeepAlives != b.DisableKeepAlives ||
		a.DisableCompression != b.DisableCompression || a.WriteBufferSize != b.WriteBufferSize || a.ReadBufferSize != b.ReadBufferSize {
		t.Errorf("transport settings differ:\nwithout %+v\nwith    %+v", a, b)
	}
	if with.TLSClientConfig == nil || with.TLSClientConfig.RootCAs == nil {
		t.Fatalf("the CA pool is not in the transport: %+v", with.TLSClientConfig)
	}
	minVersion := func(c *tls.Config) uint16 {
		if c == nil || c.MinVersion == 0 {
			return tls.VersionTLS12 // crypto/tls's default for clients
		}
		return c.MinVersion
	}
	var curvesA []tls.CurveID
	if a.TLSClientConfig != nil {
		curvesA = a.TLSClientConfig.CurvePreferences
		if a.TLSClientConfig.RootCAs != nil {
			t.Errorf("roots set without a CA pool")
		}
	}
	if minVersion(a.TLSClientConfig) != minVersion(b.TLSClientConfig) || !slices.Equal(curvesA, b.TLSClientConfig.CurvePreferences) {
		t.Errorf("TLS settings differ: minimum version %x/%x, curves %v/%v",
			minVersion(a.TLSClientConfig), minVersion(b.TLSClientConfig), curvesA, b.TLSClientConfig.CurvePreferences)
	}
}
