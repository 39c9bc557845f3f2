#!/usr/bin/env bash
# bench/churn.sh: many nights of a Lync-like change model (bench/churn.py),
# lyncbackup chunked vs lyncbackup format: archive vs restic, each into its
# own bucket of one loopback VersityGW. See docs/BENCHMARKS.md ("Churn").
#
#   bench/churn.sh [--nights N] [--size MB] [--seed S] [--keep]
#                         (default: 30 nights of the 1024 MB corpus, seed 1)
#
# Per night and contender: wall time, bytes uploaded (lyncbackup's
# uploaded_bytes / stored_bytes from --json, restic's data_added_packed)
# and the bucket's total bytes; after the last night the restore time of
# the last set. Every set is kept (no prune). Results: $WORK/churn.tsv and
# a markdown table on stdout ($WORK/churn.md).
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
MKCORPUS=${LYNCBACKUP_MKCORPUS:-$REPO/../shared/bench/mkcorpus.py}
WORK=${LYNCBACKUP_BENCH_DIR:-${TMPDIR:-/tmp}/lyncbackup-churn}
NIGHTS=30 SIZE_MB=1024 SEED=1 KEEP=0
while [ $# -gt 0 ]; do
	case "$1" in
	--nights) NIGHTS=$2; shift 2 ;;
	--size) SIZE_MB=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) sed -n '2,14p' "$0"; exit 0 ;;
	*) echo "bench/churn.sh: unknown argument $1" >&2; exit 2 ;;
	esac
done
die() { echo "bench/churn.sh: $*" >&2; exit 1; }
for t in go python3 age-keygen jq; do command -v $t >/dev/null || die "$t is not installed"; done
[ -f "$MKCORPUS" ] || die "corpus generator $MKCORPUS not found (set LYNCBACKUP_MKCORPUS)"
VGW=$(command -v versitygw || echo "$(go env GOPATH)/bin/versitygw")
[ -x "$VGW" ] || die "versitygw not found (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)"

mkdir -p "$WORK/bin"
(cd "$REPO" && go build -trimpath -o "$WORK/bin/lyncbackup" ./cmd/lyncbackup)
LB=$WORK/bin/lyncbackup
RESTIC_VERSION=${RESTIC_VERSION:-v0.18.1}
if [ ! -x "$WORK/bin/restic-$RESTIC_VERSION" ]; then
	(cd / && GOFLAGS= GOBIN="$WORK/gobin" go install "github.com/restic/restic/cmd/restic@$RESTIC_VERSION")
	mv "$WORK/gobin/restic" "$WORK/bin/restic-$RESTIC_VERSION"
fi
RESTIC=$WORK/bin/restic-$RESTIC_VERSION

CORPUS=$WORK/corpus
rm -rf "$CORPUS" "$WORK/staging" "$WORK/restore"
python3 "$MKCORPUS" "$CORPUS" "$SIZE_MB" "$SEED" >/dev/null
[ -f "$WORK/key.txt" ] || age-keygen -o "$WORK/key.txt" 2>/dev/null
KEY=$(grep -o 'age1[0-9a-z]*' "$WORK/key.txt" | head -1)

ACCESS=benchaccess SECRET=benchsecret-$RANDOM$RANDOM
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
S3DIR=$WORK/s3
rm -rf "$S3DIR"; mkdir -p "$S3DIR"/{lbc,lba,rst}
ROOT_ACCESS_KEY=$ACCESS ROOT_SECRET_KEY=$SECRET "$VGW" --port "127.0.0.1:$PORT" --quiet posix "$S3DIR" >"$WORK/versitygw.log" 2>&1 &
VGW_PID=$!
cleanup() {
	kill "$VGW_PID" 2>/dev/null || true
	wait "$VGW_PID" 2>/dev/null || true
	[ "$KEEP" = 1 ] || rm -rf "$S3DIR" "$WORK/restore" "$WORK/staging" "$WORK/restic-cache" "$CORPUS"
}
trap cleanup EXIT
for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break; sleep 0.1; done
ENDPOINT=http://127.0.0.1:$PORT
unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN
export AWS_ACCESS_KEY_ID=$ACCESS AWS_SECRET_ACCESS_KEY=$SECRET AWS_REGION=us-east-1
export RESTIC_PASSWORD=bench-restic-password RESTIC_CACHE_DIR=$WORK/restic-cache

