#!/usr/bin/env bash
# bench/run.sh: lyncbackup against restic and the shell pipeline, on the
# reference corpus, to a loopback VersityGW S3 server. See docs/BENCHMARKS.md.
#
#   bench/run.sh [--runs N] [--size MB] [--seeds "1 2"] [--keep]
#                                    compare (default: 3 runs, 1024 MB, corpus seeds 1 and 2)
#   bench/run.sh --flat [--runs N]   lyncbackup peak RSS at 256 MB and 4096 MB
#
# Contenders run alternately, run by run, each into a fresh bucket:
#   lyncbackup backup | restic backup | tar|zstd -3 -T0|age|rclone rcat | tar|zstd|age >/dev/null
#   (lyncbackup writes the default format: chunked; "format: archive" runs as an extra contender)
#   then lyncbackup restore | restic restore of the set just written.
# restic is 0.18.1, built from the Go module proxy into the work folder
# (go install github.com/restic/restic/cmd/restic@v0.18.1); RESTIC_OLD=PATH
# (e.g. /usr/bin/restic, Debian's 0.14) adds it as an extra contender.
# Medians of wall time, peak RSS (GNU time -v) and stored bytes go to a
# markdown table, printed and written to $RESULTS (default $WORK/results.md).
#
# Environment:
#   LYNCBACKUP_MKCORPUS  corpus generator (default: <repo>/../shared/bench/mkcorpus.py)
#   LYNCBACKUP_BENCH_DIR work folder, needs ~6x the corpus free (one run's sets and restores at a time) (default: $TMPDIR or /tmp, /lyncbackup-bench)
#   RESULTS              results file
#   RESTIC_VERSION       restic release to build (default v0.18.1)
#   RESTIC_OLD           an older restic binary to run as an extra contender
#   LB_BIN               a prebuilt lyncbackup binary (default: built from this repository)
#   RESTIC_BIN           a prebuilt restic binary (default: restic $RESTIC_VERSION built as above)
#   LB_ARCHIVE=0         leave out the extra contender lyncbackup with format: archive (one object per item)
#   LYNCBACKUP_CPUPROFILE_DIR  when set, lyncbackup writes a pprof CPU profile per run there
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
PROG=bench/run.sh
WORK=${LYNCBACKUP_BENCH_DIR:-${TMPDIR:-/tmp}/lyncbackup-bench}
# shellcheck source=bench/lib.sh
. "$REPO/bench/lib.sh"
RUNS=3
SIZE_MB=1024
SEEDS="1 2"
MODE=compare
KEEP=0
while [ $# -gt 0 ]; do
	case "$1" in
	--runs) RUNS=$2; shift 2 ;;
	--size) SIZE_MB=$2; shift 2 ;;
	--seeds) SEEDS=$2; shift 2 ;;
	--flat) MODE=flat; shift ;;
	--keep) KEEP=1; shift ;;
	-h | --help) sed -n '2,27p' "$0"; exit 0 ;;
	*) echo "bench/run.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
	esac
done
SUFFIX=""
[ $MODE = flat ] && SUFFIX=-flat
RESULTS=${RESULTS:-$WORK/results$SUFFIX.md}

need_common
lock_work
need tar "apt-get install tar"
need zstd "apt-get install zstd"
need age "apt-get install age"
need rclone "apt-get install rclone"

mkdir -p "$WORK/bin" "$WORK/times"
build_lyncbackup
build_restic
RESTIC_OLD=${RESTIC_OLD:-}
[ -z "$RESTIC_OLD" ] || [ -x "$RESTIC_OLD" ] || die "RESTIC_OLD=$RESTIC_OLD is not an executable"

age_key

# --- the S3 server, loopback only --------------------------------------------
cleanup() {
	stop_versitygw
	if [ "$KEEP" = 0 ]; then rm -rf "$S3DIR" "$WORK/restore" "$WORK/staging" "$WORK/restic-cache"; fi
}
trap cleanup EXIT
start_versitygw
mkbucket() { rclone mkdir "bench:$1" 2>/dev/null; }

lbconfig() { # lbconfig BUCKET CORPUS [FORMAT] -> config path
	local cfg=$WORK/lyncbackup-$1.yaml
	cat >"$cfg" <<EOF
host: bench
format: ${3:-chunked}
staging: $WORK/staging
exporters:
  # One item per top-level folder (exports, sql, filestore), as the Lync
  # exporters make them: items are packed, uploaded and restored in parallel.
  - {kind: path, name: corpus, paths: ['$2'], split: true}
# compression: the default (auto: per item, klauspost fastest or default from a trial)
encryption:
  recipients: [$KEY]
destination:
  url: s3://$1/sets
  endpoint: $ENDPOINT
  path_style: true
  region: us-east-1
  # part_size / concurrency: the defaults (8 MiB x 3 in flight), as a user gets them.
EOF
	echo "$cfg"
}

# settle: wait until the last mass deletion is 35 s old (see the restores).
DELETED_AT=0
settle() {
	local wait=$((DELETED_AT + 35 - $(date +%s)))
	if [ "$wait" -gt 0 ]; then sleep "$wait"; fi
}

