package destination

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
)

// A folder path where the URL belongs (what a Windows admin types at
// night) is a config error naming the file:// URL to write; a URL without
// a scheme names the three forms. Neither says "scheme "d" is not supported".
func TestOpenFolderPathSaysTheURL(t *testing.T) {
	for _, c := range []struct{ raw, want string }{
		{`D:\Backups\Lync`, `destination URL "D:\Backups\Lync" is a folder path, not a URL: write file:///D:/Backups/Lync`},
		{`d:/x`, "write file:///d:/x"},
		{`\\nas\share\lync`, "write file://nas/share/lync"},
		{`/srv/backups`, "write file:///srv/backups"},
		{`backups`, "has no scheme: a folder is file:///absolute/path, S3 s3://bucket/prefix"},
		{`s3//bucket`, "has no scheme"},
	} {
		_, err := Open(context.Background(), config.Destination{URL: c.raw})
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "not supported") {
			t.Errorf("%s: %v, want it to say %q", c.raw, err, c.want)
		}
		if ce := (*ConfigError)(nil); !errors.As(err, &ce) {
			t.Errorf("%s: %v is not a config error (exit 2)", c.raw, err)
		}
	}
}

// TestOpenAzureHTTPSURL: an https:// URL on a blob endpoint is an Azure
// destination (a SAS in its query is the credential); other https URLs
// are not (no request is made: Open only builds the client).
func TestOpenAzureHTTPSURL(t *testing.T) {
	for _, k := range []string{"AZURE_STORAGE_CONNECTION_STRING", "AZURE_STORAGE_ACCOUNT", "AZURE_STORAGE_KEY", "AZURE_STORAGE_SAS_TOKEN"} {
		t.Setenv(k, "")
	}
	st, err := Open(context.Background(), config.Destination{URL: "https://acct.blob.core.windows.net/backups/lync?sv=2022-11-02&sig=c2lnbmF0dXJl"})
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(st); !strings.Contains(got, "acct") || !strings.Contains(got, "backups") || strings.Contains(got, "sig=") {
		t.Errorf("store %q", got)
	}
	if _, err := Open(context.Background(), config.Destination{URL: "https://files.contoso.com/backups"}); err == nil || !strings.Contains(err.Error(), "https") {
		t.Errorf("https URL off a blob endpoint: %v", err)
	}
	// LYNCBACKUP_AZURE_MAX_RETRIES: a count of retries, 0 for none.
	for v, ok := range map[string]bool{"0": true, "3": true, "-1": false, "many": false} {
		t.Setenv("LYNCBACKUP_AZURE_MAX_RETRIES", v)
		_, err := Open(context.Background(), config.Destination{URL: "https://acct.blob.core.windows.net/backups?sv=1&sig=c2ln"})
		if ok != (err == nil) || (!ok && !strings.Contains(err.Error(), `LYNCBACKUP_AZURE_MAX_RETRIES="`+v+`": want a number of retries`)) {
			t.Errorf("LYNCBACKUP_AZURE_MAX_RETRIES=%s: %v", v, err)
		}
	}
}
