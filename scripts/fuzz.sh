#!/usr/bin/env bash
# Runs every fuzz target of the repository (every `func FuzzX(f *testing.F)`
# in a _test.go file) for a while each: ./scripts/fuzz.sh [SECONDS] (default
# 60). Not part of CI; the seeds and anything under testdata/fuzz run with the
# ordinary suite. A crasher is written to the package's testdata/fuzz/FuzzX/
# (go test -run FuzzX/<name> replays it) and the script exits 1 at the end.
#
# Two settings matter here: -fuzzminimizetime 3s, because the archive targets'
# seeds are 11-15 KB tar streams and Go's default minimisation (60 s per new
# input, during which no exec is counted) left FuzzExtract at 24 execs in 80 s;
# and TMPDIR on tmpfs when /dev/shm exists, because the extract targets create
# and delete a folder per exec.
set -uo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
case $secs in ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;; esac
if [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
failed=()
while IFS=: read -r file fn; do
  pkg=./$(dirname "$file")
  echo "== $pkg $fn (${secs}s)"
  if ! go test "$pkg" -run '^$' -fuzz "^$fn\$" -fuzztime "${secs}s" -fuzzminimizetime 3s -parallel 2 2>&1 | tail -3; then
    failed+=("$pkg $fn")
  fi
done < <(grep -rHoE --include='*_test.go' '^func Fuzz[A-Za-z0-9_]+\(f \*testing\.F\)' . |
  sed -E 's#^\./##; s#:func (Fuzz[A-Za-z0-9_]+).*#:\1#' | sort)
if [ ${#failed[@]} -gt 0 ]; then
  printf 'FAILED: %s\n' "${failed[@]}"
  exit 1
fi
echo "all fuzz targets ran without a failure"
