package upload

import (
	"testing"
	"time"
)

// The slack of a lock extension is a tenth of the configured lock, at
// least a day and at most a week (no configured lock: a day), plus an hour
// for the start times of the nights to wander in.
func TestExtendSlack(t *testing.T) {
	const day = 24 * time.Hour
	for days, want := range map[int]time.Duration{0: day, 1: day, 10: day, 15: 36 * time.Hour, 30: 3 * day, 70: 7 * day, 365: 7 * day, 36500: 7 * day} {
		if got := ExtendSlack(days); got != want+time.Hour {
			t.Errorf("ExtendSlack(%d) = %v, want %v", days, got, want)
		}
	}
}

// A lock date is rounded up to the whole second (stores keep no less), so
// a lock counted from a time with nanoseconds never ends before it + days.
func TestLockUntilWholeSecond(t *testing.T) {
	from := time.Date(2026, 12, 1, 1, 0, 3, 700_000_000, time.UTC)
	want := time.Date(2026, 12, 31, 1, 0, 4, 0, time.UTC)
	if got := LockUntil(from, 30, nil); !got.Equal(want) {
		t.Errorf("LockUntil(%v, 30) = %v, want %v", from, got, want)
	}
	if got, exact := LockUntil(from.Truncate(time.Second), 30, nil), want.Add(-time.Second); !got.Equal(exact) {
		t.Errorf("a whole second moved: %v, want %v", got, exact)
	}
}
