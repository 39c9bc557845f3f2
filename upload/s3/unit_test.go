package s3

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/parts"
)

func TestPartSizeGrowthReaches5TiB(t *testing.T) {
	for _, base := range []int64{MinPartSize, 8 << 20, DefaultPartSize, 64 << 20, 1 << 30, MaxPartSize} {
		if c := parts.Capacity(base, MaxParts, defaultGrowEvery, MaxPartSize); c < MaxObjectSize {
			t.Errorf("first part %d MiB: 10,000 parts hold only %d GiB, less than 5 TiB", base>>20, c>>30)
		}
		prev := int64(0)
		for n := 1; n <= MaxParts; n++ {
			s := parts.Size(base, n, defaultGrowEvery, MaxPartSize)
			if s < MinPartSize || s > MaxPartSize || s < prev {
				t.Fatalf("first part %d: part %d is %d bytes (previous %d)", base, n, s, prev)
			}
			prev = s
		}
	}
	// The default stays small for the objects a Lync backup makes.
	if s := parts.Size(DefaultPartSize, 900, defaultGrowEvery, MaxPartSize); s != DefaultPartSize {
		t.Fatalf("part 900 is %d, want the first part size", s)
	}
	if c := parts.Capacity(DefaultPartSize, 900, defaultGrowEvery, MaxPartSize); c < 7<<30 {
		t.Fatalf("900 default parts hold %d GiB", c>>30)
	}
	if s := parts.Size(DefaultPartSize, 901, defaultGrowEvery, MaxPartSize); s != 2*DefaultPartSize {
		t.Fatalf("part 901 is %d, want double", s)
	}
	if s := parts.Size(MinPartSize, 1_000_000, defaultGrowEvery, MaxPartSize); s != MaxPartSize {
		t.Fatalf("part size not capped at 5 GiB: %d", s)
	}
}

func TestOptionsValidate(t *testing.T) {
	ok := func(o Options) Options {
		t.Helper()
		if err := o.Validate(); err != nil {
			t.Fatalf("%+v: %v", o, err)
		}
		return o
	}
	o := ok(Options{Bucket: "my-bucket", Prefix: "/a/b/"})
	if o.PartSize != DefaultPartSize || o.Concurrency != DefaultConcurrency || o.Checksum != "when_supported" ||
		o.LockMode != "GOVERNANCE" || o.Prefix != "a/b" || o.MaxAttempts != DefaultMaxAttempts || o.StallTimeout != DefaultStallTimeout {
		t.Fatalf("defaults: %+v", o)
	}
	o = ok(Options{Bucket: "b.example", StorageClass: "deep_archive", SSE: "kms", SSEKMSKeyID: "arn:aws:kms:eu-west-1:1:key/x", LockMode: "compliance", PartSize: 64 << 20, Concurrency: 8, Checksum: "when_required"})
	if o.StorageClass != "DEEP_ARCHIVE" || o.SSE != "aws:kms" || o.LockMode != "COMPLIANCE" {
		t.Fatalf("normalised: %+v", o)
	}
	for _, sc := range StorageClasses {
		ok(Options{Bucket: "bkt", StorageClass: sc})
	}
	if o := ok(Options{Bucket: "bkt", SSE: "AES256"}); o.SSE != "AES256" {
		t.Fatal(o.SSE)
	}
	bad := []struct {
		o    Options
		want string
	}{
		{Options{}, "destination.url"},
		{Options{Bucket: "a"}, "destination.url"},
		{Options{Bucket: "bad bucket"}, "destination.url"},
		{Options{Bucket: "bkt", Prefix: "a//b"}, "destination.url"},
		{Options{Bucket: "bkt", StorageClass: "COLD"}, "destination.storage_class"},
		{Options{Bucket: "bkt", StorageClass: "REDUCED_REDUNDANCY"}, "destination.storage_class"},
		{Options{Bucket: "bkt", SSE: "aws:kms:dsse-x"}, "destination.sse"},
		{Options{Bucket: "bkt", SSEKMSKeyID: "k"}, "destination.sse_kms_key_id"},
		{Options{Bucket: "bkt", Checksum: "always"}, "destination.checksum"},
		{Options{Bucket: "bkt", LockMode: "LEGAL"}, "destination.object_lock.mode"},
		{Options{Bucket: "bkt", PartSize: 1 << 20}, "destination.part_size"},
		{Options{Bucket: "bkt", PartSize: 6 << 30}, "destination.part_size"},
		{Options{Bucket: "bkt", Concurrency: -1}, "destination.concurrency"},
		{Options{Bucket: "bkt", Concurrency: 1000}, "destination.concurrency"},
		{Options{Bucket: "bkt", Endpoint: "ftp://x"}, "destination.endpoint"},
		{Options{Bucket: "bkt", Endpoint: "https://user:pw@host"}, "destination.endpoint"},
	}
	for _, b := range bad {
		err := b.o.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), b.want+":") {
			t.Errorf("%+v: error %v, want one naming %s", b.o, err, b.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("error leaks the endpoint's password: %v", err)
		}
	}
}

