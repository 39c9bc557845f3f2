package pipeline

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/upload"
)

type fakeThawer struct {
	mu    sync.Mutex
	asked map[string]int
	state map[string]upload.ThawState
	fail  string
}

func (f *fakeThawer) Thaw(_ context.Context, key string, days int) (upload.Thawing, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked[key]++
	if key == f.fail {
		return upload.Thawing{}, errors.New("boom")
	}
	st := f.state[key]
	return upload.Thawing{State: st, Message: key + " says " + map[upload.ThawState]string{upload.ThawOnline: "online", upload.ThawStarted: "started", upload.ThawRunning: "running"}[st]}, nil
}

func TestThawAsksEveryObjectOnce(t *testing.T) {
	ch := func(k string) catalog.Chunk { return catalog.Chunk{Key: "h/chunks/" + k} }
	m := &catalog.Manifest{Items: []catalog.Item{
		{Name: "one", Key: "h/s/one.chunks", Layout: catalog.LayoutChunked, Chunks: []catalog.Chunk{ch("a"), ch("b"), ch("a")}},
		{Name: "two", Key: "h/s/two.chunks", Layout: catalog.LayoutChunked, Chunks: []catalog.Chunk{ch("b"), ch("c")}},
		{Name: "old", Key: "h/s/old.tar.zst.age"},
	}}
	f := &fakeThawer{asked: map[string]int{}, state: map[string]upload.ThawState{
		"h/chunks/a": upload.ThawStarted, "h/chunks/b": upload.ThawRunning, "h/s/old.tar.zst.age": upload.ThawStarted,
	}}
	reps, err := Thaw(context.Background(), f, m, nil, 7)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"h/s/one.chunks", "h/s/two.chunks", "h/s/old.tar.zst.age", "h/chunks/a", "h/chunks/b", "h/chunks/c"} {
		if f.asked[k] != 1 {
			t.Errorf("%s asked %d times, want once", k, f.asked[k])
		}
	}
	if len(f.asked) != 6 || len(reps) != 3 {
		t.Fatalf("asked %v, reports %+v", f.asked, reps)
	}
	// one: its list (online), a (started), b (running); two: its list and c (online).
	if r := reps[0]; r.Objects != 3 || r.Started != 1 || r.Running != 1 || r.Online != 1 || r.Message != "h/chunks/a says started" {
		t.Errorf("one: %+v", r)
	}
	if r := reps[1]; r.Objects != 2 || r.Online != 2 || r.Started+r.Running != 0 {
		t.Errorf("two: %+v", r)
	}
	if s := reps[2].Summary(); s != "old: h/s/old.tar.zst.age says started" {
		t.Errorf("archive item: %q", s)
	}
	if s := reps[0].Summary(); !strings.Contains(s, "3 objects: 1 thaw started, 1 already being thawed, 1 online") {
		t.Errorf("chunked item: %q", s)
	}

	// --item limits the objects; an error names the item.
	f = &fakeThawer{asked: map[string]int{}, fail: "h/chunks/c"}
	reps, err = Thaw(context.Background(), f, m, []string{"two"}, 7)
	if err == nil || !strings.Contains(err.Error(), "thaw two") || len(reps) != 0 {
		t.Fatalf("failing thaw: %v %+v", err, reps)
	}
	if f.asked["h/s/one.chunks"] != 0 || f.asked["h/chunks/a"] != 0 {
		t.Errorf("asked about another item's objects: %v", f.asked)
	}

	// A mistyped --item is an error, not a thaw of nothing; another case
	// of a name is the item.
	f = &fakeThawer{asked: map[string]int{}}
	if _, err := Thaw(context.Background(), f, m, []string{"tow"}, 7); err == nil || !strings.Contains(err.Error(), `has no item "tow"`) || len(f.asked) != 0 {
		t.Errorf("--item tow: %v, asked %v; want the missing item named and nothing asked", err, f.asked)
	}
	if reps, err := Thaw(context.Background(), f, m, []string{"TWO"}, 7); err != nil || len(reps) != 1 || reps[0].Item != "two" {
		t.Errorf("--item TWO: %+v, %v; want item two", reps, err)
	}
}
