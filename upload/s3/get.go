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

// cold is what a HEAD tells of an object's archive state.
type cold struct {
	class   types.StorageClass
	archive types.ArchiveStatus // set only while INTELLIGENT_TIERING keeps it in an archive tier
	restore *string             // the x-amz-restore header
}

func coldOf(h *s3.HeadObjectOutput) cold {
	return cold{class: h.StorageClass, archive: h.ArchiveStatus, restore: h.Restore}
}

// archived tells whether the object can not be read yet: GLACIER or
// DEEP_ARCHIVE without a finished restore, or INTELLIGENT_TIERING in its
// Archive Access or Deep Archive Access tier (a restore moves it back to
// Frequent Access, and the archive status goes with it).
func (c cold) archived() bool {
	if c.archive != "" {
		return true
	}
	if c.class != types.StorageClassGlacier && c.class != types.StorageClassDeepArchive {
		return false
	}
	return c.restore == nil || !strings.Contains(*c.restore, `ongoing-request="false"`)
}

// running: a restore was asked for and has not finished.
func (c cold) running() bool {
	return c.restore != nil && strings.Contains(*c.restore, `ongoing-request="true"`)
}

// name is the storage class, with INTELLIGENT_TIERING's archive tier.
func (c cold) name() string {
	switch {
	case c.archive != "" && c.class != "":
		return fmt.Sprintf("%s (%s)", c.class, c.archive)
	case c.archive != "":
		return fmt.Sprintf("INTELLIGENT_TIERING (%s)", c.archive)
	case c.class == "":
		return "an archive tier"
	}
	return string(c.class)
}

// wait is how long a Standard restore takes.
func (c cold) wait() string {
	switch {
	case c.class == types.StorageClassDeepArchive || c.archive == types.ArchiveStatusDeepArchiveAccess:
		return "up to 12 hours"
	case c.class == types.StorageClassGlacier || c.archive == types.ArchiveStatusArchiveAccess:
		return "3-5 hours"
	}
	return "3-5 hours (DEEP_ARCHIVE: up to 12 hours)"
}

// archivedError says why an object can not be read and what to do. The
// zero cold is for a GET refused without a HEAD that tells more.
func archivedError(op, key string, c cold) error {
	where := "storage class " + c.name()
	if c.class == "" && c.archive == "" {
		where = c.name()
	}
	var msg string
	thaw := !c.running()
	if thaw {
		msg = fmt.Sprintf("object is in %s and must be restored before it can be read: run restore with --thaw (or restore it in the S3 console), then come back in %s", where, c.wait())
	} else {
		msg = fmt.Sprintf("object is in %s and its restore is still running: come back later (it takes %s)", where, c.wait())
	}
	return &opError{op: op, key: key, kind: upload.ErrArchived, detail: msg, thaw: thaw}
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
	if c := coldOf(head); c.archived() {
		return nil, archivedError("get", key, c)
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
				return 0, parts.Permanent(archivedError("get", key, cold{}))
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
	if err != nil || !coldOf(head).archived() {
		return archivedError("get", key, cold{})
	}
	return archivedError("get", key, coldOf(head))
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
