#!/bin/bash
# chaos-eio.sh: copies whose disks fail under them with EIO, here and on
# the remote side (rcp through a real sshd, 127.0.0.2 to 127.0.0.3), and a
# destination directory that vanishes mid-copy.
#
#   read    reading one source file fails past 2 MiB
#   write   writing one destination file fails past 2 MiB
#   close   closing one destination file fails (a write-back error)
#   vanish  a destination directory is removed (rm -rf) while a slowed
#           copy runs into it
#
# The kernel here has no device-mapper and no FUSE: EIO comes from
# tests/fault/fault.so, preloaded into rcp for local copies and into every
# agent (SSHD_SETENV) for remote ones; a fault is on while its flag file
# "$T/eio-KIND" exists, for the files whose path ends in /sub/victim.
#
# Each fault must end the run (the hang guard is generous, not a speed
# claim), exit non-zero with a message naming the file and the cause, copy
# the other files (or stop, with --fail-early), leave no rcp, rcpd or SSH
# session behind and no file that looks complete and is not; once the fault
# is gone, a re-run with --overwrite completes to a tree rcmp --content
# finds equal.  "FAULT: X: ended in N s" lines give the measured times.
# EIO_CASES (words of the list above) runs some cases only.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
FAULT_SO=$RCP_BUILDDIR/tests/fault/fault.so
EIO=$T/eio VICTIM=/sub/victim EIO_AT=$((2 << 20))
# Also in the test's own environment, for local copies; only the commands
# that say so load the library.  (ASan must not insist on coming first.)
export RCP_TEST_EIO=$EIO RCP_TEST_EIO_NAME=$VICTIM RCP_TEST_EIO_AT=$EIO_AT
FAULTY=(env LD_PRELOAD="$FAULT_SO" ASAN_OPTIONS=verify_asan_link_order=0)
SSHD_SETENV="LD_PRELOAD=$FAULT_SO RCP_TEST_EIO=$EIO RCP_TEST_EIO_NAME=$VICTIM RCP_TEST_EIO_AT=$EIO_AT ASAN_OPTIONS=verify_asan_link_order=0"
sshd_setup
chmod 755 "$T"			# the agents read and write under $T
RL_GUARD=${EIO_GUARD:-120}
. "$(dirname "$0")/remote-lib.sh"

trap 'rm -f "$EIO"-*; ours_cleanup; sshd_stop; t_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

CASES=${EIO_CASES:-read write close vanish}
has_case() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }
t_check "the fault library is built" test -f "$FAULT_SO"

# --- the fixture -------------------------------------------------------------
# The victim (6 MiB: one chunk, copied by copy_file_range here), a big
# file of three chunks and many small files: with --ops-throttle, a run
# that stops at the first error leaves most of them uncopied.
S=$T/src
mkdir -p "$S/sub" "$S/many"
head -c $((6 << 20)) /dev/urandom >"$S/sub/victim"
head -c $((40 << 20)) /dev/urandom >"$S/big"
for i in $(seq 1 10); do head -c $((i * 1009)) /dev/urandom >"$S/sub/f$i"; done
python3 -c '
import sys
for i in range(1000):
    open("%s/many/f%d" % (sys.argv[1], i), "w").write("%d\n" % i)' "$S"
NFILES=$(find "$S" -type f | wc -l)

