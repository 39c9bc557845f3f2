# bench/lib.sh: the parts bench/run.sh and bench/churn.sh share. Sourced, not run.
# The caller sets REPO (the repository), WORK (its work folder) and PROG (its name, for messages).
#
# Environment read here:
#   LYNCBACKUP_MKCORPUS  corpus generator (default: <repo>/../shared/bench/mkcorpus.py)
#   LB_BIN               a prebuilt lyncbackup binary to measure (default: built from <repo>)
#   RESTIC_BIN           a prebuilt restic binary (default: restic $RESTIC_VERSION built into $WORK/bin)
#   RESTIC_VERSION       restic release to build (default v0.18.1)

MKCORPUS=${LYNCBACKUP_MKCORPUS:-$REPO/../shared/bench/mkcorpus.py}

die() { echo "$PROG: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 is not installed ($2)"; }

# need_common: what every bench script needs; sets VGW.
need_common() {
	need go "https://go.dev/dl"
	need python3 "apt-get install python3"
	need age-keygen "apt-get install age"
	[ -x /usr/bin/time ] || die "/usr/bin/time is not installed (apt-get install time)"
	[ -f "$MKCORPUS" ] || die "corpus generator $MKCORPUS not found (set LYNCBACKUP_MKCORPUS)"
	VGW=$(command -v versitygw || true)
	[ -n "$VGW" ] || VGW=$(go env GOPATH)/bin/versitygw
	[ -x "$VGW" ] || die "versitygw not found (go install github.com/versity/versitygw/cmd/versitygw@v1.8.0)"
}

# lock_work: one bench run per work folder at a time (they delete each other's corpus and buckets).
lock_work() {
	mkdir -p "$WORK"
	need flock "apt-get install util-linux"
	exec 9>"$WORK/.lock"
	flock -n 9 || die "another bench run is using $WORK (set LYNCBACKUP_BENCH_DIR to another folder)"
}

# build_lyncbackup: sets LB to $LB_BIN, or builds the repository's lyncbackup into $WORK/bin.
build_lyncbackup() {
	if [ -n "${LB_BIN:-}" ]; then
		[ -x "$LB_BIN" ] || die "LB_BIN=$LB_BIN is not an executable"
		LB=$LB_BIN
		echo "== lyncbackup: $LB (LB_BIN)"
		return
	fi
	mkdir -p "$WORK/bin"
	echo "== building lyncbackup"
	(cd "$REPO" && go build -trimpath -o "$WORK/bin/lyncbackup" ./cmd/lyncbackup)
	LB=$WORK/bin/lyncbackup
}

# build_restic: sets RESTIC to $RESTIC_BIN, or builds restic $RESTIC_VERSION from the Go module proxy
# into $WORK/bin (once).
build_restic() {
	RESTIC_VERSION=${RESTIC_VERSION:-v0.18.1}
	if [ -n "${RESTIC_BIN:-}" ]; then
		[ -x "$RESTIC_BIN" ] || die "RESTIC_BIN=$RESTIC_BIN is not an executable"
		RESTIC=$RESTIC_BIN
		echo "== restic: $RESTIC (RESTIC_BIN, $("$RESTIC" version | cut -d' ' -f1-2))"
		return
	fi
	mkdir -p "$WORK/bin"
	if [ ! -x "$WORK/bin/restic-$RESTIC_VERSION" ]; then
		echo "== building restic $RESTIC_VERSION (Go module proxy)"
		rm -rf "$WORK/gobin"
		(cd / && GOFLAGS= GOBIN="$WORK/gobin" go install "github.com/restic/restic/cmd/restic@$RESTIC_VERSION") ||
			die "go install github.com/restic/restic/cmd/restic@$RESTIC_VERSION failed"
		mv "$WORK/gobin/restic" "$WORK/bin/restic-$RESTIC_VERSION"
	fi
	RESTIC=$WORK/bin/restic-$RESTIC_VERSION
}

