#!/bin/bash
# chaos-stop.sh: remote copies (rcp through a real sshd, 127.0.0.2 and
# 127.0.0.3) whose agents are alive but silent: stopped with SIGSTOP at
# start-up, mid-transfer and at the end, host to host, local to host and
# host to local; then signals to rcp while an agent is stopped.  Each run
# must end by itself within a generous hang guard (normal is the QUIC idle
# timeout, 10 s, plus the teardown's graces), exit non-zero naming the
# silent agent and its host, leave no rcp or rcpd behind (a stopped agent
# is killed), leave no file that looks complete and is not, and a re-run
# with --overwrite must complete to a tree equal by rcmp --content.  Each
# case prints the time it took to a clean end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
# A dead disk, made by tests/fault/fault.so in every agent: while
# $T/stuck-on exists, reads of a file named "big" past 8 MiB hang.  No
# effect otherwise.  (ASan must not insist on coming first.)
STUCK_SO=$RCP_BUILDDIR/tests/fault/fault.so
SSHD_SETENV="LD_PRELOAD=$STUCK_SO RCP_TEST_STUCK=$T/stuck-on RCP_TEST_STUCK_NAME=/big RCP_TEST_STUCK_AT=$((8 << 20)) ASAN_OPTIONS=verify_asan_link_order=0"
sshd_setup
chmod 755 "$T"			# the agents read and write under $T
. "$(dirname "$0")/remote-lib.sh"

# Stopped processes of ours are continued and killed, by pid, whatever
# happens: a test must not leave a stopped agent behind.
trap 'ours_cleanup; sshd_stop; t_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# --- the fixture -------------------------------------------------------------
S=$T/src
mkdir -p "$S/small"
head -c $((48 << 20)) /dev/urandom >"$S/big"
for i in $(seq 1 40); do
	head -c $((i * 1013)) /dev/urandom >"$S/small/f$i"
done
SIZE=$(du -sb "$S" | cut -f1)
# A slow copy: 1 MiB chunks, 12 a second (about 4 s in all).
SLOW=(--chunk-size 1M --iops-throttle 12)

# when_ready WHEN OUT DST: returns once it is time to stop an agent:
# start (as soon as it runs), mid (some bytes arrived) or end (every byte
# of the big file arrived).  False if that never came (20 s).
when_ready() {
	local i n
	for i in $(seq 400); do
		case $1 in
		start) [ -n "$(agent_pid "$WHO")" ] && return 0 ;;
		mid)
			n=$(du -sb "$3" 2>/dev/null | cut -f1)
			[ -n "$(agent_pid source)" ] && [ -n "$(agent_pid destination)" ] &&
			    [ "${n:-0}" -gt $((4 << 20)) ] && return 0 ;;
		end)
			n=$(stat -c %s "$3/big" 2>/dev/null)
			[ "${n:-0}" -ge $((48 << 20)) ] && return 0 ;;
		esac
		sleep 0.05
	done
	echo "  the copy never got to '$1'; its output:" >&2
	sed 's/^/  | /' "$2" | head -20 >&2
	return 1
}

# stop_case WHO WHEN [MODE [SIGNALS]]: stops WHO's agent at WHEN in a copy
# host->host (h2h), local->host (l2h) or host->local (h2l); SIGNALS ("term",
# "int2") are then sent to rcp.
stop_case() {
	WHO=$1
	local when=$2 m=${3:-h2h} sig=${4:-} name D out pid victim t0 src dst try
	name="stop $WHO at $when ($m${sig:+, then $sig})"
	D=$T/dst-$WHO-$when-$m-$sig out=$T/out-$WHO-$when-$m-$sig
	src=$SH:$S dst=$DH:$D
	case $m in
	l2h) src=$S ;;
	h2l) dst=$D ;;
	esac
	RC=
	for try in 1 2 3; do
		rm -rf "$D"
		"${RA[@]}" -p "${SLOW[@]}" "$src" "$dst" >"$out" 2>&1 &
		pid=$!
		t_track "$pid"
		if ! when_ready "$when" "$out" "$D"; then
			t_fail "$name: the copy got there"
			kill -9 "$pid" 2>/dev/null
			wait "$pid" 2>/dev/null
			ours_cleanup
			return
		fi
		victim=$(agent_pid "$WHO")
		[ -n "$victim" ] && break
		# At the end, on a loaded machine the copy may finish
		# between the look and the stop: that run tested nothing.
		echo "  $name: the copy ended before the stop (try $try)"
		wait "$pid" 2>/dev/null
		ours_cleanup
	done
	[ -n "$victim" ] || { t_fail "$name: an agent to stop"; return; }
	t0=$(now)
	kill -STOP "$victim"
	case $sig in
	term) sleep 1; kill -TERM "$pid" ;;
	int2) sleep 1; kill -INT "$pid"; sleep 0.3; kill -INT "$pid" ;;
	esac
	wait_end "$pid"
	echo "  $name: rcp ended $(secs "$t0" "$END")s after the stop, exit $RC"
	grep '^rcp:' "$out" | sed 's/^/  | /'
	t_check "$name: rcp ended by itself (no hang)" test "$RC" != 124
	case $sig in
	term)
		t_check "$name: exit 1 (got $RC)" test "$RC" = 1
		t_check "$name: the message says the copy is incomplete" \
		    t_grep "^rcp: interrupted by signal 15; the copy is incomplete" "$out" ;;
	int2)
		t_check "$name: exit 1 (got $RC)" test "$RC" = 1
		t_check "$name: the message says the copy is incomplete" \
		    t_grep "^rcp: second signal: exiting now; the copy is incomplete" "$out" ;;
	*)
		t_check "$name: exit 1 (got $RC)" test "$RC" = 1
		t_check "$name: the error names the $WHO agent and its host" \
		    t_grep "^rcp: .*(lost the $WHO agent on '[^']+'|the $WHO agent on '[^']+' (did not|has not)|no hello from the $WHO agent on '[^']+'|the $WHO agent on '[^']+' did not connect back)" "$out" ;;
	esac
	t_check "$name: no file looks complete and is not" honest "$S" "$D"
	# The stopped agent is killed by rcp, so nothing is left even stopped.
	t_check "$name: no rcp or rcpd left behind" gone 60
	ours_cleanup
	t_check "$name: a re-run with --overwrite: exit 0" \
	    t_run 0 "$T/rerun.out" R -p --overwrite "$src" "$dst"
	t_check "$name: then rcmp --content finds the trees equal" same_rcmp "$S" "$D"
	t_check "$name: and no rcp or rcpd left behind" gone 60
	rm -rf "$D"
}

