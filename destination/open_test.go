package destination

import (
	"context"
	"errors"
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
