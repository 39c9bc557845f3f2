// Package azure is the Azure Blob Storage destination: every object is a
// block blob. Put streams an input of unknown length as blocks staged
// concurrently and committed at the end (the blob only exists once the block
// list is committed), Get reads ranges concurrently in order, and the
// optional capabilities cover access tiers (Archive rehydration), version-level
// immutability and legal holds, uncommitted-block cleanup and probing.
package azure

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/parts"
)

// Defaults for transfers.
const (
	// 8 MiB x 3 in flight, as for S3: two items at once stay well inside a
	// 160 MiB process. 50,000 blocks before growth = 400 GB.
	DefaultBlockSize   = 8 << 20
	DefaultConcurrency = 3
	DefaultMaxRetries  = 10
	// MaxBlocks is the service's limit of committed blocks per blob.
	MaxBlocks = 50000
	// maxBlockSize is the service's largest block (4000 MiB).
	maxBlockSize = 4000 << 20
	// blocksPerStep: the block size doubles every blocksPerStep blocks,
	// so a stream never runs out of its 50,000 blocks (8 MiB base: ~2.4 TiB; larger part_size for more).
	blocksPerStep = 10000
)

// Options configure a Store.
type Options struct {
	Location
	Auth Auth
	// AccessTier for new blobs: Hot, Cool, Cold or Archive ("" = account default).
	AccessTier string
	// ImmutabilityLocked makes the version-level policies set by Put
	// (PutOptions.RetainUntil) and ExtendLock Locked instead of Unlocked.
	ImmutabilityLocked bool
	// BlockSize is the first block size of staged uploads and the range
	// size of downloads (default 8 MiB); Concurrency the blocks/ranges in
	// flight per object (default DefaultConcurrency).
	BlockSize   int64
	Concurrency int
	// MaxRetries per request for throttling (429, 503), 5xx, timeouts and
	// connection resets (default 10); RetryDelay the first back-off (default 1s).
	MaxRetries int
	RetryDelay time.Duration
	// TryTimeout bounds one attempt of one request (default: 2 minutes plus
	// the time a block takes at 128 KiB/s), so a stalled connection is retried.
	TryTimeout time.Duration
	// Transport replaces the HTTP client (tests); RootCAs then does not apply.
	Transport policy.Transporter
	// RootCAs, when set, are the roots the service's certificate (and that
	// of the token endpoint, for DefaultAzureCredential) is verified
	// against instead of the system store: destination.ca_file gives the
	// system store plus its CAs (Azure Stack Hub, a TLS-inspecting proxy).
	RootCAs *x509.CertPool
}

// Store is a container (and a prefix in it) holding objects as block blobs.
type Store struct {
	cc          *container.Client
	container   string
	prefix      string // "" or "a/b/"
	serviceURL  string
	tier        *blob.AccessTier
	locked      bool
	blockSize   int64
	concurrency int
	maxBlocks   int
	stepBlocks  int
	authKind    string
	secrets     []string
	rangeTries  int // body failures in a row, without progress, before a range gives up
	bufs        *parts.Pool
	// versioned: whether the container has version-level immutability
	// (DeleteLock lists the versions), found out once (nil: every time).
	versioned *versionedOnce
}

type versionedOnce struct {
	once sync.Once
	yes  bool
}

// ParseTier maps a config word to an access tier ("" = account default).
func ParseTier(s string) (blob.AccessTier, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "":
		return "", nil
	case "hot":
		return blob.AccessTierHot, nil
	case "cool":
		return blob.AccessTierCool, nil
	case "cold":
		return blob.AccessTierCold, nil
	case "archive":
		return blob.AccessTierArchive, nil
	}
	return "", fmt.Errorf("access tier %q: must be Hot, Cool, Cold or Archive", s)
}

