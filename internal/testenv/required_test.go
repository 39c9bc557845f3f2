package testenv

import (
	"fmt"
	"strings"
	"testing"
)

// recorder is a testing.TB that records how a test would have ended.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skip(args ...any)             { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

// A missing server skips only when the run has not asked for servers: with
// LYNCBACKUP_REQUIRE_SERVERS=1 (scripts/test.sh, CI) it fails the test.
func TestMissingServerFailsWhenRequired(t *testing.T) {
	for _, c := range []struct {
		require, ci string
		fail        bool
	}{{"1", "", true}, {"", "true", true}, {"0", "true", false}, {"", "", false}, {"false", "", false}} {
		t.Setenv(RequireEnv, c.require)
		t.Setenv("CI", c.ci)
		r := &recorder{TB: t}
		Unavailable(r, "versitygw not installed")
		if got := r.failed != ""; got != c.fail || (!c.fail && r.skipped == "") {
			t.Errorf("%s=%q CI=%q: failed %q skipped %q", RequireEnv, c.require, c.ci, r.failed, r.skipped)
		}
		if c.fail && !strings.Contains(r.failed, "versitygw not installed") {
			t.Errorf("failure %q does not say what is missing", r.failed)
		}
	}
}
