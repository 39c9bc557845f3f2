package catalog

import (
	"context"
	"time"

	"github.com/lyncbackup/lyncbackup/upload"
)

// FutureAllowance: a set dated more than this after the present was made
// while a clock was ahead (or this one is behind). Set ids carry the
// backing-up machine's time, and "latest" is the newest by that time, so
// such a set stays "latest" over every later backup until it is deleted.
const FutureAllowance = 5 * time.Minute

// DatedAfter returns the ids of host's set folders dated after t, oldest
// first (nil when the store cannot name folders or the listing fails:
// this is a warning's evidence, not a decision's).
func DatedAfter(ctx context.Context, st upload.Store, host string, t time.Time) []string {
	f, ok := upload.As[upload.Folderer](st)
	if !ok {
		return nil
	}
	ids, err := f.Folders(ctx, host+"/")
	if err != nil {
		return nil
	}
	var out []string
	for _, id := range ids {
		if ts, err := ParseSetID(id); err == nil && ts.After(t) {
			out = append(out, id)
		}
	}
	return out
}
