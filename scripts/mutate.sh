#!/usr/bin/env bash
# Mutation run of one package's unit tests with gremlins (pinned below):
#   ./scripts/mutate.sh PKG [gremlins flags...]    e.g. ./scripts/mutate.sh ./retention
# Then it runs, one by one, the mutants gremlins reports as NOT COVERED
# without running them (see the second pass below; MUTATE_NOT_COVERED=0
# skips it, --dry-run runs it alone). Not part of CI (retention takes
# ~11 min on 2 cores, chunk ~17). It prints
# every mutant and whether the package's tests KILLED it, it LIVED, or it
# TIMED OUT. A mutant that lives names a line whose change no unit test of
# the package sees: run the e2e tests that should see it by hand (change
# the line, go test ./e2e/ -run ..., change it back) and, when none fails,
# write the test that does (docs/TESTING.md lists the session-13 findings).
#
# The timeout is the coverage run's time times the coefficient; gremlins
# measures that run without the build, so packages with slower tests
# (archive) need a large one or report most mutants as TIMED OUT. Files
# can be left out with -E REGEXP. Run as root, the tests that mount a tmpfs
# (pipeline's disk-full tests) leave the mount behind when a mutant is
# killed for its time; gremlins then cannot remove its copy of the module:
# mount | grep gremlins, and umount what it lists.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 1 ] || { echo "usage: scripts/mutate.sh PKG [gremlins flags...]" >&2; exit 2; }
GREMLINS_VERSION=v0.6.0
bin=$(go env GOPATH)/bin/gremlins
if ! "$bin" --help >/dev/null 2>&1 || ! go version -m "$bin" | grep -q "gremlins.*$GREMLINS_VERSION"; then
	echo "== installing gremlins $GREMLINS_VERSION" >&2
	(cd "$(mktemp -d)" && GOFLAGS=-mod=mod go install "github.com/go-gremlins/gremlins/cmd/gremlins@$GREMLINS_VERSION")
fi
pkg=$1
shift
log=$(mktemp)
work=$(mktemp -d)
trap 'rm -rf "$log" "$work"' EXIT
"$bin" unleash --workers 2 --timeout-coefficient 60 "$@" "$pkg" | tee "$log"

# Second pass. gremlins takes coverage from go test -coverprofile, whose
# blocks are statements: the expression of a `case` clause or a `for`
# header lies in no block, so gremlins reports its mutants NOT COVERED and
# never runs them (on config, the tests killed 39 of the 116 it so
# reported, 55 lived, the rest did not compile). Run each one here, in a
# copy of the tree as it is now (uncommitted changes included), never in
# the working tree.
[ "${MUTATE_NOT_COVERED:-1}" = 1 ] || exit 0
grep -q "NOT COVERED" "$log" || exit 0
dir=${pkg#./}
git ls-files -z -co --exclude-standard | xargs -0 cp --parents -t "$work"
cd "$work"
start=$SECONDS
go test -count=1 "./$dir/" >/dev/null || { echo "== the package's tests fail unmutated: no second pass" >&2; exit 1; }
limit=$(( (SECONDS - start) * 20 + 60 ))
echo
echo "== second pass: the NOT COVERED mutants, each against go test ./$dir/ (timeout ${limit}s)"
built=" $(go list -f '{{join .GoFiles " "}}' "./$dir/") "
k=0 l=0 t=0 s=0
while read -r typ loc; do
	f=$dir/${loc%%:*} rest=${loc#*:}
	if [[ $built != *" ${loc%%:*} "* ]]; then
		# Not built for this GOOS (proc_windows.go): its tests cannot see it.
		printf '%12s %s at %s\n' "NOT BUILT" "$typ" "$loc"
		s=$((s + 1))
		continue
	fi
	cp "$f" "$work/.orig"
	if m=$(python3 "$OLDPWD/scripts/mutone.py" "$f" "${rest%%:*}" "${rest#*:}" "$typ" 2>&1); then
		if ! go build "./$dir/" >/dev/null 2>&1; then
			res="NOT VIABLE" s=$((s + 1))
		else
			timeout "$limit" go test -count=1 "./$dir/" >/dev/null 2>&1 && r=$? || r=$?
			case $r in
			0) res=LIVED l=$((l + 1)) ;;
			124) res="TIMED OUT" t=$((t + 1)) ;;
			*) res=KILLED k=$((k + 1)) ;;
			esac
		fi
	else
		res=SKIPPED s=$((s + 1))
	fi
	cp "$work/.orig" "$f"
	printf '%12s %s at %s | %s\n' "$res" "$typ" "$loc" "$m"
done < <(grep "NOT COVERED" "$log" | awk '{print $3, $NF}')
echo "== second pass: killed $k, lived $l, timed out $t, skipped $s (no such operator there, not compiled here, or it does not compile)"