func TestParseURL(t *testing.T) {
	var o Options
	if err := ParseURL("s3://bkt/some/prefix/?region=eu-west-1&endpoint=http://127.0.0.1:9000&path_style=true&profile=backup&checksum=when_required&storage_class=GLACIER_IR", &o); err != nil {
		t.Fatal(err)
	}
	want := Options{Bucket: "bkt", Prefix: "some/prefix", Region: "eu-west-1", Endpoint: "http://127.0.0.1:9000", PathStyle: true, Profile: "backup", Checksum: "when_required", StorageClass: "GLACIER_IR"}
	if o != want {
		t.Fatalf("got %+v\nwant %+v", o, want)
	}
	// The config file wins over the query.
	o = Options{Region: "us-west-2"}
	if err := ParseURL("s3://bkt?region=eu-west-1", &o); err != nil || o.Region != "us-west-2" || o.Prefix != "" {
		t.Fatalf("%+v %v", o, err)
	}
	for _, bad := range []string{"s3://bkt?secret=x", "s3://bkt?path_style=maybe", "azblob://c/p", "s3://AKIA:secret@bkt/p", "s3://bkt/%zz"} {
		err := ParseURL(bad, &Options{})
		if err == nil || !strings.HasPrefix(err.Error(), "destination.url") {
			t.Errorf("%s: %v", bad, err)
		}
		if err != nil && strings.Contains(err.Error(), "secret") && !strings.Contains(bad, "?secret") {
			t.Errorf("%s: error leaks the secret: %v", bad, err)
		}
	}
}

func TestKeys(t *testing.T) {
	s := &Store{root: "pre/"}
	if k, err := s.full("host/set/item"); err != nil || k != "pre/host/set/item" {
		t.Fatal(k, err)
	}
	for _, bad := range []string{"", "/abs", "a//b", "a/../b", "./a", strings.Repeat("x", 1100)} {
		if _, err := s.full(bad); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
}

func TestDescribeIsOneCleanLine(t *testing.T) {
	apiErr := &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: 403}},
			Err: &smithy.GenericAPIError{Code: "AccessDenied", Message: "Access Denied"}},
		RequestID: "REQ123456",
	}}
	err := opErr("put", "host/set/x", apiErr)
	if got := err.Error(); got != "s3 put host/set/x: AccessDenied: Access Denied (HTTP 403)" {
		t.Fatalf("got %q", got)
	}
	var ae smithy.APIError
	if !errors.As(err, &ae) || ae.ErrorCode() != "AccessDenied" {
		t.Fatal("opError does not unwrap to the API error")
	}
	retried := &smithy.OperationError{ServiceID: "S3", OperationName: "UploadPart", Err: &retry.MaxAttemptsError{Attempt: 10,
		Err: &smithyhttp.RequestSendError{Err: &url.Error{Op: "Put", URL: "http://127.0.0.1:1/b/k?partNumber=1&X-Amz-Signature=abc", Err: errors.New("read: connection reset by peer")}}}}
	got := opErr("put", "k", retried).Error()
	if got != "s3 put k: gave up after 10 attempts: cannot reach the server: read: connection reset by peer" {
		t.Fatalf("got %q", got)
	}
}

