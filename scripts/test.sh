#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need when it is
# missing: the age and zstd CLIs and python3 (Debian; python3 runs
# scripts/reader2.py, the second reader of e2e TestReader2), VersityGW (S3 server, Go module
# proxy) and Azurite (Azure Blob emulator, npm). Servers are started by the
# tests themselves on 127.0.0.1 with free ports.
#
# A missing server or tool fails the run (LYNCBACKUP_REQUIRE_SERVERS=1, the
# default here and in CI): every object-lock, immutability, multipart and
# S3/Azure prune test sits behind them. A developer without them may run
# LYNCBACKUP_REQUIRE_SERVERS=0 ./scripts/test.sh to skip those tests instead.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v age >/dev/null || need_apt+=(age)
command -v zstd >/dev/null || need_apt+=(zstd)
command -v python3 >/dev/null || need_apt+=(python3)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} (Debian)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

GOBIN_DIR="$(go env GOPATH)/bin"
export PATH="$GOBIN_DIR:$PATH"
if ! command -v versitygw >/dev/null; then
  echo "installing versitygw v1.8.0"
  (cd / && GOFLAGS= go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)
fi
if ! command -v azurite-blob >/dev/null; then
  echo "installing azurite 3.35.0"
  npm install -g azurite@3.35.0 >/dev/null
fi

export LYNCBACKUP_REQUIRE_SERVERS="${LYNCBACKUP_REQUIRE_SERVERS:-1}"
if [ "$LYNCBACKUP_REQUIRE_SERVERS" != 0 ]; then
  missing=()
  for tool in versitygw azurite-blob age zstd python3; do
    command -v "$tool" >/dev/null || missing+=("$tool")
  done
  if [ ${#missing[@]} -gt 0 ]; then
    echo "test.sh: ${missing[*]} still not on PATH after installing (npm's global bin: $(npm prefix -g 2>/dev/null)/bin; Go's: $GOBIN_DIR)." >&2
    echo "test.sh: fix the install, or run LYNCBACKUP_REQUIRE_SERVERS=0 $0 to skip the tests that need them." >&2
    exit 1
  fi
fi

go test -timeout 45m "$@" ./...
