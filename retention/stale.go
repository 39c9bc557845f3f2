package retention

import (
	"context"
	"log/slog"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/upload"
)

// SweepStale aborts host's unfinished uploads older than the grace period
// r gives (retention.grace, default 24h): S3 multipart uploads, uncommitted
// Azure blocks and local temporary files that a killed or failed run left
// behind, so the next good backup cleans up after a bad one even where
// prune is never run. A backup calls it once its set is committed: a
// failure here is logged as a warning, not returned. It returns how many
// uploads were aborted.
func SweepStale(ctx context.Context, r config.Retention, store upload.Store, host string, lg *slog.Logger) int {
	grace := GraceOf(r)
	n, err := AbortStale(ctx, store, host+"/", grace)
	if err != nil {
		lg.Warn("could not abort unfinished uploads left by earlier runs", "err", err)
	} else if n > 0 {
		lg.Info("aborted unfinished uploads left by earlier runs", "count", n, "older_than", grace.String())
	}
	return n
}