TSV=$WORK/results$SUFFIX.tsv
: >"$TSV"
# measure NAME RUN PLAIN BUCKET CMD...: one timed run, appended to $TSV.
measure() {
	local name=$1 run=$2 plainb=$3 bucket=$4
	shift 4
	sync
	local tf=$WORK/times/$name.$run
	local t0 t1 rc=0
	t0=$(date +%s.%N)
	/usr/bin/time -v -o "$tf" "$@" >"$tf.out" 2>&1 || rc=$?
	t1=$(date +%s.%N)
	if [ $rc != 0 ]; then
		cat "$tf.out" >&2
		die "$name (run $run) failed with exit code $rc"
	fi
	local rss st=""
	rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$tf")
	[ -n "$bucket" ] && st=$(stored "$bucket")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$run" "$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')" \
		"$rss" "$(awk -F': ' '/User time/ {print $2}' "$tf")" "$(awk -F': ' '/System time/ {print $2}' "$tf")" "$st" "$plainb" >>"$TSV"
	printf '   %-20s run %s: %6.2f s  %6d MiB\n' "$name" "$run" "$(tail -1 "$TSV" | cut -f3)" $((rss / 1024))
}

lbenv() { # environment for one lyncbackup run (optional CPU profile)
	if [ -n "${LYNCBACKUP_CPUPROFILE_DIR:-}" ]; then
		mkdir -p "$LYNCBACKUP_CPUPROFILE_DIR"
		echo "LYNCBACKUP_CPUPROFILE=$LYNCBACKUP_CPUPROFILE_DIR/$1.prof"
	else
		echo "LYNCBACKUP_CPUPROFILE="
	fi
}

machine() {
	echo "- machine: $(nproc) CPU ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/Mem:/ {print $2}') GiB RAM, $(uname -sr)"
	echo "- tools: $("$LB" version), $("$RESTIC" version | cut -d' ' -f1-2)${RESTIC_OLD:+ (and $("$RESTIC_OLD" version | cut -d' ' -f1-2))}, $(rclone version | head -1), age $(age --version), zstd $(zstd --version | grep -o 'v[0-9.]*'), versitygw $("$VGW" --version 2>&1 | tr -s ' ' | tr '\n' ' ' | cut -c1-60), $(go version | cut -d' ' -f3)"
	echo "- corpus: $2 ($1 MB, mkcorpus.py seed ${3:-1}, $(find "$2" -type f | wc -l) files), hot in the page cache; S3: VersityGW posix on 127.0.0.1"
}

