package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

func validManifest(host, id string, items ...string) *Manifest {
	t0, _ := ParseSetID(id)
	m := &Manifest{Format: FormatVersion, Tool: "lyncbackup test", Host: host, SetID: id, Start: t0, End: t0.Add(time.Minute),
		Status: StatusComplete, Compression: "default", Recipients: []string{"age1xyz"}}
	for _, it := range items {
		m.Items = append(m.Items, Item{Name: it, Kind: "path", Key: ItemKey(host, id, it), PlainBytes: 10, StoredBytes: 20, Files: 1,
			SHA256: strings.Repeat("ab", 32)})
	}
	return m
}

func marshal(t testing.TB, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSetID(t *testing.T) {
	now := time.Date(2026, 11, 25, 15, 12, 3, 999, time.FixedZone("x", 3600))
	id := NewSetID(now)
	if !strings.HasPrefix(id, "20261125T141203Z-") || len(id) != len("20261125T141203Z-a1b2c3") {
		t.Fatalf("NewSetID = %q", id)
	}
	got, err := ParseSetID(id)
	if err != nil || !got.Equal(now.Truncate(time.Second)) {
		t.Fatalf("ParseSetID(%q) = %v, %v", id, got, err)
	}
	if NewSetID(now) == id && NewSetID(now) == id {
		t.Error("set ids are not unique")
	}
	for _, bad := range []string{"", "20261125T141203Z", "20261125T141203Z-A1B2C3", "20261325T141203Z-a1b2c3", "20261125T141203-a1b2c3",
		"20261125T141203Z-a1b2c3x", "x20261125T141203Z-a1b2c3", "../20261125T141203Z-a1b2c3"} {
		if _, err := ParseSetID(bad); err == nil {
			t.Errorf("ParseSetID(%q) accepted", bad)
		}
	}
}

func TestParseManifest(t *testing.T) {
	id := "20261125T151203Z-a1b2c3"
	good := validManifest("fe01", id, "certs", "sql")
	data, err := good.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseManifest(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(m.Items) != 2 || m.Items[1].Key != "fe01/"+id+"/sql.tar.zst.age" {
		t.Fatalf("%+v", m)
	}
	if p, s, f := m.Totals(); p != 20 || s != 40 || f != 2 {
		t.Errorf("totals %d %d %d", p, s, f)
	}
	if it, ok := m.Item("sql"); !ok || it.Name != "sql" {
		t.Error("Item(sql)")
	}

	mutate := func(f func(m map[string]any)) []byte {
		var raw map[string]any
		json.Unmarshal(data, &raw)
		f(raw)
		return marshal(t, raw)
	}
	item := func(m map[string]any) map[string]any { return m["items"].([]any)[0].(map[string]any) }
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "not valid JSON"},
		{"not json", []byte("{"), "not valid JSON"},
		{"array", []byte("[]"), "not valid JSON"},
		{"newer", mutate(func(m map[string]any) { m["format"] = FormatVersion + 1 }), "upgrade lyncbackup"},
		{"much newer", mutate(func(m map[string]any) { m["format"] = 99; m["new_field"] = true }), "upgrade lyncbackup"},
		{"no format", mutate(func(m map[string]any) { delete(m, "format") }), "no format"},
		{"zero format", mutate(func(m map[string]any) { m["format"] = 0 }), "no format"},
		{"string format", mutate(func(m map[string]any) { m["format"] = "1" }), ""},
		{"unknown field", mutate(func(m map[string]any) { m["extra"] = 1 }), "unknown field"},
		{"unknown item field", mutate(func(m map[string]any) { item(m)["extra"] = 1 }), "unknown field"},
		{"trailing", append(append([]byte{}, data...), []byte(" {}")...), ""},
		{"bad host", mutate(func(m map[string]any) { m["host"] = "../etc" }), "invalid host"},
		{"bad set id", mutate(func(m map[string]any) { m["set_id"] = "x" }), "invalid set id"},
		{"bad status", mutate(func(m map[string]any) { m["status"] = "done" }), "invalid status"},
		{"ends before start", mutate(func(m map[string]any) { m["end"] = "2000-01-01T00:00:00Z" }), "ends before"},
		{"key outside set", mutate(func(m map[string]any) { item(m)["key"] = "other/20261125T151203Z-a1b2c3/certs.tar.zst.age" }), "outside its set"},
		{"key traversal", mutate(func(m map[string]any) { item(m)["key"] = "fe01/" + id + "/../../x" }), "outside its set"},
		{"key of other item", mutate(func(m map[string]any) { item(m)["key"] = ItemKey("fe01", id, "sql") }), "outside its set"},
		{"bad item name", mutate(func(m map[string]any) { item(m)["name"] = "a/b" }), "invalid name"},
		{"duplicate item", mutate(func(m map[string]any) {
			its := m["items"].([]any)
			m["items"] = append(its, its[0])
		}), "twice"},
		{"bad sha", mutate(func(m map[string]any) { item(m)["sha256"] = "xyz" }), "invalid sha256"},
		{"upper sha", mutate(func(m map[string]any) { item(m)["sha256"] = strings.Repeat("AB", 32) }), "invalid sha256"},
		{"negative size", mutate(func(m map[string]any) { item(m)["stored_bytes"] = -1 }), "negative"},
		{"age prefix hash without length", mutate(func(m map[string]any) { item(m)["age_prefix_sha256"] = strings.Repeat("ab", 32) }), "invalid age prefix"},
		{"age prefix length without hash", mutate(func(m map[string]any) { item(m)["age_prefix_bytes"] = 10 }), "invalid age prefix"},
		{"age prefix longer than the object", mutate(func(m map[string]any) {
			item(m)["age_prefix_sha256"], item(m)["age_prefix_bytes"] = strings.Repeat("ab", 32), 1<<40
		}), "invalid age prefix"},
		{"bad age prefix hash", mutate(func(m map[string]any) {
			item(m)["age_prefix_sha256"], item(m)["age_prefix_bytes"] = "xyz", 10
		}), "invalid age prefix"},
		{"complete with failures", mutate(func(m map[string]any) {
			m["failures"] = []any{map[string]any{"exporter": "x", "kind": "path", "error": "e"}}
		}), "complete set with failures"},
		{"no items", mutate(func(m map[string]any) { m["items"] = []any{} }), "no items"},
		{"null items", mutate(func(m map[string]any) { m["items"] = nil }), "no items"},
		{"items left out", mutate(func(m map[string]any) { delete(m, "items") }), "no items"},
		{"too big", append(append([]byte{}, data[:len(data)-1]...), append([]byte(`,"discovery":{"x":"`+strings.Repeat("a", MaxManifestSize)), []byte(`"}}`)...)...), "larger"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m, err := ParseManifest(bytes.NewReader(c.data))
			if err == nil {
				t.Fatalf("accepted: %+v", m)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q does not say %q", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("multi-line error %q", err)
			}
		})
	}
	// A partial set with failures is fine.
	p := validManifest("fe01", id, "certs")
	p.Status, p.Failures = StatusPartial, []Failure{{Exporter: "sql", Kind: "sql", Error: "boom"}}
	if _, err := ParseManifest(bytes.NewReader(marshal(t, p))); err != nil {
		t.Fatalf("partial: %v", err)
	}
	// Marshal refuses what Parse would refuse.
	bad := validManifest("fe01", id, "certs")
	bad.Items[0].Key = "elsewhere"
	if _, err := bad.Marshal(); err == nil {
		t.Error("Marshal accepted a bad manifest")
	}
}

