package upload

import (
	"testing"
	"time"
)

// The slack of a lock extension is a tenth of the configured lock, at
// least a day and at most a week; no configured lock: a day.
func TestExtendSlack(t *testing.T) {
	const day = 24 * time.Hour
	for days, want := range map[int]time.Duration{0: day, 1: day, 10: day, 15: 36 * time.Hour, 30: 3 * day, 70: 7 * day, 365: 7 * day, 36500: 7 * day} {
		if got := ExtendSlack(days); got != want {
			t.Errorf("ExtendSlack(%d) = %v, want %v", days, got, want)
		}
	}
}
