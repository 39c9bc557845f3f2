package pipeline

import (
	"context"
	"fmt"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/internal/parallel"
	"github.com/lyncbackup/lyncbackup/upload"
)

// thawParallel is how many objects Thaw asks about at once.
const thawParallel = 8

// ThawReport is what Thaw did for one item.
type ThawReport struct {
	Item string `json:"item"`
	// Objects the item needs that this run asked about: its object, or its
	// chunk list and every chunk no earlier item of the run needs too.
	Objects int `json:"objects"`
	// Started, Running and Online count those objects by where they stand.
	Started int `json:"started"`
	Running int `json:"running"`
	Online  int `json:"online"`
	// Message is the store's sentence for the item's object when it is
	// alone, else for one object that is not online yet (one started this
	// run, else one still being brought back).
	Message string `json:"message"`
}

// Thaw starts bringing every object a restore of the set's items needs
// back from an offline tier for days days: an archive item's object; a
// chunked item's chunk list and each of its chunks (a chunk several items
// share is asked about once). It stops at the first error.
func Thaw(ctx context.Context, th upload.Thawer, m *catalog.Manifest, items []string, days int) ([]ThawReport, error) {
	sel, err := selectItems(m, items)
	if err != nil {
		return nil, err // a mistyped --item thawed nothing, without a word
	}
	seen := map[string]bool{}
	var reps []ThawReport
	for _, it := range sel {
		keys := []string{it.Key}
		for _, c := range it.Chunks {
			if !seen[c.Key] {
				seen[c.Key] = true
				keys = append(keys, c.Key)
			}
		}
		res := make([]upload.Thawing, len(keys))
		err := parallel.Each(ctx, len(keys), thawParallel, func(i int) error {
			t, err := th.Thaw(ctx, keys[i], days)
			if err != nil {
				return fmt.Errorf("thaw %s: %w", it.Name, err)
			}
			res[i] = t
			return nil
		})
		if err != nil {
			return reps, err
		}
		rep := ThawReport{Item: it.Name, Objects: len(keys)}
		var started, running string
		for _, t := range res {
			switch t.State {
			case upload.ThawStarted:
				rep.Started++
				started = t.Message
			case upload.ThawRunning:
				rep.Running++
				running = t.Message
			default:
				rep.Online++
			}
		}
		switch {
		case len(res) == 1:
			rep.Message = res[0].Message
		case started != "":
			rep.Message = started
		default:
			rep.Message = running
		}
		reps = append(reps, rep)
	}
	return reps, nil
}

// Summary is one line on the item for the operator.
func (r ThawReport) Summary() string {
	if r.Objects == 1 {
		return r.Item + ": " + r.Message
	}
	s := fmt.Sprintf("%s: %d objects: %d thaw started, %d already being thawed, %d online", r.Item, r.Objects, r.Started, r.Running, r.Online)
	if r.Message != "" {
		s += " (for example " + r.Message + ")"
	}
	return s
}
