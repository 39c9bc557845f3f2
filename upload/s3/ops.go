package s3

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsmiddleware "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/parts"
)

var (
	_ upload.Store   = (*Store)(nil)
	_ upload.Locker  = (*Store)(nil)
	_ upload.Thawer  = (*Store)(nil)
	_ upload.Janitor = (*Store)(nil)
	_ upload.Prober  = (*Store)(nil)
)

func tierOf(sc types.StorageClass) string {
	if sc == "" {
		return "STANDARD"
	}
	return string(sc)
}

// Stat implements upload.Store.
func (s *Store) Stat(ctx context.Context, key string) (upload.ObjectInfo, error) {
	full, err := s.full(key)
	if err != nil {
		return upload.ObjectInfo{}, opErr("stat", key, err)
	}
	h, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full)})
	if err != nil {
		if isNotFound(err) {
			return upload.ObjectInfo{}, &opError{op: "stat", key: key, kind: upload.ErrNotFound, err: err, detail: "object not found"}
		}
		return upload.ObjectInfo{}, opErr("stat", key, err)
	}
	oi := upload.ObjectInfo{
		Key: key, Size: aws.ToInt64(h.ContentLength), Tier: tierOf(h.StorageClass),
		Archived:  coldOf(h).archived(),
		LegalHold: h.ObjectLockLegalHoldStatus == types.ObjectLockLegalHoldStatusOn,
	}
	if h.LastModified != nil {
		oi.ModTime = h.LastModified.UTC()
	}
	if h.ObjectLockRetainUntilDate != nil {
		oi.RetainUntil = h.ObjectLockRetainUntilDate.UTC()
	}
	for k, v := range h.Metadata {
		if strings.EqualFold(k, upload.MetaSHA256) {
			oi.SHA256 = v
		}
	}
	return oi, nil
}

// List implements upload.Store. Keys are relative to the store's prefix.
func (s *Store) List(ctx context.Context, prefix string, fn func(upload.ObjectInfo) error) error {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.opt.Bucket), Prefix: aws.String(s.root + prefix),
	})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return opErr("list", s.root+prefix, err)
		}
		for _, o := range page.Contents {
			k := strings.TrimPrefix(aws.ToString(o.Key), s.root)
			if k == "" || strings.HasSuffix(k, "/") {
				continue // folder markers some tools create
			}
			oi := upload.ObjectInfo{Key: k, Size: aws.ToInt64(o.Size), Tier: tierOf(types.StorageClass(o.StorageClass))}
			oi.Archived = o.StorageClass == types.ObjectStorageClassGlacier || o.StorageClass == types.ObjectStorageClassDeepArchive
			if o.LastModified != nil {
				oi.ModTime = o.LastModified.UTC()
			}
			if err := fn(oi); err != nil {
				return err
			}
		}
	}
	return nil
}

