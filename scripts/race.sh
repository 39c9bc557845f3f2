#!/usr/bin/env bash
# Runs the packages whose code runs concurrently under the Go race detector:
# the chunk writer's workers and sweep, the backup pipeline (items, packer and
# store goroutines), leases, markers and prune, the stores' parallel part
# uploads and fault paths (and the loopback fault proxy they go through), the
# extractor and the parallel helper. CI runs it after ./scripts/test.sh, whose
# servers (VersityGW, Azurite) and tools it uses; extra arguments go to go
# test (e.g. -run X).
#
# The race detector needs cgo (gcc); lyncbackup itself does not use cgo.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v gcc >/dev/null; then
  echo "installing gcc (Debian; the race detector needs cgo)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends gcc libc6-dev >/dev/null
fi
export PATH="$(go env GOPATH)/bin:$PATH"
export LYNCBACKUP_REQUIRE_SERVERS="${LYNCBACKUP_REQUIRE_SERVERS:-1}"
CGO_ENABLED=1 go test -race -timeout 30m "$@" \
  ./chunk/ ./pipeline/ ./catalog/ ./retention/ ./upload/... ./archive/ ./crypto/ \
  ./internal/parallel/
