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
// visible through the wrapper, so type assertions on the result behave as
// they would on s.
func Limit(s Store, bytesPerSec int64) Store {
	if bytesPerSec <= 0 || s == nil {
		return s
	}
	l := &limited{Store: s, lim: rate.NewLimiter(rate.Limit(bytesPerSec), limitBurst(bytesPerSec))}
	return withCaps(l, s)
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

// withCaps returns l dressed with whichever optional interfaces inner has.
func withCaps(l *limited, inner Store) Store {
	lk, isL := inner.(Locker)
	th, isT := inner.(Thawer)
	ja, isJ := inner.(Janitor)
	pr, isP := inner.(Prober)
	switch {
	case isL && isT && isJ && isP:
		return struct {
			*limited
			Locker
			Thawer
			Janitor
			Prober
		}{l, lk, th, ja, pr}
	case isL && isT && isJ:
		return struct {
			*limited
			Locker
			Thawer
			Janitor
		}{l, lk, th, ja}
	case isL && isT && isP:
		return struct {
			*limited
			Locker
			Thawer
			Prober
		}{l, lk, th, pr}
	case isL && isJ && isP:
		return struct {
			*limited
			Locker
			Janitor
			Prober
		}{l, lk, ja, pr}
	case isT && isJ && isP:
		return struct {
			*limited
			Thawer
			Janitor
			Prober
		}{l, th, ja, pr}
	case isL && isT:
		return struct {
			*limited
			Locker
			Thawer
		}{l, lk, th}
	case isL && isJ:
		return struct {
			*limited
			Locker
			Janitor
		}{l, lk, ja}
	case isL && isP:
		return struct {
			*limited
			Locker
			Prober
		}{l, lk, pr}
	case isT && isJ:
		return struct {
			*limited
			Thawer
			Janitor
		}{l, th, ja}
	case isT && isP:
		return struct {
			*limited
			Thawer
			Prober
		}{l, th, pr}
	case isJ && isP:
		return struct {
			*limited
			Janitor
			Prober
		}{l, ja, pr}
	case isL:
		return struct {
			*limited
			Locker
		}{l, lk}
	case isT:
		return struct {
			*limited
			Thawer
		}{l, th}
	case isJ:
		return struct {
			*limited
			Janitor
		}{l, ja}
	case isP:
		return struct {
			*limited
			Prober
		}{l, pr}
	}
	return l
}