// Folders implements upload.Folderer: one delimited listing.
func (s *Store) Folders(ctx context.Context, prefix string) ([]string, error) {
	p := s3.NewListObjectsV2Paginator(s.client, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.opt.Bucket), Prefix: aws.String(s.root + prefix), Delimiter: aws.String("/"),
	})
	var out []string
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, opErr("list", s.root+prefix, err)
		}
		for _, cp := range page.CommonPrefixes {
			name := strings.TrimSuffix(strings.TrimPrefix(aws.ToString(cp.Prefix), s.root+prefix), "/")
			if name != "" {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

type version struct {
	id     string
	marker bool
	// latest: the store lists it as the key's current version (IsLatest).
	latest bool
}

// versions lists every version and delete marker of exactly full.
func (s *Store) versions(ctx context.Context, full string) ([]version, error) {
	var out []version
	p := s3.NewListObjectVersionsPaginator(s.client, &s3.ListObjectVersionsInput{Bucket: aws.String(s.opt.Bucket), Prefix: aws.String(full)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, v := range page.Versions {
			if aws.ToString(v.Key) == full {
				out = append(out, version{id: aws.ToString(v.VersionId), latest: aws.ToBool(v.IsLatest)})
			}
		}
		for _, m := range page.DeleteMarkers {
			if aws.ToString(m.Key) == full {
				out = append(out, version{id: aws.ToString(m.VersionId), marker: true, latest: aws.ToBool(m.IsLatest)})
			}
		}
	}
	return out, nil
}

// versionsToDelete lists what Delete removes for full: every version and
// delete marker, or plain (no versions listed) on a store without
// versioning support, or a bucket never versioned whose credentials may
// not list versions.
func (s *Store) versionsToDelete(ctx context.Context, op, key, full string) (vs []version, plain bool, err error) {
	vs, err = s.versions(ctx, full)
	if err == nil {
		return vs, false, nil
	}
	switch errCode(err) {
	case "NotImplemented", "MethodNotAllowed", "XNotImplemented":
		return nil, true, nil // a store without versioning support
	case "AccessDenied":
		// Credentials without s3:ListBucketVersions: on a bucket that
		// was never versioned there are no other versions to find.
		v, verr := s.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(s.opt.Bucket)})
		if verr == nil && v.Status == "" {
			return nil, true, nil
		}
		return nil, false, &opError{op: op, key: key, err: err, detail: "list versions: " + describe(err) +
			" (deleting from a versioned bucket needs s3:ListBucketVersions and s3:DeleteObjectVersion: README lists the permissions)"}
	}
	return nil, false, &opError{op: op, key: key, err: err, detail: "list versions: " + describe(err)}
}

// Delete implements upload.Store: every version of key and every delete
// marker goes, so a versioned (Object Lock) bucket gives the storage back.
// Versions still under retention or legal hold make it fail with
// upload.ErrLocked; unlocked ones are removed anyway. The refusal
// (upload.LockedError) tells the lock of all the versions refused, not
// of the first: the latest retention among them and any legal hold, as
// the key is gone only once every one of them is (a chunk stored again
// over a damaged one, locked for less than the old version).
//
// The newest version goes last, and only once every other version went
// (deleteOrder): a key one of whose older versions is locked keeps its
// current version, as on Azure. Deleted first, it made the older locked
// version the current one: the key then stood for other bytes (a chunk's
// damaged version, which a newer one had replaced) until a prune after the
// lock ended.
func (s *Store) Delete(ctx context.Context, key string) error {
	full, err := s.full(key)
	if err != nil {
		return opErr("delete", key, err)
	}
	vs, plain, err := s.versionsToDelete(ctx, "delete", key, full)
	if err != nil {
		return err
	}
	if plain {
		// A plain delete is final here.
		_, err := s.client.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full)})
		if err != nil && !isNotFound(err) {
			return s.deleteErr(ctx, key, full, "", err)
		}
		return nil
	}
	var locked *upload.LockedError
	var otherErr error
	others, newest := deleteOrder(vs)
	del := func(v version) {
		in := &s3.DeleteObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full)}
		if v.id != "" {
			in.VersionId = aws.String(v.id)
		}
		_, err := s.client.DeleteObject(ctx, in)
		if err == nil || isNotFound(err) {
			return
		}
		err = s.deleteErr(ctx, key, full, v.id, err)
		if le := (*upload.LockedError)(nil); errors.As(err, &le) {
			locked = joinLocks(key, locked, le.RetainUntil, le.LegalHold, le)
		} else if otherErr == nil {
			otherErr = err
		}
	}
	for _, v := range others {
		del(v)
	}
	switch {
	case newest == nil:
	case locked == nil && otherErr == nil:
		del(*newest)
	case locked != nil:
		// It stays, and the key goes only once it does too: the refusal
		// tells its lock as well (as DeleteLock does).
		if until, hold, err := s.lockInForce(ctx, full, newest.id); err == nil && (hold || !until.IsZero()) {
			locked = joinLocks(key, locked, until, hold, locked)
		}
	}
	if otherErr != nil {
		return otherErr // a failure other than a lock is what needs seeing to
	}
	if locked != nil {
		return locked
	}
	return nil
}

