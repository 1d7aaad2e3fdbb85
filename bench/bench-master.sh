#!/usr/bin/env bash
# bench-master.sh -- the job service's benchmark (make bench-master):
#  1. submit-to-acknowledge latency, p50 and p99, with 10 clients submitting
#     at once (target: p99 under 10 ms);
#  2. 1,000 queued single-file local jobs through rcp-master, against the
#     same 1,000 copies as separate rcp invocations one after another; as
#     root, also the same jobs submitted by another user (nobody), each of
#     which runs in a process of its own as that user.
# Data, socket and journal on /dev/shm; the report goes to stdout and to
# $BENCH_OUT (default $RCP_BUILDDIR/bench-results-master.md).
#
# Environment: RCP_BUILDDIR (where rcp, rcp-master, filegen and
# bench/master-bench are), BENCH_CLIENTS (10), BENCH_SUBMITS (per client,
# 100), BENCH_JOBS (1000), BENCH_WORKERS (master --workers, 4),
# BENCH_SHM (/dev/shm).
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
RCP_BUILDDIR=$(cd "${RCP_BUILDDIR:-$here/../build}" && pwd)
CLIENTS=${BENCH_CLIENTS:-10}
SUBMITS=${BENCH_SUBMITS:-100}
JOBS=${BENCH_JOBS:-1000}
WORKERS=${BENCH_WORKERS:-4}
OUT=${BENCH_OUT:-$RCP_BUILDDIR/bench-results-master.md}
for b in rcp rcp-master filegen bench/master-bench; do
	[ -x "$RCP_BUILDDIR/$b" ] || { echo "bench-master: no $RCP_BUILDDIR/$b (make bench builds it)" >&2; exit 1; }
done

W=$(mktemp -d "${BENCH_SHM:-/dev/shm}/rcp-bench-master-XXXXXX")
MPID=
cleanup() {
	[ -n "$MPID" ] && kill "$MPID" 2>/dev/null && wait "$MPID" 2>/dev/null
	rm -rf "$W"
}
trap cleanup EXIT

start_master() {
	"$RCP_BUILDDIR/rcp-master" --socket "$W/sock" --socket-mode 0666 \
	    --state-dir "$W/state" --workers "$WORKERS" -q 2>>"$W/master.log" &
	MPID=$!
	for _ in $(seq 1 100); do
		[ -S "$W/sock" ] && return 0
		sleep 0.05
	done
	echo "bench-master: rcp-master did not start" >&2
	exit 1
}
stop_master() {
	kill "$MPID"
	wait "$MPID" 2>/dev/null || true
	MPID=
}

# One 4 KiB file, the unit of work of every job.
"$RCP_BUILDDIR/filegen" -q "$W/src" 0 1 4K
SRC=$W/src/f0

# --- 1. submit latency ----------------------------------------------------------
start_master
mkdir "$W/lat"
lat=$("$RCP_BUILDDIR/bench/master-bench" latency "$W/sock" "$SRC" "$W/lat" "$CLIENTS" "$SUBMITS")
stop_master
read -r _ nsub _ _ _ p50 _ p99 _ max <<<"$lat"

# --- 2. 1,000 jobs: the service against one rcp after another -------------------
rm -rf "$W/state"
start_master
mkdir "$W/svc"
svc=$("$RCP_BUILDDIR/bench/master-bench" jobs "$W/sock" "$SRC" "$W/svc" "$JOBS")
stop_master
read -r _ njobs _ failed _ svc_s <<<"$svc"
[ "$failed" = 0 ] || { echo "bench-master: $failed service jobs failed" >&2; exit 1; }

# As root, the same jobs for another user: each runs in a process of its
# own that takes the user's identity (the daemon's own user's jobs run in
# the daemon).
usr_s=
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chmod 755 "$W"
	mkdir -m 777 "$W/usr"
	rm -rf "$W/state"
	start_master
	usr=$(setpriv --reuid nobody --regid nogroup --clear-groups \
	    "$RCP_BUILDDIR/bench/master-bench" jobs "$W/sock" "$SRC" "$W/usr" "$JOBS")
	stop_master
	read -r _ _ _ ufailed _ usr_s <<<"$usr"
	[ "$ufailed" = 0 ] || { echo "bench-master: $ufailed jobs of nobody failed" >&2; exit 1; }
fi

mkdir "$W/seq"
t0=$EPOCHREALTIME
for ((k = 0; k < JOBS; k++)); do
	"$RCP_BUILDDIR/rcp" "$SRC" "$W/seq/c0-$k"
done
t1=$EPOCHREALTIME
seq_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }')
n=$(find "$W/svc" -type f | wc -l)
[ "$n" = "$JOBS" ] || { echo "bench-master: $n of $JOBS service copies present" >&2; exit 1; }
cmp -s "$SRC" "$W/svc/c0-$((JOBS - 1))" || { echo "bench-master: a service copy differs" >&2; exit 1; }

ratio=$(awk -v a="$seq_s" -v b="$svc_s" 'BEGIN { printf "%.1f", a / b }')
verdict=$(awk -v p="$p99" 'BEGIN { print (p < 10) ? "met" : "NOT met" }')
{
	echo "# rcp-master benchmark"
	echo
	echo "$(nproc) CPUs, $(uname -r), data on ${BENCH_SHM:-/dev/shm}, rcp-master --workers $WORKERS."
	echo
	echo "| measure | value |"
	echo "|---|---|"
	echo "| submit-to-ack latency, $CLIENTS clients, $nsub submits: p50 | $p50 ms |"
	echo "| p99 (target < 10 ms: $verdict) | $p99 ms |"
	echo "| max | $max ms |"
	echo "| $njobs single-file jobs through rcp-master (submit to last end) | $svc_s s |"
	echo "| the same $JOBS copies as rcp invocations one after another | $seq_s s |"
	echo "| ratio (sequential rcp / service) | ${ratio}x |"
	if [ -n "$usr_s" ]; then
		echo "| the $JOBS jobs submitted by another user (nobody): a process each | $usr_s s |"
		echo "| ratio (sequential rcp / service, another user) | $(awk -v a="$seq_s" -v b="$usr_s" 'BEGIN { printf "%.1f", a / b }')x |"
	fi
} | tee "$OUT"