# age_key: an age identity in $WORK/key.txt (made once); sets KEY to its recipient.
age_key() {
	[ -f "$WORK/key.txt" ] || age-keygen -o "$WORK/key.txt" 2>/dev/null
	KEY=$(grep -o 'age1[0-9a-z]*' "$WORK/key.txt" | head -1)
}

corpus() { # corpus SIZE_MB [SEED] -> path (generated once, deterministic)
	local seed=${2:-1}
	local dir=$WORK/corpus-$1
	[ "$seed" = 1 ] || dir=$WORK/corpus-$1-seed$seed
	if [ ! -f "$dir.done" ]; then
		rm -rf "$dir"
		echo "== generating the $1 MB corpus (seed $seed) in $dir" >&2
		python3 "$MKCORPUS" "$dir" "$1" "$seed" >&2
		touch "$dir.done"
	fi
	echo "$dir"
}

# start_versitygw: a VersityGW posix server on 127.0.0.1 (only) with its objects under $WORK/s3,
# emptied first, with keep-alive connections as S3 and Azure have (VersityGW closes each connection
# after one request unless told otherwise, which taxes every contender per request). Sets S3DIR, ENDPOINT, VGW_PID and exports the credentials every client takes from
# the environment, as in production (and restic's password and cache folder). The caller's EXIT trap
# calls stop_versitygw.
start_versitygw() {
	local access=benchaccess secret=benchsecret-$RANDOM$RANDOM port
	port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
	S3DIR=$WORK/s3
	rm -rf "$S3DIR"
	mkdir -p "$S3DIR"
	ROOT_ACCESS_KEY=$access ROOT_SECRET_KEY=$secret "$VGW" --port "127.0.0.1:$port" --quiet --keep-alive posix "$S3DIR" >"$WORK/versitygw.log" 2>&1 &
	VGW_PID=$!
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
		kill -0 "$VGW_PID" 2>/dev/null || die "versitygw exited: $(tail -3 "$WORK/versitygw.log")"
		sleep 0.1
	done
	ENDPOINT=http://127.0.0.1:$port
	# AWS_CA_BUNDLE is dropped: the server is plain http on loopback, and
	# rclone's SDK refuses to start with it set.
	unset AWS_CA_BUNDLE AWS_PROFILE AWS_SESSION_TOKEN
	export AWS_ACCESS_KEY_ID=$access AWS_SECRET_ACCESS_KEY=$secret AWS_REGION=us-east-1
	export RCLONE_CONFIG_BENCH_TYPE=s3 RCLONE_CONFIG_BENCH_PROVIDER=Other RCLONE_CONFIG_BENCH_ENDPOINT=$ENDPOINT \
		RCLONE_CONFIG_BENCH_ACCESS_KEY_ID=$access RCLONE_CONFIG_BENCH_SECRET_ACCESS_KEY=$secret \
		RCLONE_CONFIG_BENCH_REGION=us-east-1 RCLONE_CONFIG_BENCH_FORCE_PATH_STYLE=true
	export RESTIC_PASSWORD=bench-restic-password RESTIC_CACHE_DIR=$WORK/restic-cache
}

stop_versitygw() {
	[ -n "${VGW_PID:-}" ] || return 0
	kill "$VGW_PID" 2>/dev/null || true
	wait "$VGW_PID" 2>/dev/null || true
}

# stored BUCKET: bytes of the objects in a bucket (the posix backend keeps
# each object as one file; its multipart scratch folder is left out).
stored() { find "$S3DIR/$1" -path "$S3DIR/$1/.sgwtmp" -prune -o -type f -printf '%s\n' | awk '{s+=$1} END {printf "%.0f\n", s}'; }
# plain DIR: the bytes of DIR's files, without the record a restore keeps
# in its folder (.lyncbackup-restored-from: which set each item came from).
plain() { find "$1" -type f ! -path "$1/.lyncbackup-restored-from" -printf '%s\n' | awk '{s+=$1} END {printf "%.0f\n", s}'; }
