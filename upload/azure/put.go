package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/parts"
)

// blockID is fixed-length (all ids of a blob must have the same length):
// base64 of "<12 hex nonce>-<10 digit index>". The nonce keeps blocks of
// different attempts at the same key apart.
func blockID(nonce string, i int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s-%010d", nonce, i))
}

// Put implements upload.Store. A stream that fits in one block is sent with
// one Put Blob; a longer one is staged as blocks through upload/parts
// (Concurrency in flight, each with its Content-MD5, which the service
// checks) and appears only when the block list is committed, with the tier,
// immutability policy and legal hold applied atomically at commit. Memory:
// at most Concurrency+1 block buffers (reused) per Put.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts upload.PutOptions) (upload.ObjectInfo, error) {
	tier := s.tier
	if opts.Online && tier != nil && *tier == blob.AccessTierArchive {
		tier = nil // the account's default tier: readable at once
	}
	return s.put(ctx, key, r, opts, tier)
}

type commitOpts struct {
	tier      *blob.AccessTier
	legalHold *bool
	mode      *blob.ImmutabilityPolicySetting
	until     *time.Time
	headers   *blob.HTTPHeaders
	metadata  map[string]*string
}

func (s *Store) commitOptions(opts upload.PutOptions, tier *blob.AccessTier) commitOpts {
	c := commitOpts{tier: tier}
	if !opts.RetainUntil.IsZero() {
		mode := blob.ImmutabilityPolicySettingUnlocked
		if s.locked {
			mode = blob.ImmutabilityPolicySettingLocked
		}
		c.mode, c.until = &mode, to.Ptr(opts.RetainUntil.UTC())
	}
	if opts.LegalHold {
		c.legalHold = to.Ptr(true)
	}
	if opts.ContentType != "" {
		c.headers = &blob.HTTPHeaders{BlobContentType: to.Ptr(opts.ContentType)}
	}
	if opts.SHA256 != "" {
		c.metadata = map[string]*string{upload.MetaSHA256: to.Ptr(opts.SHA256)}
	}
	return c
}

// limits are Azure's block rules for the shared part pipeline.
func (s *Store) limits() parts.Limits {
	return parts.Limits{PartSize: s.blockSize, GrowEvery: s.stepBlocks, MaxPartSize: maxBlockSize,
		MaxParts: s.maxBlocks, Concurrency: s.concurrency, Unit: "blocks"}
}

func (s *Store) put(ctx context.Context, key string, r io.Reader, opts upload.PutOptions, tier *blob.AccessTier) (upload.ObjectInfo, error) {
	bb, err := s.blob(key)
	if err != nil {
		return upload.ObjectInfo{}, err
	}
	t := &target{s: s, bb: bb, key: key, co: s.commitOptions(opts, tier)}
	total, err := parts.Put(ctx, r, s.bufs, s.limits(), t)
	if err != nil {
		var pe *parts.Error
		if errors.As(err, &pe) {
			if errors.Is(pe.Err, context.Canceled) || errors.Is(pe.Err, context.DeadlineExceeded) {
				return upload.ObjectInfo{}, s.wrap("put", key, pe.Err)
			}
			// The input's own error stays reachable (errors.Is/As).
			return upload.ObjectInfo{}, fmt.Errorf("azure: put %s: %w", key, err)
		}
		return upload.ObjectInfo{}, err
	}
	return s.infoAfterPut(key, total, t.mod, t.co), nil
}

// target is one blob being written: Azure's side of parts.Target and
// parts.Upload (a block upload needs no call to begin).
type target struct {
	s     *Store
	bb    *blockblob.Client
	key   string
	co    commitOpts
	nonce string
	mod   *time.Time
}

func (t *target) Single(ctx context.Context, data []byte) error {
	mod, err := t.s.putSingle(ctx, t.bb, t.key, data, t.co)
	t.mod = mod
	return err
}

func (t *target) Begin(context.Context) (parts.Upload, error) {
	t.nonce = randHex(6)
	return t, nil
}