// Open builds a store. It does not contact the service (Probe does).
func Open(ctx context.Context, o Options) (*Store, error) {
	tier, err := ParseTier(o.AccessTier)
	if err != nil {
		return nil, err
	}
	s := &Store{
		container: o.Container, serviceURL: strings.TrimRight(o.ServiceURL, "/"),
		locked: o.ImmutabilityLocked, blockSize: o.BlockSize, concurrency: o.Concurrency,
		maxBlocks: MaxBlocks, stepBlocks: blocksPerStep, authKind: o.Auth.Kind, rangeTries: 5, bufs: &parts.Pool{},
		versioned: &versionedOnce{},
	}
	if tier != "" {
		s.tier = &tier
	}
	if o.Prefix != "" {
		s.prefix = strings.Trim(o.Prefix, "/") + "/"
	}
	if s.blockSize <= 0 {
		s.blockSize = DefaultBlockSize
	}
	if s.blockSize > maxBlockSize {
		return nil, fmt.Errorf("part_size %d is above Azure's largest block (4000 MiB)", s.blockSize)
	}
	if s.concurrency <= 0 {
		s.concurrency = DefaultConcurrency
	}
	retries := o.MaxRetries
	if retries == 0 {
		retries = DefaultMaxRetries
	}
	delay := o.RetryDelay
	if delay == 0 {
		delay = time.Second
	}
	tryTimeout := o.TryTimeout
	if tryTimeout == 0 {
		tryTimeout = 2*time.Minute + time.Duration(s.blockSize/(128<<10))*time.Second
	}
	copts := azcore.ClientOptions{
		Retry:     policy.RetryOptions{MaxRetries: int32(retries), RetryDelay: delay, MaxRetryDelay: 60 * time.Second, TryTimeout: tryTimeout},
		Telemetry: policy.TelemetryOptions{ApplicationID: "lyncbackup"},
		Transport: o.Transport,
	}
	if copts.Transport == nil {
		copts.Transport = newHTTPClient(s.concurrency, o.RootCAs)
	}
	opts := &container.ClientOptions{ClientOptions: copts}
	containerURL := s.serviceURL + "/" + o.Container
	sas := o.SAS
	if sas == "" && o.Auth.Key == "" {
		sas = o.Auth.SAS
	}
	auth := o.Auth
	switch {
	case sas != "":
		switch {
		case o.SAS != "":
			s.authKind = "SAS in the destination URL"
		case o.Auth.Kind == "connection-string":
			s.authKind = "SharedAccessSignature in AZURE_STORAGE_CONNECTION_STRING"
		default:
			s.authKind = "AZURE_STORAGE_SAS_TOKEN"
		}
		s.secrets = append(s.secrets, sas)
		if un, err := url.QueryUnescape(sas); err == nil && un != sas {
			s.secrets = append(s.secrets, un)
		}
		s.cc, err = container.NewClientWithNoCredential(containerURL+"?"+sas, opts)
	case auth.Key != "":
		if auth.Account == "" {
			auth.Account = o.Account
		}
		s.secrets = append(s.secrets, auth.Key)
		if s.authKind == "connection-string" {
			s.authKind = "AZURE_STORAGE_CONNECTION_STRING"
		} else {
			s.authKind = "AZURE_STORAGE_ACCOUNT/AZURE_STORAGE_KEY"
		}
		var cred *container.SharedKeyCredential
		cred, err = container.NewSharedKeyCredential(auth.Account, auth.Key)
		if err != nil {
			return nil, deniedError("azure: the account key is not valid base64")
		}
		s.cc, err = container.NewClientWithSharedKeyCredential(containerURL, cred, opts)
	default:
		tok := auth.Token
		s.authKind = "DefaultAzureCredential (environment, managed identity, Azure CLI)"
		if tok == nil {
			tok, err = azidentity.NewDefaultAzureCredential(&azidentity.DefaultAzureCredentialOptions{ClientOptions: copts})
			if err != nil {
				return nil, deniedError("azure: no credentials: set AZURE_STORAGE_CONNECTION_STRING, AZURE_STORAGE_ACCOUNT + AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN, or sign in (az login / managed identity): " + s.scrub(err.Error()))
			}
		}
		s.cc, err = container.NewClient(containerURL, tokenSource{tok}, opts)
	}
	if err != nil {
		return nil, fmt.Errorf("azure: %s", s.scrub(err.Error()))
	}
	return s, nil
}

// newHTTPClient is a transport with dial / TLS / header time-outs so a dead
// peer is noticed and the request retried, and enough idle connections for
// the blocks in flight of a few parallel items.
func newHTTPClient(conc int, roots *x509.CertPool) certErrorsFinal {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	if roots != nil {
		// Only the roots change: proxies from the environment, HTTP/2
		// (ForceAttemptHTTP2) and the timeouts below stay as they are.
		if tr.TLSClientConfig == nil {
			tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		}
		tr.TLSClientConfig.RootCAs = roots
	}
	tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	tr.TLSHandshakeTimeout = 30 * time.Second
	tr.ResponseHeaderTimeout = 5 * time.Minute
	tr.MaxIdleConnsPerHost = 4 * conc
	tr.ExpectContinueTimeout = 2 * time.Second
	return certErrorsFinal{&http.Client{Transport: tr}}
}

// certErrorsFinal marks a refused server certificate as not retriable:
// azcore retries every transport error (10 times, up to a minute apart),
// but no retry cures an unknown CA or a wrong name (destination.ca_file,
// the endpoint), so the operation fails at once, naming it.
type certErrorsFinal struct{ *http.Client }

