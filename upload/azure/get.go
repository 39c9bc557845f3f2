package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/parts"
)

// Get implements upload.Store. The object is read through upload/parts as
// ranges of BlockSize, Concurrency of them in flight, handed out in order;
// memory is bounded by Concurrency range buffers. A range whose body breaks
// off is resumed from the byte reached (while the blob's ETag is
// unchanged), and the first range that fails for good stops the others. An
// Archive-tier blob yields an error wrapping upload.ErrArchived that
// explains rehydration.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	bb, err := s.blob(key)
	if err != nil {
		return nil, err
	}
	p, err := bb.GetProperties(ctx, nil)
	if err != nil {
		return nil, s.wrap("get", key, err)
	}
	if p.AccessTier != nil && strings.EqualFold(*p.AccessTier, string(blob.AccessTierArchive)) {
		msg := "blob is in the Archive tier: it must be rehydrated to Hot or Cool before it can be read (standard priority takes up to 15 hours, high priority under 1 hour for small blobs)"
		if p.ArchiveStatus != nil && strings.HasPrefix(*p.ArchiveStatus, "rehydrate-pending") {
			msg = "blob is being rehydrated from the Archive tier (" + *p.ArchiveStatus + "): try again in a few hours"
		}
		return nil, &Error{Op: "get", Key: key, Code: "BlobArchived", Msg: msg, sentinel: upload.ErrArchived}
	}
	size := to0(p.ContentLength)
	if offset < 0 || offset > size {
		return nil, fmt.Errorf("azure: get %s: offset %d outside the object (%d bytes)", key, offset, size)
	}
	end := size
	if length >= 0 && offset+length < size {
		end = offset + length
	}
	etag := p.ETag
	fetch := func(ctx context.Context, off int64, dst []byte) (int, error) {
		resp, err := bb.DownloadStream(ctx, &blob.DownloadStreamOptions{
			Range:            blob.HTTPRange{Offset: off, Count: int64(len(dst))},
			AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: etag}},
		})
		if err != nil { // the SDK has retried the request itself
			if st := statusOf(err); st == http.StatusPreconditionFailed {
				return 0, parts.Permanent(&Error{Op: "get", Key: key, StatusCode: st, Code: "ConditionNotMet", Msg: "the blob changed while it was being read"})
			}
			return 0, parts.Permanent(s.wrap(fmt.Sprintf("get (bytes %d-%d)", off, off+int64(len(dst))-1), key, err))
		}
		defer resp.Body.Close()
		n, err := io.ReadFull(resp.Body, dst)
		if err != nil {
			err = errors.New(s.scrub(err.Error()))
		}
		return n, err
	}
	cfg := parts.ReadConfig{Chunk: s.blockSize, Concurrency: s.concurrency, MaxAttempts: s.rangeTries,
		Wrap: func(err error) error {
			if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
				return s.wrap("get", key, err)
			}
			return &Error{Op: "get", Key: key, Msg: s.scrub(err.Error())}
		}}
	return parts.NewReader(ctx, s.bufs, cfg, offset, end, fetch), nil
}
