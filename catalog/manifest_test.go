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

// A manifest packed with empty objects or strings is refused before it is
// decoded: "items": [{},{},…] built a ~200-byte Item for every 3 bytes
// (355 times the document; one planted 24 MiB manifest took list to
// 5 GB). Whatever a document decodes to stays within a few times its size.
func TestManifestDensityBounded(t *testing.T) {
	m := validManifest("fe01", "20260101T000000Z-0000aa", "certs")
	b := string(marshal(t, m))
	const n = 1 << 20 // 3 MiB of "{},"
	for name, doc := range map[string]string{
		"items":    strings.Replace(b, `"items":[`, `"items":[`+strings.Repeat("{},", n), 1),
		"chunks":   strings.Replace(b, `"items":[{`, `"items":[{"chunks":[`+strings.Repeat("{},", n)+`{}],`, 1),
		"failures": strings.Replace(b[:len(b)-1], `"status":"complete"`, `"status":"partial"`, 1) + `,"failures":[` + strings.Repeat("{},", n) + `{}]}`,
		"warnings": strings.Replace(b, `"items":[{`, `"items":[{"warnings":[`+strings.Repeat(`"",`, n)+`""],`, 1),
	} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		_, err := ParseManifest(strings.NewReader(doc))
		runtime.ReadMemStats(&after)
		alloc := after.TotalAlloc - before.TotalAlloc
		if err == nil || !strings.Contains(err.Error(), "more than a manifest holds") {
			t.Errorf("%s: %v", name, err)
		}
		if alloc > 8*uint64(len(doc)) { // reading it takes ~2.5x; decoding the old way took 33x to 370x
			t.Errorf("%s: a %d KiB document allocated %d KiB", name, len(doc)>>10, alloc>>10)
		}
	}
}