// deleteOrder splits a key's versions for Delete: the newest version (not
// a delete marker: the one listed as latest, else the first listed, as
// S3 lists a key's versions newest first; nil when there is none), which
// goes last and only once all the others went, and all the others (the
// delete markers among them: a marker left while a locked version stays
// would hide it from every listing).
func deleteOrder(vs []version) (others []version, newest *version) {
	at := -1
	for i, v := range vs {
		if v.marker {
			continue
		}
		if at < 0 || v.latest && !vs[at].latest {
			at = i
		}
	}
	for i, v := range vs {
		if i != at {
			others = append(others, v)
		}
	}
	if at >= 0 {
		n := vs[at]
		newest = &n
	}
	return others, newest
}

// DeleteLock implements upload.DeleteLocker: what Delete would meet, read
// with the calls Delete makes when it is refused (the versions listing,
// then for each version a GetObjectRetention and a GetObjectLegalHold),
// each retention judged in the Date of its answer. On a bucket without
// Object Lock (asked once per store) it asks nothing: no version can be
// locked there. Credentials that may read neither the bucket's Object Lock
// configuration nor an object's lock (the permissions a bucket without
// Object Lock needs not) get upload.ErrLockListed: the listing's lock
// (none on S3), as before there was DeleteLock, rather than a failed
// dry run; on a bucket known to have Object Lock such a refusal is an error.
func (s *Store) DeleteLock(ctx context.Context, key string) (*upload.LockedError, error) {
	conf := s.bucketLock(ctx)
	if conf == lockOff {
		return nil, nil
	}
	unreadable := func(err error) (*upload.LockedError, error) {
		if conf == lockUnknown && errCode(err) == "AccessDenied" {
			return nil, upload.ErrLockListed
		}
		return nil, opErr("read the lock of", key, err)
	}
	full, err := s.full(key)
	if err != nil {
		return nil, opErr("read the lock of", key, err)
	}
	vs, plain, err := s.versionsToDelete(ctx, "read the lock of", key, full)
	if err != nil {
		return nil, err
	}
	if plain {
		vs = []version{{}}
	}
	var locked *upload.LockedError
	for _, v := range vs {
		if v.marker {
			continue // a delete marker has no lock
		}
		until, hold, err := s.lockInForce(ctx, full, v.id)
		if err != nil {
			return unreadable(err)
		}
		if hold || !until.IsZero() {
			locked = joinLocks(key, locked, until, hold, upload.ErrLocked)
		}
	}
	return locked, nil
}

// lockConf is what the bucket's Object Lock configuration says.
type lockConf int

const (
	lockUnknown lockConf = iota // not readable (permissions, a failure)
	lockOn
	lockOff
)

// bucketLock reads the bucket's Object Lock configuration (once).
func (s *Store) bucketLock(ctx context.Context) lockConf {
	s.lockConfOnce.Do(func() {
		lc, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(s.opt.Bucket)})
		switch {
		case err == nil && lc.ObjectLockConfiguration != nil && lc.ObjectLockConfiguration.ObjectLockEnabled == types.ObjectLockEnabledEnabled:
			s.lockConf = lockOn
		case err == nil || isNoLock(err):
			s.lockConf = lockOff
		}
	})
	return s.lockConf
}

// joinLocks adds one version's lock (a retention in force until until,
// zero: none; a legal hold) to what acc says of the others: the key goes
// only once every version does, so the latest retention counts, and any
// hold. cause is the store's answer kept under the first refusal.
func joinLocks(key string, acc *upload.LockedError, until time.Time, hold bool, cause error) *upload.LockedError {
	if acc != nil {
		if acc.RetainUntil.After(until) {
			until = acc.RetainUntil
		}
		hold = hold || acc.LegalHold
		cause = acc.Err
	}
	return lockedError(key, until, hold, cause)
}

