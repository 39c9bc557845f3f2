package exporters

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
)

// TestPlanFromManifest: the plan of a set is BuildPlan over its
// manifest's host, id, discovery record and items (name, kind and meta
// only); a plan that cannot be made as asked stays a *PlanError.
func TestPlanFromManifest(t *testing.T) {
	_, items, disc := backupFor(t, "onepool.json", "2015")
	m := catalog.Manifest{Host: "fe01", SetID: "20261201T000000Z-abcd", Discovery: disc}
	for _, it := range items {
		m.Items = append(m.Items, catalog.Item{Name: it.Name, Kind: it.Kind, Meta: it.Meta, Key: "ignored/" + it.Name, Files: 3})
	}
	opt := PlanOptions{Scenario: "cms", Databases: []string{"all"}}
	got, err := PlanFromManifest(&m, "/restore", opt)
	if err != nil {
		t.Fatal(err)
	}
	want, err := BuildPlan("fe01", "20261201T000000Z-abcd", disc, items, "/restore", opt)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("plan from the manifest:\n%+v\nwant:\n%+v", got, want)
	}
	var gw, ww strings.Builder
	got.Write(&gw)
	want.Write(&ww)
	if gw.String() != ww.String() || !strings.Contains(gw.String(), "Restore plan for fe01/20261201T000000Z-abcd") {
		t.Errorf("written:\n%s\nwant:\n%s", gw.String(), ww.String())
	}
	var pe *PlanError
	if _, err := PlanFromManifest(&m, "/restore", PlanOptions{Scenario: "everything"}); !errors.As(err, &pe) {
		t.Errorf("unknown scenario: %v, want a *PlanError", err)
	}
}
