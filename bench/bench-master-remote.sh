#!/usr/bin/env bash
# bench-master-remote.sh -- the remote half of the job service's benchmark
# (make bench-master): 100 small remote jobs (a tree of 10 x 4 KiB files
# each, from this machine to 127.0.0.1 through a private OpenSSH sshd), run
#  - through rcp-master as one `rcpctl batch --wait` (the SSH connections
#    and agents of one job serve the next ones),
#  - through rcp-master with --session-idle 0 (every job starts its own),
#  - as root, also submitted by another user (an account made for it, who
#    logs in with their own key): their jobs run in a process of theirs
#    that keeps their SSH connections and agents the same way,
#  - as 100 separate rcp invocations one after another,
#  - as 100 separate scp -r invocations one after another.
# Target: the service at least 3x faster than the separate invocations.
# Every copy is checked with rcmp --content (bytes and sizes: neither
# scp nor rcp without -p keeps times).  BENCH_REPS rounds (default 3),
# the tools in turn within each round; medians reported.  Data on /dev/shm;
# the report goes to stdout and $BENCH_OUT (default
# $RCP_BUILDDIR/bench-results-master-remote.md).
#
# Environment: RCP_BUILDDIR, BENCH_REPS (3), BENCH_JOBS (100),
# BENCH_WORKERS (master --workers, 4).
if [ -z "${BASH_VERSION:-}" ]; then
	exec bash "$0" "$@"
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/.." && pwd)
RCP_BUILDDIR=$(cd "${RCP_BUILDDIR:-$srcdir/build}" && pwd)
export RCP_BUILDDIR
REPS=${BENCH_REPS:-3}
JOBS=${BENCH_JOBS:-100}
WORKERS=${BENCH_WORKERS:-4}
OUT=${BENCH_OUT:-$RCP_BUILDDIR/bench-results-master-remote.md}
BENCH_NAME=bench-master-remote
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
for b in rcp rcpd rcmp filegen rcp-master rcpctl; do
	[ -x "$RCP_BUILDDIR/$b" ] || die "no $RCP_BUILDDIR/$b (make first)"
done
command -v scp >/dev/null || die "scp is needed (openssh-client)"
[ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd is needed (openssh-server)"

# lib.sh makes $T on /dev/shm and removes it at exit; sshd-lib.sh starts
# sshd under $T/sshd.
# shellcheck source=/dev/null
. "$srcdir/tests/e2e/lib.sh"
# shellcheck source=/dev/null
. "$srcdir/tests/e2e/sshd-lib.sh"
set -euo pipefail
WORK=$T
MPID=

our_agents() { pgrep -f "^$WORK/bin/rcpd( |$)" 2>/dev/null || true; }
cleanup() {
	local rc=$? pids
	trap - EXIT INT TERM
	set +e
	if [ -n "$MPID" ]; then
		kill "$MPID" 2>/dev/null
		wait "$MPID" 2>/dev/null
	fi
	sshd_stop
	pids=$(our_agents)
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	T=$WORK
	t_cleanup
	exit "$rc"
}

note "starting sshd on 127.0.0.1"
sshd_setup
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 755 "$WORK"
# Private copies: rcp-master finds rcpd next to itself, and cleanup finds
# stray agents of this run by their path.
mkdir -p "$WORK/bin"
for b in rcp rcpd rcmp filegen rcp-master rcpctl; do
	cp "$RCP_BUILDDIR/$b" "$WORK/bin/$b"
done
B=$WORK/bin
CFG=$SSH_CONFIG
H=127.0.0.1
ssh -F "$CFG" "$H" true </dev/null || die "cannot log in to $H through the test sshd"

"$B/filegen" -q "$WORK/src" 0 10 4K
SRC=$WORK/src
ROPTS=(--ssh-config "$CFG")

# Another user, as a real one: key, ssh config and known_hosts in their home.
BUSER=
if [ "$(id -u)" = 0 ]; then
	BUSER=rcpbench
	bench_account "$BUSER"
	BHOME=$BENCH_HOME
	install -m 600 -o "$BUSER" "$SSH_KEY" "$BHOME/.ssh/id_rcpbench"
	install -m 644 -o "$BUSER" "$SSH_KEY.pub" "$BHOME/.ssh/id_rcpbench.pub"
	install -m 600 -o "$BUSER" "$SSH_KNOWN_HOSTS" "$BHOME/.ssh/known_hosts_rcpbench"
	sed -e "s|User root|User $BUSER|" -e "s|$SSH_KEY|$BHOME/.ssh/id_rcpbench|" \
	    -e "s|$SSH_KNOWN_HOSTS|$BHOME/.ssh/known_hosts_rcpbench|" "$CFG" >"$WORK/user_config"
	chmod 644 "$WORK/user_config"
	TOOLS_USER=svcu
fi

start_master() {
	rm -rf "$WORK/state"
	# Not on our stdout: run's caller reads it through $( ), and a master
	# holding that pipe would keep the caller waiting if run dies.
	"$B/rcp-master" --socket "$WORK/sock" --socket-mode 0666 --state-dir "$WORK/state" \
	    --workers "$WORKERS" -q "$@" >/dev/null 2>>"$WORK/master.log" &
	MPID=$!
	for _ in $(seq 1 100); do
		"$B/rcpctl" --socket "$WORK/sock" ping >/dev/null 2>&1 && return 0
		sleep 0.05
	done
	die "rcp-master did not start"
}
stop_master() {
	"$B/rcpctl" --socket "$WORK/sock" shutdown >/dev/null 2>&1 || true
	wait "$MPID" 2>/dev/null || true
	MPID=
}

# check DIR: every one of the $JOBS copies under DIR equals the source.
check() {
	local k
	for ((k = 0; k < JOBS; k++)); do
		"$B/rcmp" --content --metadata-compare size "$SRC" "$1/j$k" >/dev/null ||
		    die "$1/j$k differs from the source"
	done
}

# run TOOL DIR: the $JOBS copies with TOOL into DIR; prints the seconds.
run() {
	local tool=$1 dir=$2 k t0 t1
	mkdir "$dir"
	case $tool in
	svc|svc0|svcu)
		if [ "$tool" = svc0 ]; then start_master --session-idle 0; else start_master; fi
		as=()
		opts=("${ROPTS[@]}")
		if [ "$tool" = svcu ]; then
			as=(setpriv --reuid "$BUSER" --regid "$BUSER" --init-groups)
			opts=(--ssh-config "$WORK/user_config")
			chown "$BUSER" "$dir"
		fi
		for ((k = 0; k < JOBS; k++)); do
			printf '%q ' "${opts[@]}" "$SRC"; printf '%q\n' "$H:$dir/j$k"
		done >"$WORK/batch"
		chmod 644 "$WORK/batch"
		t0=$EPOCHREALTIME
		"${as[@]}" "$B/rcpctl" --socket "$WORK/sock" batch --wait "$WORK/batch" >"$WORK/batch.out" 2>&1 ||
		    { grep -v " succeeded: " "$WORK/batch.out" | tail -20 >&2
		      tail -20 "$WORK/master.log" >&2; stop_master; die "the batch failed"; }
		t1=$EPOCHREALTIME
		stop_master
		;;
	rcp)
		t0=$EPOCHREALTIME
		for ((k = 0; k < JOBS; k++)); do
			"$B/rcp" "${ROPTS[@]}" "$SRC" "$H:$dir/j$k" || die "rcp failed"
		done
		t1=$EPOCHREALTIME
		;;
	scp)
		t0=$EPOCHREALTIME
		for ((k = 0; k < JOBS; k++)); do
			scp -q -r -F "$CFG" "$SRC" "$H:$dir/j$k" </dev/null || die "scp failed"
		done
		t1=$EPOCHREALTIME
		;;
	esac
	check "$dir"
	rm -rf "$dir"
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }'
}