func newStore(t *testing.T) *local.Store {
	st, err := local.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func put(t *testing.T, st upload.Store, key, data string) {
	t.Helper()
	if _, err := st.Put(context.Background(), key, strings.NewReader(data), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestListAndResolve(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	cat := &Catalog{Store: st}
	ids := []string{"20260101T000000Z-000001", "20260102T000000Z-000002", "20260103T000000Z-000003", "20260104T000000Z-000004", "20260105T000000Z-000005"}
	// 1: complete, 2: partial, 3: complete, 4: damaged manifest, 5: incomplete (objects, no manifest)
	for i, id := range ids[:4] {
		put(t, st, ItemKey("fe01", id, "certs"), "obj")
		m := validManifest("fe01", id, "certs")
		if i == 1 {
			m.Status, m.Failures = StatusPartial, []Failure{{Exporter: "sql", Kind: "sql", Error: "x"}}
		}
		if i == 3 {
			put(t, st, ManifestKey("fe01", id), `{"format": 1, "host": "fe01"`)
			continue
		}
		if err := cat.Commit(ctx, m, upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(t, st, ItemKey("fe01", ids[4], "certs"), "half")
	// Another host, and clutter that is not a set.
	other := validManifest("fe02", ids[0], "certs")
	put(t, st, other.Items[0].Key, "obj")
	if err := cat.Commit(ctx, other, upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	put(t, st, "README.txt", "x")
	put(t, st, "fe01/not-a-set/x", "x")
	// A manifest copied into the wrong set folder is damaged, not trusted.
	swapped := validManifest("fe01", ids[0], "certs")
	data, _ := swapped.Marshal()
	put(t, st, ManifestKey("fe03", ids[1]), string(data))

	sets, err := cat.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, s := range sets {
		got = append(got, s.Host+"/"+s.ID[len(s.ID)-1:]+":"+s.Status())
	}
	want := "fe01/1:complete fe01/2:partial fe01/3:complete fe01/4:damaged fe01/5:incomplete fe02/1:complete fe03/2:damaged"
	if strings.Join(got, " ") != want {
		t.Fatalf("List:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if sets[0].Size() != 3+int64(len(mustManifest(t, cat, "fe01", ids[0]))) || sets[4].Complete() || sets[3].Complete() {
		t.Errorf("size/complete: %d %v %v", sets[0].Size(), sets[4].Complete(), sets[3].Complete())
	}
	if !strings.Contains(sets[6].ManifestErr.Error(), "swapped") {
		t.Errorf("swapped manifest: %v", sets[6].ManifestErr)
	}
	if h := Hosts(sets); strings.Join(h, ",") != "fe01,fe02,fe03" {
		t.Errorf("Hosts = %v", h)
	}

	resolve := []struct{ host, spec, wantID, wantErr string }{
		{"fe01", "latest", ids[2], ""}, // skips incomplete 5 and damaged 4
		{"fe01", "", ids[2], ""},
		{"fe01", ids[1], ids[1], ""}, // partial sets are committed and restorable
		{"fe01", "20260101", ids[0], ""},
		{"fe01", "2026010", "", "ambiguous"},
		{"fe01", ids[4], "", "incomplete"},
		{"fe01", ids[3], "", "manifest"},
		{"fe01", "1999", "", `no set "1999" for host fe01`},
		{"fe02", "latest", ids[0], ""},
		// A host with no set at all (a typo): the hosts that have sets are named.
		{"fe09", "latest", "", "host fe09 has no complete backup set (the destination holds no set of fe09; its sets are of fe01, fe02, fe03)"},
		// A host name is one name without case: FE01 is fe01, the only such spelling.
		{"FE01", "latest", ids[2], ""},
		{"Fe01", ids[1], ids[1], ""},
		{"FE09", "2026", "", `no set "2026" for host FE09 (the destination holds no set of FE09; its sets are of fe01, fe02, fe03)`},
		{"", "latest", "", "several hosts"},
	}
	for _, r := range resolve {
		s, err := Resolve(sets, r.host, r.spec)
		if r.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), r.wantErr) {
				t.Errorf("Resolve(%q, %q) = %s, %v; want error %q", r.host, r.spec, s.ID, err, r.wantErr)
			}
			continue
		}
		if err != nil || s.ID != r.wantID || s.Manifest == nil {
			t.Errorf("Resolve(%q, %q) = %s, %v; want %s", r.host, r.spec, s.ID, err, r.wantID)
		}
	}
	// A host that has sets gets no list of the others.
	if _, err := Resolve(sets, "fe01", "1999"); err == nil || err.Error() != `no set "1999" for host fe01` {
		t.Errorf("Resolve(fe01, 1999): %v", err)
	}
	// latest passes over the newer damaged and incomplete sets and names them.
	if s, sk, err := ResolveSkipping(sets, "fe01", "latest"); err != nil || s.ID != ids[2] || len(sk) != 2 ||
		sk[0].SetID != ids[4] || sk[0].Status != "incomplete" || sk[1].SetID != ids[3] || sk[1].Status != "damaged" ||
		!strings.Contains(sk[1].Reason, "damaged manifest") {
		t.Errorf("ResolveSkipping(latest) = %s, %+v, %v", s.ID, sk, err)
	}
	// A partial set is never "latest": the older complete one is, and the
	// partial one is named with its first failure.
	p := sets[:2]
	if s, sk, err := ResolveSkipping(p, "fe01", "latest"); err != nil || s.ID != ids[0] || len(sk) != 1 ||
		sk[0].SetID != ids[1] || sk[0].Status != "partial" || !strings.Contains(sk[0].Reason, "1 exporter(s) failed, first: x") {
		t.Errorf("ResolveSkipping(latest) over a partial set = %s, %+v, %v", s.ID, sk, err)
	}
	if _, sk, err := ResolveSkipping(sets[1:2], "fe01", "latest"); err == nil || !strings.Contains(err.Error(), "no complete backup set (newest: "+ids[1]+", partial") || len(sk) != 1 {
		t.Errorf("only a partial set: %+v, %v", sk, err)
	} else if !strings.HasSuffix(err.Error(), "; name it by id to use it anyway)") {
		t.Errorf("only a partial set: %v; want the advice to name it by id", err)
	}
	// A damaged or incomplete set fails by its id too: no advice to name
	// one (it was given, and naming the damaged set failed "manifest is
	// not valid JSON"); an older partial set is the one to name.
	if _, _, err := ResolveSkipping(sets[3:5], "fe01", "latest"); err == nil || strings.Contains(err.Error(), "by id") || strings.Contains(err.Error(), "its id") {
		t.Errorf("only damaged and incomplete sets: %v; want no advice to name one", err)
	}
	if _, _, err := ResolveSkipping([]Set{sets[1], sets[3], sets[4]}, "fe01", "latest"); err == nil ||
		!strings.Contains(err.Error(), "(newest: "+ids[4]+", incomplete") || !strings.HasSuffix(err.Error(), "; the partial set "+ids[1]+" can be used by naming its id)") {
		t.Errorf("a partial set under damaged and incomplete ones: %v; want it named", err)
	}
	// Only one host: the host may be left out.
	only := sets[:5]
	if s, err := Resolve(only, "", "latest"); err != nil || s.ID != ids[2] {
		t.Errorf("single host: %s %v", s.ID, err)
	}
	if _, err := Resolve(nil, "", "latest"); err == nil || !strings.Contains(err.Error(), "no backup sets") {
		t.Errorf("empty store: %v", err)
	}
}

func mustManifest(t *testing.T, cat *Catalog, host, id string) []byte {
	rc, err := cat.Store.Get(context.Background(), ManifestKey(host, id), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	var b bytes.Buffer
	b.ReadFrom(rc)
	return b.Bytes()
}

// TestSameSecondSetsByStart: two sets of one host whose ids have the same
// second are ordered by their manifests' start times, so latest is the one
// started last whatever the ids' random suffixes say.
func TestSameSecondSetsByStart(t *testing.T) {
	st := newStore(t)
	cat := &Catalog{Store: st}
	first, second := "20260101T000000Z-ffffff", "20260101T000000Z-000000"
	for i, id := range []string{first, second} {
		m := validManifest("fe01", id, "csconfig")
		m.Start = m.Start.Add(time.Duration(100+i*500) * time.Millisecond)
		put(t, st, ManifestKey("fe01", id), string(marshal(t, m)))
		put(t, st, ItemKey("fe01", id, "csconfig"), "12345678901234567890")
	}
	sets, err := cat.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(sets) != 2 || sets[0].ID != first || sets[1].ID != second {
		t.Fatalf("order %v", sets)
	}
	latest, _, err := ResolveSkipping(sets, "fe01", "latest")
	if err != nil || latest.ID != second {
		t.Fatalf("latest = %s, %v; want %s (started last)", latest.ID, err, second)
	}
}

// A set without a manifest (incomplete) between two committed sets of the
// same second does not reverse them: "latest" is still the one started
// last. The old comparison called any pair with a missing manifest equal,
// which is no order, and the stable sort left [A, X, C] with C started
// first. The set without a manifest counts as the last of its second.
func TestSameSecondWithIncompleteBetween(t *testing.T) {
	st := newStore(t)
	cat := &Catalog{Store: st}
	a, x, c := "20260101T000000Z-000001", "20260101T000000Z-000002", "20260101T000000Z-000003"
	for id, ms := range map[string]int{a: 900, c: 100} {
		m := validManifest("fe01", id, "csconfig")
		m.Start = m.Start.Add(time.Duration(ms) * time.Millisecond)
		put(t, st, ManifestKey("fe01", id), string(marshal(t, m)))
		put(t, st, ItemKey("fe01", id, "csconfig"), "12345678901234567890")
	}
	put(t, st, ItemKey("fe01", x, "csconfig"), "half")
	sets, err := cat.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if latest, _, err := ResolveSkipping(sets, "fe01", "latest"); err != nil || latest.ID != a {
		t.Errorf("latest = %s, %v; want %s (started last, at .900)", latest.ID, err, a)
	}
	var order []string
	for _, s := range sets {
		order = append(order, s.ID[len(s.ID)-1:])
	}
	if got := strings.Join(order, ""); got != "312" {
		t.Errorf("order %s, want 312 (c at .100, a at .900, x without a manifest at the end of its second)", got)
	}
}

func TestLoadManifestMissing(t *testing.T) {
	cat := &Catalog{Store: newStore(t)}
	_, err := cat.LoadManifest(context.Background(), "fe01", "20260101T000000Z-000001")
	if !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("got %v", err)
	}
}

func TestListCancelled(t *testing.T) {
	st := newStore(t)
	put(t, st, ItemKey("fe01", "20260101T000000Z-000001", "a"), "x")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := (&Catalog{Store: st}).List(ctx); err == nil {
		t.Fatal("cancelled List succeeded")
	}
}

// FuzzParseManifest: never a panic; what it accepts is valid and re-marshals
// to a manifest that parses to the same thing.
func FuzzParseManifest(f *testing.F) {
	good, _ := validManifest("fe01", "20261125T151203Z-a1b2c3", "certs", "sql").Marshal()
	f.Add(good)
	f.Add([]byte(`{"format": 2}`))
	f.Add([]byte(`{"format": 1, "host": "h", "set_id": "20261125T151203Z-a1b2c3", "status": "complete", "items": [{"name": "a", "key": "h/20261125T151203Z-a1b2c3/a.tar.zst.age", "sha256": "` + strings.Repeat("0", 64) + `"}]}`))
	f.Add([]byte(`{"format": 1e400}`))
	f.Add([]byte(`{"format": 1, "host": "h", "set_id": "20261125T151203Z-a1b2c3", "status": "complete", "items": null}`))
	if b, err := chunkedManifest().Marshal(); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`{"format": 1, "discovery": {"a": [1, {"b": null}]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := ParseManifest(bytes.NewReader(data))
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("multi-line error %q", err)
			}
			return
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted an invalid manifest: %v", err)
		}
		if len(m.Items) == 0 {
			t.Fatal("accepted a manifest with no items")
		}
		for _, it := range m.Items {
			if !strings.HasPrefix(it.Key, SetPrefix(m.Host, m.SetID)) || strings.Contains(it.Key, "..") {
				t.Fatalf("key %q escapes its set", it.Key)
			}
		}
		again, err := m.Marshal()
		if err != nil {
			t.Fatalf("re-marshal: %v", err)
		}
		if _, err := ParseManifest(bytes.NewReader(again)); err != nil {
			t.Fatalf("re-parse: %v", err)
		}
	})
}

func TestCompleteByHost(t *testing.T) {
	sets := []Set{
		{Host: "a", Manifest: &Manifest{Status: StatusComplete}},
		{Host: "a", Manifest: &Manifest{Status: StatusComplete}},
		{Host: "a", Manifest: &Manifest{Status: "partial"}},
		{Host: "b"}, // incomplete
		{Host: "b", ManifestErr: errors.New("damaged")},
		{Host: "c", Manifest: &Manifest{Status: StatusComplete}},
	}
	got := CompleteByHost(sets)
	if len(got) != 2 || got["a"] != 2 || got["c"] != 1 {
		t.Errorf("%v, want a:2 c:1", got)
	}
}

// archivedStore answers a read of the manifests in cold as a store with
// an archive tier does (Azure's words here; S3's are alike).
type archivedStore struct {
	upload.Store
	cold map[string]bool
}

func (s archivedStore) Get(ctx context.Context, key string, off, n int64) (io.ReadCloser, error) {
	if s.cold[key] {
		return nil, fmt.Errorf("azure get %s: BlobArchived: This operation is not permitted on an archived blob (it is in the Archive tier: rehydrate it first): %w", key, upload.ErrArchived)
	}
	return s.Store.Get(ctx, key, off, n)
}

// A set whose manifest is in an archive tier is archived, not damaged:
// its own status, the command that brings it back, and latest passes over
// it saying so. Another unreadable manifest is still damaged.
func TestArchivedManifestStatus(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	cat := &Catalog{Store: st}
	ids := []string{"20260101T000000Z-000001", "20260102T000000Z-000002", "20260103T000000Z-000003"}
	for _, id := range ids[:2] {
		m := validManifest("fe01", id, "certs")
		put(t, st, m.Items[0].Key, "obj")
		if err := cat.Commit(ctx, m, upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	put(t, st, ManifestKey("fe01", ids[2]), `{"format": 1`)
	cold := &Catalog{Store: archivedStore{Store: st, cold: map[string]bool{ManifestKey("fe01", ids[0]): true}}}
	sets, err := cold.List(ctx)
	if err != nil || len(sets) != 3 {
		t.Fatalf("list: %d sets, %v", len(sets), err)
	}
	for i, want := range []string{StatusArchived, StatusComplete, "damaged"} {
		if got := sets[i].Status(); got != want {
			t.Errorf("set %s: %s, want %s", sets[i].ID, got, want)
		}
		if hint := sets[i].ThawHint(); (want == StatusArchived) != strings.Contains(hint, "restore "+ids[i]+" --thaw") {
			t.Errorf("set %s (%s): hint %q", sets[i].ID, want, hint)
		}
	}
	// Only the archived set, older than the complete one, is not skipped;
	// latest over the first alone names it archived.
	_, skipped, err := ResolveSkipping(sets[:1], "fe01", "latest")
	if err == nil || len(skipped) != 1 || skipped[0].Status != StatusArchived || !strings.Contains(skipped[0].Reason, "--thaw") {
		t.Errorf("latest over an archived set: %v, %+v", err, skipped)
	}
}
