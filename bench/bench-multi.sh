#!/usr/bin/env bash
# bench-multi.sh -- issue 16's scale benchmark, as far as rcp goes today: one
# copy read through 1, 2 and 4 source hosts of one shared file system
# ("h1,h2,...:/path"), each source host's link capped at BENCH_MULTI_CAP
# (default 200mbit, tbf), into one destination host whose link is not
# capped (a copy writes through one destination host so far).  The hosts are
# network namespaces on a switch (tests/e2e/cluster-lib.sh), each with its
# own sshd; all see /dev/shm as nodes see a shared file system.  rcp runs on
# the destination host h0.  Then the lost agent: 4 sources, one of whose
# rcpd is SIGKILLed a third of the way in (by the undisturbed time); the copy must complete, equal,
# and its time is set against the undisturbed one.
#
# Usage: RCP_BUILDDIR=build bash bench/bench-multi.sh   (or: make bench-multi)
#   BENCH_REPS (3), BENCH_MULTI_CAP (200mbit), BENCH_MULTI_NS ("1 2 4"),
#   BENCH_A_SIZE (512M: dataset A, one file), BENCH_C_DIRS x BENCH_C_PER
#   (8 x 25 files of 1K-16M, log-uniform: dataset C), BENCH_OUT (markdown,
#   default $RCP_BUILDDIR/bench-results-multi.md)
#
# Target (issue 16): aggregate throughput >= 0.8 x N x the cap.  Wall time
# includes the SSH logins.  Each output is checked with rcmp --content.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/.." && pwd)
BENCH_NAME=bench-multi
SHM=/dev/shm
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
RCP_BUILDDIR=$(cd "${RCP_BUILDDIR:-$srcdir/build}" && pwd)
RCP_SRCDIR=$srcdir
for b in rcp rcpd rcmp filegen; do
	[ -x "$RCP_BUILDDIR/$b" ] || die "$RCP_BUILDDIR/$b not built (make)"
done
REPS=${BENCH_REPS:-3}
CAP=${BENCH_MULTI_CAP:-200mbit}
NS=${BENCH_MULTI_NS:-1 2 4}
A_SIZE=${BENCH_A_SIZE:-512M}
C_DIRS=${BENCH_C_DIRS:-8}
C_PER=${BENCH_C_PER:-25}
OUT=${BENCH_OUT:-$RCP_BUILDDIR/bench-results-multi.md}
MAXN=0
for n in $NS; do [ "$n" -gt "$MAXN" ] && MAXN=$n; done
[ "$MAXN" -ge 4 ] || MAXN=4		# the lost-agent run needs 4

# shellcheck source=/dev/null
. "$srcdir/tests/e2e/lib.sh"
# shellcheck source=/dev/null
. "$srcdir/tests/e2e/cluster-lib.sh"
set -uo pipefail
RUN_PID=
bench_cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[ -n "$RUN_PID" ] && kill -9 "$RUN_PID" 2>/dev/null
	cl_cleanup
	t_cleanup
	exit "$rc"
}