// lockedError is the refusal of a delete of key for a lock: retained
// until until (zero: not told, or a legal hold alone), held or not; cause
// is the store's answer (unwrapped from a refusal built here before).
func lockedError(key string, until time.Time, hold bool, cause error) *upload.LockedError {
	if oe := (*opError)(nil); errors.As(cause, &oe) && oe.kind == upload.ErrLocked {
		cause = oe.err
	}
	what := "under legal hold"
	if !until.IsZero() {
		what = "retained until " + until.UTC().Format(time.RFC3339)
		if hold {
			what += " and under legal hold"
		}
	}
	return &upload.LockedError{RetainUntil: until, LegalHold: hold,
		Err: &opError{op: "delete", key: key, kind: upload.ErrLocked, err: cause, detail: "object is locked (" + what + ")"}}
}

// deleteErr turns a refused delete into ErrLocked when the version is
// under retention or legal hold (stores answer AccessDenied or
// InvalidRequest; the lock itself is the reliable sign).
//
// The retention is judged in the store's clock (the Date of its answer),
// which enforces it: with this machine's clock hours ahead, a refusal for
// a retention the store still counts was taken for some other failure.
func (s *Store) deleteErr(ctx context.Context, key, full, versionID string, err error) error {
	until, hold, lerr := s.lockInForce(ctx, full, versionID)
	if lerr == nil && (hold || !until.IsZero()) {
		return lockedError(key, until, hold, err)
	}
	return opErr("delete", key, err)
}

// lockInForce is an object version's lock as a delete meets it: its
// retention when still in force in the store's clock (zero: none, or
// ended) and its legal hold (one GetObjectRetention, one
// GetObjectLegalHold).
func (s *Store) lockInForce(ctx context.Context, full, versionID string) (time.Time, bool, error) {
	until, now, _, err := s.retentionAt(ctx, full, versionID)
	if err != nil {
		return time.Time{}, false, err
	}
	hold, err := s.legalHold(ctx, full, versionID)
	if err != nil {
		return time.Time{}, false, err
	}
	if now.IsZero() {
		now = s.localNow()
	}
	if !until.After(now) {
		until = time.Time{}
	}
	return until, hold, nil
}

func isNoLock(err error) bool {
	switch errCode(err) {
	case "NoSuchObjectLockConfiguration", "ObjectLockConfigurationNotFoundError", "InvalidRequest", "NoSuchKey", "NotFound":
		return true
	}
	return false
}

// lockInfo reads retention and legal hold of one version ("" = current).
func (s *Store) lockInfo(ctx context.Context, full, versionID string) (until time.Time, hold bool, mode types.ObjectLockRetentionMode, err error) {
	if until, mode, err = s.retention(ctx, full, versionID); err != nil {
		return until, hold, mode, err
	}
	hold, err = s.legalHold(ctx, full, versionID)
	return until, hold, mode, err
}

// retention is an object version's retention (one GetObjectRetention;
// zero time and mode: none).
func (s *Store) retention(ctx context.Context, full, versionID string) (until time.Time, mode types.ObjectLockRetentionMode, err error) {
	until, _, mode, err = s.retentionAt(ctx, full, versionID)
	return until, mode, err
}

// retentionAt is retention with the store's time of its answer (its Date;
// zero when it carried none, or the version has no retention).
func (s *Store) retentionAt(ctx context.Context, full, versionID string) (until, at time.Time, mode types.ObjectLockRetentionMode, err error) {
	r, err := s.client.GetObjectRetention(ctx, &s3.GetObjectRetentionInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full), VersionId: versionPtr(versionID)})
	switch {
	case err == nil && r.Retention != nil:
		if r.Retention.RetainUntilDate != nil {
			until = r.Retention.RetainUntilDate.UTC()
		}
		mode = r.Retention.Mode
		if t, ok := awsmiddleware.GetServerTime(r.ResultMetadata); ok {
			at = t.UTC()
		}
	case err != nil && !isNoLock(err):
		return until, at, mode, err
	}
	return until, at, mode, nil
}

// legalHold is whether an object version is under legal hold (one
// GetObjectLegalHold).
func (s *Store) legalHold(ctx context.Context, full, versionID string) (bool, error) {
	lh, err := s.client.GetObjectLegalHold(ctx, &s3.GetObjectLegalHoldInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full), VersionId: versionPtr(versionID)})
	switch {
	case err == nil && lh.LegalHold != nil:
		return lh.LegalHold.Status == types.ObjectLockLegalHoldStatusOn, nil
	case err != nil && !isNoLock(err):
		return false, err
	}
	return false, nil
}

