#!/bin/bash
# remote-faults.sh: remote copies (rcp through a real sshd, 127.0.0.2 to
# 127.0.0.3) that meet trouble.  The source agent, the destination agent and
# the master are each killed with SIGKILL in the middle of a transfer: the
# run must end by itself (not by a timeout), exit 1 and name what died,
# leave no rcp or rcpd behind, and a re-run with --overwrite must complete
# the copy; once more with the master's thread that handles the
# destination's death held back by gdb, so that its teardown races that
# thread every time.  Then
# the QUIC traffic of a copy loses 3% of its packets (iptables) or is capped
# to 50 Mbit/s (tc), and the copy must still be exact.  Only UDP on port
# ranges of this test is touched, only on lo; the rules are always removed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"			# the agents read and write under $T

. "$(dirname "$0")/remote-lib.sh"

# --- network faults: the rules, and their removal whatever happens -----------------
LOSS_LO=29152 LOSS_HI=29167		# 0x71e0-0x71ef
RATE_LO=29168 RATE_MASK=0xfff0		# 29168-29183, 0x71f0-0x71ff
IPT_TAG="rcp-e2e-remote-faults-$$"
ipt_rule=(INPUT -i lo -s 127.0.0.0/8 -d 127.0.0.0/8 -p udp -m multiport --ports "$LOSS_LO:$LOSS_HI"
    -m statistic --mode random --probability 0.03 -m comment --comment "$IPT_TAG" -j DROP)
TC_ROOT_BEFORE=$(tc qdisc show dev lo 2>/dev/null | grep ' root ' | head -1)
TC_OURS=no
net_cleanup() {
	while iptables -w -D "${ipt_rule[@]}" 2>/dev/null; do :; done
	if [ "$TC_OURS" = yes ]; then
		tc qdisc del dev lo root 2>/dev/null
		TC_OURS=no
	fi
}
trap 'net_cleanup; ours_cleanup; sshd_stop; t_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# Both tools must be here and work: a test that cannot run fails.
quiet() { "$@" >/dev/null; }
t_check "iptables works here" quiet iptables -w -L INPUT -n
t_check "tc works here" quiet tc qdisc show dev lo

# --- the fixture: a big file and small ones --------------------------------------------
S=$T/src
mkdir -p "$S/small/a" "$S/small/b"
head -c $((64 << 20)) /dev/urandom >"$S/big"
for i in $(seq 1 60); do
	head -c $((i * 997)) /dev/urandom >"$S/small/a/f$i"
	printf '%s\n' "$i" >"$S/small/b/g$i"
done
ln -s big "$S/link"
SIZE=$(du -sb "$S" | cut -f1)
# A slow copy: 1 MiB chunks, 12 of them a second (about 10 s in all).  The
# QUIC idle timeout is 10 min, far past the hang guards: a run that only
# ended when the idle timeout dropped a dead peer fails them.
SLOW=(--chunk-size 1M --iops-throttle 12 --quic-idle-timeout-sec 600)

# kill_case WHO [MODE]: kills WHO (source, destination or master)
# mid-transfer of a copy host->host (h2h, the default), local->host (l2h)
# or host->local (h2l); a local side's agent is rcp's own child.
kill_case() {
	local who=$1 m=${2:-h2h} D=$T/dst-$1-${2:-h2h} out=$T/kill-$1-${2:-h2h}.out
	local pid victim t0 t1 rc el src=$SH:$S dst=$DH:$D
	case $m in
	l2h) src=$S ;;
	h2l) dst=$D ;;
	esac
	"${RA[@]}" -p "${SLOW[@]}" "$src" "$dst" >"$out" 2>&1 &	# $! is rcp
	pid=$!
	t_track "$pid"
	if ! started "$out" "$D"; then
		t_fail "kill $who ($m): the copy got going"
		kill -9 "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		return
	fi
	case $who in
	master) victim=$pid ;;
	*) victim=$(agent_pid "$who") ;;
	esac
	t0=$(now)
	kill -9 "$victim"
	# The master ends by itself (or is the victim).  120 s is a hang
	# guard (normal is about a second), not a speed claim.
	# (stderr: not bash's notice that its job was killed.)
	for _ in $(seq 1200); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done 2>/dev/null
	if kill -0 "$pid" 2>/dev/null; then
		t_fail "kill $who ($m): rcp ended by itself (still runs 120 s later)"
		kill -9 "$pid"
	else
		t_pass "kill $who ($m): rcp ended by itself"
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	t1=$(now)
	el=$(secs "$t0" "$t1")
	echo "  kill $who ($m): rcp ended ${el}s after the kill, exit $rc"
	grep '^rcp:' "$out" | sed 's/^/  | /'

	if [ "$who" = master ]; then
		t_check "kill $who ($m): rcp died of the signal (exit $rc)" test "$rc" = 137
	else
		t_check "kill $who ($m): exit 1 (got $rc)" test "$rc" = 1
		t_check "kill $who ($m): the error names the $who agent" \
		    t_grep "^rcp: .*(the $who agent on '[^']*' was killed by signal 9|lost the $who agent)" "$out"
	fi
	t_check "kill $who ($m): the copy is incomplete" test "$(du -sb "$D" 2>/dev/null | cut -f1)" -lt "$SIZE"
	t_check "kill $who ($m): no rcp or rcpd left behind" gone 60
	t_check "kill $who ($m): a re-run with --overwrite: exit 0" t_run 0 "$T/rerun.out" R -p --overwrite "$src" "$dst"
	t_check "kill $who ($m): then rcmp --content finds the trees equal" same_rcmp "$S" "$D"
	t_check "kill $who ($m): and no rcp or rcpd left behind" gone 60
}