stored() { find "$S3DIR/$1" -path "$S3DIR/$1/.sgwtmp" -prune -o -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f\n", s}'; }
cfg() { # cfg BUCKET FORMAT
	cat >"$WORK/$1.yaml" <<EOC
host: bench
format: $2
staging: $WORK/staging
exporters:
  - {kind: path, name: corpus, paths: ['$CORPUS'], split: true}
encryption: {recipients: [$KEY]}
destination: {url: 's3://$1/sets', endpoint: '$ENDPOINT', path_style: true, region: us-east-1}
EOC
	echo "$WORK/$1.yaml"
}
CFG_C=$(cfg lbc chunked)
CFG_A=$(cfg lba archive)
REPO_R=s3:$ENDPOINT/rst
"$RESTIC" -r "$REPO_R" init >/dev/null

TSV=$WORK/churn.tsv
: >"$TSV"
now() { date +%s.%N; }
row() { printf '%s\t%s\t%s\t%s\t%s\n' "$@" >>"$TSV"; }
for night in $(seq 0 "$NIGHTS"); do
	[ "$night" = 0 ] || python3 "$REPO/bench/churn.py" "$CORPUS" "$night" "$SEED"
	sync
	t0=$(now); out=$("$LB" backup --config "$CFG_C" --json --quiet); t1=$(now)
	row "$night" chunked "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b-a}')" "$(jq -r '.uploaded_bytes // 0' <<<"$out")" "$(stored lbc)"
	t0=$(now); out=$("$LB" backup --config "$CFG_A" --json --quiet); t1=$(now)
	row "$night" archive "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b-a}')" "$(jq -r '.stored_bytes' <<<"$out")" "$(stored lba)"
	t0=$(now); out=$("$RESTIC" -r "$REPO_R" backup --json --quiet --host bench "$CORPUS" | tail -1); t1=$(now)
	row "$night" restic "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b-a}')" "$(jq -r '.data_added_packed // .data_added' <<<"$out")" "$(stored rst)"
	echo "night $night done" >&2
done
restore_time() { local t0 t1; t0=$(now); "$@" >/dev/null; t1=$(now); awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.2f", b-a}'; }
rm -rf "$WORK/restore"
RC=$(restore_time "$LB" restore latest --config "$CFG_C" --to "$WORK/restore/c" --identity "$WORK/key.txt" --quiet)
RA=$(restore_time "$LB" restore latest --config "$CFG_A" --to "$WORK/restore/a" --identity "$WORK/key.txt" --quiet)
RR=$(restore_time "$RESTIC" -r "$REPO_R" restore latest --target "$WORK/restore/r")

{
	echo "Churn: $NIGHTS nights of the $SIZE_MB MB corpus (seed $SEED), $(nproc) CPU, $(date -u +%FT%TZ)"
	echo
	echo "| night | chunked s | chunked up MB | chunked total MB | archive s | archive up MB | archive total MB | restic s | restic up MB | restic total MB |"
	echo "|---|---|---|---|---|---|---|---|---|---|"
	awk -F'\t' '{k[$1]=1; s[$1,$2]=$3; u[$1,$2]=$4/1048576; t[$1,$2]=$5/1048576}
		END {for (n=0; (n in k); n++) printf "| %d | %.1f | %.1f | %.0f | %.1f | %.1f | %.0f | %.1f | %.1f | %.0f |\n", n,
			s[n,"chunked"], u[n,"chunked"], t[n,"chunked"], s[n,"archive"], u[n,"archive"], t[n,"archive"], s[n,"restic"], u[n,"restic"], t[n,"restic"]}' "$TSV"
	echo
	echo "Restore of the last set: chunked ${RC} s, archive ${RA} s, restic ${RR} s."
} | tee "$WORK/churn.md"
