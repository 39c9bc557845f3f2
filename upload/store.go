// Package upload defines the storage interface every destination implements
// (local folder, S3, Azure Blob) and the decorators that wrap any of them
// (bandwidth limit, accounting). Backends implement the bare Store once;
// optional capabilities are separate small interfaces checked with a type
// assertion, as rclone does.
package upload

import (
	"context"
	"errors"
	"io"
	"time"
)

// ErrNotFound is returned (wrapped) when an object or container does not exist.
var ErrNotFound = errors.New("not found")

// ErrLocked is returned (wrapped) when a delete is refused because the object
// is under object lock, immutability or legal hold.
var ErrLocked = errors.New("object is locked")

// LockedError is a delete refused for a lock, with what the store told of
// that lock: prune says until when the objects it could not delete stay.
// It is ErrLocked (errors.Is) and unwraps to the store's own error too.
type LockedError struct {
	// RetainUntil is when the retention / immutability ends, in the
	// store's clock (zero: not told, or none: a legal hold alone).
	RetainUntil time.Time
	// LegalHold: the object is under legal hold (it goes only once the
	// hold is lifted, whatever RetainUntil says).
	LegalHold bool
	Err       error
}

func (e *LockedError) Error() string   { return e.Err.Error() }
func (e *LockedError) Unwrap() []error { return []error{ErrLocked, e.Err} }

// ErrArchived is returned (wrapped) by Get when the object sits in an offline
// tier (S3 GLACIER / DEEP_ARCHIVE, Azure Archive) and must be thawed first.
var ErrArchived = errors.New("object is in an archive tier")

// ErrDenied is returned (wrapped) when the service refused a request for
// want of rights or credentials (HTTP 401 or 403: the key, SAS or role
// does not allow it, a signature that does not match), or when no usable
// credentials were found: the fix is the credentials or their rights.
var ErrDenied = errors.New("access denied")

// ErrNotWritable is wrapped, with the cause, by a Probe that could not
// write its test object (the store's own words say so: "… is not
// writable: …"); the cause tells why (ErrDenied, a full disk, the network).
var ErrNotWritable = errors.New("not writable")

// NamesThaw reports whether err, an ErrArchived, tells the way back in
// its own words (S3's: "run restore with --thaw …"), so that a caller does
// not add it again: an error in its chain has a NamesThaw method that says
// so.
func NamesThaw(err error) bool {
	var t interface{ NamesThaw() bool }
	return errors.As(err, &t) && t.NamesThaw()
}

// ErrReadOnly is wrapped by a store that takes no new object for this
// account (a folder mounted read-only, or one this account may only
// read): it can neither tell its time (Clock, for a folder) nor delete.
var ErrReadOnly = errors.New("the destination is read-only here")

// Store is the one small interface every backend implements.
// Keys are slash-separated and relative to the store's root (the URL prefix).
type Store interface {
	// Put streams r to key. The length is unknown in advance. The object
	// must only become visible under key once it is complete: a failed or
	// cancelled Put leaves nothing under key (and no pending upload).
	Put(ctx context.Context, key string, r io.Reader, opts PutOptions) (ObjectInfo, error)
	// Get returns a stream of the object from offset; length < 0 reads to the end.
	Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error)
	// Stat returns the object's metadata, or an error wrapping ErrNotFound.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// List calls fn for every object whose key starts with prefix, in
	// lexical key order where the backend provides it.
	List(ctx context.Context, prefix string, fn func(ObjectInfo) error) error
	// Delete removes the object (for versioned stores: every version of it).
	// Deleting a missing object is not an error. A locked object yields
	// ErrLocked; so does one of whose versions one is locked, and its
	// current version then stays (it stays listed, and reads as before):
	// a later Delete, once no version is locked, removes it.
	Delete(ctx context.Context, key string) error
	// String names the location for messages; it never contains secrets.
	String() string
}