kill_case source
kill_case destination

# --- the destination dies while its stderr reader is slow --------------------------
# Its stderr reader, seeing it killed, aborts the run (rcp_remote_abort),
# which closes the source's stdin and connection too.  The master's teardown
# (rcp_remote_free) once freed the source's before joining that thread, which
# then used them: SIGSEGV, once in many runs on a loaded machine.  gdb
# (non-stop: the other threads run on) holds that thread 2 s in
# remote_abort_agents, so the teardown overtakes it every time.
t_check "gdb works here" quiet gdb -nx -batch -ex 'show version'
# no_crash OUT: true unless gdb or a sanitizer saw a crash.
no_crash() { ! grep -E 'received signal SIG|ERROR: [A-Za-z]+Sanitizer' "$1" >&2; }
slow_abort_case() {
	local D=$T/dst-slowabort out=$T/slowabort.out pid= gpid i
	cat >"$T/slowabort.gdb" <<-EOF
		set pagination off
		set confirm off
		set non-stop on
		break remote_abort_agents
		commands
		silent
		shell sleep 2
		continue
		end
		run &
	EOF
	# gdb reads commands on stdin until we close it: it outlives rcp.
	rm -f "$T/slowabort.in"
	mkfifo "$T/slowabort.in"
	# LeakSanitizer cannot work under ptrace: it would only add noise.
	ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
	    gdb -nx -q -x "$T/slowabort.gdb" --args "${RA[@]}" -p "${SLOW[@]}" \
	    "$SH:$S" "$DH:$D" <"$T/slowabort.in" >"$out" 2>&1 &
	gpid=$!
	exec 4>"$T/slowabort.in"
	t_track "$gpid"
	for i in $(seq 200); do
		pid=$(pgrep -f "^$XRCP( |\$)" | head -1)
		[ -n "$pid" ] && break
		sleep 0.1
	done
	if [ -z "$pid" ] || ! started "$out" "$D"; then
		t_fail "slow abort: the copy got going under gdb"
	else
		kill -9 "$(agent_pid destination)"
		# The exit, or a crash that gdb holds (120 s: a hang guard).
		for i in $(seq 1200); do
			grep -Eq "exited (normally|with code)|received signal|ERROR: [A-Za-z]+Sanitizer" "$out" && break
			sleep 0.1
		done
		sleep 0.5
		sed -n 's/^rcp: /  | rcp: /p' "$out"
		t_check "slow abort: the master did not crash" no_crash "$out"
		t_check "slow abort: exit 1" t_grep "exited with code 01" "$out"
		t_check "slow abort: the error names the destination agent" \
		    t_grep "^rcp: .*the destination agent on '[^']*' was killed by signal 9" "$out"
	fi
	[ -n "$pid" ] && kill -9 "$pid" 2>/dev/null
	exec 4>&-		# gdb reads EOF and quits
	wait "$gpid"
	t_check "slow abort: no rcp or rcpd left behind" gone 60
}
slow_abort_case
kill_case master
kill_case source l2h
kill_case master l2h
kill_case destination h2l
kill_case master h2l

# --- an agent that dies while starting ----------------------------------------------------
# The source cannot listen where it is told (192.0.2.1 is not ours: the
# bind fails here, nothing is sent): the run ends at once with its reason,
# not when the master gives up waiting for its connection: the reason
# names the bind (the timeout's would not), and the 25 s bound is a hang
# guard (normal is about a second) that still ends before the fixed 30 s
# start-up timeout.
for m in h2h l2h; do
	src=$SH:$S
	[ "$m" = l2h ] && src=$S
	t0=$(now)
	t_check "agent dies at start ($m): exit 1" t_run 1 "$T/out" R --source-addr 192.0.2.1 "$src" "$DH:$T/nostart-$m"
	el=$(secs "$t0" "$(now)")
	t_check "agent dies at start ($m): ended before the 30 s start-up timeout (${el}s)" lt "$el" 25
	t_check "agent dies at start ($m): the reason" \
	    t_grep "^rcp: the source agent on '[^']*' exited with status 1 before connecting: cannot bind a UDP socket to 192\\.0\\.2\\.1:0: " "$T/out"
	t_check "agent dies at start ($m): no rcp or rcpd left behind" gone 60