func versionPtr(id string) *string {
	if id == "" {
		return nil
	}
	return aws.String(id)
}

// LockInfo implements upload.Locker.
func (s *Store) LockInfo(ctx context.Context, key string) (time.Time, bool, error) {
	full, err := s.full(key)
	if err != nil {
		return time.Time{}, false, opErr("lock info", key, err)
	}
	until, hold, _, err := s.lockInfo(ctx, full, "")
	if err != nil {
		return time.Time{}, false, opErr("lock info", key, err)
	}
	return until, hold, nil
}

// ExtendLock implements upload.Locker: when the retention (one
// GetObjectRetention) ends before need, it moves to until, in the
// object's mode (or the configured one); it is never shortened. A write
// the store refuses is checked with a second read: another run (a backup
// and a prune extend the same chunk) may have moved the retention past
// until between the read and the write, and a GOVERNANCE retention is
// never shortened without the bypass: when the lock now lasts at least
// until need, that is no error.
func (s *Store) ExtendLock(ctx context.Context, key string, need, until time.Time) error {
	full, err := s.full(key)
	if err != nil {
		return opErr("extend lock", key, err)
	}
	cur, mode, err := s.retention(ctx, full, "")
	if err != nil {
		return opErr("extend lock", key, err)
	}
	if !cur.Before(need) || !until.After(cur) {
		return nil
	}
	if mode == "" {
		mode = types.ObjectLockRetentionMode(s.opt.LockMode)
	}
	until = upload.WholeSecond(until) // as the store keeps it, never earlier
	_, err = s.client.PutObjectRetention(ctx, &s3.PutObjectRetentionInput{
		Bucket: aws.String(s.opt.Bucket), Key: aws.String(full),
		Retention: &types.ObjectLockRetention{Mode: mode, RetainUntilDate: aws.Time(until.UTC())},
	})
	if err != nil {
		if now, _, rerr := s.retention(ctx, full, ""); rerr == nil && !now.Before(need) {
			return nil
		}
	}
	return opErr("extend lock", key, err)
}

// SetLegalHold implements upload.Locker: a PutObjectLegalHold (ON) on
// the current version, unless a GetObjectLegalHold says it is held
// already. A listing never tells the hold, so a held backup asks for every
// chunk it reuses, every night: the read costs a tenth of the write on
// S3's price list, and a chunk reused night after night is held already.
func (s *Store) SetLegalHold(ctx context.Context, key string) error {
	full, err := s.full(key)
	if err != nil {
		return opErr("set legal hold", key, err)
	}
	if held, err := s.legalHold(ctx, full, ""); err == nil && held {
		return nil
	} else if err != nil && isNotFound(err) {
		return &opError{op: "set legal hold", key: key, kind: upload.ErrNotFound, err: err, detail: "object not found"}
	}
	_, err = s.client.PutObjectLegalHold(ctx, &s3.PutObjectLegalHoldInput{
		Bucket: aws.String(s.opt.Bucket), Key: aws.String(full),
		LegalHold: &types.ObjectLockLegalHold{Status: types.ObjectLockLegalHoldStatusOn},
	})
	if err != nil && isNotFound(err) {
		return &opError{op: "set legal hold", key: key, kind: upload.ErrNotFound, err: err, detail: "object not found"}
	}
	return opErr("set legal hold", key, err)
}