said() { grep -E '^rcp:|^error:' "$1" | head -6 | sed 's/^/  | /'; }
# others SRC DST: every file but the victim is an exact copy.
others() {
	local f
	while IFS= read -r -d '' f; do
		f=${f#./}
		[ "/$f" = "$VICTIM" ] && continue
		cmp -s "$1/$f" "$2/$f" || { echo "  '$f' is not copied" >&2; return 1; }
	done < <(cd "$1" && find . -type f -print0)
}
# copied DST: how many regular files DST has.
copied() { find "$1" -type f 2>/dev/null | wc -l; }
# broken DST: the victim is absent or not a full copy.
broken() { [ ! -e "$1$VICTIM" ] || ! cmp -s "$S$VICTIM" "$1$VICTIM"; }

# eio_case KIND MODE [-e]: fault KIND (read, write, close) in a copy MODE
# local (here, rcp loads the library) or h2h (127.0.0.2 to 127.0.0.3, the
# agents load it); -e adds --fail-early (and an ops throttle, so that
# stopping shows).
eio_case() {
	local kind=$1 m=$2 fe=${3:-} name D out src dst run re cause side pat
	name="$kind ($m${fe:+, --fail-early})"
	D=$T/dst-$kind-$m$fe out=$T/out-$kind-$m$fe
	case $m in
	local) src=$S dst=$D run=("${FAULTY[@]}" "${RA[@]}") ;;
	h2h) src=$SH:$S dst=$DH:$D run=("${RA[@]}") ;;
	esac
	re=(-p --summary)
	[ -n "$fe" ] && re+=(--fail-early --ops-throttle 200)
	case $kind in
	read) side=$S cause="Input/output error" ;;
	write) side=$D cause="Input/output error" ;;
	close) side=$D cause="Input/output error; the copy is removed" ;;
	esac
	# A remote source's file is named with its host: whose disk failed.
	[ "$kind" = read ] && [ "$m" = h2h ] && side=$SH:$S
	touch "$EIO-$kind"
	T0=$(now)
	timeout -k 5 "$RL_GUARD" "${run[@]}" "${re[@]}" "$src" "$dst" >"$out" 2>&1 &
	wait_end $!
	rm -f "$EIO-$kind"
	echo "  FAULT: $name: ended in ${EL} s, exit $RC"
	said "$out"
	t_check "$name: the run ends (no hang)" test "$RC" != 124
	t_check "$name: exit 1 (got $RC)" test "$RC" = 1
	t_check "$name: the error names the file and the cause" \
	    t_grep "^(error|rcp): .*'$side$VICTIM'.*$cause|^(error|rcp): .*$cause.*'$side$VICTIM'" "$out"
	if [ "$m" = h2h ]; then
		t_check "$name: the error says where (host or agent)" \
		    t_grep "^(error|rcp): .*(127\.0\.0\.[23]|source|destination)" "$out"
	fi
	t_check "$name: the victim is not a complete copy" broken "$D"
	[ "$kind" = close ] &&
	    t_check "$name: the file that failed on close is removed" test ! -e "$D$VICTIM"
	t_check "$name: no file looks complete and is not" honest "$S" "$D"
	if [ -n "$fe" ]; then
		t_check "$name: the run stopped early ($(copied "$D") of $NFILES files)" \
		    test "$(copied "$D")" -lt $((NFILES / 2))
	else
		t_check "$name: every other file is copied" others "$S" "$D"
	fi
	t_check "$name: no rcp, rcpd or SSH session left" gone 30
	ours_cleanup
	t_check "$name: without the fault, a re-run with --overwrite: exit 0" \
	    t_run 0 "$T/rerun.out" R -p --overwrite "$src" "$dst"
	t_check "$name: then rcmp --content finds the trees equal" same_rcmp "$S" "$D"
	t_check "$name: and nothing is left" gone 30
	rm -rf "$D"
}

for k in read write close; do
	has_case "$k" || continue
	eio_case "$k" local
	eio_case "$k" local -e
	eio_case "$k" h2h
done
has_case read && eio_case read h2h -e
has_case write && eio_case write h2h -e

# --- a destination directory that vanishes ---------------------------------
# A slow copy (--ops-throttle) is under way into many/ when the test
# removes the destination's many/: files still to come cannot be created
# there.  The run must end with the cause named (once, not once for each
# file that was to go there), the source agent not left waiting for a
# destination that gave up.
vanish_case() {
	local m=$1 D=$T/dst-vanish-$1 out=$T/out-vanish-$1 src dst pid i n
	case $m in
	local) src=$S dst=$D ;;
	h2h) src=$SH:$S dst=$DH:$D ;;
	esac
	"${RA[@]}" -p --ops-throttle 100 "$src" "$dst" >"$out" 2>&1 &
	pid=$!
	t_track "$pid"
	for i in $(seq 200); do
		n=$(find "$D/many" -type f 2>/dev/null | wc -l)
		[ "$n" -gt 50 ] && break
		sleep 0.1
	done
	if [ "$n" -le 50 ]; then
		t_fail "vanish ($m): the copy got into many/"
		kill -9 "$pid" 2>/dev/null
		said "$out"
		ours_cleanup
		return
	fi
	# The copy creates files in many/ while rm empties it, and rm then
	# fails "Directory not empty": again until it is gone (bounded).
	for i in $(seq 50); do
		rm -rf "$D/many" 2>/dev/null
		[ -e "$D/many" ] || break
	done
	t_check "vanish ($m): the test removed many/" test ! -e "$D/many"
	T0=$(now)
	wait_end "$pid"
	echo "  FAULT: vanish ($m): ended ${EL} s after the removal, exit $RC"
	said "$out"
	t_check "vanish ($m): the run ends (no hang)" test "$RC" != 124
	t_check "vanish ($m): exit 1 (got $RC)" test "$RC" = 1
	t_check "vanish ($m): the error names the vanished directory, once" \
	    t_grep "^error: (\[destination\] )?destination directory '$D/many' was removed during the copy" "$out"
	t_check "vanish ($m): not one error per file it held" \
	    t_grep "^rcp: 1 error; see the messages above" "$out"
	t_check "vanish ($m): no file looks complete and is not" honest "$S" "$D"
	t_check "vanish ($m): no rcp, rcpd or SSH session left (the source is not left waiting)" gone 30
	ours_cleanup
	t_check "vanish ($m): a re-run with --overwrite: exit 0" \
	    t_run 0 "$T/rerun.out" R -p --overwrite "$src" "$dst"
	t_check "vanish ($m): then rcmp --content finds the trees equal" same_rcmp "$S" "$D"
	t_check "vanish ($m): and nothing is left" gone 30
	rm -rf "$D"
}
if has_case vanish; then
	vanish_case local
	vanish_case h2h
fi

t_done
