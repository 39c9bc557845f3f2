package pipeline

import "testing"

// The hint after a restore that put some items in place names those in
// place and the flags for the rest: --item for each; after a --force
// restore --force too (the failed item's folder may hold files, and the
// hint without it was refused); after an --include restore every pattern,
// quoted for the shell (without them the hint restored the rest whole).
// An item of which --include chose nothing is neither in place nor to do.
func TestFinishHint(t *testing.T) {
	reports := []ItemReport{
		{Name: "alpha", OK: true, InPlace: true},
		{Name: "bravo", Error: "damaged"},
		{Name: "charlie", OK: true}, // --include chose nothing of it
	}
	for _, c := range []struct {
		goos     string
		includes []string
		force    bool
		want     string
	}{
		{"linux", nil, false, "; in place: alpha; the rest: restore again with --item bravo"},
		{"linux", nil, true, "; in place: alpha; the rest: restore again with --item bravo --force"},
		{"linux", []string{"*/meetings/*.pptx", "it's here", "a/b"}, true,
			`; in place: alpha; the rest: restore again with --item bravo --include '*/meetings/*.pptx' --include 'it'\''s here' --include a/b --force`},
		{"windows", []string{"*/meetings/*.pptx", "100% $x"}, false,
			`; in place: alpha; the rest: restore again with --item bravo --include "*/meetings/*.pptx" --include '100% $x'`},
	} {
		if got := finishHint(c.goos, reports, c.includes, c.force); got != c.want {
			t.Errorf("%s %q force %v:\n got %s\nwant %s", c.goos, c.includes, c.force, got, c.want)
		}
	}
	if got := finishHint("linux", reports[1:], []string{"x"}, true); got != "" {
		t.Errorf("nothing in place: %q, want no hint", got)
	}
}
