#!/bin/bash
# multi-dest.sh: one copy written through several destination hosts that
# share a file system ("src:/p" "d1,d2:/p"), through the harness's real
# sshd: 127.0.0.3 and 127.0.0.1 are the destination hosts (they see the
# same files, as nodes of one Lustre would), 127.0.0.2 the source.  The
# first destination agent runs the engine; the others, its helpers, copy
# the data of files and chunks it hands them.  Checks that:
#   - the copy is exact (rcmp --content) and the helper wrote data, as the
#     destination's -v summary says; the same with two sources and the same
#     two hosts on both sides (a copy within one file system over many
#     nodes, dcp's use); -H keeps a hard link, a sparse file stays sparse,
#     --overwrite re-runs copy nothing, --delete holds; --verify verifies
#     every file, a byte flipped on its way to the disk (an LD_PRELOAD shim
#     in every agent, helpers too) is copied again, and one flipped every
#     time fails the file, which is removed; a big file cut short by
#     SIGKILL is completed by --resume, equal by cmp;
#   - SIGKILL or SIGSTOP of the helper mid-copy does not end the copy: it
#     completes, equal, exit 0, with a warning naming the host; a helper
#     whose packets to the first destination agent are dropped (iptables)
#     stops writing when its lease ends, before that agent copies its
#     ranges again, and the copy is exact; SIGKILL of
#     the first destination agent ends it with exit 1, naming its host, and
#     leaves no file that looks complete but is not;
#   - a destination group of two hosts is a list of them; a destination
#     host twice and more than 16 are refused, naming the cause;
#   - nothing of ours is left running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
FLIP_SO=$RCP_BUILDDIR/tests/fault/flip.so
[ -f "$FLIP_SO" ] || { echo "FAIL - $FLIP_SO is not built" >&2; exit 1; }
SSHD_SETENV="${SSHD_SETENV:+$SSHD_SETENV }LD_PRELOAD=$FLIP_SO RCP_TEST_FLIP_NAME=/flipme RCP_TEST_FLIP_ONCE=$T/flip-once RCP_TEST_FLIP_ALWAYS=$T/flip-always RCP_TEST_SLOW_NAME=/slowme RCP_TEST_SLOW_MS=700 ASAN_OPTIONS=verify_asan_link_order=0"
sshd_setup
chmod 755 "$T"			# the agents read and write under $T

. "$(dirname "$0")/remote-lib.sh"
CUT=()				# iptables rules of ours, as -D arguments
uncut() {
	local r
	for r in "${CUT[@]}"; do
		# shellcheck disable=SC2086
		iptables -D OUTPUT $r 2>/dev/null
	done
	CUT=()
}
trap 'uncut; ours_cleanup; sshd_cleanup; t_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
disarm() { touch "$T/flip-once"; rm -f "$T/flip-always"; }
disarm

SH=127.0.0.2 D1=127.0.0.3 D2=127.0.0.1
DL=$D1,$D2
S=$T/src
mkdir -p "$S/a" "$S/b"
head -c $((24 << 20)) /dev/urandom >"$S/big1"
head -c $((5 << 20)) /dev/urandom >"$S/mid"
for i in $(seq 1 40); do
	head -c $((i * 29311)) /dev/urandom >"$S/a/f$i"
	printf '%s\n' "$i" >"$S/b/g$i"
done
printf 'x' >"$S/$(printf 'bad\377name')"
ln -s big1 "$S/link"
ln "$S/a/f30" "$S/b/hard-f30"			# one inode, two names
truncate -s 16M "$S/sparse" && printf 'end' >>"$S/sparse"
head -c 3000000 /dev/urandom >"$S/flipme"	# 3 chunks of 1 MiB

