#!/usr/bin/env bash
# The Windows test lane: GOOS=windows go test ./... with every test binary
# run under Wine (wine64 8, Debian 12), set up from nothing:
#   1. apt packages wine64 and gcc-mingw-w64-x86-64 (skipped when present);
#   2. a fresh WINEPREFIX for this run (WINEDEBUG=-all), removed at the end;
#   3. bcryptprimitives.dll built from scripts/wine/bcryptprimitives.c into
#      the prefix's system32 (Go >= 1.22 needs ProcessPrng, Wine 8 lacks it);
#   4. lyncbackup.exe and the stand-ins powershell.exe / sqlcmd.exe built
#      beforehand (there is no Go toolchain inside Wine), named to the tests
#      by LYNCBACKUP_TEST_BIN / _PSSTUB / _SQLCMDSTUB;
#   5. VersityGW and Azurite started as Linux processes on 127.0.0.1 by
#      internal/testenv/withservers, reached by the tests over loopback;
#   6. go test -exec scripts/wine/exec.sh, with -tags wine (internal/wine:
#      Go's delete fallback, which Wine 8 needs; never in a release build)
#      and an -overlay that adds internal/wine to every package's test.
# Extra arguments go to go test (e.g. -run X, or packages instead of ./...).
# Exits non-zero when any Windows test fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
start=$SECONDS

if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
find_wine() {
  for w in "$(command -v wine64 || true)" /usr/lib/wine/wine64; do
    if [ -n "$w" ] && [ -x "$w" ]; then echo "$w"; return; fi
  done
}
need_apt=()
[ -n "$(find_wine)" ] || need_apt+=(wine64)
command -v x86_64-w64-mingw32-gcc >/dev/null || need_apt+=(gcc-mingw-w64-x86-64)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "== installing ${need_apt[*]} (Debian)"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi
WINE=$(find_wine)
WINESERVER=$(command -v wineserver || echo "$(dirname "$WINE")/wineserver")
[ -x "$WINESERVER" ] || WINESERVER=/usr/lib/wine/wineserver64
echo "== $("$WINE" --version) ($WINE)"

lane=$(mktemp -d /tmp/lyncbackup-wine-XXXXXX)
export WINEPREFIX=$lane/prefix WINEDEBUG=-all WINEARCH=win64 WINEDLLOVERRIDES="mscoree,mshtml="
export LANE_WINE=$WINE
# As in scripts/test.sh: a missing server fails the Windows tests, never skips them.
export LYNCBACKUP_REQUIRE_SERVERS=${LYNCBACKUP_REQUIRE_SERVERS:-1}
cleanup() {
  "$WINESERVER" -k >/dev/null 2>&1 || true
  # wineserver keeps its socket in /tmp/wine-XXXXXX/server-<dev>-<inode of
  # the prefix>, which outlives it: remove ours (each lane had left one).
  local id
  if id=$(stat -c '%d %i' "$WINEPREFIX" 2>/dev/null); then
    # shellcheck disable=SC2086
    id=$(printf 'server-%x-%x' $id)
    for d in "${TMPDIR:-/tmp}"/wine-*/"$id" /tmp/wine-*/"$id"; do
      [ -d "$d" ] || continue
      rm -rf "$d"
      rmdir "$(dirname "$d")" 2>/dev/null || true
    done
  fi
  rm -rf "$lane"
}
trap cleanup EXIT

# Wine's view of a Linux path (its Z: drive is /).
winpath() { printf 'Z:%s' "${1//\//\\}"; }

echo "== fresh prefix $WINEPREFIX"
mkdir -p "$WINEPREFIX"
"$WINESERVER" -p  # one wineserver for the whole lane, not one per binary
"$WINE" wineboot -i >/dev/null 2>&1
# Wine 8 reports Windows 7 by default. The lane makes it report Windows 8
# (NT 6.2, the kernel of Server 2012, the oldest Windows README names), so
# the code paths Go and lyncbackup choose by the Windows version are that
# system's; LANE_WINVER (a winecfg name: win81, win10) picks another.
winver=${LANE_WINVER:-win8}
"$WINE" reg add 'HKCU\Software\Wine' /v Version /t REG_SZ /d "$winver" /f >/dev/null 2>&1
echo "== Wine reports Windows version $winver"
x86_64-w64-mingw32-gcc -O2 -shared -Wl,--kill-at -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
  scripts/wine/bcryptprimitives.c -ladvapi32

echo "== building lyncbackup.exe and the stand-ins (GOOS=windows, -tags wine)"
wineflags=(-tags wine -ldflags=-checklinkname=0)
mkdir -p "$lane/bin"
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build "${wineflags[@]}" -o "$lane/bin/lyncbackup.exe" ./cmd/lyncbackup
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build "${wineflags[@]}" -o "$lane/bin/powershell.exe" ./internal/psstub
GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go build "${wineflags[@]}" -o "$lane/bin/sqlcmd.exe" ./internal/sqlcmdstub
export LYNCBACKUP_TEST_BIN=$(winpath "$lane/bin/lyncbackup.exe")
export LYNCBACKUP_TEST_PSSTUB=$(winpath "$lane/bin/powershell.exe")
export LYNCBACKUP_TEST_SQLCMDSTUB=$(winpath "$lane/bin/sqlcmd.exe")
"$WINE" "$lane/bin/lyncbackup.exe" --version

# Every package's test binary gets internal/wine through an overlay file,
# so the repository holds no wine-only test files.
mkdir -p "$lane/overlay"
{
  echo '{"Replace":{'
  sep=
  while read -r dir name ip; do
    [ "$ip" = github.com/lyncbackup/lyncbackup/internal/wine ] && continue
    f="$lane/overlay/${ip//\//_}.go"
    printf '//go:build wine\n\npackage %s\n\nimport _ "github.com/lyncbackup/lyncbackup/internal/wine"\n' "$name" >"$f"
    printf '%s"%s/zz_wine_lane_test.go":"%s"\n' "$sep" "$dir" "$f"
    sep=,
  done < <(GOOS=windows go list -f '{{.Dir}} {{.Name}} {{.ImportPath}}' ./...)
  echo '}}'
} >"$lane/overlay.json"

echo "== GOOS=windows go test under Wine"
pkgs=(./...)
args=()
for a in "$@"; do
  case $a in ./*) pkgs=();; esac
done
for a in "$@"; do case $a in ./*) pkgs+=("$a");; *) args+=("$a");; esac; done
set +e
go run ./internal/testenv/withservers -wine -- \
  env GOOS=windows GOARCH=amd64 CGO_ENABLED=0 go test -json -overlay "$lane/overlay.json" "${wineflags[@]}" -exec "$repo/scripts/wine/exec.sh" \
  -timeout 40m "${pkgs[@]}" ${args[@]+"${args[@]}"} \
  | go run ./scripts/wine/testsum -o "${LANE_JSON:-$lane/wine-tests.json}"
st=("${PIPESTATUS[@]}")
rc=${st[0]} sum=${st[1]}
set -e
echo "== Windows lane: $((SECONDS - start))s wall time"
if [ "$rc" != 0 ] || [ "$sum" != 0 ]; then
  echo "== Windows lane FAILED (go test exit $rc, summary exit $sum)"
  exit 1
fi
