#!/usr/bin/env bash
# bench/churn.sh: many nights of Lync-like change (bench/churn.py), lyncbackup
# format: chunked vs lyncbackup format: archive vs restic, each into its own
# bucket / repository of one loopback VersityGW, kept across the nights.
# See docs/BENCHMARKS.md ("Churn").
#
#   bench/churn.sh [--nights N] [--size MB] [--seed S] [--keep]
#                  (default: 30 nights after night 0, the 1024 MB corpus, seed 1)
#
# Night 0 is mkcorpus.py's corpus; before night k (k >= 1) `churn.py CORPUS k SEED`
# changes it. After each night's change every contender backs the corpus up
# (the order rotates night by night); nothing is pruned or forgotten (no
# retention: every set / snapshot of every night is kept). Per night and
# contender: wall time, peak RSS (GNU time -v), bytes uploaded and total bytes
# stored, both measured on the store side: a listing of the bucket's posix
# folder (path, inode, size, mtime) before and after the run; uploaded = the
# sizes of objects new or rewritten by the run, stored = the sizes of all.
# After the last night: restore time of the latest set / snapshot, and the
# restored tree is compared with the corpus (churn.py --digest).
# Results: $WORK/churn.tsv and the markdown table $RESULTS (default
# $WORK/churn.md), also printed. At the end the buckets, the repository,
# the staging folders, the restores and the corpus are deleted (--keep keeps them).
#
# Environment:
#   LB_BIN               prebuilt lyncbackup (default: built from this repository);
#                        it must know `format: chunked|archive` (issue 17)
#   RESTIC_BIN           prebuilt restic (default: restic $RESTIC_VERSION, v0.18.1,
#                        built from the Go module proxy into $WORK/bin once)
#   LYNCBACKUP_BENCH_DIR work folder (default: $TMPDIR or /tmp, /lyncbackup-churn);
#                        needs about SIZE x (1.1 x (NIGHTS+1) + 4) MB free (archive keeps every night)
#   LYNCBACKUP_MKCORPUS  corpus generator (default: <repo>/../shared/bench/mkcorpus.py)
#   RESULTS              markdown results file
#   CHURN_CONTENDERS     which contenders run (default: "chunked archive restic")
#   LYNCBACKUP_CHURN_MODEL  overrides of churn.py's MODEL numbers, e.g. "sql_cold=0" (sensitivity runs)
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PROG=bench/churn.sh
WORK=${LYNCBACKUP_BENCH_DIR:-${TMPDIR:-/tmp}/lyncbackup-churn}
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
NIGHTS=30
SIZE_MB=1024
SEED=1
KEEP=0
while [ $# -gt 0 ]; do
	case "$1" in
	--nights) NIGHTS=$2; shift 2 ;;
	--size) SIZE_MB=$2; shift 2 ;;
	--seed) SEED=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	-h | --help) sed -n '2,32p' "$0"; exit 0 ;;
	*) echo "$PROG: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
[[ "$NIGHTS" =~ ^[0-9]+$ && "$SIZE_MB" =~ ^[1-9][0-9]*$ && "$SEED" =~ ^[0-9]+$ ]] ||
	{ echo "$PROG: --nights, --size and --seed take whole numbers" >&2; exit 2; }
RESULTS=${RESULTS:-$WORK/churn.md}

need_common
lock_work
need rclone "apt-get install rclone"
mkdir -p "$WORK"
NEED_MB=$((SIZE_MB * (11 * (NIGHTS + 1) + 40) / 10))
FREE_MB=$(df -Pm "$WORK" | awk 'NR == 2 {print $4}')
[ "$FREE_MB" -ge "$NEED_MB" ] ||
	die "$WORK has $FREE_MB MB free, the run needs about $NEED_MB MB (format: archive keeps every night's full set)"

build_lyncbackup
build_restic
age_key

CORPUS=$WORK/corpus
cleanup() {
	stop_versitygw
	if [ "$KEEP" = 0 ]; then
		rm -rf "${S3DIR:-$WORK/s3}" "$WORK/restore" "$WORK"/staging-* "$WORK/restic-cache" "$CORPUS" "$WORK/lists"
	fi
}
trap cleanup EXIT
rm -rf "$CORPUS" "$WORK/restore" "$WORK"/staging-* "$WORK/restic-cache" "$WORK/lists"
echo "== night 0: the $SIZE_MB MB corpus (mkcorpus.py seed $SEED) in $CORPUS"
python3 "$MKCORPUS" "$CORPUS" "$SIZE_MB" "$SEED"
start_versitygw
mkdir -p "$WORK/lists" "$WORK/times"

read -r -a CONTENDERS <<<"${CHURN_CONTENDERS:-chunked archive restic}"
lbconfig() { # lbconfig FORMAT -> config path; bucket lb-FORMAT, staging (chunk key, caches) kept across nights
	local cfg=$WORK/lyncbackup-$1.yaml
	cat >"$cfg" <<EOF
host: bench
format: $1
staging: $WORK/staging-$1
exporters:
  - {kind: path, name: corpus, paths: ['$CORPUS'], split: true}
encryption:
  recipients: [$KEY]
destination:
  url: s3://lb-$1/sets
  endpoint: $ENDPOINT
  path_style: true
  region: us-east-1
EOF
	echo "$cfg"
}
for f in chunked archive; do
	rclone mkdir "bench:lb-$f" 2>/dev/null || die "cannot create bucket lb-$f"
	lbconfig "$f" >/dev/null
done
RREPO=s3:$ENDPOINT/restic
"$RESTIC" -r "$RREPO" init >/dev/null 2>&1 || die "restic init failed"
bucket() { case $1 in restic) echo restic ;; *) echo "lb-$1" ;; esac; }

