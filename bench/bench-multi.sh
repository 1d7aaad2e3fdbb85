#!/usr/bin/env bash
# bench-multi.sh -- issue 16's scale benchmark: one copy through 1, 2 and 4
# agent pairs, N source hosts that share the source file system and N
# destination hosts that share the destination's ("s1,s2:/p" "d1,d2:/p"),
# every host's link capped at BENCH_MULTI_CAP (default 200mbit) both ways
# (tbf on the host and on its switch port).  The hosts are network
# namespaces on a switch (tests/e2e/cluster-lib.sh), each with its own sshd;
# all see /dev/shm as nodes see a shared file system.  rcp runs on h0, whose
# link is not capped (it carries only the agents' control traffic): h1..hN
# are the sources, h5..h(4+N) the destinations.  In the same run, fpsync
# (Debian's fpart) with the same hosts: its SSH workers are the source
# hosts, each pushing with rsync -e ssh to its own destination host (the
# pairs of rcp's run), so that its data crosses the same capped links.
# Then the lost agent: 4 pairs, one source host's rcpd SIGKILLed a third of
# the way in (by the undisturbed time); the copy must complete, equal, and
# its time is set against the undisturbed one (run only when N takes 4).
#
# Usage: RCP_BUILDDIR=build bash bench/bench-multi.sh   (or: make bench-multi)
#   BENCH_REPS (3), BENCH_MULTI_CAP (200mbit), BENCH_MULTI_NS ("1 2 4"),
#   BENCH_A_SIZE (2G: dataset A, one file), BENCH_C_DIRS x BENCH_C_PER
#   (20 x 100 files of 1K-16M, log-uniform: dataset C; A and C as
#   bench-local's), BENCH_FPSYNC (1; 0: skip it), BENCH_FPSYNC_REPS (1:
#   fpsync, the comparison, runs in the first repetitions only; it takes
#   twice rcp's time and more), BENCH_OUT (markdown, default
#   $RCP_BUILDDIR/bench-results-multi.md)
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
A_SIZE=${BENCH_A_SIZE:-2G}
C_DIRS=${BENCH_C_DIRS:-20}
C_PER=${BENCH_C_PER:-100}
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