note "making the cluster: h0 (destination) and $MAXN source hosts, sources capped at $CAP"
cl_setup "$MAXN"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for ((k = 1; k <= MAXN; k++)); do cl_cap "$k" "$CAP"; done
chmod 755 "$T"
W=$T/data
mkdir -p "$W"
"$RCP_BUILDDIR/filegen" -q --seed 42 "$W/A" "" 1 "$A_SIZE" || die "filegen A failed"
"$RCP_BUILDDIR/filegen" -q --seed 43 "$W/C" "$C_DIRS" "$C_PER" 1K-16M || die "filegen C failed"
RA=("$RCP_BUILDDIR/rcp" --ssh-config "$CL_SSH_CONFIG" --rcpd-path "$RCP_BUILDDIR/rcpd" -p)
hosts() {	# hosts N: "h1,h2,...hN"'s addresses
	local k s=
	for ((k = 1; k <= $1; k++)); do s+=${CL_ADDR[$k]},; done
	echo "${s%,}"
}
bytes_of() { du -sb --apparent-size "$1" | cut -f1; }
declare -A R
add() { R[$1]="${R[$1]:-} $2"; }
medof() { printf '%s\n' ${R[$1]} | sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

# one DS N: one copy of dataset DS through N sources; adds its time.
one() {
	local ds=$1 n=$2 dst=$T/out-$1 t0
	rm -rf "$dst"
	t0=$EPOCHREALTIME
	cl_on 0 "${RA[@]}" "$(hosts "$n"):$W/$ds" "$dst" >"$T/log" 2>&1 ||
		{ sed 's/^/  | /' "$T/log" | tail -20 >&2; die "rcp through $n sources failed on $ds"; }
	add "$ds-$n" "$(secs_since "$t0")"
}

for ((rep = 1; rep <= REPS; rep++)); do
	for ds in A C; do
		for n in $NS; do
			note "rep $rep: dataset $ds through $n source host(s)"
			one "$ds" "$n"
			if [ "$rep" = 1 ]; then
				"$RCP_BUILDDIR/rcmp" --content "$W/$ds" "$T/out-$ds" >/dev/null ||
					die "dataset $ds through $n sources: the copy differs"
			fi
		done
	done
	# The lost agent: 4 sources, one killed a third of the way in.
	note "rep $rep: dataset A through 4 sources, one killed"
	dst=$T/out-lost
	rm -rf "$dst"
	t0=$EPOCHREALTIME
	cl_on 0 "${RA[@]}" -v "$(hosts 4):$W/A" "$dst" 2>&1 | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$T/log.lost" &
	RUN_PID=$!
	# A third of this repetition's undisturbed time through 4 (the
	# destination's file is allocated whole at once: its size says
	# nothing of the progress).
	last=${R[A-4]##* }
	sleep "$(awk -v t="$last" 'BEGIN { printf "%.2f", t / 3 }')"
	# (pgrep sees every host's processes: the pid namespace is shared)
	victim=$(ps -o pid=,args= -p "$(ip netns pids "$(cl_ns 3)" | paste -sd,)" 2>/dev/null |
	    awk '$2 ~ /rcpd$/ && $3 == "--role" && $4 == "source" { print $1; exit }')
	[ -n "$victim" ] && kill -9 "$victim"
	echo "$EPOCHREALTIME killed $victim" >>"$T/log.lost.kill"
	wait "$RUN_PID"
	rc=$?
	RUN_PID=
	add lost "$(secs_since "$t0")"
	[ "$rc" = 0 ] || { sed 's/^/  | /' "$T/log.lost" | tail -20 >&2; die "the copy that lost an agent failed (exit $rc)"; }
	[ -n "$victim" ] || die "no source agent on h3 to kill"
	grep -q "source agent on '${CL_ADDR[3]}'" "$T/log.lost" || die "the loss of h3's agent was not reported"
	"$RCP_BUILDDIR/rcmp" --content "$W/A" "$dst" >/dev/null || die "the copy that lost an agent differs"
done

capbits=$(numfmt --from=si "$(echo "${CAP%bit}" | tr 'kmg' 'KMG')")
capmb=$(awk -v b="$capbits" 'BEGIN { printf "%.1f", b / 8 / 1e6 }')
{
	echo "# bench-multi: sources capped at $CAP ($capmb MB/s) each, one destination uncapped; medians of $REPS"
	echo
	echo "- $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); rcp $("$RCP_BUILDDIR/rcp" --version | head -1)"
	echo
	echo "| dataset | sources | time (s) | MB/s | target 0.8 x N x cap | met |"
	echo "|---|---:|---:|---:|---:|---|"
	for ds in A C; do
		b=$(bytes_of "$W/$ds")
		for n in $NS; do
			t=$(medof "$ds-$n")
			awk -v ds="$ds" -v n="$n" -v t="$t" -v b="$b" -v c="$capmb" 'BEGIN {
				mb = b / t / 1e6; tg = 0.8 * n * c
				printf "| %s | %d | %.2f | %.1f | %.1f | %s |\n", ds, n, t, mb, tg, (mb >= tg ? "yes" : "no") }'
		done
	done
	echo
	u=$(medof A-4) l=$(medof lost)
	if [ -n "$u" ]; then
		awk -v u="$u" -v l="$l" 'BEGIN { printf "Lost agent (A, 4 sources, h3'"'"'s rcpd SIGKILLed at a third): %.2f s against %.2f s undisturbed, %.2fx (target 1.5x: %s)\n", l, u, l / u, l / u <= 1.5 ? "met" : "not met" }'
	fi
	echo
	echo "Every run:"
	for k in $(printf '%s\n' "${!R[@]}" | sort); do echo "- $k:${R[$k]}"; done
} >"$OUT"
cat "$OUT"
[ -n "${BENCH_MULTI_KEEP:-}" ] && cp "$T/log.lost" "$T/log.lost.kill" "$BENCH_MULTI_KEEP"/ 2>/dev/null
true