// Thaw implements upload.Thawer: it asks S3 to restore an object in
// GLACIER or DEEP_ARCHIVE, or in an archive tier of INTELLIGENT_TIERING
// (Standard retrieval), and says when to come back.
func (s *Store) Thaw(ctx context.Context, key string, days int) (upload.Thawing, error) {
	full, err := s.full(key)
	if err != nil {
		return upload.Thawing{}, opErr("thaw", key, err)
	}
	if days < 1 {
		days = 1
	}
	h, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full)})
	if err != nil {
		if isNotFound(err) {
			return upload.Thawing{}, &opError{op: "thaw", key: key, kind: upload.ErrNotFound, err: err, detail: "object not found"}
		}
		return upload.Thawing{}, opErr("thaw", key, err)
	}
	c := coldOf(h)
	if !c.archived() {
		if h.Restore != nil {
			return upload.Thawing{State: upload.ThawOnline, Message: fmt.Sprintf("%s is already restored and readable now", key)}, nil
		}
		return upload.Thawing{State: upload.ThawOnline, Message: fmt.Sprintf("%s is in %s, not an archive tier: nothing to thaw", key, tierOf(h.StorageClass))}, nil
	}
	running := upload.Thawing{State: upload.ThawRunning, Message: fmt.Sprintf("%s: a restore from %s is already running; come back in %s of when it was started", key, c.name(), c.wait())}
	if c.running() {
		return running, nil
	}
	req := &types.RestoreRequest{Days: aws.Int32(int32(days)), GlacierJobParameters: &types.GlacierJobParameters{Tier: types.TierStandard}}
	stays := fmt.Sprintf("the copy then stays readable for %d days", days)
	if c.archive != "" {
		// INTELLIGENT_TIERING moves the object itself back to its Frequent
		// Access tier: a restore request with Days is refused there.
		req.Days = nil
		stays = "S3 then keeps it in the Frequent Access tier until it is left unread again"
	}
	_, err = s.client.RestoreObject(ctx, &s3.RestoreObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full), RestoreRequest: req})
	if err != nil {
		if errCode(err) == "RestoreAlreadyInProgress" {
			return running, nil
		}
		return upload.Thawing{}, opErr("thaw", key, err)
	}
	return upload.Thawing{State: upload.ThawStarted, Message: fmt.Sprintf("%s: restore from %s started (Standard retrieval); come back in %s, %s", key, c.name(), c.wait(), stays)}, nil
}

// AbortStale implements upload.Janitor: multipart uploads under prefix
// started before olderThan are aborted (their parts are billed storage).
//
// Each page's stale uploads are aborted as it is listed, so a listing
// that fails midway still frees what it saw. VersityGW 1.8 refuses the
// markers of every second page ("Invalid uploadId marker"): after a pass
// that aborted something and then failed, the listing starts again from
// the beginning, where the uploads aborted are gone.
func (s *Store) AbortStale(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	n := 0
	for {
		before := n
		err := s.abortStalePass(ctx, prefix, olderThan, &n)
		if err == nil || n == before || ctx.Err() != nil {
			return n, err
		}
	}
}

// uploadsPage is the page size of the multipart upload listing (0: the
// server's, 1000 on S3); tests make it small.
var uploadsPage int32

func (s *Store) abortStalePass(ctx context.Context, prefix string, olderThan time.Time, n *int) error {
	in := &s3.ListMultipartUploadsInput{Bucket: aws.String(s.opt.Bucket), Prefix: aws.String(s.root + prefix)}
	if uploadsPage > 0 {
		in.MaxUploads = aws.Int32(uploadsPage)
	}
	p := s3.NewListMultipartUploadsPaginator(s.client, in)
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return opErr("list multipart uploads", s.root+prefix, err)
		}
		for _, u := range page.Uploads {
			if u.Initiated == nil || !u.Initiated.Before(olderThan) {
				continue
			}
			if err := ctx.Err(); err != nil {
				return opErr("abort multipart upload", prefix, err)
			}
			key := aws.ToString(u.Key)
			if err := parts.AbortUntilGone(ctx, &multipart{s: s, key: key, full: key, id: u.UploadId}); err != nil {
				return opErr("abort multipart upload", strings.TrimPrefix(key, s.root), err)
			}
			*n++
		}
	}
	return nil
}

