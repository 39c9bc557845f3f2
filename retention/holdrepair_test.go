package retention

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lyncbackup/lyncbackup/catalog"
)

// failManifestHold is a lockStore whose LockInfo on manifests fails, as an
// S3 GetObjectLegalHold refused (AccessDenied: the prune credential lacks
// s3:GetObjectLegalHold) or a transient 503 does.
type failManifestHold struct {
	*lockStore
}

func (f *failManifestHold) LockInfo(ctx context.Context, key string) (time.Time, bool, error) {
	if strings.HasSuffix(key, "/"+catalog.ManifestName) {
		return time.Time{}, false, errors.New("GetObjectLegalHold: AccessDenied")
	}
	return f.lockStore.LockInfo(ctx, key)
}

// A held set whose manifest's hold prune cannot read is not taken for
// released in silence: the report has an error naming the manifest (the
// set is kept by keep_last: no keep date, so no lock extension and no
// other read of the manifest that would fail loudly).
func TestPruneReportsUnreadableManifestHold(t *testing.T) {
	base, _ := localStore(t)
	now := time.Now().UTC()
	ls := &lockStore{Store: base, until: map[string]time.Time{}, hold: map[string]bool{}, now: now}
	key := func(id string) string { return catalog.ChunkKey("h", strings.Repeat(id, 64)) }
	day := func(d int) time.Time { return now.AddDate(0, 0, d).Add(time.Hour) }
	craftChunked(t, base, "h", day(-3), StatusComplete, "a", "b")
	held := craftChunked(t, base, "h", day(-2), StatusComplete, "a", "c")
	heldSet(t, base, ls, "h", held, false)
	ls.hold[key("c")] = true
	a := &Applier{Store: &failManifestHold{lockStore: ls}, Policy: Policy{Last: 5, Location: time.UTC}, Now: func() time.Time { return now }}
	rep, err := a.Run(context.Background())
	if !errors.Is(err, ErrPartlyFailed) {
		t.Errorf("prune: %v, want %v", err, ErrPartlyFailed)
	}
	manifest := catalog.ManifestKey("h", held)
	if len(rep.Errors) != 1 || !strings.Contains(rep.Errors[0], "read the legal hold of "+manifest) || !strings.Contains(rep.Errors[0], "AccessDenied") {
		t.Errorf("errors %v, want one naming the legal hold of %s it could not read", rep.Errors, manifest)
	}
	if ls.hold[key("a")] {
		t.Errorf("chunk %s held, though the set's hold could not be read", key("a"))
	}
}
