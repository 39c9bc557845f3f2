// Package s3 is the S3 destination (Amazon S3 and S3-compatible stores:
// MinIO, Wasabi, Ceph, VersityGW...) built on aws-sdk-go-v2's service/s3.
//
// Uploads run a part pipeline of our own rather than feature/s3/manager
// (deprecated) or feature/s3/transfermanager (pre-1.0): the backup stream
// has no known length, so the part size must grow as the stream does (5 TiB
// in 10,000 parts), buffers must be reused with memory bounded by the parts
// in flight, every part carries a checksum we compute once (CRC32C, or
// Content-MD5 for stores that reject the SDK's checksum headers), and a
// failed upload must be aborted with a fresh context. The SDK still does
// what it is good at: signing, the default credential chain and the
// retryer (more attempts, no retry quota) on every request; part bodies are
// in-memory byte slices so a retry resends a part whole.
//
// Credentials come only from the SDK's default chain (environment, shared
// files and profile, SSO, web identity, container and instance roles); they
// never appear in options, messages or errors.
package s3

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go/logging"

	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/parts"
)

// Defaults and S3's limits.
const (
	// DefaultPartSize and DefaultConcurrency: 8 MiB parts, 3 in flight
	// (plus the one being filled) hold 32 MiB per object, so the two items
	// a backup uploads at once stay well inside a 160 MiB process on a
	// 2-core Lync front end; measured on loopback S3 this gives up ~6% of
	// raw Put speed against 16 MiB x 4, and per-request overhead is still
	// small on a WAN link.
	DefaultPartSize    = 8 << 20
	DefaultConcurrency = 3
	// DefaultMaxAttempts per request (the SDK's default is 3).
	DefaultMaxAttempts = 10
	// DefaultStallTimeout: a request that moves no byte for this long is
	// cut and retried.
	DefaultStallTimeout = 2 * time.Minute

	MinPartSize   = 5 << 20
	MaxPartSize   = 5 << 30
	MaxParts      = 10000
	MaxObjectSize = 5 << 40
	// maxConcurrency caps what a config may ask for.
	maxConcurrency = 64
)

