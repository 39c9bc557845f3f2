#!/usr/bin/env bash
# Runs the whole test suite. Installs what the tests need when it is
# missing: the age and zstd CLIs (Debian), VersityGW (S3 server, Go module
# proxy) and Azurite (Azure Blob emulator, npm). Servers are started by the
# tests themselves on 127.0.0.1 with free ports.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v age >/dev/null || need_apt+=(age)
command -v zstd >/dev/null || need_apt+=(zstd)
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

go test -timeout 45m "$@" ./...