func (c certErrorsFinal) Do(req *http.Request) (*http.Response, error) {
	resp, err := c.Client.Do(req)
	if upload.IsCertificateError(err) {
		return resp, nonRetriable{err}
	}
	return resp, err
}

// nonRetriable satisfies azcore's errorinfo.NonRetriable.
type nonRetriable struct{ error }

func (nonRetriable) NonRetriable()   {}
func (e nonRetriable) Unwrap() error { return e.error }

// String implements upload.Store: the location, never a secret.
func (s *Store) String() string {
	return s.serviceURL + "/" + s.container + "/" + strings.TrimSuffix(s.prefix, "/")
}

func (s *Store) serviceHost() string {
	if u, err := url.Parse(s.serviceURL); err == nil {
		return u.Host + u.Path
	}
	return "the storage account"
}

func (s *Store) name(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || strings.Contains(key, "\\") {
		return "", fmt.Errorf("invalid key %q", key)
	}
	for _, p := range strings.Split(key, "/") {
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("invalid key %q", key)
		}
	}
	return s.prefix + key, nil
}

func (s *Store) blob(key string) (*blockblob.Client, error) {
	n, err := s.name(key)
	if err != nil {
		return nil, err
	}
	return s.cc.NewBlockBlobClient(n), nil
}

func infoFromProps(key string, p blob.GetPropertiesResponse) upload.ObjectInfo {
	oi := upload.ObjectInfo{Key: key, Size: to0(p.ContentLength), LegalHold: p.LegalHold != nil && *p.LegalHold}
	if p.LastModified != nil {
		oi.ModTime = *p.LastModified
	}
	if p.ImmutabilityPolicyExpiresOn != nil && !isMutable(p.ImmutabilityPolicyMode) {
		oi.RetainUntil = *p.ImmutabilityPolicyExpiresOn
	}
	if p.AccessTier != nil {
		oi.Tier = *p.AccessTier
	}
	oi.Archived = strings.EqualFold(oi.Tier, string(blob.AccessTierArchive))
	for k, v := range p.Metadata {
		if strings.EqualFold(k, upload.MetaSHA256) && v != nil {
			oi.SHA256 = *v
		}
	}
	return oi
}

func isMutable(m *blob.ImmutabilityPolicyMode) bool {
	return m != nil && *m == blob.ImmutabilityPolicyModeMutable
}

func to0(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

// Stat implements upload.Store.
func (s *Store) Stat(ctx context.Context, key string) (upload.ObjectInfo, error) {
	bb, err := s.blob(key)
	if err != nil {
		return upload.ObjectInfo{}, err
	}
	p, err := bb.GetProperties(ctx, nil)
	if err != nil {
		return upload.ObjectInfo{}, s.wrap("stat", key, err)
	}
	return infoFromProps(key, p), nil
}

// List implements upload.Store: a flat listing under the store's prefix,
// in the service's (lexical) order, keys relative to the prefix.
func (s *Store) List(ctx context.Context, prefix string, fn func(upload.ObjectInfo) error) error {
	pager := s.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  to.Ptr(s.prefix + prefix),
		Include: container.ListBlobsInclude{ImmutabilityPolicy: true, LegalHold: true},
	})
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return s.wrap("list", prefix, err)
		}
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil || it.Properties == nil {
				continue
			}
			key := strings.TrimPrefix(*it.Name, s.prefix)
			p := it.Properties
			oi := upload.ObjectInfo{Key: key, Size: to0(p.ContentLength), LegalHold: p.LegalHold != nil && *p.LegalHold}
			if p.LastModified != nil {
				oi.ModTime = *p.LastModified
			}
			if p.ImmutabilityPolicyExpiresOn != nil && !isMutable(p.ImmutabilityPolicyMode) {
				oi.RetainUntil = *p.ImmutabilityPolicyExpiresOn
			}
			if p.AccessTier != nil {
				oi.Tier = string(*p.AccessTier)
			}
			oi.Archived = oi.Tier == string(blob.AccessTierArchive)
			if err := fn(oi); err != nil {
				return err
			}
		}
	}
	return nil
}

// Folders implements upload.Folderer: one hierarchical listing.
func (s *Store) Folders(ctx context.Context, prefix string) ([]string, error) {
	pager := s.cc.NewListBlobsHierarchyPager("/", &container.ListBlobsHierarchyOptions{Prefix: to.Ptr(s.prefix + prefix)})
	var out []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, s.wrap("list", prefix, err)
		}
		for _, bp := range page.Segment.BlobPrefixes {
			if bp.Name == nil {
				continue
			}
			name := strings.TrimSuffix(strings.TrimPrefix(*bp.Name, s.prefix+prefix), "/")
			if name != "" {
				out = append(out, name)
			}
		}
	}
	sort.Strings(out)
	return out, nil
}