// A server that stops answering, before the headers or in the middle of
// the body, is cut by the watchdog with an error the retryer retries.
func TestWatchdogCutsStalledRequests(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		if r.URL.Path == "/body" {
			w.Write(bytes.Repeat([]byte("x"), 1000))
			w.(http.Flusher).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release) // before Close, which waits for the handlers
	c := &watchClient{inner: srv.Client(), stall: 300 * time.Millisecond}

	req, _ := http.NewRequest(http.MethodPut, srv.URL+"/headers", bytes.NewReader(make([]byte, 100)))
	req.ContentLength = 100
	_, err := c.Do(req)
	var se stallError
	if !errors.As(err, &se) {
		t.Fatalf("stall before headers: %v", err)
	}
	if retry.NewStandard().IsErrorRetryable(err) != true {
		t.Fatal("the SDK retryer does not retry a stall")
	}

	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/body", nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	n, err := io.Copy(io.Discard, resp.Body)
	if n != 1000 || !errors.As(err, &se) {
		t.Fatalf("stall mid-body: read %d bytes, %v", n, err)
	}
}

// TestDescribeTrimsTheSDKsWrapping: a credentials failure names the chain
// and then only the SDK's cause; a network error loses smithy's
// "operation error S3: Op, " prefix; a 404 for a missing bucket is not
// taken for a missing object.
func TestDescribeTrimsTheSDKsWrapping(t *testing.T) {
	cred := errors.New("operation error S3: PutObject, get identity: get credentials: failed to refresh cached credentials, no EC2 IMDS role found")
	got := describe(cred)
	if !strings.HasPrefix(got, "no usable AWS credentials (") || !strings.HasSuffix(got, "): no EC2 IMDS role found") {
		t.Errorf("credentials: %q", got)
	}
	if got := describe(errors.New("failed to refresh cached credentials, no EC2 IMDS role found")); !strings.HasSuffix(got, "): no EC2 IMDS role found") {
		t.Errorf("credentials, the SDK's words first: %q", got)
	}
	if got := describe(errors.New("get credentials: static credentials are empty")); !strings.HasSuffix(got, "): get credentials: static credentials are empty") {
		t.Errorf("credentials without a refresh: %q", got)
	}
	if got := netDetail(errors.New("operation error S3: HeadBucket, dial tcp 127.0.0.1:1: connect: connection refused")); got != "dial tcp 127.0.0.1:1: connect: connection refused" {
		t.Errorf("netDetail: %q", got)
	}
	if got := netDetail(errors.New("read: connection reset, by peer")); got != "read: connection reset, by peer" {
		t.Errorf("netDetail without the prefix: %q", got)
	}
	status := func(code int, api string) error {
		return &awshttp.ResponseError{ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: code}},
			Err: &smithy.GenericAPIError{Code: api}}}
	}
	for err, want := range map[error]bool{
		status(404, "NoSuchKey"): true, status(404, "NotFound"): true, status(404, ""): true,
		status(404, "NoSuchBucket"): false, status(403, "AccessDenied"): false, status(400, "NoSuchVersion"): true,
	} {
		if got := isNotFound(err); got != want {
			t.Errorf("isNotFound(%v) = %v, want %v", err, got, want)
		}
	}
}

// A put that fails after its parts names the step: the SDK's error alone
// ("NotFound") would not say what was not found.
func TestStepErrKeepsTheStep(t *testing.T) {
	err := stepErr("h/s/k", "check after upload", &smithy.GenericAPIError{Code: "NotFound", Message: "Not Found"})
	if got := err.Error(); got != "s3 put h/s/k: check after upload: NotFound: Not Found" {
		t.Fatalf("got %q", got)
	}
	if !errors.As(err, new(smithy.APIError)) {
		t.Fatal("the SDK's error is not kept")
	}
}

