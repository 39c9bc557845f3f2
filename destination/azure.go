package destination

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strconv"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/upload"
	"github.com/lyncbackup/lyncbackup/upload/azure"
)

func init() {
	Register("azblob", openAzure)
	Register("azblob-https", openAzure)
}

// openAzure maps destination.{url, account, endpoint, access_tier,
// immutability.locked, part_size, concurrency, ca_file} and the AZURE_STORAGE_*
// environment to an Azure Blob store. Secrets only come from the
// environment (or a SAS in an https URL) and never reach messages.
func openAzure(ctx context.Context, d config.Destination, u *url.URL) (upload.Store, error) {
	auth, err := azure.AuthFromEnv(os.Getenv)
	if err != nil {
		return nil, &ConfigError{Err: fmt.Errorf("azure credentials: %w", err), Setting: settingCredentials}
	}
	loc, err := azure.ResolveLocation(d.URL, d.Account, d.Endpoint, auth)
	if err != nil {
		return nil, configErr(err) // the URL, destination.account, or the credentials' account: named
	}
	if _, err := azure.ParseTier(d.AccessTier); err != nil {
		return nil, configErr(fmt.Errorf("destination.access_tier: %w", err))
	}
	pool, err := rootCAs(d)
	if err != nil {
		return nil, configErr(err)
	}
	o := azure.Options{
		Location: loc, Auth: auth, AccessTier: d.AccessTier,
		BlockSize: int64(d.PartSize), Concurrency: d.Concurrency, RootCAs: pool,
	}
	if im := d.Immutability; im != nil {
		o.ImmutabilityLocked = im.Locked
	}
	// LYNCBACKUP_AZURE_MAX_RETRIES overrides the per-request retries
	// (default 10), as AWS_MAX_ATTEMPTS does for S3: for tests and for
	// operators who prefer failing fast.
	if v := os.Getenv("LYNCBACKUP_AZURE_MAX_RETRIES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return nil, configErr(fmt.Errorf("LYNCBACKUP_AZURE_MAX_RETRIES=%q: want a number of retries", v))
		}
		o.MaxRetries = n
		if n == 0 {
			o.MaxRetries = -1 // azcore: negative means no retries
		}
	}
	return azure.Open(ctx, o)
}
