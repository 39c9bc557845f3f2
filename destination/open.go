// Package destination maps the config's destination section to a concrete
// upload.Store (local, S3, Azure) and applies the generic decorators.
// Each backend registers itself from its own file in this package.
package destination

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// Opener builds a store for a parsed destination URL.
type Opener func(ctx context.Context, d config.Destination, u *url.URL) (upload.Store, error)

var openers = map[string]Opener{
	"file": func(ctx context.Context, d config.Destination, u *url.URL) (upload.Store, error) {
		p, err := local.PathFromURL(d.URL)
		if err != nil {
			return nil, err
		}
		return local.Open(p)
	},
}

// Register adds a backend for a URL scheme.
func Register(scheme string, o Opener) { openers[scheme] = o }

// Open returns the store for d.
func Open(ctx context.Context, d config.Destination) (upload.Store, error) {
	u, err := url.Parse(d.URL)
	if err != nil {
		return nil, fmt.Errorf("destination URL: %v", err)
	}
	scheme := u.Scheme
	if (scheme == "https" || scheme == "http") && strings.Contains(u.Host, ".blob.") {
		scheme = "azblob-https"
	}
	o, ok := openers[scheme]
	if !ok {
		return nil, fmt.Errorf("destination URL %q: scheme %q is not supported (file, s3, azblob, https://ACCOUNT.blob.core.windows.net)", redact(d.URL), u.Scheme)
	}
	return o(ctx, d, u)
}

// redact drops a URL's query (SAS tokens) and user info.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

// FromURL opens a store with only a URL (restore --from on a bare machine).
func FromURL(ctx context.Context, raw string) (upload.Store, error) {
	d := config.Destination{URL: raw}
	return Open(ctx, d)
}
