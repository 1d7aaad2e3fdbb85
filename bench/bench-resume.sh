#!/usr/bin/env bash
# bench-resume.sh -- what --resume saves, on dataset A (one 2 GiB file) on
# tmpfs, locally and from this host to 127.0.0.3 through the test sshd
# (tests/e2e/sshd-lib.sh), the agents talking QUIC on loopback:
#   full     a plain copy into an empty destination
#   resume   a copy SIGKILLed once about half the file is there, then
#            rcp --resume (its time and bytes; the kill point is measured)
#   update   BENCH_CHANGED chunks of BENCH_CHUNK changed in place (1% of
#            them), then rcp -p --resume over the old copy; remotely beside
#            rsync -a --no-whole-file (its delta algorithm) and rsync -a
#            (plain: remotely rsync's default is the same delta), in the
#            same run
# Bytes on the wire are counted by iptables on loopback: UDP to or from
# the QUIC ports given to rcp (--quic-port-ranges), TCP to or from the
# sshd's port for rsync; a private chain, removed at exit.  Medians of
# BENCH_REPS runs (default 3).  Needs root (iptables).
#
# Usage: RCP_BUILDDIR=build bash bench/bench-resume.sh
#   BENCH_CHUNK (default 4M), BENCH_CHANGED (default 5: 1% of 512 chunks),
#   BENCH_QUIC_PORTS (default 47100-47199), BENCH_OUT (markdown report,
#   default $RCP_BUILDDIR/bench-results-resume.md), BENCH_REMOTE=0 skips
#   the remote half.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -uo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/.." && pwd)
BENCH_NAME=bench-resume
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
RCP_BUILDDIR=$(cd "${RCP_BUILDDIR:-$srcdir/build}" && pwd)
REPS=${BENCH_REPS:-3}
CHUNK=${BENCH_CHUNK:-4M}
CHANGED=${BENCH_CHANGED:-5}
PORTS=${BENCH_QUIC_PORTS:-47100-47199}
OUT=${BENCH_OUT:-$RCP_BUILDDIR/bench-results-resume.md}
REMOTE=${BENCH_REMOTE:-1}
SIZE=$((2 << 30))
CHAIN=RCPBENCH$$

. "$srcdir/tests/e2e/lib.sh"
. "$srcdir/tests/e2e/sshd-lib.sh"
set -uo pipefail
SHM=/dev/shm
need $((3 * SIZE)) "dataset A, its copy and rsync's temporary file"
mkdir -p "$T/bin"
for b in rcp rcpd filegen; do cp "$RCP_BUILDDIR/$b" "$T/bin/$b"; done
RCP=$T/bin/rcp RCPD=$T/bin/rcpd
RUN_PID=

cleanup() {
	trap - EXIT INT TERM
	[ -n "$RUN_PID" ] && kill -9 "$RUN_PID" 2>/dev/null
	iptables -D INPUT -i lo -j "$CHAIN" 2>/dev/null
	iptables -F "$CHAIN" 2>/dev/null
	iptables -X "$CHAIN" 2>/dev/null
	[ "$REMOTE" = 1 ] && sshd_stop
	for p in $(pgrep -f "^$RCPD "); do kill -9 "$p" 2>/dev/null; done
	t_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

data_bytes() { echo $(($(stat -c %b "$1" 2>/dev/null || echo 0) * 512)); }
bytes_copied() { sed -n 's/^bytes copied: .*(\([0-9]*\) bytes.*/\1/p' "$1"; }
secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }'; }
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f%%", 100 * a / b }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2fx", a / b }'; }
mib() { awk -v a="$1" 'BEGIN { printf "%.1f MiB", a / 1048576 }'; }
declare -A R	# R[name]="v1 v2 ..."
add() { R[$1]="${R[$1]:-} $2"; }
medof() { printf '%s' "${R[$1]}" | median; }

# Counting: a private chain on loopback's INPUT (each packet crosses it once).
wire_setup() {
	iptables -N "$CHAIN" || die "iptables -N failed (root needed)"
	# RETURN: a packet between two ports of the range counts once.
	iptables -A "$CHAIN" -p udp --dport "${PORTS/-/:}" -j RETURN
	iptables -A "$CHAIN" -p udp --sport "${PORTS/-/:}" -j RETURN
	iptables -A "$CHAIN" -p tcp --dport "$SSHD_PORT" -j RETURN
	iptables -A "$CHAIN" -p tcp --sport "$SSHD_PORT" -j RETURN
	iptables -I INPUT -i lo -j "$CHAIN"
}
wire_zero() { iptables -Z "$CHAIN"; }
# wire_udp / wire_tcp: bytes counted since the last wire_zero.
# (-n prints protocols as numbers: 17 UDP, 6 TCP.)
wire_udp() { iptables -L "$CHAIN" -n -v -x | awk '$4 == "17" || $4 == "udp" { s += $2 } END { printf "%.0f", s }'; }
wire_tcp() { iptables -L "$CHAIN" -n -v -x | awk '$4 == "6" || $4 == "tcp" { s += $2 } END { printf "%.0f", s }'; }