// Delete implements upload.Store: the blob and, on accounts with
// versioning, every version of it. A blob whose properties say it is still
// under an immutability policy or legal hold is refused without asking the
// service; a refusal by the service maps to upload.ErrLocked too. The
// refusal (upload.LockedError) tells the lock of every version the delete
// would have to remove, not the current one's alone: the latest policy
// still in force among them and any legal hold (the blob is gone only once
// every version is; a chunk stored again over a damaged one leaves the old
// version with its own policy).
//
// A blob is deleted whole or not at all: its versions are listed (one
// listing, which the delete needs anyway for their ids) before anything
// is deleted, and when any version is still locked nothing is. Deleting the
// current version while an older one stayed locked left the blob with no
// current version: gone from every listing, so that no prune, dry run or
// backup saw it again, and nothing deleted the older version once its lock
// ended. The older versions go first and the current one last, so that a
// lock set between the listing and the deletes keeps the blob listed too.
func (s *Store) Delete(ctx context.Context, key string) error {
	bb, err := s.blob(key)
	if err != nil {
		return err
	}
	exists := false
	p, err := bb.GetProperties(ctx, nil)
	switch {
	case err == nil:
		exists = true
		oi := infoFromProps(key, p)
		if oi.Locked(answeredAt(p.Date)) {
			// One listing of the versions (none without versioning).
			if until, hold, err := s.versionLocks(ctx, key); err == nil {
				if until.After(oi.RetainUntil) {
					oi.RetainUntil = until
				}
				oi.LegalHold = oi.LegalHold || hold
			}
			return &upload.LockedError{RetainUntil: oi.RetainUntil, LegalHold: oi.LegalHold,
				Err: &Error{Op: "delete", Key: key, Msg: lockedText(oi), sentinel: upload.ErrLocked}}
		}
	case hasCode(err, "BlobNotFound") || statusOf(err) == http.StatusNotFound:
	default:
		return s.wrap("delete", key, err)
	}
	vs, err := s.listVersions(ctx, key)
	if err != nil {
		return s.wrap("delete (list versions)", key, err)
	}
	older, current, lock := deletePlan(vs)
	if lock != nil {
		return &upload.LockedError{RetainUntil: lock.RetainUntil, LegalHold: lock.LegalHold,
			Err: &Error{Op: "delete", Key: key, Msg: "a version of the blob is " + lockedText(*lock) + " (every version kept)", sentinel: upload.ErrLocked}}
	}
	if err := s.deleteVersionIDs(ctx, key, older); err != nil {
		return err // the current version stays: the blob stays listed
	}
	if exists {
		_, err = bb.Delete(ctx, &blob.DeleteOptions{DeleteSnapshots: to.Ptr(blob.DeleteSnapshotsOptionTypeInclude)})
		if err != nil && !hasCode(err, "BlobNotFound") {
			return s.wrap("delete", key, err)
		}
	}
	// With versioning the current version lives on as an older one.
	return s.deleteVersionIDs(ctx, key, current)
}

// answeredAt is the service's time in an answer's Date header, which a
// blob's immutability is enforced in: this machine's clock may be hours
// off (a blob whose policy had an hour left was taken for free, and an
// extension to a date this machine thought past was skipped). No Date:
// this machine's clock.
func answeredAt(date *time.Time) time.Time {
	if date != nil && !date.IsZero() {
		return *date
	}
	return time.Now()
}

func lockedText(oi upload.ObjectInfo) string {
	var parts []string
	if !oi.RetainUntil.IsZero() {
		parts = append(parts, "immutable until "+oi.RetainUntil.UTC().Format(time.RFC3339))
	}
	if oi.LegalHold {
		parts = append(parts, "under legal hold")
	}
	return strings.Join(parts, " and ") + ": object is locked"
}

// blobVersion is one listed version of a blob: its id ("" where the
// service names none), whether it is the current version, its lock (the
// policy's end, zero: none or a mutable one; a legal hold) and the
// service's time of the listing, which the lock is judged in.
type blobVersion struct {
	id      string
	current bool
	until   time.Time
	hold    bool
	at      time.Time
}

// locked reports whether the version's lock is still in force.
func (v blobVersion) locked() bool {
	return v.hold || v.until.After(v.at)
}