// Probe implements upload.Prober: the bucket must exist and take a write,
// a read and a delete of a small object; versioning and Object Lock are
// reported.
func (s *Store) Probe(ctx context.Context) (upload.ProbeReport, error) {
	rep := upload.ProbeReport{Versioning: "unknown", ObjectLock: "unknown"}
	if _, err := s.client.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(s.opt.Bucket)}); err != nil {
		if isNotFound(err) || errCode(err) == "NoSuchBucket" {
			return rep, &missingBucket{s.opt.Bucket, err}
		}
		return rep, opErr("probe bucket", s.opt.Bucket, err)
	}
	rep.Exists = true
	if v, err := s.client.GetBucketVersioning(ctx, &s3.GetBucketVersioningInput{Bucket: aws.String(s.opt.Bucket)}); err == nil {
		switch v.Status {
		case types.BucketVersioningStatusEnabled:
			rep.Versioning = "enabled"
		case types.BucketVersioningStatusSuspended:
			rep.Versioning = "suspended"
		default:
			rep.Versioning = "disabled"
		}
	} else {
		rep.Notes = append(rep.Notes, "versioning status not readable: "+describe(err))
	}
	defaultRetention := false
	lc, err := s.client.GetObjectLockConfiguration(ctx, &s3.GetObjectLockConfigurationInput{Bucket: aws.String(s.opt.Bucket)})
	switch {
	case err == nil && lc.ObjectLockConfiguration != nil && lc.ObjectLockConfiguration.ObjectLockEnabled == types.ObjectLockEnabledEnabled:
		rep.ObjectLock = "enabled"
		if r := lc.ObjectLockConfiguration.Rule; r != nil && r.DefaultRetention != nil {
			defaultRetention = true
			rep.Notes = append(rep.Notes, fmt.Sprintf("bucket default retention: %s %d days %d years", r.DefaultRetention.Mode, aws.ToInt32(r.DefaultRetention.Days), aws.ToInt32(r.DefaultRetention.Years)))
		}
	case err == nil || isNoLock(err):
		rep.ObjectLock = "disabled"
	default:
		rep.Notes = append(rep.Notes, "object lock configuration not readable: "+describe(err))
	}
	if s.opt.SSE != "" {
		rep.Notes = append(rep.Notes, "server-side encryption: "+s.opt.SSE)
	}
	if s.opt.StorageClass != "" {
		rep.Notes = append(rep.Notes, "storage class: "+s.opt.StorageClass)
	}

	var rb [6]byte
	rand.Read(rb[:])
	key := ".lyncbackup-probe-" + hex.EncodeToString(rb[:])
	data := "lyncbackup probe " + time.Now().UTC().Format(time.RFC3339)
	if _, err := s.Put(ctx, key, strings.NewReader(data), upload.PutOptions{}); err != nil {
		return rep, fmt.Errorf("%s is %w: %w", s.String(), upload.ErrNotWritable, err)
	}
	rep.Writable = true
	if rc, err := s.Get(ctx, key, 0, -1); err == nil {
		b, rerr := io.ReadAll(rc)
		rc.Close()
		rep.Readable = rerr == nil && string(b) == data
		if !rep.Readable {
			rep.Failures = append(rep.Failures, "probe object read back wrong")
		}
	} else {
		rep.Failures = append(rep.Failures, "probe read failed: "+describe(err))
	}
	if err := s.Delete(ctx, key); err == nil {
		rep.Deletable = true
	} else if errors.Is(err, upload.ErrLocked) && defaultRetention {
		rep.Notes = append(rep.Notes, "probe object "+key+" is kept by the bucket's default retention; it goes once that expires")
	} else {
		rep.Failures = append(rep.Failures, "probe delete failed: "+describe(err))
	}
	sort.Strings(rep.Notes)
	sort.Strings(rep.Failures)
	return rep, nil
}

// Now implements upload.Clock: the Date of the store's answer to a one-key
// listing (whole seconds, so at most the store's present time). It asks
// with the permission every reader needs (listing), and writes nothing.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	out, err := s.client.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: aws.String(s.opt.Bucket), Prefix: aws.String(s.root), MaxKeys: aws.Int32(1),
	})
	if err != nil {
		return time.Time{}, opErr("list", s.root, err)
	}
	t, ok := awsmiddleware.GetServerTime(out.ResultMetadata)
	if !ok || t.IsZero() {
		return time.Time{}, fmt.Errorf("%s: the store's answer carried no Date", s)
	}
	return t.UTC(), nil
}