note "making the cluster: h0 (rcp), $MAXN source and $MAXN destination hosts, each capped at $CAP both ways"
cl_setup "$((2 * MAXN))"
trap bench_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for ((k = 1; k <= 2 * MAXN; k++)); do cl_cap "$k" "$CAP" && cl_cap_in "$k" "$CAP"; done
chmod 755 "$T"
W=$T/data
mkdir -p "$W"
"$RCP_BUILDDIR/filegen" -q --seed 42 "$W/A" "" 1 "$A_SIZE" || die "filegen A failed"
"$RCP_BUILDDIR/filegen" -q --seed 43 "$W/C" "$C_DIRS" "$C_PER" 1K-16M || die "filegen C failed"
RA=("$RCP_BUILDDIR/rcp" --ssh-config "$CL_SSH_CONFIG" --rcpd-path "$RCP_BUILDDIR/rcpd" -p)
hosts() {	# hosts N [FIRST]: "hF,...,hF+N-1"'s addresses (F: 1)
	local k s= f=${2:-1}
	for ((k = f; k < f + $1; k++)); do s+=${CL_ADDR[$k]},; done
	echo "${s%,}"
}
dsts() { hosts "$1" $((MAXN + 1)); }	# dsts N: the destination hosts
bytes_of() { du -sb --apparent-size "$1" | cut -f1; }
# One copy at a time is on the file system (each is removed once checked).
a_bytes=$(bytes_of "$W/A") c_bytes=$(bytes_of "$W/C")
need "$(( a_bytes > c_bytes ? a_bytes : c_bytes ))" "a copy of A or C"
declare -A R
add() { R[$1]="${R[$1]:-} $2"; }
medof() { printf '%s\n' ${R[$1]} | sort -n | awk '{ v[NR] = $1 } END { if (NR) print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }

# one DS N: one copy of dataset DS through N pairs; adds its time.
one() {
	local ds=$1 n=$2 dst=$T/out-$1 t0
	rm -rf "$dst"
	t0=$EPOCHREALTIME
	cl_on 0 "${RA[@]}" "$(hosts "$n"):$W/$ds" "$(dsts "$n"):$dst" >"$T/log" 2>&1 ||
		{ sed 's/^/  | /' "$T/log" | tail -20 >&2; die "rcp through $n pairs failed on $ds"; }
	add "$ds-$n" "$(secs_since "$t0")"
}

# fpsync: an ssh that knows the cluster, and sends a worker's "pairdst" to
# its own destination host (source hK pushes to h(MAXN+K)).
FPSYNC=${BENCH_FPSYNC:-1}
FPSYNC_REPS=${BENCH_FPSYNC_REPS:-1}
command -v fpsync >/dev/null 2>&1 || FPSYNC=0
WRAP=$T/ssh
cat >"$WRAP" <<WRAPEOF
#!/bin/bash
me=\$(ip -4 -o addr show dev eth0 2>/dev/null | awk '{ sub("/.*", "", \$4); print \$4 }')
d=
case \$me in
$(for ((k = 1; k <= MAXN; k++)); do echo "${CL_ADDR[$k]}) d=${CL_ADDR[$((MAXN + k))]} ;;"; done)
esac
a=()
for x in "\$@"; do [ "\$x" = pairdst ] && x=\$d; a+=("\$x"); done
exec /usr/bin/ssh -F $CL_SSH_CONFIG "\${a[@]}"
WRAPEOF
chmod 755 "$WRAP"
# fps DS N: dataset DS by fpsync, N workers at once, 10 files a job.
fps() {
	local ds=$1 n=$2 dst=$T/out-fps-$1 t0 w
	rm -rf "$dst" "$T/fpsync"
	mkdir -p "$dst" "$T/fpsync/tmp" "$T/fpsync/shared"
	w=$(hosts "$n" | tr , ' ')
	t0=$EPOCHREALTIME
	cl_on 0 env PATH="$T:$PATH" fpsync -n "$n" -f 10 -w "$w" \
	    -t "$T/fpsync/tmp" -d "$T/fpsync/shared" \
	    -o "-lptgoD --numeric-ids -e $WRAP" "$W/$ds/" "pairdst:$dst/" >"$T/log.fps" 2>&1 ||
		{ sed 's/^/  | /' "$T/log.fps" | tail -20 >&2; die "fpsync through $n pairs failed on $ds"; }
	add "fpsync-$ds-$n" "$(secs_since "$t0")"
}

for ((rep = 1; rep <= REPS; rep++)); do
	for ds in A C; do
		for n in $NS; do
			note "rep $rep: dataset $ds through $n pair(s)"
			one "$ds" "$n"
			if [ "$rep" = 1 ]; then
				"$RCP_BUILDDIR/rcmp" --content "$W/$ds" "$T/out-$ds" >/dev/null ||
					die "dataset $ds through $n pairs: the copy differs"
			fi
			rm -rf "$T/out-$ds"
			[ "$FPSYNC" = 1 ] && [ "$rep" -le "$FPSYNC_REPS" ] || continue
			note "rep $rep: dataset $ds by fpsync through $n pair(s)"
			fps "$ds" "$n"
			if [ "$rep" = 1 ]; then
				"$RCP_BUILDDIR/rcmp" "$W/$ds" "$T/out-fps-$ds" >/dev/null ||
					die "dataset $ds by fpsync through $n pairs: the copy differs"
			fi
			rm -rf "$T/out-fps-$ds"
		done
	done
	# The lost agent: 4 pairs, one source killed a third of the way in
	# (timed against the undisturbed 4 pairs, so only when 4 is run).
	[ -n "${R[A-4]:-}" ] || continue
	note "rep $rep: dataset A through 4 pairs, one source agent killed"
	dst=$T/out-lost
	rm -rf "$dst"
	t0=$EPOCHREALTIME
	cl_on 0 "${RA[@]}" -v "$(hosts 4):$W/A" "$(dsts 4):$dst" 2>&1 | while IFS= read -r l; do printf '%s %s\n' "$EPOCHREALTIME" "$l"; done >"$T/log.lost" &
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
	rm -rf "$dst"
done

capbits=$(numfmt --from=si "$(echo "${CAP%bit}" | tr 'kmg' 'KMG')")
capmb=$(awk -v b="$capbits" 'BEGIN { printf "%.1f", b / 8 / 1e6 }')
{
	echo "# bench-multi: N pairs, every host's link capped at $CAP ($capmb MB/s) both ways; medians of $REPS (fpsync: of $(( FPSYNC_REPS < REPS ? FPSYNC_REPS : REPS )))"
	echo
	echo "- $(date -u '+%Y-%m-%d %H:%M:%S UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); rcp $("$RCP_BUILDDIR/rcp" --version | head -1)"
	echo
	echo "| dataset | pairs | rcp time (s) | rcp MB/s | target 0.8 x N x cap | met | fpsync time (s) | fpsync MB/s | rcp / fpsync |"
	echo "|---|---:|---:|---:|---:|---|---:|---:|---:|"
	for ds in A C; do
		b=$(bytes_of "$W/$ds")
		for n in $NS; do
			t=$(medof "$ds-$n") f=$(medof "fpsync-$ds-$n")
			awk -v ds="$ds" -v n="$n" -v t="$t" -v f="${f:-0}" -v b="$b" -v c="$capmb" 'BEGIN {
				mb = b / t / 1e6; tg = 0.8 * n * c
				printf "| %s | %d | %.2f | %.1f | %.1f | %s | ", ds, n, t, mb, tg, (mb >= tg ? "yes" : "no")
				if (f > 0) printf "%.2f | %.1f | %.2fx |\n", f, b / f / 1e6, f / t
				else printf "- | - | - |\n" }'
		done
	done
	echo
	u=$(medof A-4) l=$(medof lost)
	if [ -n "$u" ] && [ -n "$l" ]; then
		awk -v u="$u" -v l="$l" 'BEGIN { printf "Lost agent (A, 4 pairs, h3'"'"'s source rcpd SIGKILLed at a third): %.2f s against %.2f s undisturbed, %.2fx (target 1.5x: %s)\n", l, u, l / u, l / u <= 1.5 ? "met" : "not met" }'
	fi
	echo
	echo "Every run:"
	for k in $(printf '%s\n' "${!R[@]}" | sort); do echo "- $k:${R[$k]}"; done
} >"$OUT"
cat "$OUT"
[ -n "${BENCH_MULTI_KEEP:-}" ] && cp "$T/log.lost" "$T/log.lost.kill" "$BENCH_MULTI_KEEP"/ 2>/dev/null
true
