package catalog

import (
	"runtime"
	"strings"
	"testing"
)

// A discovery record past maxDiscovery is refused: it is any JSON, and
// empty lists take ~40 times their size in memory (a 12 MiB manifest
// allocated 474 MiB; every listing reads every manifest).
func TestManifestDiscoveryBounded(t *testing.T) {
	m := validManifest("fe01", "20260101T000000Z-0000aa", "certs")
	b := marshal(t, m)
	big := string(b[:len(b)-1]) + `,"discovery":{"x":[` + strings.Repeat("[],", 400000) + `[]]}}`
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := ParseManifest(strings.NewReader(big))
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "discovery record of") {
		t.Fatalf("a %d-byte discovery record: %v", len(big), err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 20*uint64(len(big)) { // accepted, it took ~40 times
		t.Errorf("refusing it allocated %d MiB", alloc>>20)
	}
	small := string(b[:len(b)-1]) + `,"discovery":{"lync":{"product":"2015","pools":[{"fqdn":"pool01.contoso.com"}]}}}`
	got, err := ParseManifest(strings.NewReader(small))
	if err != nil || got.Discovery["lync"] == nil {
		t.Fatalf("a normal discovery record: %v", err)
	}
}
