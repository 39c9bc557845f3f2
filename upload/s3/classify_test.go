package s3

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/lyncbackup/lyncbackup/upload"
)

// apiErr is an S3 answer as the SDK returns it: the error code and
// message, the HTTP status.
func apiErr(status int, code, msg string) error {
	return &smithy.OperationError{ServiceID: "S3", OperationName: "PutObject", Err: &awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err: &smithy.GenericAPIError{Code: code, Message: msg}}}}
}

// TestErrorKinds: what an S3 error is, for the callers that tell causes
// apart (check's fix), comes from its type, status and code, never its
// words: a refusal for rights or credentials is upload.ErrDenied, a
// missing bucket upload.ErrNotFound in our own words, an archived object
// that names --thaw says so (upload.NamesThaw).
func TestErrorKinds(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    error
		denied bool
	}{
		{"403 AccessDenied", apiErr(403, "AccessDenied", "Access Denied"), true},
		{"403 in other words", apiErr(403, "SignatureDoesNotMatch", "La signature ne correspond pas"), true},
		{"401", apiErr(401, "Unauthorized", ""), true},
		{"no credentials", fmt.Errorf("operation error S3: PutObject, get identity: get credentials: %w", errors.New("failed to refresh cached credentials, no EC2 IMDS role found")), true},
		{"404 with 403 in the key", apiErr(404, "NoSuchKey", "The key fe01/403/x does not exist"), false},
		{"500 naming access denied", apiErr(500, "InternalError", "access denied to the disk"), false},
	} {
		err := opErr("put", "k", c.err)
		if got := errors.Is(err, upload.ErrDenied); got != c.denied {
			t.Errorf("%s: %v is ErrDenied %v, want %v", c.name, err, got, c.denied)
		}
	}

	mb := &missingBucket{"lync", apiErr(404, "NotFound", "")}
	if !errors.Is(mb, upload.ErrNotFound) || mb.Error() != "s3 bucket lync does not exist (or is in another region)" {
		t.Errorf("missing bucket: %q, ErrNotFound %v", mb, errors.Is(mb, upload.ErrNotFound))
	}

	frozen := fmt.Errorf("download chunk list: %w", archivedError("get", "k", cold{class: types.StorageClassGlacier}))
	if !errors.Is(frozen, upload.ErrArchived) || !upload.NamesThaw(frozen) || !strings.Contains(frozen.Error(), "--thaw") {
		t.Errorf("archived: %v, NamesThaw %v", frozen, upload.NamesThaw(frozen))
	}
	ongoing := `ongoing-request="true"`
	running := archivedError("get", "k", cold{class: types.StorageClassGlacier, restore: &ongoing})
	if upload.NamesThaw(running) || strings.Contains(running.Error(), "--thaw") {
		t.Errorf("a restore still running: %v, NamesThaw %v", running, upload.NamesThaw(running))
	}
}