// PutOptions carry the per-object policy the caller wants applied.
type PutOptions struct {
	// RetainUntil, when non-zero, asks for object lock / immutability until then.
	RetainUntil time.Time
	// LegalHold asks for a legal hold on the object (if the backend supports it).
	LegalHold bool
	// ContentType is informative only.
	ContentType string
	// Online stores the object in a tier it can be read from at once,
	// whatever archive tier the destination writes to (S3 GLACIER or
	// DEEP_ARCHIVE, Azure Archive): a set's manifest, its lease and the
	// chunk markers, which every listing, restore and thaw reads first.
	// In the archive tier, every set listed as damaged and nothing, not
	// even restore --thaw, could bring one back.
	Online bool
	// SHA256 is the SHA-256 (64 lowercase hex digits) of the object's
	// bytes, which a store that keeps object metadata (S3, Azure) stores
	// beside the object and Stat reports (ObjectInfo.SHA256). The store
	// does not check it; a chunk writer compares it with the bytes before
	// it adopts an orphan chunk (docs/FORMAT.md, "Known chunks").
	SHA256 string
}

// MetaSHA256 is the name of the object metadata holding PutOptions.SHA256
// (S3 x-amz-meta-lyncbackupsha256, Azure x-ms-meta-lyncbackupsha256): an
// Azure metadata name must be a C# identifier, and some proxies drop
// headers with an underscore.
const MetaSHA256 = "lyncbackupsha256"

// ObjectInfo describes one stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
	// RetainUntil is the lock / immutability expiry the backend reports (zero: none known).
	RetainUntil time.Time
	LegalHold   bool
	// Tier is the storage class / access tier, when the backend reports one.
	Tier string
	// Archived is true when the object must be thawed before it can be read.
	Archived bool
	// SHA256 is the SHA-256 recorded at upload (PutOptions.SHA256), as Stat
	// reports it ("" where the store keeps no metadata, or none was given;
	// listings do not fill it).
	SHA256 string
}

// Locked reports whether the object may not be deleted at time now.
func (o ObjectInfo) Locked(now time.Time) bool {
	return o.LegalHold || (!o.RetainUntil.IsZero() && o.RetainUntil.After(now))
}

// Locker is implemented by stores that support object lock / immutability.
type Locker interface {
	// LockInfo returns the current retention of key (zero time: none).
	LockInfo(ctx context.Context, key string) (retainUntil time.Time, legalHold bool, err error)
	// ExtendLock makes the retention of key last at least until need:
	// when it ends before need (or key has none), it is set to until (at
	// least need: need plus ExtendSlack); a lock ending at or after need
	// is left as it is. It never shortens a lock.
	ExtendLock(ctx context.Context, key string, need, until time.Time) error
	// SetLegalHold places a legal hold on key (S3 Object Lock's legal
	// hold, Azure's legal hold on the blob's current version); an object
	// held already is left as it is. Nothing in lyncbackup lifts a hold.
	SetLegalHold(ctx context.Context, key string) error
}

// ExtendSlack is how much longer than needed a lock is made when it has to
// be extended (a chunk a new set reuses, a set or chunk prune keeps):
// lockDays/10, within [1 day, 7 days], lockDays being the configured lock
// (object_lock.days, immutability.days; 0: unknown, 1 day), plus one hour
// (SlackMargin). Each night's set needs its chunks locked a day longer
// than the last night's did: extended to exactly that, every reused chunk
// cost a retention write (S3 PutObjectRetention, Azure Set Immutability
// Policy) every night; with the slack, once every slack+1 nights. The
// hour keeps that so when the nights' start times wander: with whole days
// alone, a night starting a few seconds later than the one that last
// extended found the lock a few seconds short one night early. The price:
// a chunk may stay locked up to the slack longer than the last set using
// it needs. Objects newly written are locked for exactly their set's days.
func ExtendSlack(lockDays int) time.Duration {
	const day = 24 * time.Hour
	return min(max(time.Duration(lockDays)*day/10, day), 7*day) + SlackMargin
}

