package pipeline

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/exporters"
)

// planProgress records Plan and SetTotal besides the counters.
type planProgress struct {
	*progressLog
	mu         sync.Mutex
	planItems  int
	planBytes  int64
	sized      map[string]int64
	sizedCalls chan struct{}
	// gates, when set, holds each item's packing (its first Read) until
	// the item was sized: the walk runs beside the packing and is
	// cancelled when its item ends, so without the gate a packing that
	// wins the race (a loaded machine) leaves the item unsized.
	gates map[string]chan struct{}
}

func (p *planProgress) gate(name string) chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	g, ok := p.gates[name]
	if !ok {
		g = make(chan struct{})
		p.gates[name] = g
	}
	return g
}

func (p *planProgress) Read(name string, n int64) {
	if p.gates != nil {
		select {
		case <-p.gate(name):
		case <-time.After(time.Minute): // never sized: the test fails below
		}
	}
	p.progressLog.Read(name, n)
}

func (p *planProgress) Plan(items int, bytes int64) {
	p.mu.Lock()
	p.planItems, p.planBytes = items, bytes
	p.mu.Unlock()
}

func (p *planProgress) SetTotal(name string, total int64) {
	p.mu.Lock()
	p.sized[name] = total
	p.mu.Unlock()
	if p.gates != nil {
		close(p.gate(name))
	}
	p.sizedCalls <- struct{}{}
}

// TestProgressKnowsTheTotals: Read plans the whole run (items and bytes,
// in the measure it counts), and Backup sizes a tree while it packs it.
func TestProgressKnowsTheTotals(t *testing.T) {
	f := newFixture(t)
	a := f.tree(t, "a", map[string]string{"x.txt": strings.Repeat("x", 300000), "sub/y.txt": "why"})
	b := f.tree(t, "b", map[string]string{"z.txt": strings.Repeat("z", 1000)})
	p := &planProgress{progressLog: newProgressLog(), sized: map[string]int64{}, sizedCalls: make(chan struct{}, 4), gates: map[string]chan struct{}{}}
	job := f.job(exporters.NewPath("alpha", a), exporters.NewPath("bravo", b))
	job.Progress = p
	res, err := Backup(context.Background(), job)
	if err != nil {
		t.Fatal(err)
	}
	// The walk may end after its item: wait for both answers (not a sleep).
	for range 2 {
		select {
		case <-p.sizedCalls:
		case <-time.After(time.Minute):
			t.Fatalf("items not sized: %v", p.sized)
		}
	}
	if p.sized["alpha"] != 300003 || p.sized["bravo"] != 1000 {
		t.Errorf("sized %v, want alpha 300003 and bravo 1000", p.sized)
	}
	var plain, stored int64
	for _, it := range res.Manifest.Items {
		plain += it.PlainBytes
		stored += it.StoredBytes
	}
	for _, c := range []struct {
		name string
		job  ReadJob
		want int64
	}{
		{"verify", ReadJob{Store: f.store, Manifest: res.Manifest}, stored},
		{"verify with key", ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids}, plain},
		{"one item", ReadJob{Store: f.store, Manifest: res.Manifest, Identities: f.ids, Items: []string{"bravo"}}, 1000},
	} {
		rp := &planProgress{progressLog: newProgressLog(), sized: map[string]int64{}}
		c.job.Progress = rp
		if _, err := Read(context.Background(), c.job); err != nil {
			t.Fatal(err)
		}
		wantItems := len(res.Manifest.Items)
		if len(c.job.Items) > 0 {
			wantItems = len(c.job.Items)
		}
		if rp.planItems != wantItems || rp.planBytes != c.want {
			t.Errorf("%s: plan %d items %d bytes, want %d items %d bytes", c.name, rp.planItems, rp.planBytes, wantItems, c.want)
		}
	}
}