// listVersions lists every version of key's blob with its lock (one
// listing): none on a service without versioning.
func (s *Store) listVersions(ctx context.Context, key string) ([]blobVersion, error) {
	name, _ := s.name(key)
	pager := s.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  to.Ptr(name),
		Include: container.ListBlobsInclude{Versions: true, ImmutabilityPolicy: true, LegalHold: true},
	})
	var out []blobVersion
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			if statusOf(err) == http.StatusBadRequest { // no versioning support
				return nil, nil
			}
			return nil, err
		}
		at := answeredAt(page.Date)
		for _, it := range page.Segment.BlobItems {
			if it.Name == nil || *it.Name != name {
				continue
			}
			v := blobVersion{current: it.IsCurrentVersion != nil && *it.IsCurrentVersion, at: at}
			if it.VersionID != nil {
				v.id = *it.VersionID
			}
			if p := it.Properties; p != nil {
				if p.ImmutabilityPolicyExpiresOn != nil && !isMutable(p.ImmutabilityPolicyMode) {
					v.until = *p.ImmutabilityPolicyExpiresOn
				}
				v.hold = p.LegalHold != nil && *p.LegalHold
			}
			out = append(out, v)
		}
	}
	return out, nil
}

// versionsLock is the lock still in force among vs: the latest policy's
// end (zero: none in force) and whether any version is under legal hold;
// nil when no version is locked.
func versionsLock(vs []blobVersion) *upload.ObjectInfo {
	var lock *upload.ObjectInfo
	for _, v := range vs {
		if !v.locked() {
			continue
		}
		if lock == nil {
			lock = &upload.ObjectInfo{}
		}
		if v.until.After(v.at) && v.until.After(lock.RetainUntil) {
			lock.RetainUntil = v.until
		}
		lock.LegalHold = lock.LegalHold || v.hold
	}
	return lock
}

// deletePlan is what Delete does with a blob whose versions are vs (its
// current version not locked): when any version is still locked, nothing
// is deleted and lock tells the lock (the latest policy in force, any
// hold), as the blob goes only once every version does; otherwise the ids
// of the older versions, deleted first, and that of the current one,
// deleted after the blob itself (with versioning, deleting the blob makes
// its current version an older one). Versions listed without an id (a
// service without versioning) are the blob itself.
func deletePlan(vs []blobVersion) (older, current []string, lock *upload.ObjectInfo) {
	if lock := versionsLock(vs); lock != nil {
		return nil, nil, lock
	}
	for _, v := range vs {
		switch {
		case v.id == "":
		case v.current:
			current = append(current, v.id)
		default:
			older = append(older, v.id)
		}
	}
	return older, current, nil
}

// versionLocks is the latest policy still in force (in the service's
// clock) among the versions of key, and whether any is under legal hold:
// one listing; nothing on a service without versioning.
func (s *Store) versionLocks(ctx context.Context, key string) (time.Time, bool, error) {
	vs, err := s.listVersions(ctx, key)
	if err != nil {
		return time.Time{}, false, s.wrap("list versions", key, err)
	}
	if lock := versionsLock(vs); lock != nil {
		return lock.RetainUntil, lock.LegalHold, nil
	}
	return time.Time{}, false, nil
}

// DeleteLock implements upload.DeleteLocker. On a container with
// version-level immutability (asked once per store: its properties),
// versions older than the listed one may hold locks of their own: one
// versions listing per key tells them all, as Delete joins them. Elsewhere
// (no versioning, or the container's properties not readable) the
// listing's lock is what Delete meets: upload.ErrLockListed, nothing asked.
func (s *Store) DeleteLock(ctx context.Context, key string) (*upload.LockedError, error) {
	if !s.versionedLocks(ctx) {
		return nil, upload.ErrLockListed
	}
	until, hold, err := s.versionLocks(ctx, key)
	if err != nil {
		return nil, err
	}
	if until.IsZero() && !hold {
		return nil, nil
	}
	oi := upload.ObjectInfo{RetainUntil: until, LegalHold: hold}
	return &upload.LockedError{RetainUntil: until, LegalHold: hold,
		Err: &Error{Op: "delete", Key: key, Msg: lockedText(oi), sentinel: upload.ErrLocked}}, nil
}

// versionedLocks reports whether the container has version-level
// immutability (its properties, read once).
func (s *Store) versionedLocks(ctx context.Context) bool {
	ask := func() bool {
		cp, err := s.cc.GetProperties(ctx, nil)
		return err == nil && cp.IsImmutableStorageWithVersioningEnabled != nil && *cp.IsImmutableStorageWithVersioningEnabled
	}
	v := s.versioned
	if v == nil {
		return ask()
	}
	v.once.Do(func() { v.yes = ask() })
	return v.yes
}

