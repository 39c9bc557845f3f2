// Package destination maps the config's destination section to a concrete
// upload.Store (local, S3, Azure). Each backend registers itself from its
// own file in this package; decorators (the bandwidth limit) are applied by
// the caller. What a destination's answers mean (check's findings, the fix
// of a refused certificate) lives here too.
package destination

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/local"
)

// ConfigError is a destination that cannot work as written: a URL that
// does not parse, an unknown scheme, a bad bucket or container name, a bad
// option. It is a usage or config error (exit 2), not a failure of a store.
type ConfigError struct {
	Err error
	// Setting is what to correct: settingURL, settingCredentials, or ""
	// for the setting the error names.
	Setting string
}

// ConfigError settings.
const (
	settingURL         = "destination.url"
	settingCredentials = "credentials"
)

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// configErr marks err as a ConfigError (nil stays nil).
func configErr(err error) error {
	if err == nil {
		return nil
	}
	if ce := (*ConfigError)(nil); errors.As(err, &ce) {
		return err
	}
	return &ConfigError{Err: err}
}

// urlErr marks err as a ConfigError of the destination's URL.
func urlErr(err error) error {
	if err == nil {
		return nil
	}
	return &ConfigError{Err: err, Setting: settingURL}
}

// Opener builds a store for a parsed destination URL.
type Opener func(ctx context.Context, d config.Destination, u *url.URL) (upload.Store, error)

var openers = map[string]Opener{
	"file": func(ctx context.Context, d config.Destination, u *url.URL) (upload.Store, error) {
		p, err := local.PathFromURL(d.URL)
		if err != nil {
			return nil, urlErr(err)
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
		if fix := folderURL(d.URL); fix != "" { // a folder path with a % in it does not parse as a URL
			return nil, urlErr(fmt.Errorf("destination URL \"%s\" is a folder path, not a URL: write %s", d.URL, fix))
		}
		return nil, urlErr(fmt.Errorf("destination URL %q: %v", redact(d.URL), unwrapURL(err)))
	}
	scheme := u.Scheme
	if (scheme == "https" || scheme == "http") && strings.Contains(u.Host, ".blob.") {
		scheme = "azblob-https"
	}
	o, ok := openers[scheme]
	if !ok && (scheme == "" || len(scheme) == 1) {
		if fix := folderURL(d.URL); fix != "" {
			return nil, urlErr(fmt.Errorf("destination URL \"%s\" is a folder path, not a URL: write %s", d.URL, fix))
		}
		if scheme == "" && d.URL != "" {
			return nil, urlErr(fmt.Errorf("destination URL %q has no scheme: a folder is file:///absolute/path, S3 s3://bucket/prefix, Azure azblob://container/prefix", redact(d.URL)))
		}
	}
	if !ok {
		return nil, urlErr(fmt.Errorf("destination URL %q: scheme %q is not supported (file, s3, azblob, https://ACCOUNT.blob.core.windows.net)", redact(d.URL), u.Scheme))
	}
	return o(ctx, d, u)
}

// folderURL is the file:// URL of a folder path given where a URL belongs
// (D:\Backups, \\nas\share\lync, /srv/backups: what an admin types), or
// "" when raw is not such a path.
func folderURL(raw string) string {
	// %, # and ? mean something in a URL: a folder "Lync#2" is Lync%232.
	slash := strings.NewReplacer(`\`, "/", "%", "%25", "#", "%23", "?", "%3F").Replace(raw)
	switch {
	case len(raw) >= 3 && raw[1] == ':' && (raw[2] == '\\' || raw[2] == '/') &&
		('a' <= raw[0]|0x20 && raw[0]|0x20 <= 'z'):
		return "file:///" + slash
	case strings.HasPrefix(raw, `\\`) || strings.HasPrefix(raw, "//"):
		return "file:" + slash
	case strings.HasPrefix(raw, "/"):
		return "file://" + slash
	}
	return ""
}

// unwrapURL drops url.Error's repetition of the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact drops a URL's query (SAS tokens) and user info.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable)"
	}
	u.RawQuery = ""
	u.User = nil
	return u.String()
}

// FromURL opens a store with only a URL (restore --from on a bare machine)
// and, when caFile is set, the CAs of that PEM file trusted besides the
// system store, as destination.ca_file (the --ca-file flag). The caller
// checks caFile first (config.ReadCAFile) to name it in its own words.
func FromURL(ctx context.Context, raw, caFile string) (upload.Store, error) {
	d := config.Destination{URL: raw, CAFile: caFile}
	return Open(ctx, d)
}

// LocalPath is the folder of a file:// destination ("" for any other).
func LocalPath(d config.Destination) string {
	if u, err := url.Parse(d.URL); err == nil && u.Scheme == "file" {
		if p, err := local.PathFromURL(d.URL); err == nil {
			return p
		}
	}
	return ""
}
