package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
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
	if err := archivedErr(key, p.AccessTier, p.ArchiveStatus); err != nil {
		return nil, err
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
		// A service or middlebox that ignored the range answers with the
		// whole blob (x-ms-range is not part of a SAS signature): its first
		// bytes are not this range's.
		if resp.ContentLength != nil && *resp.ContentLength != int64(len(dst)) {
			return 0, parts.Permanent(&Error{Op: "get", Key: key, Msg: fmt.Sprintf("asked for bytes %d-%d, the service sent %d bytes (Range not honoured)", off, off+int64(len(dst))-1, *resp.ContentLength)})
		}
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

// archivedErr explains a blob in the Archive tier (nil for any other tier).
func archivedErr(key string, tier, status *string) error {
	if tier == nil || !strings.EqualFold(*tier, string(blob.AccessTierArchive)) {
		return nil
	}
	msg := "blob is in the Archive tier: it must be rehydrated to Hot or Cool before it can be read (standard priority takes up to 15 hours, high priority under 1 hour for small blobs)"
	if status != nil && strings.HasPrefix(*status, "rehydrate-pending") {
		msg = "blob is being rehydrated from the Archive tier (" + *status + "): try again in a few hours"
	}
	return &Error{Op: "get", Key: key, Code: "BlobArchived", Msg: msg, sentinel: upload.ErrArchived}
}

// ReadWhole implements upload.WholeReader: restore reads every chunk, whose
// size the manifest gives, with this one download (no properties request
// first, no Range), straight into buf. A blob of another size is refused
// on the response's Content-Length before a byte of it is read. A body
// that breaks off is resumed from the byte reached with a ranged download
// on the first response's ETag (as Get does). An Archive-tier blob is
// explained as Get explains it (one properties request, on that error
// only).
func (s *Store) ReadWhole(ctx context.Context, key string, buf []byte) (int64, error) {
	bb, err := s.blob(key)
	if err != nil {
		return 0, err
	}
	var etag *azcore.ETag
	var size int64
	open := func(ctx context.Context, off int64) (io.ReadCloser, int64, error) {
		var opt blob.DownloadStreamOptions
		if off > 0 {
			opt.Range = blob.HTTPRange{Offset: off}
			if size >= 0 {
				opt.Range.Count = size - off
			}
			opt.AccessConditions = &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: etag}}
		}
		resp, err := bb.DownloadStream(ctx, &opt)
		if err != nil { // the SDK has retried the request itself
			switch st := statusOf(err); {
			case st == http.StatusPreconditionFailed:
				return nil, 0, parts.Permanent(&Error{Op: "get", Key: key, StatusCode: st, Code: "ConditionNotMet", Msg: "the blob changed while it was being read"})
			case hasCode(err, "BlobArchived", "BlobBeingRehydrated"):
				if p, perr := bb.GetProperties(ctx, nil); perr == nil {
					if aerr := archivedErr(key, p.AccessTier, p.ArchiveStatus); aerr != nil {
						return nil, 0, parts.Permanent(aerr)
					}
				}
			}
			return nil, 0, parts.Permanent(s.wrap("get", key, err))
		}
		n := int64(-1)
		if resp.ContentLength != nil {
			n = *resp.ContentLength
		}
		if off == 0 {
			etag, size = resp.ETag, n
		} else if size >= 0 && n != size-off {
			resp.Body.Close()
			return nil, 0, parts.Permanent(&Error{Op: "get", Key: key, Msg: fmt.Sprintf("asked for bytes %d-%d, the service sent %d bytes (Range not honoured)", off, size-1, n)})
		}
		return &scrubbedBody{resp.Body, s}, n, nil
	}
	cfg := parts.ReadConfig{MaxAttempts: s.rangeTries, Wrap: func(err error) error {
		if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
			return s.wrap("get", key, err)
		}
		return &Error{Op: "get", Key: key, Msg: s.scrub(err.Error())}
	}}
	return parts.ReadWhole(ctx, cfg, buf, open)
}

// scrubbedBody renders a body's read errors without secrets, on one line.
type scrubbedBody struct {
	io.ReadCloser
	s *Store
}

func (b *scrubbedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = errors.New(b.s.scrub(err.Error()))
	}
	return n, err
}
