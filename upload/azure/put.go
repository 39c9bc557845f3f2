package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/lyncbackup/lyncbackup/upload"
)

// blockSizeFor is the size of block i (0-based) of a staged upload: the
// base size, doubled every step blocks (capped at the service maximum), so
// that 50,000 blocks hold ~31,000 base blocks' worth (8 MiB: ~2.4 TiB).
func blockSizeFor(base int64, i, step int) int64 {
	sz := base
	for k := i / step; k > 0 && sz < maxBlockSize; k-- {
		sz *= 2
	}
	return min(sz, maxBlockSize)
}

// blockID is fixed-length (all ids of a blob must have the same length):
// base64 of "<12 hex nonce>-<10 digit index>". The nonce keeps blocks of
// different attempts at the same key apart.
func blockID(nonce string, i int) string {
	return base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "%s-%010d", nonce, i))
}

// bufPool hands out at most max buffers; only one goroutine (the reader)
// calls get, any goroutine calls put. Buffers smaller than the size asked
// for (after the block size grew) are dropped and replaced.
type bufPool struct {
	max, n int
	free   chan []byte
}

func newBufPool(max int) *bufPool { return &bufPool{max: max, free: make(chan []byte, max)} }

func (p *bufPool) get(ctx context.Context, size int64) ([]byte, error) {
	for {
		select {
		case b := <-p.free:
			if int64(cap(b)) >= size {
				return b[:size], nil
			}
			p.n-- // too small now: let the GC have it
			continue
		default:
		}
		if p.n < p.max {
			p.n++
			return make([]byte, size), nil
		}
		select {
		case b := <-p.free:
			if int64(cap(b)) >= size {
				return b[:size], nil
			}
			p.n--
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (p *bufPool) put(b []byte) { p.free <- b }

// Put implements upload.Store. A stream that fits in one block is sent with
// one Put Blob; a longer one is staged as blocks (Concurrency in flight,
// each with its Content-MD5, which the service checks) and appears only
// when the block list is committed, with the tier, immutability policy and
// legal hold applied atomically at commit. Memory: at most Concurrency+1
// block buffers (reused) per Put.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, opts upload.PutOptions) (upload.ObjectInfo, error) {
	return s.put(ctx, key, r, opts, s.tier)
}

type commitOpts struct {
	tier      *blob.AccessTier
	legalHold *bool
	mode      *blob.ImmutabilityPolicySetting
	until     *time.Time
	headers   *blob.HTTPHeaders
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
	return c
}

func (s *Store) put(ctx context.Context, key string, r io.Reader, opts upload.PutOptions, tier *blob.AccessTier) (upload.ObjectInfo, error) {
	bb, err := s.blob(key)
	if err != nil {
		return upload.ObjectInfo{}, err
	}
	co := s.commitOptions(opts, tier)
	pool := newBufPool(s.concurrency + 1)
	first, err := pool.get(ctx, s.blockSize)
	if err != nil {
		return upload.ObjectInfo{}, s.wrap("put", key, err)
	}
	n, rerr := io.ReadFull(r, first)
	switch {
	case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
		return s.putSingle(ctx, bb, key, first[:n], co)
	case rerr != nil:
		return upload.ObjectInfo{}, fmt.Errorf("put %s: read: %w", key, rerr)
	}
	return s.putBlocks(ctx, bb, key, r, first, pool, co)
}

func (s *Store) putSingle(ctx context.Context, bb *blockblob.Client, key string, data []byte, co commitOpts) (upload.ObjectInfo, error) {
	sum := md5.Sum(data)
	resp, err := bb.Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		Tier: co.tier, HTTPHeaders: co.headers, LegalHold: co.legalHold,
		ImmutabilityPolicyMode: co.mode, ImmutabilityPolicyExpiryTime: co.until,
		TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
	})
	if err != nil {
		// A retried Put Blob whose first attempt landed is refused on an
		// immutable blob: it is ours if size and MD5 match.
		if ctx.Err() == nil && hasCode(err, "BlobImmutableDueToPolicy", "BlobImmutableDueToLegalHold") {
			if p, perr := bb.GetProperties(ctx, nil); perr == nil && to0(p.ContentLength) == int64(len(data)) && bytes.Equal(p.ContentMD5, sum[:]) {
				return s.infoAfterPut(key, int64(len(data)), p.LastModified, co), nil
			}
		}
		return upload.ObjectInfo{}, s.wrap("put", key, err)
	}
	return s.infoAfterPut(key, int64(len(data)), resp.LastModified, co), nil
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

func (s *Store) putBlocks(ctx context.Context, bb *blockblob.Client, key string, r io.Reader, first []byte, pool *bufPool, co commitOpts) (upload.ObjectInfo, error) {
	ctx2, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	nonce := randHex(6)
	var (
		ids   []string
		total int64
		wg    sync.WaitGroup
		sem   = make(chan struct{}, s.concurrency)
		fail  = func(err error) { cancel(err) }
	)
	stage := func(i int, id string, b []byte) {
		defer wg.Done()
		defer func() { <-sem }()
		defer pool.put(b)
		sum := md5.Sum(b)
		_, err := bb.StageBlock(ctx2, id, streaming.NopCloser(bytes.NewReader(b)), &blockblob.StageBlockOptions{
			TransactionalValidation: blob.TransferValidationTypeMD5(sum[:]),
		})
		if err != nil {
			fail(s.wrap(fmt.Sprintf("put (block %d)", i), key, err))
		}
	}
	var readErr error
	buf, last := first, false
	for i := 0; ; {
		// buf holds block i (not empty).
		if i >= s.maxBlocks {
			pool.put(buf)
			readErr = fmt.Errorf("put %s: stream longer than %d blocks (%d bytes so far): raise destination.part_size", key, s.maxBlocks, total)
			fail(readErr)
			break
		}
		id := blockID(nonce, i)
		ids = append(ids, id)
		total += int64(len(buf))
		select {
		case sem <- struct{}{}:
		case <-ctx2.Done():
			pool.put(buf)
		}
		if ctx2.Err() != nil {
			break
		}
		wg.Add(1)
		go stage(i, id, buf)
		if last {
			break
		}
		i++
		var err error
		if buf, err = pool.get(ctx2, blockSizeFor(s.blockSize, i, s.stepBlocks)); err != nil {
			break
		}
		n, rerr := io.ReadFull(r, buf)
		switch {
		case rerr == io.EOF:
			pool.put(buf)
		case rerr == io.ErrUnexpectedEOF:
			buf, last = buf[:n], true
			continue
		case rerr != nil:
			pool.put(buf)
			readErr = fmt.Errorf("put %s: read: %w", key, rerr)
			fail(readErr)
		default:
			continue
		}
		break
	}
	wg.Wait()
	if err := context.Cause(ctx2); err != nil {
		s.cleanupFailed(ctx, bb)
		if readErr != nil {
			return upload.ObjectInfo{}, readErr
		}
		return upload.ObjectInfo{}, s.wrap("put", key, err)
	}
	resp, err := bb.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
		Tier: co.tier, HTTPHeaders: co.headers, LegalHold: co.legalHold,
		ImmutabilityPolicyMode: co.mode, ImmutabilityPolicyExpiryTime: co.until,
	})
	if err != nil {
		// The commit may have landed and only its answer been lost (a retry
		// is then refused, e.g. on an immutable blob): our nonce'd block
		// list being the committed one proves it.
		if ctx.Err() == nil && s.committedIs(ctx, bb, ids) {
			return s.infoAfterPut(key, total, nil, co), nil
		}
		s.cleanupFailed(ctx, bb)
		return upload.ObjectInfo{}, s.wrap("put (commit)", key, err)
	}
	return s.infoAfterPut(key, total, resp.LastModified, co), nil
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

// cleanupFailed drops the uncommitted blocks of a failed upload when no
// committed blob exists under the name (a committed one is never touched;
// its stray blocks expire after 7 days, and AbortStale gets the rest). It
// runs even when ctx was cancelled, with its own short deadline.
func (s *Store) cleanupFailed(ctx context.Context, bb *blockblob.Client) {
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	// A block whose request was cut off client-side may still land on the
	// server a moment later: delete, then check, a few times.
	for attempt := 0; attempt < 5; attempt++ {
		if _, err := bb.GetProperties(cctx, nil); err == nil || (!hasCode(err, "BlobNotFound") && statusOf(err) != http.StatusNotFound) {
			return // committed (not ours to touch) or the service is unreachable
		}
		_, _ = bb.Delete(cctx, nil)
		select {
		case <-time.After(time.Duration(attempt+1) * 100 * time.Millisecond):
		case <-cctx.Done():
			return
		}
		if _, err := bb.GetBlockList(cctx, blockblob.BlockListTypeUncommitted, nil); err != nil && (hasCode(err, "BlobNotFound") || statusOf(err) == http.StatusNotFound) {
			return
		}
	}
}