stop_case source mid
stop_case destination mid
stop_case source mid l2h
stop_case destination mid h2l
stop_case source start
stop_case destination start
stop_case source end
stop_case source mid h2h term
stop_case destination mid h2h int2

# --- a source alive but stuck on its disk ----------------------------------------
# Its QUIC thread answers keep-alives, so no link goes idle: the master
# sees the destination's counters stand still and ends the run after
# --stall-timeout-sec.
t_check "the dead-disk library is built" test -f "$STUCK_SO"
D=$T/dst-stuck out=$T/out-stuck
touch "$T/stuck-on"
t0=$(now)
"${RA[@]}" -p --chunk-size 1M --stall-timeout-sec 5 "$SH:$S" "$DH:$D" >"$out" 2>&1 &
pid=$!
t_track "$pid"
RC=
wait_end "$pid"
echo "  stuck source disk: rcp ended $(secs "$t0" "$END")s after it started, exit $RC"
grep '^rcp:' "$out" | sed 's/^/  | /'
t_check "stuck disk: rcp ended by itself (no hang)" test "$RC" != 124
t_check "stuck disk: exit 1 (got $RC)" test "$RC" = 1
t_check "stuck disk: the error names the stall and the host" \
    t_grep "^rcp: no progress from the destination on '127.0.0.3' for 5 s" "$out"
t_check "stuck disk: no file looks complete and is not" honest "$S" "$D"
t_check "stuck disk: the big file is not complete" \
    test "$(stat -c %s "$D/big" 2>/dev/null || echo 0)" -lt $((48 << 20))
t_check "stuck disk: no rcp or rcpd left behind" gone 60
ours_cleanup
rm -f "$T/stuck-on"
t_check "stuck disk: a re-run with --overwrite: exit 0" \
    t_run 0 "$T/rerun.out" R -p --overwrite "$SH:$S" "$DH:$D"
t_check "stuck disk: then rcmp --content finds the trees equal" same_rcmp "$S" "$D"

# --- the master stopped: its agents end by themselves ---------------------------
# A stopped rcp answers nothing: each agent's link to it goes idle, and
# the agents must exit on their own; continued, rcp then ends too.
D=$T/dst-master out=$T/out-master
"${RA[@]}" -p "${SLOW[@]}" "$SH:$S" "$DH:$D" >"$out" 2>&1 &
pid=$!
t_track "$pid"
WHO=source
if when_ready mid "$out" "$D"; then
	t0=$(now)
	kill -STOP "$pid"
	agents_gone() {
		local i
		for i in $(seq 1200); do
			[ -z "$(agent_pid source)$(agent_pid destination)" ] && return 0
			sleep 0.1
		done
		return 1
	}
	t_check "stop master: its agents end by themselves" agents_gone
	echo "  stop master: the agents ended $(secs "$t0" "$(now)")s after the stop"
	kill -CONT "$pid"
	wait_end "$pid"
	t_check "stop master: continued, rcp ends (no hang)" test "$RC" != 124
	t_check "stop master: exit 1 (got $RC)" test "$RC" = 1
	t_check "stop master: no file looks complete and is not" honest "$S" "$D"
	t_check "stop master: no rcp or rcpd left behind" gone 60
	t_check "stop master: a re-run with --overwrite: exit 0" \
	    t_run 0 "$T/rerun.out" R -p --overwrite "$SH:$S" "$DH:$D"
	t_check "stop master: then rcmp --content finds the trees equal" same_rcmp "$S" "$D"
else
	t_fail "stop master: the copy got going"
fi
ours_cleanup

t_done
