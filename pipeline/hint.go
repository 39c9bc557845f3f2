package pipeline

import (
	"fmt"
	"runtime"
	"strings"

	"github.com/lyncbackup/lyncbackup/internal/shellquote"
)

// FinishHint tells, after a restore that put some items in place and not
// others (interrupted, or some failed), which are in place and the flags
// that restore the rest when added to the same command: --item for each
// of those, which leaves the restored ones as they are. Without force
// their folders were empty or absent, so the hint needs no --force; a
// restore with force may have been over folders that hold files, so its
// hint has --force too. A restore with --include chose files: the hint
// repeats every pattern, or following it restores the rest whole. An
// item of which --include chose nothing is neither in place nor left to
// do. Every value is quoted for this system's shell (shellquote.For): a
// pattern left bare would be expanded by a POSIX shell; on Windows the
// hint says "in PowerShell" when a value is in PowerShell's single quotes,
// which cmd does not read (shellquote.OnlyIn). A value no form brings to
// the program unchanged (on Windows one holding '"'; anywhere one holding
// a control character) leaves the flags said in words and why they are not
// printed to paste, the value escaped if need be (shellquote.Show). ""
// when there is nothing to say. id is the set's id and namedAs what the
// command named it by, when not by that id (latest, a prefix; "": by the
// id): the hint then names the set by its id (see restoreAgain).
func FinishHint(reports []ItemReport, includes []string, force bool, id, namedAs string) string {
	return finishHint(runtime.GOOS, reports, includes, force, id, namedAs)
}

// restoreAgain is how a hint starts the command that goes on with a
// restore: "restore again", the flags to be added to the same command;
// when that command did not name the set by its id (latest, a prefix),
// "restore set ID again (by that id, not latest)": by the time it is run
// latest may be a newer set, and the rest then came from another night
// than what is in place, silently.
func restoreAgain(id, namedAs string) string {
	if !notByID(id, namedAs) {
		return "restore again"
	}
	return "restore set " + id + " again (by that id, not " + namedAs + ")"
}

// notByID: the command named set id otherwise than by that id.
func notByID(id, namedAs string) bool { return namedAs != "" && namedAs != id }

func finishHint(goos string, reports []ItemReport, includes []string, force bool, id, namedAs string) string {
	var done, left, rest []string
	var bad error
	add := func(flag, v string) {
		q, err := shellquote.For(goos, v)
		if err != nil && bad == nil {
			bad = fmt.Errorf("%s's value %s %w", flag, shellquote.Show(v), err)
		}
		rest = append(rest, flag, q)
	}
	for _, r := range reports {
		switch {
		case r.InPlace:
			done = append(done, r.Name)
		case !r.OK:
			left = append(left, r.Name)
			add("--item", r.Name)
		}
	}
	if len(done) == 0 || len(left) == 0 {
		return ""
	}
	for _, p := range includes {
		add("--include", p)
	}
	if force {
		rest = append(rest, "--force")
	}
	if bad != nil {
		words := "--item for each"
		if len(includes) > 0 {
			words += ", --include for each pattern given"
		}
		if force {
			words += ", --force"
		}
		return "; in place: " + strings.Join(done, ", ") + "; the rest: " + strings.Join(left, ", ") + ": " + restoreAgain(id, namedAs) + " with " + words + " (no command to paste: " + bad.Error() + ")"
	}
	again := restoreAgain(id, namedAs)
	if sh := shellquote.OnlyIn(goos, rest...); sh != "" {
		again += " in " + sh
	}
	return "; in place: " + strings.Join(done, ", ") + "; the rest: " + again + " with " + strings.Join(rest, " ")
}