func TestCompleteWait(t *testing.T) {
	if got := completeWait(2*time.Minute, 0); got != 10*time.Minute {
		t.Fatalf("empty object: %v", got)
	}
	if got := completeWait(2*time.Minute, 64<<30); got != 10*time.Minute+64*64*time.Second {
		t.Fatalf("64 GiB: %v", got)
	}
}

// TestJoinLocks: the lock a delete of a key with several versions meets
// is the latest retention among them, whichever version comes first, and
// a legal hold on any; the refusal says that date, keeps the store's
// answer, and is still ErrLocked.
func TestJoinLocks(t *testing.T) {
	u1 := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	u2 := u1.AddDate(0, 0, 3)
	cause := errors.New("AccessDenied")
	for _, order := range [][]time.Time{{u1, u2}, {u2, u1}, {u1, {}, u2}} {
		var acc *upload.LockedError
		for _, u := range order {
			acc = joinLocks("h/k", acc, u, false, cause)
		}
		if !acc.RetainUntil.Equal(u2) || acc.LegalHold || !strings.Contains(acc.Error(), "retained until 2026-12-08T10:00:00Z") ||
			!errors.Is(acc, upload.ErrLocked) || !errors.Is(acc, cause) {
			t.Errorf("versions locked until %v: %+v %q", order, acc, acc)
		}
	}
	acc := joinLocks("h/k", nil, time.Time{}, true, cause)
	if acc.LegalHold != true || !acc.RetainUntil.IsZero() || !strings.Contains(acc.Error(), "(under legal hold)") {
		t.Errorf("a hold alone: %+v %q", acc, acc)
	}
	acc = joinLocks("h/k", acc, u1, false, cause)
	if !acc.LegalHold || !acc.RetainUntil.Equal(u1) || !strings.Contains(acc.Error(), "retained until 2026-12-05T10:00:00Z and under legal hold") {
		t.Errorf("a hold on one version, a retention on another: %+v %q", acc, acc)
	}
}

// TestDeleteOrder: Delete removes a key's newest version last, and only
// once every other went: the version listed as latest, else (a delete
// marker on top) the first real version listed, S3 listing newest first;
// the delete markers go with the others, so that a locked version left
// behind is not hidden by one. Before, the listing's order was the
// delete's: the current version went first, whatever the older ones'
// locks.
func TestDeleteOrder(t *testing.T) {
	v := func(id string, latest bool) version { return version{id: id, latest: latest} }
	m := func(id string, latest bool) version { return version{id: id, marker: true, latest: latest} }
	for _, c := range []struct {
		name   string
		vs     []version
		others []string
		newest string // "-": none
	}{
		{name: "none", newest: "-"},
		{name: "one", vs: []version{v("a", true)}, newest: "a"},
		{name: "newest first", vs: []version{v("c", true), v("b", false), v("a", false)}, others: []string{"b", "a"}, newest: "c"},
		{name: "latest not first", vs: []version{v("a", false), v("c", true), v("b", false)}, others: []string{"a", "b"}, newest: "c"},
		{name: "marker on top", vs: []version{v("b", false), v("a", false), m("m", true)}, others: []string{"a", "m"}, newest: "b"},
		{name: "markers only", vs: []version{m("m", true), m("n", false)}, others: []string{"m", "n"}, newest: "-"},
		{name: "unversioned", vs: []version{v("", false)}, newest: ""},
	} {
		others, newest := deleteOrder(c.vs)
		var ids []string
		for _, o := range others {
			ids = append(ids, o.id)
		}
		if strings.Join(ids, ",") != strings.Join(c.others, ",") {
			t.Errorf("%s: others %v, want %v", c.name, ids, c.others)
		}
		got := "-"
		if newest != nil {
			got = newest.id
			if newest.marker {
				t.Errorf("%s: a delete marker kept for last", c.name)
			}
		}
		if got != c.newest {
			t.Errorf("%s: newest %q, want %q", c.name, got, c.newest)
		}
	}
}