// SlackMargin is the part of ExtendSlack beyond whole days: a night's
// backup or prune may start up to this much later than the one that last
// extended a lock and still find it long enough on the night the slack
// counts to.
const SlackMargin = time.Hour

// LockUntil is the date a lock of days days counted from from ends: days
// calendar days in loc (nil: UTC), the retention policy's time zone, as
// min_age counts its days, so that a lock of N days lasts as long as a
// min_age of N days also across a change of summer time (30 days across
// the end of summer time in Europe/Berlin are 30 days and an hour of UTC).
// The date is rounded up to the whole second: stores keep lock dates in
// whole seconds (Azure's x-ms-immutability-policy-until-date is RFC 1123;
// S3 keeps at most milliseconds), and a date cut down there ended up to a
// second before the keep date it was meant to reach (a set's start +
// min_age), so the first prune extended every object of every new set.
func LockUntil(from time.Time, days int, loc *time.Location) time.Time {
	if loc == nil {
		loc = time.UTC
	}
	return WholeSecond(from.In(loc).AddDate(0, 0, days))
}

// WholeSecond is t rounded up to the whole second, in UTC: a lock date as
// a store keeps it, never earlier than t.
func WholeSecond(t time.Time) time.Time {
	if r := t.Truncate(time.Second); r.Before(t) {
		return r.Add(time.Second).UTC()
	}
	return t.UTC()
}

// DeleteLocker is implemented by stores whose listing does not tell the
// lock that makes Delete refuse, or not all of it (S3: a listing carries
// no lock, and Delete removes every version of a key, each with its own
// retention). A dry run of prune asks it for each chunk it would delete,
// so that it counts as locked what the real run would be refused.
type DeleteLocker interface {
	// DeleteLock reads, without deleting, what would keep Delete(key)
	// from removing key now: nil when nothing would (no lock, or every
	// lock ended in the store's clock), else a LockedError as Delete
	// would return it: the latest retention still in force among the
	// versions Delete removes (zero: a legal hold alone), and whether
	// any of them is under legal hold. A missing key is nil, no error.
	// ErrLockListed: the listing tells what Delete would meet (nothing
	// was asked): judge the listed lock in the store's clock.
	DeleteLock(ctx context.Context, key string) (*LockedError, error)
}

// ErrLockListed is DeleteLock's answer where the listing's lock (ObjectInfo
// RetainUntil, LegalHold) is to be judged instead: all a Delete would meet
// (Azure without versioning: nothing asked), or all that can be known (S3
// credentials that may not read the lock of a bucket not known to lock).
var ErrLockListed = errors.New("the listing tells the lock")

// Thawer is implemented by stores with offline tiers.
type Thawer interface {
	// Thaw starts bringing key back online for days days. It says where
	// the object stands and, in a human sentence, what happens next (e.g.
	// when to come back).
	Thaw(ctx context.Context, key string, days int) (Thawing, error)
}

// ThawState is where an object stands after a Thaw.
type ThawState int

const (
	// ThawOnline: the object is readable now (never archived, or thawed).
	ThawOnline ThawState = iota
	// ThawStarted: this call started bringing it back.
	ThawStarted
	// ThawRunning: an earlier request is still bringing it back.
	ThawRunning
)

// Thawing is the answer of a Thaw.
type Thawing struct {
	State   ThawState
	Message string
}

// Folderer is implemented by stores that can name the folders directly
// under a prefix without listing every object below them (S3 and Azure
// list with a "/" delimiter, a local folder reads one directory). The
// catalog uses it to find sets without paging through a host's chunks.
type Folderer interface {
	// Folders returns the names of the folders directly under prefix
	// ("" or ending in "/"), without prefix or trailing slash, sorted.
	Folders(ctx context.Context, prefix string) ([]string, error)
}

