package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lyncbackup/lyncbackup/catalog"
	"github.com/lyncbackup/lyncbackup/config"
	"github.com/lyncbackup/lyncbackup/destination"
	"github.com/lyncbackup/lyncbackup/upload"
)

// truthLatestRemote: on a remote store, a newer set whose manifest has no
// items lists as damaged, makes verify latest fail and is named by restore
// latest, which restores the complete set; verify refuses a manifest whose
// age header hash is wrong.
func truthLatestRemote(t *testing.T, e *remoteEnv, st upload.Store) {
	ctx := context.Background()
	good := e.backup()
	rc, err := st.Get(ctx, catalog.ManifestKey(e.host, good), 0, -1)
	if err != nil {
		t.Fatal(err)
	}
	data, _ := io.ReadAll(rc)
	rc.Close()
	put := func(id string, f func(m map[string]any)) {
		var m map[string]any
		json.Unmarshal(data, &m)
		m["set_id"] = id
		f(m)
		out, _ := json.Marshal(m)
		if _, err := st.Put(ctx, catalog.ManifestKey(e.host, id), bytes.NewReader(out), upload.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// Same second, a larger suffix: newer, and not dated in the future.
	empty := good[:len(good)-6] + "ffffff"
	if empty <= good {
		t.Skip("the backup's set id already ends in ffffff")
	}
	put(empty, func(m map[string]any) { m["items"] = []any{} })

	r := e.run(nil, "list", "--json")
	if !strings.Contains(r.Stdout, empty) || !strings.Contains(r.Stdout, `"damaged"`) {
		t.Errorf("list does not show the empty set as damaged:\n%s", r.Stdout)
	}
	failsWith(t, e.run(nil, "verify", "latest"), 1, "newest set", empty, "damaged", "no items")
	to := filepath.Join(e.dir, "out")
	r = e.run(nil, "restore", "latest", "--to", to, "--identity", e.key, "--json")
	if r.Code != 0 || !strings.Contains(r.Stdout, `"set_id": "`+good+`"`) || !strings.Contains(r.Stdout, empty) ||
		!strings.Contains(r.Stderr, "skipped newer set "+empty) {
		t.Errorf("restore latest: exit %d\n%s\n%s", r.Code, r.Stdout, r.Stderr)
	}
	compareTrees(t, e.src, filepath.Join(to, e.item, "src"))

	// The complete set's own manifest, lying about the age header.
	put(good, func(m map[string]any) {
		m["items"].([]any)[0].(map[string]any)["age_prefix_sha256"] = strings.Repeat("0", 64)
	})
	failsWith(t, e.run(nil, "verify", good), 1, "age header does not match")
}

func TestTruthLatestS3(t *testing.T) {
	e := newS3Env(t, false)
	e.writeConfig()
	e.srv.SetEnv(t)
	st, err := destination.Open(context.Background(), config.Destination{URL: e.url(), Endpoint: e.endpoint, PathStyle: true, Region: e.srv.Region})
	if err != nil {
		t.Fatal(err)
	}
	truthLatestRemote(t, e.remoteEnv, st)
}

func TestTruthLatestAzurite(t *testing.T) {
	e := newAzEnv(t)
	e.writeConfig()
	e.az.SetEnv(t)
	st, err := destination.Open(context.Background(), config.Destination{URL: e.url()})
	if err != nil {
		t.Fatal(err)
	}
	truthLatestRemote(t, e.remoteEnv, st)
}
