#!/usr/bin/env bash
# go test -exec wrapper of the Wine lane: runs a GOOS=windows test binary
# (and its arguments) under wine64 in the lane's prefix. lane.sh sets
# WINEPREFIX, WINEDEBUG and LANE_WINE.
set -euo pipefail
exec "${LANE_WINE:?run through scripts/wine/lane.sh}" "$@"