# kill_half DST CMD...: runs CMD, SIGKILLs it once DST holds half of A;
# adds the share of A there was to R[NAME_at].
kill_half() {
	local name=$1 dst=$2 i
	shift 2
	"$@" >/dev/null 2>&1 &
	RUN_PID=$!
	for ((i = 0; i < 6000; i++)); do
		[ "$(data_bytes "$dst")" -ge $((SIZE / 2)) ] && break
		sleep 0.005
	done
	kill -9 "$RUN_PID" 2>/dev/null
	wait "$RUN_PID" 2>/dev/null
	RUN_PID=
	add "${name}_at" "$(awk -v a="$(data_bytes "$dst")" -v b=$SIZE 'BEGIN { printf "%.3f", a / b }')"
}
agents_gone() {
	local i
	for ((i = 0; i < 200; i++)); do
		[ -z "$(pgrep -f "^$RCPD ")" ] && return 0
		sleep 0.05
	done
	return 1
}
# changed_copy: DST is a copy of A with times; A then changes CHANGED chunks
# in place, spread over the file (8 bytes in each).
changed_copy() {
	local dst=$1 k n cs
	rm -f "$dst"
	cp -p "$S/f0" "$dst"
	cs=$(numfmt --from=iec "$CHUNK")
	n=$((SIZE / cs))
	for ((k = 0; k < CHANGED; k++)); do
		printf '%08d' "$RANDOM" | dd of="$S/f0" bs=1 seek=$(((k * n / CHANGED + 3) * cs + 12345)) conv=notrunc status=none
	done
}

S=$T/A
note "making dataset A (2 GiB)"
"$T/bin/filegen" -q -s 42 "$S" 0 1 2G || die "filegen failed"
D=$T/dst

# ---------------------------------------------------------------- local
for ((rep = 1; rep <= ${BENCH_LOCAL_REPS:-$REPS}; rep++)); do
	note "local, repetition $rep of $REPS"
	rm -f "$D"; sync
	t0=$EPOCHREALTIME
	"$RCP" --chunk-size "$CHUNK" "$S/f0" "$D" || die "rcp failed"
	add l_full "$(secs_since "$t0")"
	rm -f "$D"
	kill_half l "$D" "$RCP" --chunk-size "$CHUNK" "$S/f0" "$D"
	t0=$EPOCHREALTIME
	"$RCP" --resume --chunk-size "$CHUNK" --summary "$S/f0" "$D" >"$T/out" || die "rcp --resume failed"
	add l_resume "$(secs_since "$t0")"
	add l_resume_bytes "$(bytes_copied "$T/out")"
	cmp -s "$S/f0" "$D" || die "local resume: the copy differs"
	changed_copy "$D"
	t0=$EPOCHREALTIME
	"$RCP" -p --resume --chunk-size "$CHUNK" --summary "$S/f0" "$D" >"$T/out" || die "rcp update failed"
	add l_update "$(secs_since "$t0")"
	add l_update_bytes "$(bytes_copied "$T/out")"
	cmp -s "$S/f0" "$D" || die "local update: the copy differs"
done
rm -f "$D"

