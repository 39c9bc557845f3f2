package azure

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/lyncbackup/lyncbackup/upload"
)

func respErr(status int, code, msg string) error {
	body := "<?xml version=\"1.0\"?><Error><Code>" + code + "</Code><Message>" + msg + "\nRequestId:1</Message></Error>"
	return &azcore.ResponseError{StatusCode: status, ErrorCode: code,
		RawResponse: &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body))}}
}

// failingToken is a token credential that finds no credentials.
type failingToken struct{}

func (failingToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{}, errors.New("DefaultAzureCredential: failed to acquire a token.\nAttempted credentials:\n\tEnvironmentCredential: Umgebungsvariablen fehlen")
}

// TestErrorKinds: a refusal for rights or credentials is upload.ErrDenied
// by its status and code (and a token that cannot be had, by where it
// failed), never by its words; a 404 is not.
func TestErrorKinds(t *testing.T) {
	s := &Store{container: "c", serviceURL: "https://acct.blob.core.windows.net/"}
	_, tokErr := tokenSource{failingToken{}}.GetToken(context.Background(), policy.TokenRequestOptions{})
	for _, c := range []struct {
		name   string
		err    error
		denied bool
	}{
		{"AuthorizationPermissionMismatch", respErr(403, "AuthorizationPermissionMismatch", "This request is not authorized to perform this operation using this permission."), true},
		{"403 of another code", respErr(403, "KeyBasedAuthenticationNotPermitted", "Key based authentication is not permitted on this storage account."), true},
		{"401", respErr(401, "", ""), true},
		{"no token", fmt.Errorf("PUT https://acct.blob.core.windows.net/c/k\n--------\n%w", tokErr), true},
		{"404 naming access denied", respErr(404, "BlobNotFound", "The blob access-denied/x does not exist."), false},
		{"transport", errors.New("dial tcp: lookup acct.blob.core.windows.net: credential host unreachable"), false},
	} {
		err := s.wrap("put", "k", c.err)
		if got := errors.Is(err, upload.ErrDenied); got != c.denied {
			t.Errorf("%s: %v is ErrDenied %v, want %v", c.name, err, got, c.denied)
		}
	}
	if err := s.wrap("put", "k", respErr(404, "BlobNotFound", "")); !errors.Is(err, upload.ErrNotFound) {
		t.Errorf("404: %v is not ErrNotFound", err)
	}
}