// StorageClasses are the storage classes a destination may name.
var StorageClasses = []string{"STANDARD", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"}

// Options configure a store. Zero values mean the defaults above.
type Options struct {
	Bucket string
	Prefix string // "" or "a/b" (slashes around it are ignored)

	Region    string // empty: SDK chain (AWS_REGION, profile), else detected from the bucket
	Endpoint  string // S3-compatible store, e.g. "https://s3.example.net" or "http://127.0.0.1:7070"
	PathStyle bool
	Profile   string // shared config profile

	StorageClass string // one of StorageClasses ("" = bucket default)
	SSE          string // "", "AES256" (SSE-S3) or "aws:kms" (SSE-KMS)
	SSEKMSKeyID  string // with SSE "aws:kms"; empty = the AWS managed key
	// Checksum is "when_supported" (default: CRC32C on every part) or
	// "when_required" (only where the API demands one, for stores that
	// reject the SDK's checksum headers; object-lock uploads then carry
	// Content-MD5).
	Checksum string
	// LockMode (GOVERNANCE or COMPLIANCE) is applied with PutOptions.RetainUntil.
	// Empty means GOVERNANCE.
	LockMode string

	PartSize     int64 // first part size; grows for very long streams
	Concurrency  int   // parts (upload) or chunks (download) in flight per object
	MaxAttempts  int   // per request (0: $AWS_MAX_ATTEMPTS, else DefaultMaxAttempts)
	StallTimeout time.Duration

	// RootCAs, when set, are the roots the endpoint's certificate is
	// verified against instead of the system store (destination.ca_file
	// gives the system store plus its CAs). AWS_CA_BUNDLE (or ca_bundle in
	// the profile) is added to them; without RootCAs the SDK trusts that
	// bundle alone, as the AWS CLI does.
	RootCAs *x509.CertPool
}

// Validate checks the options and fills in the defaults. Errors name the
// config key at fault.
func (o *Options) Validate() error {
	if o.Bucket == "" {
		return errors.New("destination.url: no bucket (s3://BUCKET/prefix)")
	}
	if !validBucket(o.Bucket) {
		return fmt.Errorf("destination.url: %q is not a valid bucket name (3-63 characters: a-z, 0-9, '.', '-')", o.Bucket)
	}
	o.Prefix = strings.Trim(o.Prefix, "/")
	if strings.Contains(o.Prefix, "//") {
		return fmt.Errorf("destination.url: prefix %q has an empty path segment", o.Prefix)
	}
	if o.Endpoint != "" {
		u, err := url.Parse(o.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("destination.endpoint: %q is not an http(s) URL", o.Endpoint)
		}
		if u.User != nil {
			return errors.New("destination.endpoint: must not contain credentials (use the AWS credential chain)")
		}
	}
	if o.StorageClass != "" {
		sc := strings.ToUpper(o.StorageClass)
		ok := false
		for _, c := range StorageClasses {
			ok = ok || c == sc
		}
		if !ok {
			return fmt.Errorf("destination.storage_class: %q is not one of %s", o.StorageClass, strings.Join(StorageClasses, ", "))
		}
		o.StorageClass = sc
	}
	switch strings.ToLower(o.SSE) {
	case "", "none":
		o.SSE = ""
	case "aes256", "sse-s3", "s3":
		o.SSE = "AES256"
	case "aws:kms", "kms", "sse-kms":
		o.SSE = "aws:kms"
	default:
		return fmt.Errorf("destination.sse: %q is not AES256 (SSE-S3) or aws:kms (SSE-KMS)", o.SSE)
	}
	if o.SSEKMSKeyID != "" && o.SSE != "aws:kms" {
		return errors.New("destination.sse_kms_key_id: only with sse: aws:kms")
	}
	switch o.Checksum {
	case "":
		o.Checksum = "when_supported"
	case "when_supported", "when_required":
	default:
		return fmt.Errorf("destination.checksum: must be when_supported or when_required, not %q", o.Checksum)
	}
	switch strings.ToUpper(o.LockMode) {
	case "":
		o.LockMode = "GOVERNANCE"
	case "GOVERNANCE", "COMPLIANCE":
		o.LockMode = strings.ToUpper(o.LockMode)
	default:
		return fmt.Errorf("destination.object_lock.mode: must be GOVERNANCE or COMPLIANCE, not %q", o.LockMode)
	}
	switch {
	case o.PartSize == 0:
		o.PartSize = DefaultPartSize
	case o.PartSize < MinPartSize:
		return fmt.Errorf("destination.part_size: %d bytes is below S3's minimum part size of 5 MiB", o.PartSize)
	case o.PartSize > MaxPartSize:
		return fmt.Errorf("destination.part_size: %d bytes is above S3's maximum part size of 5 GiB", o.PartSize)
	}
	switch {
	case o.Concurrency == 0:
		o.Concurrency = DefaultConcurrency
	case o.Concurrency < 0 || o.Concurrency > maxConcurrency:
		return fmt.Errorf("destination.concurrency: must be between 1 and %d, not %d", maxConcurrency, o.Concurrency)
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
		// The SDK ignores AWS_MAX_ATTEMPTS once a retryer is given; honour it.
		if n, err := strconv.Atoi(os.Getenv("AWS_MAX_ATTEMPTS")); err == nil && n > 0 {
			o.MaxAttempts = n
		}
	}
	if o.StallTimeout <= 0 {
		o.StallTimeout = DefaultStallTimeout
	}
	return nil
}

func validBucket(b string) bool {
	if len(b) < 3 || len(b) > 63 {
		return false
	}
	for _, c := range b {
		// Upper case and '_' are tolerated: some S3-compatible stores allow them.
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

// ParseURL reads s3://bucket/prefix?region=&endpoint=&path_style=&profile=
// &checksum=&storage_class= into o (query values fill only options that are
// still empty, so the config file wins). Unknown query keys are an error.
func ParseURL(raw string, o *Options) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("destination.url: %v", err)
	}
	if u.Scheme != "s3" {
		return fmt.Errorf("destination.url: %q is not an s3:// URL", u.Scheme+"://")
	}
	if u.User != nil {
		return errors.New("destination.url: must not contain credentials (use the AWS credential chain)")
	}
	o.Bucket = u.Host
	o.Prefix = strings.Trim(u.Path, "/")
	set := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	for k, vs := range u.Query() {
		v := vs[len(vs)-1]
		switch k {
		case "region":
			set(&o.Region, v)
		case "endpoint":
			set(&o.Endpoint, v)
		case "profile":
			set(&o.Profile, v)
		case "checksum":
			set(&o.Checksum, v)
		case "storage_class":
			set(&o.StorageClass, v)
		case "path_style":
			b, err := strconv.ParseBool(v)
			if err != nil {
				return fmt.Errorf("destination.url: path_style=%q is not true or false", v)
			}
			o.PathStyle = o.PathStyle || b
		default:
			return fmt.Errorf("destination.url: unknown query parameter %q (region, endpoint, path_style, profile, checksum, storage_class)", k)
		}
	}
	return nil
}

// defaultGrowEvery is how many parts are uploaded at one size before the size
// doubles (parts.Size). With 900, any first part size from S3's 5 MiB
// minimum up holds an object of 5 TiB within 10,000 parts
// (TestPartSizeGrowthReaches5TiB), and at the 8 MiB default the parts stay
// 8 MiB up to 7 GiB and at most 64 MiB up to about 100 GiB: a Lync backup
// never sees big buffers.
const defaultGrowEvery = 900

// Store is an S3 bucket (and prefix) holding objects.
type Store struct {
	opt    Options
	client *s3.Client
	root   string // prefix + "/" or ""
	bufs   parts.Pool
	// growEvery parts the part size doubles (tests shrink it).
	growEvery int
	// clock is this machine's clock (nil: time.Now; tests move it).
	clock func() time.Time
	// lockConf: what the bucket's Object Lock configuration says
	// (DeleteLock asks nothing where it is off), found out once.
	lockConfOnce sync.Once
	lockConf     lockConf
}

func (s *Store) localNow() time.Time {
	if s.clock != nil {
		return s.clock()
	}
	return time.Now()
}

// Open validates o, loads the SDK configuration (default credential chain)
// and returns the store. It does not touch the bucket unless the region has
// to be discovered.
func Open(ctx context.Context, o Options) (*Store, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	hc := awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
		tr.MaxIdleConnsPerHost = 2 * maxConcurrency
		tr.DialContext = (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext
		tr.TLSHandshakeTimeout = 30 * time.Second
		if o.RootCAs != nil {
			// The SDK's transport keeps its TLS settings (minimum version,
			// curves); only the roots change. A copy of the pool, because
			// the SDK appends AWS_CA_BUNDLE to whatever pool it finds.
			if tr.TLSClientConfig == nil {
				tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			tr.TLSClientConfig.RootCAs = o.RootCAs.Clone()
		}
	})
	attempts := o.MaxAttempts
	loadOpts := []func(*awsconfig.LoadOptions) error{
		// A BuildableClient, so that AWS_CA_BUNDLE can be applied to it.
		awsconfig.WithHTTPClient(hc),
		awsconfig.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = attempts
				so.MaxBackoff = 20 * time.Second
				// No retry quota: a long backup must not give up because
				// earlier parts needed retries.
				so.RateLimiter = ratelimit.None
				// A refused certificate is a setting to fix, not a
				// passing fault: fail at once, naming it.
				so.Retryables = append([]retry.IsErrorRetryable{retry.IsErrorRetryableFunc(func(err error) aws.Ternary {
					if upload.IsCertificateError(err) {
						return aws.FalseTernary
					}
					return aws.UnknownTernary
				})}, so.Retryables...)
			})
		}),
		awsconfig.WithLogger(logging.Nop{}),
	}
	if o.Region != "" {
		loadOpts = append(loadOpts, awsconfig.WithRegion(o.Region))
	}
	if o.Profile != "" {
		loadOpts = append(loadOpts, awsconfig.WithSharedConfigProfile(o.Profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		var pe awsconfig.SharedConfigProfileNotExistError
		if errors.As(err, &pe) {
			return nil, fmt.Errorf("destination.profile: AWS profile %q not found in the shared config files", o.Profile)
		}
		return nil, fmt.Errorf("s3: load AWS configuration: %v", err)
	}
	s := &Store{opt: o, root: o.Prefix, growEvery: defaultGrowEvery}
	if s.root != "" {
		s.root += "/"
	}
	mk := func(region string) *s3.Client {
		return s3.NewFromConfig(cfg, func(so *s3.Options) {
			so.Region = region
			if o.Endpoint != "" {
				so.BaseEndpoint = aws.String(o.Endpoint)
			}
			so.UsePathStyle = o.PathStyle
			so.HTTPClient = &watchClient{inner: cfg.HTTPClient, stall: o.StallTimeout}
			so.Logger = logging.Nop{}
			so.DisableLogOutputChecksumValidationSkipped = true
			if o.Checksum == "when_required" {
				so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
				so.ResponseChecksumValidation = aws.ResponseChecksumValidationWhenRequired
			}
		})
	}
	region := cfg.Region
	if region == "" {
		if o.Endpoint != "" {
			region = "us-east-1" // what S3-compatible stores expect when they do not care
		} else {
			region, err = bucketRegion(ctx, mk("us-east-1"), o.Bucket)
			if err != nil {
				return nil, err
			}
		}
	}
	s.opt.Region = region
	s.client = mk(region)
	return s, nil
}

// bucketRegion asks S3 where the bucket lives (HeadBucket answers with
// x-amz-bucket-region, even on a redirect or a denial).
func bucketRegion(ctx context.Context, c *s3.Client, bucket string) (string, error) {
	out, err := c.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: aws.String(bucket)})
	if err == nil && out.BucketRegion != nil {
		return *out.BucketRegion, nil
	}
	var re *awshttp.ResponseError
	if errors.As(err, &re) && re.Response != nil {
		if r := re.Response.Header.Get("X-Amz-Bucket-Region"); r != "" {
			return r, nil
		}
	}
	if err == nil {
		return "us-east-1", nil
	}
	return "", fmt.Errorf("s3: bucket %s: region unknown (set destination.region or AWS_REGION): %v", bucket, describe(err))
}

// String implements upload.Store.
func (s *Store) String() string {
	if s.opt.Prefix == "" {
		return "s3://" + s.opt.Bucket
	}
	return "s3://" + s.opt.Bucket + "/" + s.opt.Prefix
}

// full maps a store key to the bucket's key.
func (s *Store) full(key string) (string, error) {
	if key == "" || strings.HasPrefix(key, "/") || len(s.root)+len(key) > 1024 {
		return "", fmt.Errorf("invalid key %q", key)
	}
	for _, p := range strings.Split(key, "/") {
		if p == "" || p == "." || p == ".." {
			return "", fmt.Errorf("invalid key %q", key)
		}
	}
	return s.root + key, nil
}
