#!/usr/bin/env bash
# bench-wan.sh -- the WAN benchmark of issue 16: one host pair through a
# long fat network of our own (bench/lfnrelay between two network
# namespaces, tests/e2e/wan-lib.sh) at BENCH_WAN_RATE (1 Gbit/s) and each
# RTT of BENCH_WAN_RTTS (50 and 100 ms), rcp against scp, rsync -e ssh and
# tar|ssh in the same run.  Every tool runs on host B and pulls from host A
# (rcp: remote -> local, the source agent on A, the data over QUIC through
# the relay; the others over SSH through it), data on /dev/shm.
#
# Usage: RCP_BUILDDIR=build bash bench/bench-wan.sh     (or: make bench-wan)
#
# Environment:
#   BENCH_REPS       repetitions per tool, dataset and RTT (default 3)
#   BENCH_DATASETS   any of "A B" (default both):
#                      A  one file of BENCH_A_SIZE (default 2G)
#                      B  BENCH_B_DIRS (200) directories x BENCH_B_PER (100)
#                         files of 4 KiB
#   BENCH_WAN_RATE   the relay's cap each way (default 1g)
#   BENCH_WAN_RTTS   round-trip times in ms (default "50 100")
#   BENCH_WAN_MTU    the relay devices' MTU (default 1500)
#   BENCH_WAN_RELAY  extra relay arguments (e.g. --gso)
#   BENCH_TOOLS      any of "rcp scp rsync tar" (default all)
#   BENCH_RCP_ARGS   extra rcp arguments (default --quic-profile internet)
#   BENCH_OUT        markdown report (default $RCP_BUILDDIR/bench-results-wan.md)
#
# Targets (issue 16): A: rcp >= 3x the fastest of scp, rsync and tar; B:
# rcp >= 2x rsync.  Wall time includes the SSH logins across the relay.
# Each run copies into a fresh destination, removed before the next; the
# tools are interleaved round-robin, the first rotated each repetition.
# Every output is checked once per dataset and RTT with rcmp --content.
# At exit every process is ended by pid and both namespaces removed.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/.." && pwd)
BENCH_NAME=bench-wan
SHM=/dev/shm
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
RCP_BUILDDIR=$(cd "${RCP_BUILDDIR:-$srcdir/build}" && pwd)
RCP_SRCDIR=$srcdir
for b in rcp rcpd rcmp filegen bench/lfnrelay; do
	[ -x "$RCP_BUILDDIR/$b" ] || die "$RCP_BUILDDIR/$b not built (make)"
done
REPS=${BENCH_REPS:-3}
DATASETS=${BENCH_DATASETS:-A B}
RATE=${BENCH_WAN_RATE:-1g}
RTTS=${BENCH_WAN_RTTS:-50 100}
MTU=${BENCH_WAN_MTU:-1500}
TOOLS=${BENCH_TOOLS:-rcp scp rsync tar}
A_SIZE=${BENCH_A_SIZE:-2G}
B_DIRS=${BENCH_B_DIRS:-200}
B_PER=${BENCH_B_PER:-100}
OUT=${BENCH_OUT:-$RCP_BUILDDIR/bench-results-wan.md}
read -r -a RCP_EXTRA <<< "${BENCH_RCP_ARGS:---quic-profile internet}"
read -r -a RELAY_EXTRA <<< "${BENCH_WAN_RELAY:-}"
read -r -a TOOL_LIST <<< "$TOOLS"
case $REPS in ''|*[!0-9]*|0) die "BENCH_REPS must be a positive integer" ;; esac
for d in $DATASETS; do case $d in A|B) ;; *) die "unknown dataset '$d' (A B)" ;; esac; done
for t in $TOOLS; do case $t in rcp|scp|rsync|tar) ;; *) die "unknown tool '$t'" ;; esac; done
for c in ssh scp rsync tar ip bc; do command -v "$c" >/dev/null || die "$c is not installed"; done