func (t *target) Stage(ctx context.Context, n int, data []byte) error {
	sum := md5.Sum(data)
	_, err := t.bb.StageBlock(ctx, blockID(t.nonce, n-1), streaming.NopCloser(bytes.NewReader(data)), &blockblob.StageBlockOptions{
		TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
	})
	if err != nil {
		return t.s.wrap(fmt.Sprintf("put (block %d)", n-1), t.key, err)
	}
	return nil
}

func (t *target) Commit(ctx context.Context, n int, _ int64) error {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = blockID(t.nonce, i)
	}
	resp, err := t.bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
		Tier: t.co.tier, HTTPHeaders: t.co.headers, LegalHold: t.co.legalHold, Metadata: t.co.metadata,
		ImmutabilityPolicyMode: t.co.mode, ImmutabilityPolicyExpiryTime: t.co.until,
	})
	if err != nil {
		// The commit may have landed and only its answer been lost (a retry
		// is then refused, e.g. on an immutable blob): our nonce'd block
		// list being the committed one proves it.
		if ctx.Err() == nil && t.s.committedIs(ctx, t.bb, ids) {
			return nil
		}
		return t.s.wrap("put (commit)", t.key, err)
	}
	t.mod = resp.LastModified
	return nil
}

// Abort drops the uncommitted blocks when no committed blob holds the name
// (a committed one is never touched; its stray blocks expire after 7 days,
// and AbortStale gets the rest).
func (t *target) Abort(ctx context.Context) error {
	if _, err := t.bb.GetProperties(ctx, nil); err == nil {
		return parts.ErrNothingToAbort
	} else if !hasCode(err, "BlobNotFound") && statusOf(err) != http.StatusNotFound {
		return t.s.wrap("remove staged blocks", t.key, err)
	}
	_, _ = t.bb.Delete(ctx, nil)
	return nil
}

func (t *target) Gone(ctx context.Context) (bool, error) {
	_, err := t.bb.GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
	if err != nil && (hasCode(err, "BlobNotFound") || statusOf(err) == http.StatusNotFound) {
		return true, nil
	}
	return false, err
}

func (s *Store) putSingle(ctx context.Context, bb *blockblob.Client, key string, data []byte, co commitOpts) (*time.Time, error) {
	sum := md5.Sum(data)
	resp, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		Tier: co.tier, HTTPHeaders: co.headers, LegalHold: co.legalHold, Metadata: co.metadata,
		ImmutabilityPolicyMode: co.mode, ImmutabilityPolicyExpiryTime: co.until,
		TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
	})
	if err != nil {
		// A retried Put Blob whose first attempt landed is refused on an
		// immutable blob: it is ours if size and MD5 match.
		if ctx.Err() == nil && hasCode(err, "BlobImmutableDueToPolicy", "BlobImmutableDueToLegalHold") {
			if p, perr := bb.GetProperties(ctx, nil); perr == nil && to0(p.ContentLength) == int64(len(data)) && bytes.Equal(p.ContentMD5, sum[:]) {
				return p.LastModified, nil
			}
		}
		return nil, s.wrap("put", key, err)
	}
	return resp.LastModified, nil
}

func (s *Store) infoAfterPut(key string, size int64, mod *time.Time, co commitOpts) upload.ObjectInfo {
	oi := upload.ObjectInfo{Key: key, Size: size, LegalHold: co.legalHold != nil}
	if mod != nil {
		oi.ModTime = *mod
	}
	if co.until != nil {
		oi.RetainUntil = *co.until
	}
	if co.tier != nil {
		oi.Tier = string(*co.tier)
		oi.Archived = *co.tier == blob.AccessTierArchive
	}
	return oi
}

func (s *Store) committedIs(ctx context.Context, bb *blockblob.Client, ids []string) bool {
	bl, err := bb.GetBlockList(ctx, blockblob.BlockListTypeCommitted, nil)
	if err != nil || len(bl.CommittedBlocks) != len(ids) {
		return false
	}
	got := make([]string, 0, len(ids))
	for _, b := range bl.CommittedBlocks {
		if b.Name == nil {
			return false
		}
		got = append(got, *b.Name)
	}
	return slices.Equal(got, ids)
}