# ---------------------------------------------------------------- remote
if [ "$REMOTE" = 1 ]; then
	note "starting sshd on 127.0.0.1-3"
	sshd_setup
	trap cleanup EXIT
	chmod 755 "$T"
	wire_setup
	RA=("$RCP" --ssh-config "$SSH_CONFIG" --rcpd-path "$RCPD" --quic-port-ranges "$PORTS" --chunk-size "$CHUNK")
	RS=(-e "ssh -F $SSH_CONFIG")
	for ((rep = 1; rep <= REPS; rep++)); do
		note "remote, repetition $rep of $REPS"
		rm -f "$D"
		wire_zero; t0=$EPOCHREALTIME
		"${RA[@]}" "$S/f0" "127.0.0.3:$D" || die "remote rcp failed"
		add r_full "$(secs_since "$t0")"; add r_full_wire "$(wire_udp)"
		rm -f "$D"
		kill_half r "$D" "${RA[@]}" "$S/f0" "127.0.0.3:$D"
		agents_gone || die "agents of the killed copy still run"
		wire_zero; t0=$EPOCHREALTIME
		"${RA[@]}" --resume --summary "$S/f0" "127.0.0.3:$D" >"$T/out" || die "remote resume failed"
		add r_resume "$(secs_since "$t0")"; add r_resume_wire "$(wire_udp)"
		add r_resume_bytes "$(bytes_copied "$T/out")"
		cp "$T/out" "$T/resume-summary.out"
		cmp -s "$S/f0" "$D" || die "remote resume: the copy differs"
		changed_copy "$D"
		wire_zero; t0=$EPOCHREALTIME
		"${RA[@]}" -p --resume --summary "$S/f0" "127.0.0.3:$D" >"$T/out" || die "remote update failed"
		add r_update "$(secs_since "$t0")"; add r_update_wire "$(wire_udp)"
		cmp -s "$S/f0" "$D" || die "remote update: the copy differs"
		for mode in delta plain; do
			changed_copy "$D"
			args=(-a)
			[ $mode = delta ] && args+=(--no-whole-file)
			wire_zero; t0=$EPOCHREALTIME
			rsync "${args[@]}" "${RS[@]}" "$S/f0" "127.0.0.3:$D" || die "rsync failed"
			add "rsync_$mode" "$(secs_since "$t0")"; add "rsync_${mode}_wire" "$(wire_tcp)"
			cmp -s "$S/f0" "$D" || die "rsync $mode: the copy differs"
		done
	done
fi

# ---------------------------------------------------------------- report
{
	echo "# bench-resume: dataset A (2 GiB), chunk $CHUNK, $CHANGED of $((SIZE / $(numfmt --from=iec "$CHUNK"))) chunks changed; medians of $REPS"
	echo
	echo "- $(date -u '+%F %T UTC'), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); rcp $("$RCP" --version | head -n 1); $(rsync --version | head -n 1 | sed 's/  */ /g')"
	echo
	echo "| run | time (s) | vs full | bytes | share of A |"
	echo "|---|---:|---:|---:|---:|"
	echo "| local full | $(medof l_full) | 1.00x | $(mib $SIZE) | 100% |"
	echo "| local resume (killed at $(medof l_at) of A) | $(medof l_resume) | $(ratio "$(medof l_resume)" "$(medof l_full)") | $(mib "$(medof l_resume_bytes)") written | $(pct "$(medof l_resume_bytes)" $SIZE) |"
	echo "| local update, 1% of chunks | $(medof l_update) | $(ratio "$(medof l_update)" "$(medof l_full)") | $(mib "$(medof l_update_bytes)") written | $(pct "$(medof l_update_bytes)" $SIZE) |"
	if [ "$REMOTE" = 1 ]; then
		echo "| remote full (to .3) | $(medof r_full) | 1.00x | $(mib "$(medof r_full_wire)") on the wire | $(pct "$(medof r_full_wire)" $SIZE) |"
		echo "| remote resume (killed at $(medof r_at) of A) | $(medof r_resume) | $(ratio "$(medof r_resume)" "$(medof r_full)") | $(mib "$(medof r_resume_wire)") on the wire | $(pct "$(medof r_resume_wire)" $SIZE) |"
		echo "| remote update, 1% of chunks: rcp -p --resume | $(medof r_update) | $(ratio "$(medof r_update)" "$(medof r_full)") | $(mib "$(medof r_update_wire)") on the wire | $(pct "$(medof r_update_wire)" $SIZE) |"
		echo "| the same: rsync -a --no-whole-file | $(medof rsync_delta) | $(ratio "$(medof rsync_delta)" "$(medof r_full)") | $(mib "$(medof rsync_delta_wire)") on the wire | $(pct "$(medof rsync_delta_wire)" $SIZE) |"
		echo "| the same: rsync -a | $(medof rsync_plain) | $(ratio "$(medof rsync_plain)" "$(medof r_full)") | $(mib "$(medof rsync_plain_wire)") on the wire | $(pct "$(medof rsync_plain_wire)" $SIZE) |"
	fi
	echo
	echo "Targets (issue 12): resume <= 0.6x the time of a full copy and <= 55% of its bytes on the wire; an update of 1% of the chunks moves <= 3% of A over the network."
	echo
	echo "Every run:"
	for k in $(printf '%s\n' "${!R[@]}" | sort); do echo "- $k:${R[$k]}"; done
} >"$OUT"
cat "$OUT"
