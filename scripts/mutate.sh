#!/usr/bin/env bash
# Mutation run of one package's unit tests with gremlins (pinned below):
#   ./scripts/mutate.sh PKG [gremlins flags...]    e.g. ./scripts/mutate.sh ./retention
# Not part of CI (retention takes ~11 min on 2 cores, chunk ~17). It prints
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
exec "$bin" unleash --workers 2 --timeout-coefficient 60 "$@" "$pkg"