# listing CONTENDER FILE: path, inode, size, mtime of every object file of its bucket.
listing() {
	local d=$S3DIR/$(bucket "$1")
	find "$d" -path "$d/.sgwtmp" -prune -o -type f -printf '%P\t%i\t%s\t%T@\n' | LC_ALL=C sort >"$2"
}
# delta BEFORE AFTER -> "uploaded stored removed": sizes of the objects new or rewritten
# (a line of AFTER not in BEFORE), of all objects in AFTER, and of those gone since BEFORE.
delta() {
	awk -F'\t' 'FILENAME == ARGV[1] {old[$0] = 1; oldsize[$1] = $3; next}
		{ if (!($0 in old)) up += $3; all += $3; seen[$1] = 1 }
		END { for (p in oldsize) if (!(p in seen)) rm += oldsize[p]; printf "%.0f %.0f %.0f\n", up, all, rm }' "$1" "$2"
}

TSV=$WORK/churn.tsv
: >"$TSV"
now() { date +%s.%N; }
# run NIGHT CONTENDER KIND CMD...: one timed run; KIND backup appends the store-side delta.
run() {
	local night=$1 c=$2 kind=$3
	shift 3
	local tf=$WORK/times/$kind-$c-$night t0 t1 rc=0 up=0 all=0 rm=0
	sync
	[ "$kind" = backup ] && listing "$c" "$WORK/lists/before"
	t0=$(now)
	/usr/bin/time -v -o "$tf" "$@" >"$tf.out" 2>&1 || rc=$?
	t1=$(now)
	if [ $rc != 0 ]; then
		tail -20 "$tf.out" >&2
		die "$kind of $c (night $night) failed with exit code $rc"
	fi
	if [ "$kind" = backup ]; then
		listing "$c" "$WORK/lists/after"
		read -r up all rm < <(delta "$WORK/lists/before" "$WORK/lists/after")
	fi
	local wall rss
	wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$night" "$c" "$kind" "$wall" "$rss" "$up" "$all" "$rm" >>"$TSV"
	printf '   %-8s %-7s night %3s: %7.2f s %5d MiB' "$c" "$kind" "$night" "$wall" $((rss / 1024))
	[ "$kind" = backup ] && printf '  uploaded %8.1f MB  stored %9.1f MB' "$(awk -v b="$up" 'BEGIN {print b / 1e6}')" "$(awk -v b="$all" 'BEGIN {print b / 1e6}')"
	echo
}

LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
T_START=$(date +%s)
for night in $(seq 0 "$NIGHTS"); do
	if [ "$night" -gt 0 ]; then
		python3 "$REPO/bench/churn.py" "$CORPUS" "$night" "$SEED" | sed 's/^/== /'
	fi
	n=${#CONTENDERS[@]}
	for k in $(seq 0 $((n - 1))); do
		c=${CONTENDERS[$(((k + night) % n))]}
		case $c in
		chunked | archive) run "$night" "$c" backup "$LB" backup --config "$WORK/lyncbackup-$c.yaml" --quiet ;;
		restic) run "$night" "$c" backup "$RESTIC" -r "$RREPO" backup --quiet --host bench "$CORPUS" ;;
		esac
	done
done
T_NIGHTS=$(($(date +%s) - T_START))

# The latest set / snapshot of each, restored into a folder of its own and compared with the corpus.
WANT=$(python3 "$REPO/bench/churn.py" --digest "$CORPUS")
for c in "${CONTENDERS[@]}"; do
	dest=$WORK/restore/$c
	mkdir -p "$WORK/restore"
	case $c in
	chunked | archive)
		# lyncbackup restores item corpus-X (split: true) as DEST/corpus-X/corpus/X.
		run "$NIGHTS" "$c" restore "$LB" restore --config "$WORK/lyncbackup-$c.yaml" --identity "$WORK/key.txt" --to "$dest" --quiet
		got=("$dest"/corpus-*/"$(basename "$CORPUS")") ;;
	restic)
		run "$NIGHTS" "$c" restore "$RESTIC" -r "$RREPO" restore latest --target "$dest"
		got=("$dest$CORPUS") ;;
	esac
	[ -d "${got[0]}" ] || die "$c restore: ${got[0]} not found (restore layout changed?)"
	[ "$(python3 "$REPO/bench/churn.py" --digest "${got[@]}")" = "$WANT" ] || die "$c restore of night $NIGHTS differs from the corpus"
	rm -rf "$dest"
done

{
	echo "# Churn: $NIGHTS nights after night 0 of the $SIZE_MB MB corpus (seed $SEED), $(date -u +%Y-%m-%dT%H:%MZ)"
	echo
	echo "- machine: $(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
	echo "- tools: $("$LB" version), $("$RESTIC" version | cut -d' ' -f1-2), versitygw $(go version -m "$VGW" | awk '$1 == "mod" {print $3}'), $(go version | cut -d' ' -f3)"
	echo "- load average (1/5/15 min) before: $LOAD0, after: $(cut -d' ' -f1-3 /proc/loadavg); the nights took $T_NIGHTS s"
	echo "- command: ${LYNCBACKUP_CHURN_MODEL:+LYNCBACKUP_CHURN_MODEL=$LYNCBACKUP_CHURN_MODEL }bench/churn.sh --nights $NIGHTS --size $SIZE_MB --seed $SEED; no retention (every night's set / snapshot kept)"
	echo "- restores of night $NIGHTS compared with the corpus (churn.py --digest): identical"
	echo
	python3 "$REPO/bench/churn_table.py" "$TSV"
} >"$RESULTS"
echo
cat "$RESULTS"
echo
echo "(written to $RESULTS; raw numbers in $TSV)"
