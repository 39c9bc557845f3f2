// Package parallel runs one function over many things, a bounded few at a
// time: the store calls of a sweep, a prune or a lock extension.
package parallel

import (
	"context"

	"golang.org/x/sync/errgroup"
)

// DefaultLimit is the number of calls at once when the caller names none.
const DefaultLimit = 8

// Each calls fn(i) for every i from 0 to n-1, at most limit at once
// (limit <= 0: DefaultLimit), in order of i. Once ctx is done it queues no
// further call (one already waiting for a free slot still runs), waits for
// the calls it started, and returns the first error one of them returned,
// else ctx's error. A failed call does not stop the
// others: each caller records what every call did.
func Each(ctx context.Context, n, limit int, fn func(i int) error) error {
	if limit <= 0 {
		limit = DefaultLimit
	}
	var g errgroup.Group
	g.SetLimit(limit)
	for i := range n {
		if ctx.Err() != nil {
			break
		}
		g.Go(func() error { return fn(i) })
	}
	if err := g.Wait(); err != nil {
		return err
	}
	return ctx.Err()
}