done

# --- 3% packet loss on the QUIC ports ------------------------------------------------------
L=$T/lsrc
mkdir -p "$L/many"
head -c $((160 << 20)) /dev/urandom >"$L/big"
for i in $(seq 1 40); do head -c $((1 << 20)) /dev/urandom >"$L/many/f$i"; done
t_check "loss: iptables drops 3% of the QUIC packets" iptables -w -I "${ipt_rule[@]}"
dropped() {
	iptables -w -L INPUT -v -x -n | awk -v tag="$IPT_TAG" '
	    index($0, "/* " tag " */") { print $1; found = 1; exit }
	    END { if (!found) print -1 }'
}
d0=$(dropped)
t0=$(now)
t_check "loss: 200 MiB copied: exit 0" t_run 0 "$T/out" \
    R -p --quic-port-ranges "$LOSS_LO-$LOSS_HI" "$SH:$L" "$DH:$T/ldst"
el=$(secs "$t0" "$(now)")
d1=$(dropped)
echo "  loss: ${el}s, $((d1 - d0)) packets dropped"
t_check "loss: packets were dropped ($((d1 - d0)))" test $((d1 - d0)) -gt 0
while iptables -w -D "${ipt_rule[@]}" 2>/dev/null; do :; done
t_check "loss: rcmp --content finds the trees equal" same_rcmp "$L" "$T/ldst"
t_check "loss: no rcp or rcpd left behind" gone 60

# --- a 50 Mbit/s cap on the QUIC ports ----------------------------------------------------------
# htb at the root of lo: unclassified traffic goes straight through (no
# default class); UDP from or to our ports is shaped, with a short queue.
C=$T/csrc
mkdir "$C"
head -c $((40 << 20)) /dev/urandom >"$C/big"
for i in $(seq 1 10); do head -c $((1 << 20)) /dev/urandom >"$C/f$i"; done
t_check "rate: lo's root qdisc is ours for a while" lo_qdisc_lock
case $TC_ROOT_BEFORE in
*"qdisc noqueue "*|"") tc_ok=yes ;;
*) tc_ok=no ;;
esac
t_check "rate: lo has no root qdisc to displace (${TC_ROOT_BEFORE:-none})" test "$tc_ok" = yes
if [ "$tc_ok" = yes ] && tc qdisc add dev lo root handle 1: htb; then
	TC_OURS=yes
	tc class add dev lo parent 1: classid 1:10 htb rate 50mbit ceil 50mbit burst 256k cburst 256k quantum 131072 &&
	tc qdisc add dev lo parent 1:10 handle 10: bfifo limit 1mb &&
	tc filter add dev lo parent 1: protocol ip prio 1 u32 \
	    match ip protocol 17 0xff match ip sport "$RATE_LO" "$RATE_MASK" flowid 1:10 &&
	tc filter add dev lo parent 1: protocol ip prio 1 u32 \
	    match ip protocol 17 0xff match ip dport "$RATE_LO" "$RATE_MASK" flowid 1:10
	t_check "rate: tc shapes the QUIC ports to 50 Mbit/s" test $? = 0
else
	t_fail "rate: tc shapes the QUIC ports to 50 Mbit/s (cannot add an htb root qdisc on lo)"
fi
t0=$(now)
t_check "rate: 50 MiB copied: exit 0" t_run 0 "$T/out" \
    R -p --quic-port-ranges "$RATE_LO-$((RATE_LO + 15))" "$SH:$C" "$DH:$T/cdst"
el=$(secs "$t0" "$(now)")
shaped=$(tc -s class show dev lo classid 1:10 2>/dev/null | awk '/Sent/ { print $2; exit }')
echo "  rate: ${el}s, ${shaped:-0} bytes through the 50 Mbit/s class"
net_cleanup
t_check "rate: the traffic went through the cap (${shaped:-0} bytes)" test "${shaped:-0}" -gt $((50 << 20))
t_check "rate: the cap held: at least 6 s for 50 MiB (${el}s)" lt 6 "$el"
t_check "rate: rcmp --content finds the trees equal" same_rcmp "$C" "$T/cdst"
t_check "rate: lo's root qdisc is back as it was" \
    test "$(tc qdisc show dev lo | grep ' root ' | head -1)" = "$TC_ROOT_BEFORE"
lo_qdisc_unlock
t_check "rate: no rcp or rcpd left behind" gone 60

t_done
