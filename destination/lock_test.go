package destination

import (
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
)

// TestLockOf: S3 Object Lock keeps its mode; Azure immutability is
// "unlocked" unless locked; immutability wins when both are given; no
// key, no lock.
func TestLockOf(t *testing.T) {
	ol := &config.ObjectLock{Mode: "COMPLIANCE", Days: 30, LegalHold: true}
	for _, tc := range []struct {
		name string
		d    config.Destination
		want Lock
	}{
		{"none", config.Destination{URL: "s3://b/p"}, Lock{}},
		{"object lock", config.Destination{ObjectLock: ol}, Lock{"COMPLIANCE", 30, true}},
		{"immutability", config.Destination{Immutability: &config.Immutability{Days: 7}}, Lock{"unlocked", 7, false}},
		{"locked immutability", config.Destination{Immutability: &config.Immutability{Days: 14, Locked: true, LegalHold: true}}, Lock{"locked", 14, true}},
		{"both", config.Destination{ObjectLock: ol, Immutability: &config.Immutability{Days: 3}}, Lock{"unlocked", 3, false}},
	} {
		if got := LockOf(tc.d); got != tc.want {
			t.Errorf("%s: %+v, want %+v", tc.name, got, tc.want)
		}
	}
}
