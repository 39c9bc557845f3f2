package destination

import "github.com/lyncbackup/lyncbackup/config"

// Lock is the lock a destination's config asks for on every object a
// backup writes (retained until the set's time + Days); the zero Lock is
// none. Mode is S3 Object Lock's (GOVERNANCE, COMPLIANCE) or, for Azure
// immutability, "unlocked" or "locked", as the manifest records it.
type Lock struct {
	Mode      string
	Days      int
	LegalHold bool
}

// LockOf is the lock d asks for: object_lock (S3) or immutability (Azure;
// it wins when both are given).
func LockOf(d config.Destination) Lock {
	var l Lock
	if ol := d.ObjectLock; ol != nil {
		l = Lock{Mode: ol.Mode, Days: ol.Days, LegalHold: ol.LegalHold}
	}
	if im := d.Immutability; im != nil {
		l = Lock{Mode: "unlocked", Days: im.Days, LegalHold: im.LegalHold}
		if im.Locked {
			l.Mode = "locked"
		}
	}
	return l
}