TOOLS="svc svc0 ${TOOLS_USER:-} rcp scp"
declare -A times
for ((r = 1; r <= REPS; r++)); do
	for tool in $TOOLS; do
		s=$(run "$tool" "$WORK/out-$tool-$r")
		times[$tool]="${times[$tool]:-} $s"
		note "round $r: $tool $s s"
	done
done

med() { echo "${times[$1]}" | median; }
svc=$(med svc) svc0=$(med svc0) rcp=$(med rcp) scp=$(med scp)
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
best_sep=$(awk -v a="$rcp" -v b="$scp" 'BEGIN { print (a < b) ? a : b }')
verdict=$(awk -v a="$best_sep" -v b="$svc" 'BEGIN { print (a / b >= 3) ? "met" : "NOT met" }')
{
	echo "# rcp-master benchmark: $JOBS small remote jobs"
	echo
	echo "$(nproc) CPUs, $(uname -r), data on /dev/shm, one OpenSSH sshd on $H (tests/e2e/sshd-lib.sh),"
	echo "rcp-master --workers $WORKERS.  Each job: a tree of 10 x 4 KiB files from this machine to"
	echo "$H (the local side served by an rcpd started here, as rcp does).  Medians of $REPS rounds;"
	echo "every copy checked with rcmp --content."
	echo
	echo "| how the $JOBS copies ran | total s | per job ms | separate / this |"
	echo "|---|--:|--:|--:|"
	echo "| rcp-master, one rcpctl batch --wait (agents reused) | $svc | $(awk -v s="$svc" -v n="$JOBS" 'BEGIN { printf "%.1f", s * 1000 / n }') | $(ratio "$rcp" "$svc")x rcp, $(ratio "$scp" "$svc")x scp |"
	if [ -n "$BUSER" ]; then
		svcu=$(med svcu)
		echo "| rcp-master, the same batch submitted by another user ($BUSER: their own login, whose shell start-up is a fresh account's, in a process of theirs) | $svcu | $(awk -v s="$svcu" -v n="$JOBS" 'BEGIN { printf "%.1f", s * 1000 / n }') | $(ratio "$rcp" "$svcu")x rcp, $(ratio "$scp" "$svcu")x scp |"
	fi
	echo "| rcp-master --session-idle 0 (agents per job) | $svc0 | $(awk -v s="$svc0" -v n="$JOBS" 'BEGIN { printf "%.1f", s * 1000 / n }') | $(ratio "$rcp" "$svc0")x rcp, $(ratio "$scp" "$svc0")x scp |"
	echo "| $JOBS rcp invocations, one after another | $rcp | $(awk -v s="$rcp" -v n="$JOBS" 'BEGIN { printf "%.1f", s * 1000 / n }') | 1.0x |"
	echo "| $JOBS scp -r invocations, one after another | $scp | $(awk -v s="$scp" -v n="$JOBS" 'BEGIN { printf "%.1f", s * 1000 / n }') | |"
	echo
	echo "Target: the service at least 3x faster than the fastest separate invocations: $verdict ($(ratio "$best_sep" "$svc")x)."
} | tee "$OUT"
