package upload

import (
	"context"
	"io"

	"golang.org/x/time/rate"
)

// Limit returns a Store whose Put reads its data no faster than bytesPerSec,
// counted across every concurrent Put of the returned store (one shared
// token bucket, as an offsite link is one pipe). Get, List and the rest are
// not limited. bytesPerSec <= 0 returns s unchanged.
//
// The optional capabilities of s (Locker, Thawer, Janitor, Prober) stay
// reachable through the wrapper with As, which follows Unwrap.
func Limit(s Store, bytesPerSec int64) Store {
	if bytesPerSec <= 0 || s == nil {
		return s
	}
	l := &limited{Store: s, lim: rate.NewLimiter(rate.Limit(bytesPerSec), limitBurst(bytesPerSec))}
	return l
}

// limitBurst is the largest chunk one Read may take at once: an eighth of a
// second of budget (so the rate is smooth over the measured seconds), at
// least 1 byte and at most 1 MiB.
func limitBurst(bps int64) int {
	b := bps / 8
	if b < 1 {
		b = 1
	}
	if b > 1<<20 {
		b = 1 << 20
	}
	return int(b)
}

type limited struct {
	Store
	lim *rate.Limiter
}

// Unwrap returns the store being limited.
func (l *limited) Unwrap() Store { return l.Store }

// ReadWhole forwards to the store being limited (reads are not limited).
func (l *limited) ReadWhole(ctx context.Context, key string, buf []byte) (int64, error) {
	return ReadWhole(ctx, l.Store, key, buf)
}

func (l *limited) Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (ObjectInfo, error) {
	return l.Store.Put(ctx, key, &limitedReader{ctx: ctx, r: r, lim: l.lim}, opts)
}

type limitedReader struct {
	ctx context.Context
	r   io.Reader
	lim *rate.Limiter
}

func (lr *limitedReader) Read(p []byte) (int, error) {
	if b := lr.lim.Burst(); len(p) > b {
		p = p[:b]
	}
	n, err := lr.r.Read(p)
	if n > 0 {
		// Pay for what was read before handing it on: the consumer (the
		// backend's uploader) cannot send bytes it has not received yet.
		if werr := lr.lim.WaitN(lr.ctx, n); werr != nil {
			return 0, werr
		}
	}
	return n, err
}