# helped OUT HOST: the bytes the destination says helper HOST wrote.
helped() {
	sed -n "s/.*wrote through .* destination agents.*'$2' [0-9]* ranges, \([0-9]*\) bytes.*/\1/p" "$1" | head -1
}
helper() { pgrep -f "^$XRCPD --role destination --helper" | head -1; }
lead() { pgrep -f "^$XRCPD --role destination --quic" | head -1; }
summary_has() { t_grep "^$2: *$3( |\$)" "$1"; }
# begun DST WHO [MIB]: WHO (a function printing a pid) runs and DST has
# MIB (4) MiB.
begun() {
	local i
	for i in $(seq 200); do
		[ -n "$($2)" ] &&
		    [ "$(du -sb "$1" 2>/dev/null | cut -f1)" -gt $((${3:-4} << 20)) ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- a copy through two destination hosts ----------------------------------------
D=$T/dst1
t_check "a copy through two destination hosts exits 0" t_run 0 "$T/out.1" R -p -v "$SH:$S" "$DL:$D"
t_check "the copy is exact" same_rcmp "$S" "$D"
t_check "it wrote through both" t_grep "wrote through 2 destination agents: this one [0-9]+ bytes" "$T/out.1"
b=$(helped "$T/out.1" $D2)
t_check "the helper on $D2 wrote data ($b bytes)" test "${b:-0}" -gt 0
t_check "the helper's lines are tagged with its host" t_grep "^info: \[destination $D2\] " "$T/out.1"
t_check "nothing left running" gone 10

D=$T/dst-dcp
t_check "the same two hosts on both sides: exit 0" t_run 0 "$T/out.2" R -p -v "$SH,$D2:$S" "$SH,$D2:$D"
t_check "that copy is exact" same_rcmp "$S" "$D"
t_check "it read through both and wrote through both" t_grep "read through 2 source agents" "$T/out.2"
b=$(helped "$T/out.2" $D2)
t_check "the helper wrote data ($b bytes)" test "${b:-0}" -gt 0

D=$T/dst-H
t_check "-H through two destinations: exit 0" t_run 0 "$T/out" R -p -H "$SH:$S" "$DL:$D"
t_check "-H: the hard link is kept" test "$(stat -c %i "$D/a/f30")" = "$(stat -c %i "$D/b/hard-f30")"
t_check "the sparse file stays sparse" test "$(du -k "$D/sparse" | cut -f1)" -lt 1024
t_check "and is equal" cmp "$S/sparse" "$D/sparse"
t_check "an --overwrite run: exit 0" t_run 0 "$T/out.ow" R -p -H --overwrite --summary "$SH:$S" "$DL:$D"
t_check "an --overwrite run: nothing copied again" summary_has "$T/out.ow" "files copied" 0
echo stale >"$D/a/stale"
t_check "--delete through two destinations: exit 0" t_run 0 "$T/out" R -p -H --overwrite --delete "$SH:$S" "$DL:$D"
t_check "--delete: the file not in the source is gone" test ! -e "$D/a/stale"
t_check "after it all: exact" same_rcmp "$S" "$D"

# --- --verify, and bytes flipped on the way to the disk -------------------------------
N=$(find "$S" -type f | wc -l)
D=$T/dst-v
t_check "--verify through two destinations: exit 0" t_run 0 "$T/out.v" R -p -v --verify --chunk-size 1M --summary "$SH:$S" "$DL:$D"
t_check "--verify: every file verified ($N)" summary_has "$T/out.v" "files verified" "$N"
t_check "--verify: no mismatch" summary_has "$T/out.v" "verify mismatches" 0
b=$(helped "$T/out.v" $D2)
t_check "--verify: the helper wrote, and checked, data ($b bytes)" test "${b:-0}" -gt 0
t_check "--verify: exact" same_rcmp "$S" "$D"
rm -f "$T/flip-once"
D=$T/dst-flip1
t_check "one flip: exit 0" t_run 0 "$T/out" R -p --verify --chunk-size 1M --summary "$SH:$S" "$DL:$D"
t_check "one flip: it flipped" test -e "$T/flip-once"
t_check "one flip: verify mismatches: 1" summary_has "$T/out" "verify mismatches" 1
t_check "one flip: the copy is right" same_rcmp "$S" "$D"
touch "$T/flip-always"
D=$T/dst-flip
t_check "a flip every time: exit 1" t_run 1 "$T/out" R -p --verify --chunk-size 1M "$SH:$S" "$DL:$D"
disarm
t_check "a flip every time: the error names the file" t_grep "cannot verify '$D/flipme': the copy differs from its source after 3 attempts" "$T/out"
t_check "a flip every time: the file is not left" test ! -e "$D/flipme"
t_check "a flip every time: the rest is copied" cmp "$S/big1" "$D/big1"

# --- --resume of a big file cut short ----------------------------------------------
D=$T/dst-r
R -p --chunk-size 1M --iops-throttle 4 "$SH:$S/big1" "$DL:$D" >"$T/out.r0" 2>&1 &
pid=$!
for i in $(seq 200); do
	[ "$(du -B1 --apparent-size "$D" 2>/dev/null | cut -f1)" -gt 0 ] 2>/dev/null &&
	    [ -n "$(helper)" ] && break
	sleep 0.1
done
sleep 1.5
kill -9 $pid
wait $pid 2>/dev/null
ours_cleanup
t_check "cut short: the killed copy left its agents" gone 15
t_check "cut short: the file is not complete" test "$(cmp "$S/big1" "$D" 2>&1 | wc -l)" -gt 0
t_check "--resume through two destinations: exit 0" t_run 0 "$T/out.r" R -p --resume "$SH:$S/big1" "$DL:$D"
t_check "--resume: identical by cmp" cmp "$S/big1" "$D"

# --- a helper lost mid-copy -----------------------------------------------------------
# 1 MiB chunks at 20 a second: about 3 s of copying, so a signal lands in it.
SLOW=(--chunk-size 1M --iops-throttle 20)
for sig in KILL STOP; do
	D=$T/dst-$sig
	R -p -v "${SLOW[@]}" "$SH:$S" "$DL:$D" >"$T/out.$sig" 2>&1 &
	pid=$!
	if begun "$D" helper; then
		h=$(helper)
		kill -$sig "$h"
		t_pass "the helper on $D2 sent SIG$sig mid-copy"
	else
		t_fail "the copy whose helper gets SIG$sig did not start"
	fi
	wait_end $pid
	t_check "SIG$sig to the helper: the copy still exits 0 (got $RC)" test "$RC" = 0
	t_check "SIG$sig to the helper: the loss is named" t_grep "lost the destination helper on '$D2'" "$T/out.$sig"
	t_check "SIG$sig to the helper: the copy is exact" same_rcmp "$S" "$D"
	ours_cleanup
	t_check "SIG$sig to the helper: nothing left running" gone 15
done

# --- a helper cut off one way -------------------------------------------------------
# The helper's packets to the first destination agent are dropped (every
# host here is a loopback address, so by the port they leave): it still
# hears that agent and its sources, but is not heard.  Its lease (half the
# 4 s idle timeout) ends, and it writes no more; then that agent loses it
# and copies its ranges again.  Each write to 'slowme' takes 0.7 s (the
# shim: a slow disk), so the helper, cut off once 1 MiB is written, is
# still writing its 8 MiB chunk (a MiB a write) when its lease ends.
S3=$T/src-slow D=$T/dst-cut
mkdir -p "$S3"
head -c $((16 << 20)) /dev/urandom >"$S3/slowme"
R -p -v --chunk-size 8M --quic-idle-timeout-sec 4 "$SH:$S3" "$DL:$D" >"$T/out.cut" 2>&1 &
pid=$!
if begun "$D" helper 1; then
	h=$(helper)
	# Its listening socket, which only the first agent talks to (its
	# links to the sources and the master are connected sockets).
	for port in $(ss -Hunap | awk -v p="pid=$h," '$1 == "UNCONN" && index($0, p) { n = split($4, a, ":"); print a[n] }'); do
		r="-o lo -p udp --sport $port -j DROP"
		# shellcheck disable=SC2086
		iptables -I OUTPUT $r && CUT+=("$r")
	done
	t_check "the helper on $D2 cut off from $D1 mid-copy" test ${#CUT[@]} -gt 0
else
	t_fail "the copy whose helper is cut off did not start"
fi
wait_end $pid
uncut
t_check "a helper cut off one way: exit 0 (got $RC)" test "$RC" = 0
t_check "a helper cut off one way: its lease ended, it wrote no more" t_grep "heard nothing from this helper for [0-9.]+ s: writing no more" "$T/out.cut"
t_check "a helper cut off one way: the first agent lost it, saying why" t_grep "lost the destination helper on '$D2': nothing heard from .* \(idle timeout\)" "$T/out.cut"
t_check "a helper cut off one way: the copy is exact" same_rcmp "$S3" "$D"
ours_cleanup
t_check "a helper cut off one way: nothing left running" gone 15

D=$T/dst-lead
R -p "${SLOW[@]}" "$SH:$S" "$DL:$D" >"$T/out.lead" 2>&1 &
pid=$!
if begun "$D" lead; then
	kill -9 "$(lead)"
	t_pass "the first destination agent killed mid-copy"
else
	t_fail "the copy whose first destination is killed did not start"
fi
wait_end $pid
t_check "the first destination lost: exit 1 (got $RC)" test "$RC" = 1
t_check "the first destination lost: its host is named" t_grep "destination agent on '$D1' was killed by signal 9" "$T/out.lead"
t_check "the first destination lost: no file looks complete but differs" test -z "$(looks_complete_but_differs "$S" "$D")"
t_check "the first destination lost: nothing left running" gone 15

# --- groups and refusals ----------------------------------------------------------------
printf 'dsts = %s %s\n' $D1 $D2 >"$T/hosts"
D=$T/dst-group
t_check "a destination group of two hosts: exit 0" t_run 0 "$T/out.g" R -p -v --host-groups "$T/hosts" "$SH:$S" "dsts:$D"
t_check "the group's copy is exact" same_rcmp "$S" "$D"
t_check "the group's two hosts wrote it" t_grep "wrote through 2 destination agents" "$T/out.g"
refused() {	# refused WHAT PATTERN ARGS...
	local what=$1 pat=$2
	shift 2
	t_check "$what: refused with exit 1" t_run 1 "$T/out" R "$@"
	t_check "$what: the message names it" t_grep "$pat" "$T/out"
}
refused "a destination host twice" "destination host '$D1' is in '$D1,$D2,$D1' twice" "$SH:$S" "$D1,$D2,$D1:$T/x"
refused "an empty destination host" "an empty host in the destination host list" "$SH:$S" "$D1,,$D2:$T/x"
many=$(for i in $(seq 1 17); do printf '127.0.1.%d,' "$i"; done)
refused "17 destination hosts" "more than 16 destination hosts" "$SH:$S" "${many%,}:$T/x"
t_check "refusals start nothing" test ! -e "$T/x"
t_check "nothing left running at the end" gone 10

t_done