// deleteVersionIDs deletes the versions ids of key's blob. A version
// refused for a lock (one set since the listing) does not stop the others;
// the refusal then tells the latest policy and any hold among the versions
// refused, as the service tells them.
func (s *Store) deleteVersionIDs(ctx context.Context, key string, ids []string) error {
	name, err := s.name(key)
	if err != nil {
		return err
	}
	var locked *upload.LockedError
	for _, id := range ids {
		bc, err := s.cc.NewBlobClient(name).WithVersionID(id)
		if err != nil {
			return s.wrap("delete", key, err)
		}
		_, err = bc.Delete(ctx, nil)
		if err == nil || hasCode(err, "BlobNotFound") {
			continue
		}
		err = s.wrap("delete version "+id+" of", key, err)
		if !errors.Is(err, upload.ErrLocked) {
			return err
		}
		if locked == nil {
			locked = &upload.LockedError{Err: err}
		}
		if until, hold, lerr := s.versionLock(ctx, key, id); lerr == nil {
			if until.After(locked.RetainUntil) {
				locked.RetainUntil = until
			}
			locked.LegalHold = locked.LegalHold || hold
		}
	}
	if locked != nil {
		return locked
	}
	return nil
}

// versionLock is the lock of one version of key's blob (its properties).
func (s *Store) versionLock(ctx context.Context, key, id string) (time.Time, bool, error) {
	name, err := s.name(key)
	if err != nil {
		return time.Time{}, false, err
	}
	bc, err := s.cc.NewBlobClient(name).WithVersionID(id)
	if err != nil {
		return time.Time{}, false, err
	}
	p, err := bc.GetProperties(ctx, nil)
	if err != nil {
		return time.Time{}, false, err
	}
	oi := infoFromProps(key, p)
	if !oi.RetainUntil.After(answeredAt(p.Date)) {
		oi.RetainUntil = time.Time{}
	}
	return oi.RetainUntil, oi.LegalHold, nil
}

// LockInfo implements upload.Locker from the blob's properties.
func (s *Store) LockInfo(ctx context.Context, key string) (time.Time, bool, error) {
	oi, err := s.Stat(ctx, key)
	if err != nil {
		return time.Time{}, false, err
	}
	return oi.RetainUntil, oi.LegalHold, nil
}

// ExtendLock implements upload.Locker: when the blob's version-level
// immutability policy ends before need (or it has none), it sets one until
// until (never shortening it). A Locked policy stays Locked.
func (s *Store) ExtendLock(ctx context.Context, key string, need, until time.Time) error {
	bb, err := s.blob(key)
	if err != nil {
		return err
	}
	p, err := bb.GetProperties(ctx, nil)
	if err != nil {
		return s.wrap("extend lock", key, err)
	}
	if !until.After(answeredAt(p.Date)) {
		return nil // a policy cannot expire in the past (the service refuses it)
	}
	cur := infoFromProps(key, p).RetainUntil
	if !cur.IsZero() && (!cur.Before(need) || !until.After(cur)) {
		return nil
	}
	until = upload.WholeSecond(until) // the header has whole seconds: never earlier
	mode := blob.ImmutabilityPolicySettingUnlocked
	if s.locked || (p.ImmutabilityPolicyMode != nil && *p.ImmutabilityPolicyMode == blob.ImmutabilityPolicyModeLocked) {
		mode = blob.ImmutabilityPolicySettingLocked
	}
	if _, err := bb.SetImmutabilityPolicy(ctx, until.UTC(), &blob.SetImmutabilityPolicyOptions{Mode: &mode}); err != nil {
		return s.wrap("extend lock", key, err)
	}
	return nil
}

// SetLegalHold implements upload.Locker: a legal hold on the blob's
// current version (the container needs version-level immutability, as
// for the retention policy).
func (s *Store) SetLegalHold(ctx context.Context, key string) error {
	bb, err := s.blob(key)
	if err != nil {
		return err
	}
	if _, err := bb.SetLegalHold(ctx, true, nil); err != nil {
		return s.wrap("set legal hold", key, err)
	}
	return nil
}

