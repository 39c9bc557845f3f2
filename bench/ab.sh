#!/usr/bin/env bash
# bench/ab.sh: two or more lyncbackup binaries, backup against backup, in
# alternating runs to one loopback VersityGW. For changes whose effect is
# smaller than the spread of bench/run.sh's runs (this VM's backups of one
# binary vary by 30% over an hour): only pairs taken minutes apart compare.
#
#   bench/ab.sh [--runs N] [--format chunked|archive] [--size MB] [--seed S] BIN...
#                                   (default: 5 runs, chunked, the 1024 MB corpus, seed 1)
#
# Each run backs the corpus up once with every BIN, in the order given, each
# into a fresh bucket (deleted after the run). Per backup: wall time, the
# binary's CPU (user+sys) and peak RSS (GNU time), the S3 server's CPU over
# the backup (from /proc/PID/stat before and after), the bytes stored and the
# number of objects. At the end, per binary: the medians and the minima.
# Results go to $WORK/ab.tsv. Nothing else runs; keep the machine quiet.
#
# Environment: LYNCBACKUP_BENCH_DIR (work folder, default $TMPDIR or /tmp,
# /lyncbackup-ab), LYNCBACKUP_MKCORPUS (corpus generator).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PROG=bench/ab.sh
WORK=${LYNCBACKUP_BENCH_DIR:-${TMPDIR:-/tmp}/lyncbackup-ab}
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
RUNS=5
FORMAT=chunked
SIZE_MB=1024
SEED=1
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--format) FORMAT=$2; shift 2 ;;
	--size) SIZE_MB=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	-h | --help) sed -n '2,18p' "$0"; exit 0 ;;
	-*) echo "$PROG: unknown argument $1 (see --help)" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -ge 1 ] || { echo "$PROG: name at least one lyncbackup binary (see --help)" >&2; exit 2; }
case $FORMAT in chunked | archive) ;; *) echo "$PROG: --format is chunked or archive, not $FORMAT" >&2; exit 2 ;; esac
for b in "$@"; do [ -x "$b" ] || { echo "$PROG: $b is not an executable" >&2; exit 2; }; done

need_common
lock_work
need rclone "apt-get install rclone"
age_key
C=$(corpus "$SIZE_MB" "$SEED")
trap 'stop_versitygw; rm -rf "$S3DIR" "$WORK/staging"' EXIT
start_versitygw

TSV=$WORK/ab.tsv
: >"$TSV"
cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; } # utime+stime in clock ticks
TICK=$(getconf CLK_TCK)
i=0
for run in $(seq "$RUNS"); do
	for b in "$@"; do
		i=$((i + 1))
		bucket=ab-$i
		rclone mkdir "bench:$bucket" 2>/dev/null
		cat >"$WORK/ab.yaml" <<EOF
host: bench
format: $FORMAT
staging: $WORK/staging
exporters:
  - {kind: path, name: corpus, paths: ['$C'], split: true}
encryption:
  recipients: [$KEY]
destination:
  url: s3://$bucket/sets
  endpoint: $ENDPOINT
  path_style: true
  region: us-east-1
EOF
		sync
		v0=$(cpu_of "$VGW_PID")
		t0=$(date +%s.%N)
		/usr/bin/time -f "%U %S %M" -o "$WORK/ab.time" "$b" backup --config "$WORK/ab.yaml" >/dev/null 2>"$WORK/ab.err" ||
			die "$b failed: $(tail -3 "$WORK/ab.err")"
		t1=$(date +%s.%N)
		v1=$(cpu_of "$VGW_PID")
		read -r u s m <"$WORK/ab.time"
		objects=$(find "$S3DIR/$bucket" -path "$S3DIR/$bucket/.sgwtmp" -prune -o -type f -print | wc -l)
		row=$(awk -v b="$b" -v r="$run" -v t0="$t0" -v t1="$t1" -v u="$u" -v s="$s" -v v0="$v0" -v v1="$v1" -v tick="$TICK" -v m="$m" \
			'BEGIN {printf "%s\t%d\t%.3f\t%.2f\t%.2f\t%d", b, r, t1 - t0, u + s, (v1 - v0) / tick, m / 1024}')
		printf '%s\t%s\t%s\n' "$row" "$(stored "$bucket")" "$objects" | tee -a "$TSV"
		rm -rf "${S3DIR:?}/$bucket"
	done
done
python3 - "$TSV" <<'EOF'
import collections, statistics, sys
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    b, _, wall, cpu, srv, rss, stored, objects = line.rstrip("\n").split("\t")
    rows[b].append((float(wall), float(cpu), float(srv), int(rss), int(stored), int(objects)))
print("| binary | runs | wall s (median, min) | CPU s | server CPU s | peak RSS MiB | stored bytes | objects |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for b, r in rows.items():
    col = lambda k: [x[k] for x in r]
    print(f"| {b} | {len(r)} | {statistics.median(col(0)):.2f} ({min(col(0)):.2f}) | {statistics.median(col(1)):.2f} | "
          f"{statistics.median(col(2)):.2f} | {max(col(3))} | {statistics.median(col(4)):.0f} | {statistics.median(col(5)):.0f} |")
EOF