// Janitor is implemented by stores that can have unfinished uploads
// (S3 multipart uploads, uncommitted Azure blocks).
type Janitor interface {
	// AbortStale aborts unfinished uploads under prefix started before olderThan.
	AbortStale(ctx context.Context, prefix string, olderThan time.Time) (int, error)
}

// WholeReader is implemented by stores that read a whole object of a size
// the caller knows (a chunk: its size is in the manifest) with one request:
// no metadata request first and no ranges, the bytes read straight into the
// caller's buffer. Call it through ReadWhole, which falls back to Get.
type WholeReader interface {
	// ReadWhole reads object key, expected to be len(buf) bytes, into buf.
	// It returns the object's size: when that is not len(buf), buf holds
	// nothing useful (a store that reports the size up front reads no
	// byte), and -1 means longer than buf, size unknown. Errors are Get's
	// (ErrNotFound, ErrArchived, the request's own).
	ReadWhole(ctx context.Context, key string, buf []byte) (size int64, err error)
}

// ReadWhole reads object key, expected to be len(buf) bytes, into buf with
// s's WholeReader, or else with Get (then one byte past buf is read to tell
// a longer object). It asks s itself, not the stores s wraps: a decorator
// that changes reads must not be bypassed, so a decorator whose reads are
// its inner store's forwards ReadWhole explicitly (as Limit does).
func ReadWhole(ctx context.Context, s Store, key string, buf []byte) (int64, error) {
	if wr, ok := s.(WholeReader); ok {
		return wr.ReadWhole(ctx, key, buf)
	}
	rc, err := s.Get(ctx, key, 0, -1)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	n, err := io.ReadFull(rc, buf)
	if err == nil {
		var one [1]byte
		m, err := rc.Read(one[:])
		for m == 0 && err == nil {
			m, err = rc.Read(one[:])
		}
		switch {
		case m > 0:
			return -1, nil
		case err != io.EOF:
			return 0, err
		}
		return int64(n), nil
	}
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return int64(n), nil
	}
	return 0, err
}

// ProbeReport is what Prober finds out about a destination.
type ProbeReport struct {
	Exists, Writable, Readable, Deletable bool
	Versioning, ObjectLock                string // "enabled", "disabled", "unknown", "n/a"
	// Missing says that the bucket or container is not there, in the
	// store's words and how to create it ("" when it is, or unknown).
	Missing string
	// Failures say why the test object's write, read or delete failed
	// (or what it read back), one line each in the store's words.
	Failures []string
	// Notes are everything else worth a line (warnings).
	Notes []string
}

// Prober is implemented by stores that can check themselves (lyncbackup check).
type Prober interface {
	Probe(ctx context.Context) (ProbeReport, error)
}

// Clock is implemented by stores that can tell their present time in the
// clock that stamps their objects' ModTime: an object store's Date header
// (its own clock, which sets Last-Modified), a folder's modification time
// of a file just written (a file server's clock on a share). Whatever
// judges an object's age (a lease, a marker) compares its ModTime with
// this, never with the machine's clock: two machines' clocks need not
// agree. A decorator that changes ModTime must implement it too.
type Clock interface {
	// Now is the store's present time, at most the time the store will
	// stamp on an object written after Now returns.
	Now(ctx context.Context) (time.Time, error)
}

// Unwrapper is implemented by decorators (the bandwidth limit, test
// wrappers) to expose the store they wrap.
type Unwrapper interface {
	Unwrap() Store
}

// As finds the optional capability T (Locker, Thawer, Janitor, Prober, Folderer) on s
// or on any store s wraps, so decorators stay transparent without having
// to re-declare every combination of capabilities.
func As[T any](s Store) (T, bool) {
	for s != nil {
		if t, ok := any(s).(T); ok {
			return t, true
		}
		u, ok := s.(Unwrapper)
		if !ok {
			break
		}
		s = u.Unwrap()
	}
	var zero T
	return zero, false
}