// Thaw implements upload.Thawer: it starts rehydrating an Archive-tier
// blob to the Cool tier at standard priority.
func (s *Store) Thaw(ctx context.Context, key string, days int) (upload.Thawing, error) {
	bb, err := s.blob(key)
	if err != nil {
		return upload.Thawing{}, err
	}
	p, err := bb.GetProperties(ctx, nil)
	if err != nil {
		return upload.Thawing{}, s.wrap("thaw", key, err)
	}
	if p.ArchiveStatus != nil && strings.HasPrefix(*p.ArchiveStatus, "rehydrate-pending") {
		return upload.Thawing{State: upload.ThawRunning, Message: fmt.Sprintf("rehydration already in progress (%s, %s priority); come back in a few hours (standard priority takes up to 15 hours)", *p.ArchiveStatus, strOr(p.RehydratePriority, "Standard"))}, nil
	}
	if p.AccessTier == nil || !strings.EqualFold(*p.AccessTier, string(blob.AccessTierArchive)) {
		return upload.Thawing{State: upload.ThawOnline, Message: fmt.Sprintf("online already (tier %s): nothing to thaw", strOr(p.AccessTier, "default"))}, nil
	}
	_, err = bb.SetTier(ctx, blob.AccessTierCool, &blob.SetTierOptions{RehydratePriority: to.Ptr(blob.RehydratePriorityStandard)})
	if err != nil {
		return upload.Thawing{}, s.wrap("thaw", key, err)
	}
	back := time.Now().Add(15 * time.Hour).UTC().Format("2006-01-02 15:04 UTC")
	return upload.Thawing{State: upload.ThawStarted, Message: fmt.Sprintf("rehydration from Archive to Cool started (standard priority, up to 15 hours): come back after %s; the blob then stays in Cool (Azure has no %d-day temporary copy: move it back to Archive yourself if wanted)", back, days)}, nil
}

func strOr(p *string, def string) string {
	if p == nil || *p == "" {
		return def
	}
	return *p
}

// AbortStale implements upload.Janitor. Staged but never committed blocks
// of a failed upload are garbage-collected by Azure after 7 days; blobs
// that consist only of such blocks (no committed data) and were last
// touched before olderThan are deleted now. Uncommitted blocks attached to
// a committed blob are left to the service's collection.
func (s *Store) AbortStale(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	// Two listings in name order, walked side by side: the committed
	// blobs, and every blob with uncommitted ones among them. A name only
	// the second has holds uncommitted blocks alone. Memory stays one
	// page of each, however many chunks the host has.
	committed := s.walk(ctx, prefix, false)
	all := s.walk(ctx, prefix, true)
	n := 0
	for it := all.peek(); it != nil; it = all.peek() {
		all.next()
		name := *it.Name
		c := committed.peek()
		for c != nil && *c.Name < name {
			committed.next()
			c = committed.peek()
		}
		if committed.err != nil {
			return n, s.wrap("list", prefix, committed.err)
		}
		if c == nil || *c.Name != name {
			var t time.Time
			if it.Properties != nil && it.Properties.LastModified != nil {
				t = *it.Properties.LastModified
			} else if it.Properties != nil && it.Properties.CreationTime != nil {
				t = *it.Properties.CreationTime
			}
			if !t.IsZero() && t.Before(olderThan) {
				dropped, err := s.dropUncommitted(ctx, name)
				if err != nil {
					return n, s.wrap("abort stale upload", strings.TrimPrefix(name, s.prefix), err)
				}
				if dropped {
					n++
				}
			}
		}
	}
	if all.err != nil {
		return n, s.wrap("list uncommitted", prefix, all.err)
	}
	return n, nil
}

// listPage is the page size of AbortStale's listings (0: the service's,
// 5000); tests make it small.
var listPage int32

// nameWalk reads a flat listing one blob at a time, a page at a time.
type nameWalk struct {
	ctx   context.Context
	more  func() bool
	page  func(context.Context) ([]*container.BlobItem, error)
	items []*container.BlobItem
	err   error
}

func (s *Store) walk(ctx context.Context, prefix string, uncommitted bool) *nameWalk {
	o := &container.ListBlobsFlatOptions{Prefix: to.Ptr(s.prefix + prefix)}
	if listPage > 0 {
		o.MaxResults = to.Ptr(listPage)
	}
	if uncommitted {
		o.Include = container.ListBlobsInclude{UncommittedBlobs: true}
	}
	pager := s.cc.NewListBlobsFlatPager(o)
	return &nameWalk{ctx: ctx, more: pager.More, page: func(ctx context.Context) ([]*container.BlobItem, error) {
		p, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		return p.Segment.BlobItems, nil
	}}
}

// peek is the current blob (nil at the end, or after an error in w.err).
func (w *nameWalk) peek() *container.BlobItem {
	for w.err == nil {
		for len(w.items) > 0 && w.items[0].Name == nil {
			w.items = w.items[1:]
		}
		if len(w.items) > 0 {
			return w.items[0]
		}
		if !w.more() {
			return nil
		}
		w.items, w.err = w.page(w.ctx)
	}
	return nil
}

func (w *nameWalk) next() {
	if len(w.items) > 0 {
		w.items = w.items[1:]
	}
}

