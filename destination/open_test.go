package destination

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/upload"
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
		// %, # and ? are escaped in the URL given (it named another
		// folder, or none parsed at all).
		{`D:\Backups\Lync#2`, "write file:///D:/Backups/Lync%232"},
		{`/srv/a?b`, "write file:///srv/a%3Fb"},
		{`/srv/100%`, "write file:///srv/100%25"},
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

// TestFileURLWithHashOrQuery: file:///…/Lync#2 opened …/Lync (the # began
// a fragment); such a URL is refused, and the escaped one opens the
// folder with the # in its name.
func TestFileURLWithHashOrQuery(t *testing.T) {
	base := t.TempDir()
	for _, n := range []string{"Lync", "Lync#2", "a?b"} {
		os.Mkdir(filepath.Join(base, n), 0o755)
	}
	root := "file://" + filepath.ToSlash(base)
	if !strings.HasPrefix(filepath.ToSlash(base), "/") {
		root = "file:///" + filepath.ToSlash(base)
	}
	for _, raw := range []string{root + "/Lync#2", root + "/a?b", root + "/Lync#"} {
		if _, err := Open(context.Background(), config.Destination{URL: raw}); err == nil || !strings.Contains(err.Error(), "is written %23 or %3F in a URL") {
			t.Errorf("%s: %v", raw, err)
		}
	}
	st, err := Open(context.Background(), config.Destination{URL: root + "/Lync%232"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.Put(context.Background(), "h/x", strings.NewReader("x"), upload.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(base, "Lync#2", "h", "x")); err != nil {
		t.Errorf("not written into Lync#2: %v", err)
	}
}