# shellcheck source=/dev/null
. "$srcdir/tests/e2e/lib.sh"
# shellcheck source=/dev/null
. "$srcdir/tests/e2e/wan-lib.sh"
set -uo pipefail
RUN_PID=
bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	if [ -n "$RUN_PID" ]; then
		kill $RUN_PID $(wan_descendants "$RUN_PID") 2>/dev/null
		wait "$RUN_PID" 2>/dev/null
	fi
	wan_cleanup
	t_cleanup
	exit "$rc"
}
RCP=$RCP_BUILDDIR/rcp RCPD=$RCP_BUILDDIR/rcpd RCMP=$RCP_BUILDDIR/rcmp

tool_label() {
	case $1 in
		rcp) echo "rcp A:SRC DST (QUIC)" ;;
		scp) echo "scp -r" ;;
		rsync) echo "rsync -a -e ssh" ;;
		tar) echo "ssh tar | tar" ;;
	esac
}
# tool_cmd TOOL SRC DST: CMD, one copy of A:SRC to DST, run on host B.
tool_cmd() {
	local q
	q=$(printf '%q' "$2")
	case $1 in
		rcp) CMD=("$RCP" --ssh-config "$WAN_SSH_CONFIG" --rcpd-path "$RCPD"
		          "${RCP_EXTRA[@]}" "$WAN_A:$2" "$3") ;;
		scp) CMD=(scp -q -r -F "$WAN_SSH_CONFIG" "$WAN_A:$2" "$3") ;;
		rsync) CMD=(rsync -a -e "ssh -F $WAN_SSH_CONFIG" "$WAN_A:$2/" "$3/") ;;
		# shellcheck disable=SC2016
		tar) CMD=(bash -c 'set -o pipefail; mkdir "$3" &&
		          ssh -F "$1" "$2" "tar -cf - -C $4 ." | tar -xf - -C "$3"' tar
		          "$WAN_SSH_CONFIG" "$WAN_A" "$3" "$q") ;;
	esac
}
# run_tool TOOL SRC DST: one timed copy (host B); sets SECS; dies on failure.
run_tool() {
	local t0 rc=0
	tool_cmd "$@"
	t0=$EPOCHREALTIME
	wan_b timeout -k 5 1800 "${CMD[@]}" >"$T/run.log" 2>&1 </dev/null &
	RUN_PID=$!
	wait "$RUN_PID" || rc=$?
	RUN_PID=
	SECS=$(echo "$EPOCHREALTIME - $t0" | bc)
	if [ "$rc" -ne 0 ]; then
		tail -n 20 "$T/run.log" >&2
		die "$(tool_label "$1") failed ($rc)"
	fi
}

declare -A TIMES BYTES
gen() {
	case $1 in
		A) "$RCP_BUILDDIR/filegen" -q --seed 42 "$2" "" 1 "$A_SIZE" ;;
		B) "$RCP_BUILDDIR/filegen" -q --seed 42 "$2" "$B_DIRS" "$B_PER" 4K ;;
	esac
}

trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
total0=$EPOCHREALTIME
relay_notes=
for rtt in $RTTS; do
	note "relay: $RATE each way, RTT $rtt ms, MTU $MTU ${RELAY_EXTRA[*]}"
	wan_setup "$RATE" "$rtt" "$MTU" "${RELAY_EXTRA[@]}"
	trap bench_cleanup EXIT
	for ds in $DATASETS; do
		src=$T/src-$ds
		[ -d "$src" ] || { gen "$ds" "$src" || die "filegen failed"; }
		BYTES[$ds]=$(du -sb --apparent-size "$src" | cut -f1)
		# A probe of every tool, checked: the copy must be right.
		for tool in "${TOOL_LIST[@]}"; do
			run_tool "$tool" "$src" "$T/dst"
			"$RCMP" --content --metadata-compare 'f:size d: l:' "$src" "$T/dst" >"$T/rcmp.out" 2>&1 ||
				{ head -5 "$T/rcmp.out" >&2; die "$(tool_label "$tool"): the copy differs"; }
			rm -rf "$T/dst"
		done
		for (( r = 0; r < REPS; r++ )); do
			n=${#TOOL_LIST[@]}
			for (( i = 0; i < n; i++ )); do
				tool=${TOOL_LIST[$(( (i + r) % n ))]}
				run_tool "$tool" "$src" "$T/dst"
				TIMES[$ds@$rtt,$tool]="${TIMES[$ds@$rtt,$tool]:-} $SECS"
				note "$ds RTT $rtt: $(tool_label "$tool"): ${SECS}s"
				rm -rf "$T/dst"
			done
		done
	done
	wan_cleanup
	relay_notes+="- RTT $rtt ms: $(grep 'a->b' "$WAN_RELAY_LOG")"$'\n'
done
total=$(echo "$EPOCHREALTIME - $total0" | bc)

mbs() { awk -v b="$1" -v s="$2" 'BEGIN { printf "%.1f", b / s / 1e6 }'; }
fastest_ssh() {
	local t best= bm=
	for t in scp rsync tar; do
		has_tool "$t" || continue
		m=$(med "$1" "$t")
		if [ -z "$best" ] || ge "$bm" "$m"; then best=$t; bm=$m; fi
	done
	echo "$best"
}
report() {
	local ds rtt key tool m f s
	echo "# rcp WAN benchmark (issue 16)"
	echo
	echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); $(nproc) CPUs; load average at end: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "- two network namespaces joined by bench/lfnrelay: $RATE bit/s each way, MTU $MTU, queue 1.5 x BDP ${RELAY_EXTRA[*]}; TCP buffers up to 64 MiB in both; every tool runs on host B and pulls from host A; data on /dev/shm"
	echo "- rcp: \`rcp ${RCP_EXTRA[*]} A:SRC DST\`; scp -r; rsync -a -e ssh; ssh A tar -cf - | tar -xf -; $(ssh -V 2>&1)"
	echo "- wall time includes the SSH logins across the relay; median of $REPS [min-max]; speed-up = median(other) / median(rcp)"
	echo "- total run time: ${total}s"
	echo
	printf '%s' "$relay_notes"
	echo
	for ds in $DATASETS; do
		for rtt in $RTTS; do
			key=$ds@$rtt
			echo "## $ds at RTT $rtt ms: $(gib "${BYTES[$ds]}")"
			echo
			{
				printf 'tool\tmedian s\t[min-max] s\tMB/s\trcp speed-up\n'
				for tool in "${TOOL_LIST[@]}"; do
					m=$(med "$key" "$tool")
					s=-; has_tool rcp && s="$(speedup "$key" rcp "$tool")x"
					printf '%s\t%.3f\t[%.3f-%.3f]\t%s\t%s\n' "$(md_label "$tool")" "$m" \
						"$(printf '%s' "${TIMES[$key,$tool]}" | minof)" \
						"$(printf '%s' "${TIMES[$key,$tool]}" | maxof)" \
						"$(mbs "${BYTES[$ds]}" "$m")" "$s"
				done
			} | md_table lrlrr
			echo
		done
	done
	echo "## Targets"
	echo
	{
		printf 'target\tresult\n'
		for rtt in $RTTS; do
			for ds in $DATASETS; do
				has_tool rcp || continue
				if [ "$ds" = A ]; then
					f=$(fastest_ssh "A@$rtt"); [ -n "$f" ] || continue
					s=$(speedup "A@$rtt" rcp "$f")
					printf 'A, RTT %s ms: rcp >= 3x the fastest SSH tool (%s)\t%sx %s\n' "$rtt" "$(md_label "$f")" "$s" "$(yn ge "$s" 3)"
				elif has_tool rsync; then
					s=$(speedup "B@$rtt" rcp rsync)
					printf 'B, RTT %s ms: rcp >= 2x rsync\t%sx %s\n' "$rtt" "$s" "$(yn ge "$s" 2)"
				fi
			done
		done
	} | md_table ll
	echo
	DATASETS_SAVED=$DATASETS
	DATASETS=""
	for ds in $DATASETS_SAVED; do for rtt in $RTTS; do DATASETS+=" $ds@$rtt"; done; done
	raw_times_table
	DATASETS=$DATASETS_SAVED
}
report >"$T/report.md"
mkdir -p "$(dirname "$OUT")"
cp "$T/report.md" "$OUT"
cat "$T/report.md"
note "report written to $OUT"