// dropUncommitted deletes a blob that has only uncommitted blocks, and
// says whether it did: it re-checks that nothing was committed in the
// meantime.
func (s *Store) dropUncommitted(ctx context.Context, name string) (bool, error) {
	bb := s.cc.NewBlockBlobClient(name)
	if _, err := bb.GetProperties(ctx, nil); err == nil {
		return false, nil // committed since the listing: not ours to touch
	} else if !hasCode(err, "BlobNotFound") && statusOf(err) != http.StatusNotFound {
		return false, err
	}
	_, err := bb.Delete(ctx, nil)
	if err != nil && (hasCode(err, "BlobNotFound") || statusOf(err) == http.StatusNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Probe implements upload.Prober: container, write, read, delete rights and
// what the container says about version-level immutability.
func (s *Store) Probe(ctx context.Context) (upload.ProbeReport, error) {
	rep := upload.ProbeReport{Versioning: "unknown", ObjectLock: "unknown"}
	cp, err := s.cc.GetProperties(ctx, nil)
	if err != nil {
		if hasCode(err, "ContainerNotFound") || statusOf(err) == http.StatusNotFound {
			rep.Missing = fmt.Sprintf("container %q does not exist in %s (create it: az storage container create -n %s)", s.container, s.serviceHost(), s.container)
			return rep, nil
		}
		if statusOf(err) != http.StatusForbidden {
			return rep, s.wrap("probe", "", err)
		}
		// A SAS scoped to blobs may not read container properties: go on.
		rep.Notes = append(rep.Notes, "cannot read the container's properties ("+s.wrap("probe", "", err).Error()+"); immutability support unknown")
	} else {
		rep.Exists = true
		if cp.IsImmutableStorageWithVersioningEnabled != nil && *cp.IsImmutableStorageWithVersioningEnabled {
			rep.ObjectLock, rep.Versioning = "enabled", "enabled"
			rep.Notes = append(rep.Notes, "version-level immutability is enabled on the container: policies set by lyncbackup are enforced")
		} else {
			rep.ObjectLock = "disabled"
			rep.Notes = append(rep.Notes, "version-level immutability is not enabled on the container: destination.immutability would be refused (enable it on the container or account; it needs blob versioning)")
		}
		if cp.HasImmutabilityPolicy != nil && *cp.HasImmutabilityPolicy {
			rep.Notes = append(rep.Notes, "the container has a container-level immutability policy: every blob (even the probe) is undeletable until it expires")
		}
		if cp.HasLegalHold != nil && *cp.HasLegalHold {
			rep.Notes = append(rep.Notes, "the container has a legal hold: nothing can be deleted")
		}
	}
	key := ".lyncbackup-probe-" + randHex(6)
	data := "lyncbackup probe " + time.Now().UTC().Format(time.RFC3339)
	if _, err := s.put(ctx, key, strings.NewReader(data), upload.PutOptions{ContentType: "text/plain"}, nil); err != nil {
		if errors.Is(err, upload.ErrNotFound) { // the container, gone or not readable before
			rep.Missing = "write failed: " + err.Error()
		} else {
			rep.Failures = append(rep.Failures, "write failed: "+err.Error())
		}
		return rep, nil
	}
	rep.Exists, rep.Writable = true, true
	if rc, err := s.Get(ctx, key, 0, -1); err != nil {
		rep.Failures = append(rep.Failures, "read failed: "+err.Error())
	} else {
		b := make([]byte, len(data)+1)
		n, _ := io.ReadFull(rc, b)
		rc.Close()
		if string(b[:n]) == data {
			rep.Readable = true
		} else {
			rep.Failures = append(rep.Failures, "read back different data than written")
		}
	}
	if err := s.Delete(ctx, key); err != nil {
		rep.Failures = append(rep.Failures, "delete failed: "+err.Error())
	} else {
		rep.Deletable = true
	}
	if s.tier != nil {
		rep.Notes = append(rep.Notes, "new blobs go to the "+string(*s.tier)+" tier")
	}
	return rep, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// Now implements upload.Clock: the Date of the service's answer to a
// one-blob listing (whole seconds, so at most the store's present time). It
// asks with the permission every reader needs (listing), and writes nothing.
func (s *Store) Now(ctx context.Context) (time.Time, error) {
	pager := s.cc.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{Prefix: to.Ptr(s.prefix), MaxResults: to.Ptr(int32(1))})
	page, err := pager.NextPage(ctx)
	if err != nil {
		return time.Time{}, s.wrap("list", "", err)
	}
	if page.Date == nil || page.Date.IsZero() {
		return time.Time{}, fmt.Errorf("%s: the service's answer carried no Date", s)
	}
	return page.Date.UTC(), nil
}