if [ $MODE = compare ]; then
	: >"$RESULTS"
	backups=(lyncbackup restic rclone floor)
	restores=(lyncbackup restic)
	# The one-object format too (format: archive), unless LB_ARCHIVE=0.
	if [ "${LB_ARCHIVE:-1}" != 0 ]; then backups+=(lb-archive); restores+=(lb-archive); fi
	if [ -n "$RESTIC_OLD" ]; then backups+=(restic-old); restores+=(restic-old); fi
	nb=${#backups[@]}
	nr=${#restores[@]}
	OLDV=""
	[ -z "$RESTIC_OLD" ] || OLDV=$("$RESTIC_OLD" version | cut -d' ' -f2)
	for seed in $SEEDS; do
	C=$(corpus "$SIZE_MB" "$seed")
	P=$(plain "$C")
	PARENT=$(dirname "$C")
	NAME=$(basename "$C")
	LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
	: >"$TSV"
	echo "== seed $seed: $RUNS runs on $C ($P bytes), load $LOAD0"
	for run in $(seq "$RUNS"); do
		echo "== seed $seed, run $run"
		# Rotate the order run by run, so that no contender always goes first.
		for k in $(seq 0 $((nb - 1))); do
			c=${backups[$(((k + run - 1) % nb))]}
			case $c in
			lyncbackup)
				mkbucket "lb-$run"
				cfg=$(lbconfig "lb-$run" "$C")
				measure "lyncbackup backup" "$run" "$P" "lb-$run" env "$(lbenv "backup-$seed-$run")" "$LB" backup --config "$cfg" ;;
			restic)
				rm -rf "$RESTIC_CACHE_DIR"
				RESTIC_REPOSITORY=s3:$ENDPOINT/restic-$run "$RESTIC" init >/dev/null 2>&1 || die "restic init failed"
				measure "restic backup" "$run" "$P" "restic-$run" env RESTIC_REPOSITORY="s3:$ENDPOINT/restic-$run" "$RESTIC" backup --quiet "$C" ;;
			lb-archive)
				mkbucket "lba-$run"
				cfg=$(lbconfig "lba-$run" "$C" archive)
				measure "lyncbackup (format: archive) backup" "$run" "$P" "lba-$run" "$LB" backup --config "$cfg" ;;
			restic-old)
				rm -rf "$RESTIC_CACHE_DIR"
				RESTIC_REPOSITORY=s3:$ENDPOINT/resticold-$run "$RESTIC_OLD" init >/dev/null 2>&1 || die "restic $OLDV init failed"
				measure "restic $OLDV backup" "$run" "$P" "resticold-$run" env RESTIC_REPOSITORY="s3:$ENDPOINT/resticold-$run" "$RESTIC_OLD" backup --quiet "$C" ;;
			rclone)
				mkbucket "rclone-$run"
				measure "tar|zstd|age|rclone" "$run" "$P" "rclone-$run" bash -o pipefail -c \
					'tar -cf - -C "$1" "$2" | zstd -3 -T0 -q | age -r "$3" | rclone rcat --s3-upload-concurrency 4 --s3-chunk-size 16M "bench:$4/corpus.tar.zst.age"' \
					_ "$PARENT" "$NAME" "$KEY" "rclone-$run" ;;
			floor)
				measure "tar|zstd|age (floor)" "$run" "$P" "" bash -o pipefail -c \
					'tar -cf - -C "$1" "$2" | zstd -3 -T0 -q | age -r "$3" >/dev/null' _ "$PARENT" "$NAME" "$KEY" ;;
			esac
		done
		# Restores of what this run stored, rotating which goes first,
		# each into a folder of its own. On ext4, creating files within ~30 s
		# of deleting thousands makes every inode allocation scan the
		# recently deleted ones (recently_deleted() in perf): the previous
		# run's files were deleted at its end, and the restores wait until
		# that is 35 s ago (the backups in between usually take longer).
		settle
		for k in $(seq 0 $((nr - 1))); do
			c=${restores[$(((k + run - 1) % nr))]}
			dest=$WORK/restore/run$run-$c
			mkdir -p "$WORK/restore"
			case $c in
			lyncbackup)
				measure "lyncbackup restore" "$run" "$P" "" env "$(lbenv "restore-$seed-$run")" "$LB" restore --config "$WORK/lyncbackup-lb-$run.yaml" \
					--identity "$WORK/key.txt" --to "$dest" ;;
			restic)
				measure "restic restore" "$run" "$P" "" env RESTIC_REPOSITORY="s3:$ENDPOINT/restic-$run" "$RESTIC" restore latest --target "$dest" ;;
			lb-archive)
				measure "lyncbackup (format: archive) restore" "$run" "$P" "" "$LB" restore --config "$WORK/lyncbackup-lba-$run.yaml" \
					--identity "$WORK/key.txt" --to "$dest" ;;
			restic-old)
				measure "restic $OLDV restore" "$run" "$P" "" env RESTIC_REPOSITORY="s3:$ENDPOINT/resticold-$run" "$RESTIC_OLD" restore latest --target "$dest" ;;
			esac
			got=$(plain "$dest")
			[ "$got" = "$P" ] || die "$c restore wrote $got bytes, the corpus has $P"
		done
		# Keep the page cache from filling up run after run (with ~4.5 GB
		# of stored sets and restores per run, the later runs paid for
		# direct reclaim and compaction in kernel time): drop this run's
		# sets and restores now.
		rm -rf "$WORK/restore" "${S3DIR:?}/lb-$run" "$S3DIR/restic-$run" "$S3DIR/resticold-$run" "$S3DIR/rclone-$run" "$S3DIR/lba-$run"
		DELETED_AT=$(date +%s)
	done
	LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
	{
		echo "# lyncbackup benchmark, corpus seed $seed, $(date -u +%Y-%m-%dT%H:%MZ)"
		echo
		machine "$SIZE_MB" "$C" "$seed"
		echo "- load average (1/5/15 min) before: $LOAD0, after: $LOAD1; $RUNS runs, medians"
		echo "- command: bench/run.sh --runs $RUNS --size $SIZE_MB --seeds \"$SEEDS\""
		echo
		python3 "$REPO/bench/summarise.py" "$TSV"
		echo
	} >>"$RESULTS"
	cp "$TSV" "$WORK/results-seed$seed.tsv"
	done
else
	# --flat: lyncbackup's peak RSS must not grow with the corpus.
	: >"$TSV"
	for size in 256 4096; do
		C=$(corpus "$size")
		P=$(plain "$C")
		for run in $(seq "$RUNS"); do
			mkbucket "flat-$size-$run"
			cfg=$(lbconfig "flat-$size-$run" "$C")
			measure "backup $size MB" "$run" "$P" "flat-$size-$run" "$LB" backup --config "$cfg"
			settle # see the compare loop
			measure "restore $size MB" "$run" "$P" "" "$LB" restore --config "$cfg" --identity "$WORK/key.txt" --to "$WORK/restore/lb"
			rm -rf "$WORK/restore" "${S3DIR:?}/flat-$size-$run"
			DELETED_AT=$(date +%s)
		done
	done
	{
		echo "# lyncbackup peak RSS against corpus size, $(date -u +%Y-%m-%dT%H:%MZ)"
		echo
		machine 4096 "$WORK/corpus-4096"
		echo "- load average: $(cut -d' ' -f1-3 /proc/loadavg); $RUNS runs, medians"
		echo "- command: bench/run.sh --flat --runs $RUNS"
		echo
		python3 "$REPO/bench/summarise.py" --flat "$TSV"
	} >"$RESULTS"
fi
echo
cat "$RESULTS"
echo
echo "(written to $RESULTS)"
