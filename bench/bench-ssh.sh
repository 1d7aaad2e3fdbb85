#!/bin/bash
# bench-ssh.sh: the SSH layer's latency through a real sshd on loopback
# (tests/e2e/sshd-lib.sh, driven by tests/ssh-probe): line round trips from
# two threads on two channels of one session (target: under 5 ms each, no
# sleeping on data another thread already delivered), 8 channels opened at
# once, and how fast a closed port fails (make bench-ssh).  These figures
# used to be upper bounds in tests/e2e/ssh.sh; timing is a benchmark's job.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"

BUILD=${RCP_BUILDDIR:-$(cd "$(dirname "$0")/.." && pwd)/build}
REPS=${BENCH_REPS:-5}
ROUNDS=${BENCH_SSH_ROUNDS:-1000}
OUT=${BENCH_OUT_SSH:-$BUILD/bench-results-ssh.md}
RCP_BUILDDIR=$BUILD
. "$(dirname "$0")/../tests/e2e/lib.sh"
. "$(dirname "$0")/../tests/e2e/sshd-lib.sh"
set -uo pipefail
unset SSH_AUTH_SOCK
sshd_setup
P() { "$BUILD/tests/ssh-probe" -F "$SSH_CONFIG" "$@"; }
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
ms() { local t0=$EPOCHREALTIME; "$@" >/dev/null 2>&1; awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f\n", (b - a) * 1000 }'; }

for i in $(seq "$REPS"); do
	P pingpong 127.0.0.1 "$ROUNDS" | awk '/round trips/ { print $8 }' >>"$T/rtt" ||
	    { echo "bench-ssh: pingpong failed" >&2; exit 1; }
	rm -rf "$T/barrier"; mkdir "$T/barrier"
	ms P parallel 127.0.0.1 8 "$T/barrier" >>"$T/par"
	ms P run 127.0.0.1 true >>"$T/login"
	ms P run 127.0.0.1:1 true >>"$T/refused"
done
{
	echo "# SSH layer on loopback, medians of $REPS"
	echo
	echo "| figure | median | target |"
	echo "|---|--:|--:|"
	echo "| ping-pong round trip, 2 threads x $ROUNDS | $(median <"$T/rtt") ms | < 5 ms |"
	echo "| 8 channels at once, barrier, whole run | $(median <"$T/par") ms | < 2000 ms |"
	echo "| login + run true | $(median <"$T/login") ms | |"
	echo "| closed port fails | $(median <"$T/refused") ms | < 2000 ms |"
} | tee "$OUT"
