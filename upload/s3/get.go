package s3

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/parts"
)

// maxChunk caps the download chunk: ranges of 8-16 MiB keep a few requests
// in flight without holding much memory.
const maxChunk = 16 << 20

func (s *Store) chunkSize() int64 {
	if s.opt.PartSize < maxChunk {
		return s.opt.PartSize
	}
	return maxChunk
}

// archived tells whether an object in storage class sc with restore status
// restore (the x-amz-restore header) can not be read yet.
func archived(sc types.StorageClass, restore *string) bool {
	if sc != types.StorageClassGlacier && sc != types.StorageClassDeepArchive {
		return false
	}
	return restore == nil || !strings.Contains(*restore, `ongoing-request="false"`)
}

func archivedError(op, key string, sc types.StorageClass, restore *string) error {
	var msg string
	switch {
	case restore != nil && strings.Contains(*restore, `ongoing-request="true"`):
		msg = fmt.Sprintf("object is in storage class %s and its restore is still running: come back later (GLACIER takes 3-5 hours, DEEP_ARCHIVE up to 12 hours)", sc)
	default:
		msg = fmt.Sprintf("object is in storage class %s and must be restored before it can be read: run restore with --thaw (or restore it in the S3 console), then come back in 3-5 hours (DEEP_ARCHIVE: up to 12 hours)", sc)
	}
	return &opError{op: op, key: key, kind: upload.ErrArchived, detail: msg}
}

// Get implements upload.Store. The object is read as a stream of ranged
// GETs through upload/parts: Concurrency chunks in flight and delivered in
// order, memory Concurrency × chunk size, a chunk whose body fails mid-way
// resumed from where it stopped, and the first chunk that fails for good
// stopping the others.
func (s *Store) Get(ctx context.Context, key string, offset, length int64) (io.ReadCloser, error) {
	full, err := s.full(key)
	if err != nil {
		return nil, opErr("get", key, err)
	}
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full)})
	if err != nil {
		if isNotFound(err) {
			return nil, &opError{op: "get", key: key, kind: upload.ErrNotFound, err: err, detail: "object not found"}
		}
		return nil, opErr("get", key, err)
	}
	if archived(head.StorageClass, head.Restore) {
		return nil, archivedError("get", key, head.StorageClass, head.Restore)
	}
	size := aws.ToInt64(head.ContentLength)
	if offset < 0 || offset > size {
		return nil, opErr("get", key, fmt.Errorf("offset %d outside the object's %d bytes", offset, size))
	}
	end := size
	if length >= 0 && offset+length < size {
		end = offset + length
	}
	fetch := func(ctx context.Context, off int64, dst []byte) (int, error) {
		want := fmt.Sprintf("bytes=%d-%d", off, off+int64(len(dst))-1)
		out, err := s.client.GetObject(ctx, &s3.GetObjectInput{
			Bucket: aws.String(s.opt.Bucket), Key: aws.String(full), Range: aws.String(want), IfMatch: head.ETag,
		})
		if err != nil { // the SDK has retried the request itself
			switch errCode(err) {
			case "PreconditionFailed":
				return 0, parts.Permanent(opErr("get", key, errors.New("object changed while it was being read")))
			case "InvalidObjectState":
				return 0, parts.Permanent(archivedError("get", key, types.StorageClassGlacier, nil))
			}
			return 0, parts.Permanent(opErr("get", key, err))
		}
		defer out.Body.Close()
		if out.ContentLength != nil && *out.ContentLength != int64(len(dst)) {
			return 0, parts.Permanent(opErr("get", key, fmt.Errorf("asked for %s, the server sent %d bytes (Range not honoured)", want, *out.ContentLength)))
		}
		n, err := io.ReadFull(out.Body, dst)
		if err != nil {
			err = errors.New(describe(err))
		}
		return n, err
	}
	cfg := parts.ReadConfig{Chunk: s.chunkSize(), Concurrency: s.opt.Concurrency, MaxAttempts: s.opt.MaxAttempts,
		Wrap: func(err error) error { return opErr("get", key, err) }}
	return parts.NewReader(ctx, &s.bufs, cfg, offset, end, fetch), nil
}

// ReadWhole implements upload.WholeReader: restore reads every chunk, whose
// size the manifest gives, with this one GET (no HEAD first, no Range),
// straight into buf. An object of another size is refused on the
// response's Content-Length before a byte of it is read. A body that
// breaks off is resumed from the byte reached with a ranged GET on the
// first response's ETag (as Get does). The SDK's CRC32C check of the
// response is left out: every caller checks the SHA-256 of what it read
// against its manifest, which catches what the CRC32C would and more.
func (s *Store) ReadWhole(ctx context.Context, key string, buf []byte) (int64, error) {
	full, err := s.full(key)
	if err != nil {
		return 0, opErr("get", key, err)
	}
	var etag *string
	var size int64
	open := func(ctx context.Context, off int64) (io.ReadCloser, int64, error) {
		in := &s3.GetObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full)}
		if off > 0 {
			in.Range = aws.String(fmt.Sprintf("bytes=%d-", off))
			if size >= 0 {
				in.Range = aws.String(fmt.Sprintf("bytes=%d-%d", off, size-1))
			}
			in.IfMatch = etag
		}
		out, err := s.client.GetObject(ctx, in, noResponseChecksum)
		if err != nil { // the SDK has retried the request itself
			switch code := errCode(err); {
			case isNotFound(err):
				return nil, 0, parts.Permanent(&opError{op: "get", key: key, kind: upload.ErrNotFound, err: err, detail: "object not found"})
			case code == "PreconditionFailed":
				return nil, 0, parts.Permanent(opErr("get", key, errors.New("object changed while it was being read")))
			case code == "InvalidObjectState":
				return nil, 0, parts.Permanent(s.archivedGet(ctx, key, full))
			}
			return nil, 0, parts.Permanent(opErr("get", key, err))
		}
		n := int64(-1)
		if out.ContentLength != nil {
			n = *out.ContentLength
		}
		if off == 0 {
			etag, size = out.ETag, n
			return &describedBody{out.Body}, n, nil
		}
		if size >= 0 && n != size-off {
			out.Body.Close()
			return nil, 0, parts.Permanent(opErr("get", key, fmt.Errorf("asked for %s, the server sent %d bytes (Range not honoured)", *in.Range, n)))
		}
		return &describedBody{out.Body}, n, nil
	}
	cfg := parts.ReadConfig{MaxAttempts: s.opt.MaxAttempts, Wrap: func(err error) error { return opErr("get", key, err) }}
	return parts.ReadWhole(ctx, cfg, buf, open)
}

// noResponseChecksum leaves out the SDK's checksum check of a response
// (see ReadWhole).
func noResponseChecksum(o *s3.Options) {
	o.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
}

// archivedGet explains a GET refused with InvalidObjectState: a HEAD tells
// the storage class and whether a restore is under way.
func (s *Store) archivedGet(ctx context.Context, key, full string) error {
	head, err := s.client.HeadObject(ctx, &s3.HeadObjectInput{Bucket: aws.String(s.opt.Bucket), Key: aws.String(full)})
	if err != nil || !archived(head.StorageClass, head.Restore) {
		return archivedError("get", key, types.StorageClassGlacier, nil)
	}
	return archivedError("get", key, head.StorageClass, head.Restore)
}

// describedBody renders a body's read errors as describe does (one line,
// no URL).
type describedBody struct{ io.ReadCloser }

func (b *describedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	if err != nil && err != io.EOF {
		err = errors.New(describe(err))
	}
	return n, err
}
