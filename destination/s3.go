package destination

import (
	"context"
	"net/url"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/s3"
)

func init() { Register("s3", openS3) }

// s3Options maps the destination section onto the S3 backend's options.
// The URL's query (s3://bucket/prefix?region=&endpoint=&path_style=true)
// fills what the config leaves empty, so `restore --from` on a bare machine
// can name an S3-compatible store with the URL alone.
func s3Options(d config.Destination) (s3.Options, error) {
	o := s3.Options{
		Region: d.Region, Endpoint: d.Endpoint, PathStyle: d.PathStyle, Profile: d.Profile,
		StorageClass: d.StorageClass, SSE: d.SSE, SSEKMSKeyID: d.SSEKMSKeyID, Checksum: d.Checksum,
		PartSize: int64(d.PartSize), Concurrency: d.Concurrency,
	}
	if d.ObjectLock != nil {
		o.LockMode = d.ObjectLock.Mode
	}
	if err := s3.ParseURL(d.URL, &o); err != nil {
		return o, err
	}
	return o, o.Validate()
}

func openS3(ctx context.Context, d config.Destination, _ *url.URL) (upload.Store, error) {
	o, err := s3Options(d)
	if err != nil {
		return nil, configErr(err)
	}
	return s3.Open(ctx, o)
}
