package azure

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/lyncbackup/lyncbackup/upload"
)

// Error is what every store method returns for a failed service call. Its
// text is one line, names the operation and the key, and never contains the
// request URL's query (SAS signature) nor an account key: azcore's own
// errors print the full request URL, so they are never wrapped directly.
type Error struct {
	Op, Key    string
	StatusCode int    // 0 for transport errors
	Code       string // x-ms-error-code, e.g. BlobNotFound
	Msg        string // scrubbed, one line
	sentinel   error  // upload.ErrNotFound / ErrLocked / ErrArchived / ErrDenied / context error
	// cert is the refusal of the server's certificate (the TLS
	// verifier's error, whose text holds no URL), for errors.As.
	cert error
}

func (e *Error) Error() string {
	where := e.Op
	if e.Key != "" {
		where += " " + e.Key
	}
	return "azure: " + where + ": " + e.Msg
}

// Unwrap exposes only the sentinel and a refused certificate's error
// (never the raw SDK error, whose text holds the request URL).
func (e *Error) Unwrap() []error {
	var out []error
	if e.sentinel != nil {
		out = append(out, e.sentinel)
	}
	if e.cert != nil {
		out = append(out, e.cert)
	}
	return out
}

var (
	reURLQuery = regexp.MustCompile(`(https?://[^\s?"'<>]+)\?[^\s"'<>]*`)
	reSig      = regexp.MustCompile(`(?i)\b(sig|se|st|sv|sp|skoid|sktid|ske|skt|sks|skv|sr|ss|srt|spr)=[^&\s"'<>]+`)
	reMessage  = regexp.MustCompile(`<Message>([^<]*)</Message>`)
	reSpaces   = regexp.MustCompile(`\s+`)
)

// scrub removes secrets and collapses text to one line.
func (s *Store) scrub(msg string) string {
	for _, sec := range s.secrets {
		if sec != "" {
			msg = strings.ReplaceAll(msg, sec, "REDACTED")
		}
	}
	msg = reURLQuery.ReplaceAllString(msg, "$1")
	msg = reSig.ReplaceAllString(msg, "$1=REDACTED")
	return strings.TrimSpace(reSpaces.ReplaceAllString(msg, " "))
}

// wrap converts any error from the SDK into an *Error.
func (s *Store) wrap(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var already *Error
	if errors.As(err, &already) {
		return err
	}
	e := &Error{Op: op, Key: key}
	var re *azcore.ResponseError
	switch {
	case errors.Is(err, context.Canceled):
		e.Msg, e.sentinel = "interrupted: cancelled", context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		// The SDK's bound on one try (TryTimeout) hit on the last try, or
		// the time a clean-up is given: the service did not answer in
		// time; nobody interrupted the run.
		e.Msg, e.sentinel = "timed out: no answer in time, after every retry (a stalled service, network or proxy)", context.DeadlineExceeded
	case errors.As(err, new(tokenError)):
		// No token: no usable credentials (azidentity's errors have no
		// type that says so for every credential of its chain).
		e.Msg, e.sentinel = s.scrub(err.Error()), upload.ErrDenied
	case errors.As(err, &re):
		e.StatusCode, e.Code = re.StatusCode, re.ErrorCode
		e.Msg, e.sentinel = s.describe(re)
	default:
		e.Msg = s.scrub(err.Error())
		e.cert = certError(err)
	}
	return e
}

// certError is the TLS verifier's error in err's chain (nil when the
// server's certificate was not what failed).
func certError(err error) error {
	var verify *tls.CertificateVerificationError
	if errors.As(err, &verify) {
		return verify
	}
	var (
		unknown  x509.UnknownAuthorityError
		hostname x509.HostnameError
		invalid  x509.CertificateInvalidError
	)
	switch {
	case errors.As(err, &unknown):
		return unknown
	case errors.As(err, &hostname):
		return hostname
	case errors.As(err, &invalid):
		return invalid
	}
	return nil
}

// describe turns a service error into one human line and a sentinel.
func (s *Store) describe(re *azcore.ResponseError) (string, error) {
	detail := ""
	if re.RawResponse != nil && re.RawResponse.Body != nil {
		if b, err := io.ReadAll(io.LimitReader(re.RawResponse.Body, 64<<10)); err == nil {
			if m := reMessage.FindSubmatch(b); m != nil {
				detail = string(m[1])
				if i := strings.IndexAny(detail, "\r\n"); i >= 0 {
					detail = detail[:i] // drop "RequestId:... Time:..."
				}
			}
		}
	}
	if detail == "" {
		detail = http.StatusText(re.StatusCode)
	}
	code := re.ErrorCode
	head := fmt.Sprintf("%s (HTTP %d)", code, re.StatusCode)
	if code == "" {
		head = fmt.Sprintf("HTTP %d", re.StatusCode)
	}
	var sentinel error
	switch code {
	case "BlobNotFound", "ContainerNotFound", "ResourceNotFound":
		sentinel = upload.ErrNotFound
		if code == "ContainerNotFound" {
			detail = fmt.Sprintf("container %q does not exist in %s", s.container, s.serviceHost())
		}
	case "BlobImmutableDueToPolicy", "BlobImmutableDueToLegalHold", "ImmutabilityPolicyDeleteOnLockedPolicy":
		sentinel = upload.ErrLocked
	case "BlobArchived", "BlobBeingRehydrated":
		sentinel = upload.ErrArchived
	case "AuthenticationFailed", "AuthorizationFailure", "AuthorizationPermissionMismatch", "NoAuthenticationInformation", "InsufficientAccountPermissions":
		sentinel = upload.ErrDenied
		detail += fmt.Sprintf(" (credentials from %s; the identity needs the Storage Blob Data Contributor role or a key/SAS with read, write, list and delete rights)", s.authKind)
	default:
		switch re.StatusCode {
		case http.StatusNotFound:
			sentinel = upload.ErrNotFound
		case http.StatusUnauthorized, http.StatusForbidden:
			sentinel = upload.ErrDenied
		}
	}
	return s.scrub(head + ": " + detail), sentinel
}

func hasCode(err error, codes ...string) bool {
	var e *Error
	if errors.As(err, &e) {
		for _, c := range codes {
			if e.Code == c {
				return true
			}
		}
		return false
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		for _, c := range codes {
			if re.ErrorCode == c {
				return true
			}
		}
	}
	return false
}

func statusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.StatusCode
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// tokenSource hands the SDK the token credential's tokens, and marks its
// failures (tokenError): no token is no usable credentials, whatever the
// credential's own words.
type tokenSource struct{ azcore.TokenCredential }

func (t tokenSource) GetToken(ctx context.Context, o policy.TokenRequestOptions) (azcore.AccessToken, error) {
	tok, err := t.TokenCredential.GetToken(ctx, o)
	if err != nil {
		err = tokenError{err}
	}
	return tok, err
}

// tokenError is a token credential's failure (tokenSource).
type tokenError struct{ error }

func (e tokenError) Unwrap() error { return e.error }

// deniedError is a credential refused before any request, in our words:
// it is upload.ErrDenied.
type deniedError string

func (e deniedError) Error() string { return string(e) }
func (e deniedError) Unwrap() error { return upload.ErrDenied }
