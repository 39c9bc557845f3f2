package s3

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws/retry"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lyncbackup/lyncbackup/upload"
)

// opError is what every operation returns: one line naming the operation
// and key, with the SDK's request ids and URLs left out. It still unwraps to
// the SDK error (errors.As works) and, where it applies, to upload.ErrNotFound,
// ErrLocked or ErrArchived.
type opError struct {
	op, key string
	kind    error  // upload.Err* or nil
	detail  string // replaces describe(err) when set
	err     error
	thaw    bool // detail names restore --thaw (upload.NamesThaw)
}

// NamesThaw implements what upload.NamesThaw asks.
func (e *opError) NamesThaw() bool { return e.thaw }

func (e *opError) Error() string {
	msg := e.detail
	if msg == "" {
		msg = describe(e.err)
	}
	if e.key == "" {
		return "s3 " + e.op + ": " + msg
	}
	return "s3 " + e.op + " " + e.key + ": " + msg
}

func (e *opError) Unwrap() []error {
	var out []error
	if e.kind != nil {
		out = append(out, e.kind)
	}
	if denied(e.err) {
		out = append(out, upload.ErrDenied)
	}
	if e.err != nil {
		out = append(out, e.err)
	}
	return out
}

// missingBucket is a bucket HeadBucket did not find, in its own words; it
// is upload.ErrNotFound and unwraps to the SDK's error too.
type missingBucket struct {
	bucket string
	err    error
}

func (e *missingBucket) Error() string {
	return "s3 bucket " + e.bucket + " does not exist (or is in another region)"
}
func (e *missingBucket) Unwrap() []error { return []error{upload.ErrNotFound, e.err} }

func opErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	return &opError{op: op, key: key, err: err}
}

// describe renders an SDK error on one line: the S3 error code and message
// and the HTTP status, or the network failure, without request ids.
func describe(err error) string {
	if err == nil {
		return ""
	}
	var oe *opError
	if errors.As(err, &oe) {
		return oe.Error()
	}
	prefix := ""
	var me *retry.MaxAttemptsError
	if errors.As(err, &me) {
		prefix = fmt.Sprintf("gave up after %d attempts: ", me.Attempt)
		err = me.Err
	}
	if errors.Is(err, context.Canceled) {
		return prefix + "cancelled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return prefix + "timed out"
	}
	if m := err.Error(); noCredentials(err) {
		if i := strings.Index(m, "failed to refresh cached credentials, "); i >= 0 {
			m = m[i+len("failed to refresh cached credentials, "):]
		}
		return prefix + "no usable AWS credentials (the SDK's default chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, the shared config and credentials files or destination.profile, SSO, web identity, container or instance role): " + m
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		code, msg := ae.ErrorCode(), ae.ErrorMessage()
		s := code
		if msg != "" && msg != code {
			s += ": " + msg
		}
		if st := httpStatus(err); st != 0 {
			s += fmt.Sprintf(" (HTTP %d)", st)
		}
		return prefix + s
	}
	var se *smithyhttp.RequestSendError
	if errors.As(err, &se) {
		return prefix + "cannot reach the server: " + netDetail(se.Err)
	}
	var sd stallError
	if errors.As(err, &sd) {
		return prefix + sd.Error()
	}
	return prefix + netDetail(err)
}

// netDetail drops url.Error's "Put http://...": the URL is noise (bucket and
// key are already named) and could carry a presigned query.
func netDetail(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var sd stallError
	if errors.As(err, &sd) {
		return sd.Error()
	}
	s := err.Error()
	// smithy's "operation error S3: PutObject, " prefix
	if i := strings.Index(s, ", "); strings.HasPrefix(s, "operation error ") && i > 0 {
		s = s[i+2:]
	}
	return s
}

// noCredentials: the SDK found no usable credentials (its credential
// chain failed before a request was sent). The SDK has no error type for
// it: its own wrapping words ("get credentials:", "failed to refresh
// cached credentials") are English in every locale and name it.
func noCredentials(err error) bool {
	m := err.Error()
	return strings.Contains(m, "get credentials:") || strings.Contains(m, "failed to refresh cached credentials")
}

// denied: the service refused the request for want of rights or
// credentials (HTTP 401 / 403), or there were no credentials to send.
func denied(err error) bool {
	if err == nil {
		return false
	}
	st := httpStatus(err)
	return st == http.StatusUnauthorized || st == http.StatusForbidden || noCredentials(err)
}

func httpStatus(err error) int {
	var re *awshttp.ResponseError
	if errors.As(err, &re) {
		return re.HTTPStatusCode()
	}
	return 0
}

func errCode(err error) string {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		return ae.ErrorCode()
	}
	return ""
}

func isNotFound(err error) bool {
	switch errCode(err) {
	case "NoSuchKey", "NotFound", "NoSuchVersion":
		return true
	}
	return httpStatus(err) == 404 && errCode(err) != "NoSuchBucket"
}
