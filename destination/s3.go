package destination

import (
	"context"
	"crypto/x509"
	"fmt"
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
		return o, urlErr(err)
	}
	if err := o.Validate(); err != nil {
		return o, err
	}
	pool, err := rootCAs(d)
	o.RootCAs = pool
	return o, err
}

func openS3(ctx context.Context, d config.Destination, _ *url.URL) (upload.Store, error) {
	o, err := s3Options(d)
	if err != nil {
		return nil, configErr(err)
	}
	return s3.Open(ctx, o)
}

// rootCAs is the system store plus destination.ca_file (nil without one:
// the clients keep their own default). config.Validate has read the file
// already; this reads it again for the pool, and says so if it has gone
// since.
func rootCAs(d config.Destination) (*x509.CertPool, error) {
	if d.CAFile == "" {
		return nil, nil
	}
	pool, err := config.CAPool(d.CAFile)
	if err != nil {
		return nil, fmt.Errorf("destination.ca_file: %v", err)
	}
	return pool, nil
}
