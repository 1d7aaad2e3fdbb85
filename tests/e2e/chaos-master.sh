#!/bin/bash
# chaos-master.sh: the faults of the chaos suite under rcp-master: remote
# jobs (rcpctl submit, 127.0.0.2 to 127.0.0.3 through the harness's sshd)
# whose network, disk, master or agent fail under them.
#
#   partition  the job's QUIC traffic dropped both ways (iptables) mid-copy
#   enospc     a destination on a 16 MiB tmpfs, a 32 MiB file among others
#   stop       rcp-master itself stopped (SIGSTOP) mid-job: rcpctl says the
#              master does not answer, the agents end by themselves, and
#              continued, the master answers and ends the job
#   restart    the source agent stopped mid-copy, then the master ended
#              (SIGTERM, then once more with kill -9) and started again on
#              the same state directory: the job runs again to its end
#
# Each fault must leave the service answering (status, list, ping) while
# the job is stuck, end the job in bounded time (the bounds are hang
# guards, ten times the normal, not speed claims) with submit --wait
# exiting non-zero and naming the cause, leave no rcpd or SSH session on
# either host and no file that looks complete and is not; a re-run job
# with --overwrite then completes to a tree that rcmp --content finds
# equal.  "FAULT: ..." lines give the measured times.
#
# The master keeps no agents between jobs (--session-idle 0), so that
# "nothing left" holds after every job; master-remote.sh tests kept ones.
# Only UDP on this test's port range is touched, only on lo; the rule and
# the mount are removed at exit, whatever happens.  CHAOS_CASES (words of
# the list above) runs some of the cases only; CHAOS_GUARD (seconds, 120)
# is the hang guard of each job.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"
. "$(dirname "$0")/master-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"			# the agents read and write under $T

CASES=${CHAOS_CASES:-partition enospc stop restart}
RL_GUARD=${CHAOS_GUARD:-120}
. "$(dirname "$0")/remote-lib.sh"
has_case() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }

PORT_LO=29216 PORT_HI=29231		# no other test's
part_rule "$PORT_LO" "$PORT_HI"
MOUNTS=()
STOPPED=
cleanup() {
	local m
	[ -n "$STOPPED" ] && kill -CONT $STOPPED 2>/dev/null
	[ -n "$MPID" ] && kill -CONT "$MPID" 2>/dev/null
	part_heal
	ours_cleanup
	sshd_stop
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
}
trap 'cleanup; t_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

t_check "iptables works here" t_run 0 "$T/ipt.out" iptables -w -L INPUT -n

# The fixture: a big file and small ones (33 MiB in all).
S=$T/src
mkdir -p "$S/small/a" "$S/small/b"
head -c $((32 << 20)) /dev/urandom >"$S/big"
for i in $(seq 1 40); do
	head -c $((i * 997)) /dev/urandom >"$S/small/a/f$i"
	printf '%s\n' "$i" >"$S/small/b/g$i"
done
SIZE=$(du -sb "$S" | cut -f1)
# Every job's options: this test's agents and ports, a 5 s idle timeout
# (keep-alives every 2 s).  PACE: 8 I/Os a second of 1 MiB at most (80
# small files and 32 chunks: about 14 s).
RO=(-p --ssh-config "$SSH_CONFIG" --rcpd-path "$XRCPD"
    --quic-port-ranges "$PORT_LO-$PORT_HI" --quic-idle-timeout-sec 5)
PACE=(--chunk-size 1M --iops-throttle 8)
GUARD=60			# of each rcpctl call (guarded)

# said OUT: rcpctl's lines of OUT, indented, for the log.
said() { head -6 "$1" | sed 's/^/  | /'; }

# submit OUT ARGS...: rcpctl submit --wait ARGS in the background, output
# to OUT; sets PID (the client) and ID (the job's, from its first line).
submit() {
	local out=$1 i
	shift
	: >"$out"
	"$RCPCTL" --socket "$SOCK" submit --wait "$@" >>"$out" 2>&1 &
	PID=$!
	t_track "$PID"
	ID=
	for i in $(seq 100); do
		ID=$(sed -n 's/^job \([0-9][0-9]*\)$/\1/p' "$out" | head -1)
		[ -n "$ID" ] && return 0
		sleep 0.05
	done
	echo "  the submit did not say its job; its output:" >&2
	said "$out" >&2
	return 1
}

# counted ID: waits (up to 20 s) until the master counts bytes of job ID
# (the destination reports twice a second).
counted() {
	local i
	for i in $(seq 200); do
		[ "$(job_field "$1" bytes_done 2>/dev/null)" -gt 0 ] 2>/dev/null && return 0
		sleep 0.1
	done
	echo "  the master never counted a byte of job $1" >&2
	return 1
}

# answers NAME ID: status of job ID, list and ping answer, the job still
# running.
answers() {
	t_check "$1: status answers while the job is stuck" \
	    t_run 0 "$T/ans" guarded "$RCPCTL" --socket "$SOCK" status "$2"
	t_check "$1: list answers and shows the job running" \
	    t_run 0 "$T/ans" guarded "$RCPCTL" --socket "$SOCK" list
	t_check "$1: (list)" t_grep "^$2 +running" "$T/ans"
	t_check "$1: ping answers" t_run 0 "$T/ans" guarded "$RCPCTL" --socket "$SOCK" ping
}

# rerun NAME DST: after a fault, nothing left and nothing that lies; a
# re-run with --overwrite completes to an equal tree, and leaves nothing.
rerun() {
	t_check "$1: no rcpd or SSH session left on either host" gone 30
	t_check "$1: no file looks complete and is not" honest "$S" "$2"
	t_check "$1: a re-run job with --overwrite: exit 0" \
	    t_run 0 "$T/rerun.out" guarded "$RCPCTL" --socket "$SOCK" submit --wait \
	    "${RO[@]}" --overwrite "$SH:$S" "$DH:$2"
	t_check "$1: then rcmp --content finds the trees equal" same_rcmp "$S" "$2"
	t_check "$1: and nothing is left" gone 30
}

t_check "master starts" m_start --workers 2 --session-idle 0

# --- partition ---------------------------------------------------------------
# Both directions of the job's QUIC traffic (master and agents, all on
# this test's ports) dropped once the copy is under way: the links go
# idle (5 s), the job fails naming the agent it lost, and the master ends
# both agents over SSH, which is not cut.
partition_case() {
	local D=$T/dst-part out=$T/part.out
	if ! submit "$out" "${RO[@]}" "${PACE[@]}" "$SH:$S" "$DH:$D" ||
	    ! started "$out" "$D" $((8 << 20)) || ! counted "$ID"; then
		t_fail "partition: the job got going"
		return
	fi
	part_cut
	T0=$(now)
	answers partition "$ID"
	wait_end "$PID"
	echo "  FAULT: partition: submit --wait ended ${EL}s after the fault, exit $RC"
	said "$out"
	t_check "partition: submit --wait exit 1 (got $RC)" test "$RC" = 1
	t_check "partition: the job failed" test "$(job_field "$ID" state)" = failed
	t_check "partition: the error names the lost agent and its host" \
	    t_grep "^job $ID failed: .*(lost the (source|destination) agent on '127\.0\.0\.[23]'|the (source|destination) agent on '127\.0\.0\.[23]' exited)" "$out"
	t_check "partition: the failed job still counts the bytes that came" \
	    test "$(job_field "$ID" bytes_done)" -gt 0
	t_check "partition: no rcpd or SSH session left, the rule still in place" gone 30
	echo "  FAULT: partition: all ended $(secs "$T0" "$(now)")s after the fault"
	part_heal
	t_check "partition: the copy is incomplete" test "$(du -sb "$D" | cut -f1)" -lt "$SIZE"
	rerun partition "$D"
}
has_case partition && partition_case

# --- no space left on the remote destination ---------------------------------
# The files that fit are copied, the big one is named with ENOSPC, the
# job ends at once (it once asked for the same range again for ever).
enospc_case() {
	local M=$T/full D=$T/full/d out=$T/enospc.out
	mkdir "$M"
	if ! mount -t tmpfs -o size=16m tmpfs "$M"; then
		t_fail "enospc: a 16 MiB tmpfs"
		return
	fi
	MOUNTS+=("$M")
	if ! submit "$out" "${RO[@]}" "$SH:$S" "$DH:$D"; then
		t_fail "enospc: the job was queued"
		return
	fi
	T0=$(now)
	wait_end "$PID"
	echo "  FAULT: enospc: submit --wait ended ${EL}s after the submit, exit $RC"
	said "$out"
	t_check "enospc: submit --wait exit 4, partial (got $RC)" test "$RC" = 4
	t_check "enospc: the job is partial" test "$(job_field "$ID" state)" = partial
	t_check "enospc: the error names the big file and the cause" \
	    t_grep "cannot write '$D/big': No space left on device" "$out"
	t_check "enospc: the big file is cut short or absent" \
	    test "$(stat -c %s "$D/big" 2>/dev/null || echo 0)" -lt $((32 << 20))
	t_check "enospc: small files that fit are copied" cmp -s "$S/small/a/f40" "$D/small/a/f40"
	mount -o remount,size=64m "$M"
	rerun enospc "$D"
}
has_case enospc && enospc_case

# --- the master stopped --------------------------------------------------------
# A stopped master takes connections (the kernel queues them) and says
# nothing: rcpctl gives up after its hello timeout and says so.  Its
# agents hear nothing from it either and exit after their idle timeout
# (their sshd sessions stay until the master, the SSH client, reads that
# their channels closed); continued, the master finds them gone and fails
# the job.
stop_case() {
	local D=$T/dst-stop out=$T/stop.out c pids=() arg i
	if ! submit "$out" "${RO[@]}" "${PACE[@]}" "$SH:$S" "$DH:$D" ||
	    ! started "$out" "$D" $((8 << 20)); then
		t_fail "stop: the job got going"
		return
	fi
	kill -STOP "$MPID"
	T0=$(now)
	for c in status list ping; do
		arg=
		[ "$c" = status ] && arg=$ID
		( guarded "$RCPCTL" --socket "$SOCK" $c $arg >"$T/stop-$c.out" 2>&1
		  echo $? >"$T/stop-$c.rc"; now >"$T/stop-$c.end" ) &
		pids+=($!)
	done
	for i in $(seq $((RL_GUARD * 10))); do
		[ -z "$(ours)" ] && break
		sleep 0.1
	done
	echo "  FAULT: stop: the agents ended $(secs "$T0" "$(now)")s after the stop;" \
	    "$(sessions | wc -l) sshd session processes wait for the stopped master"
	t_check "stop: agents whose master is stopped exit by themselves" test -z "$(ours)"
	wait "${pids[@]}"
	for c in status list ping; do
		echo "  FAULT: stop: $c gave up $(secs "$T0" "$(cat "$T/stop-$c.end")")s after the stop"
		said "$T/stop-$c.out"
		t_check "stop: $c exits 3, cannot reach the master (got $(cat "$T/stop-$c.rc"))" \
		    test "$(cat "$T/stop-$c.rc")" = 3
		t_check "stop: $c says the master does not answer, and where" \
		    t_grep "^rcpctl: rcp-master does not answer: is it stopped or stuck\\? \\(socket '$SOCK'\\)" "$T/stop-$c.out"
	done
	kill -CONT "$MPID"
	t_check "stop: continued, the master answers" t_run 0 "$T/ans" guarded "$RCPCTL" --socket "$SOCK" ping
	wait_end "$PID"
	echo "  FAULT: stop: submit --wait ended ${EL}s after the stop, exit $RC"
	said "$out"
	t_check "stop: submit --wait exit 1 (got $RC)" test "$RC" = 1
	t_check "stop: the error names an agent and its host" \
	    t_grep "^job $ID failed: .*the (source|destination) agent on '127\.0\.0\.[23]'" "$out"
	rerun stop "$D"
}
has_case stop && stop_case

# --- a restart with a stuck job --------------------------------------------------
# The source agent is stopped mid-copy: the job is stuck (not yet lost:
# the idle timeout is 20 s here).  SIGTERM stops the master gracefully: the job
# is stopped, its agents ended (the stopped one killed) and it is
# journaled queued again; kill -9 leaves the journal saying running, and
# the agents end with their SSH connections.  Either way the next start
# runs the job again, and it completes, skipping what it had copied.
restart_case() {
	local how=$1 D=$T/dst-restart-$1 out=$T/restart-$1.out victim
	# 20 s of silence before the stopped agent is lost: time to end
	# the master while the job is stuck, even on a loaded machine.
	if ! submit "$out" "${RO[@]}" "${PACE[@]}" --quic-idle-timeout-sec 20 \
	    "$SH:$S" "$DH:$D" ||
	    ! started "$out" "$D" $((8 << 20)); then
		t_fail "restart ($how): the job got going"
		return
	fi
	victim=$(agent_pid source)
	kill -STOP "$victim"
	STOPPED=$victim
	answers "restart ($how)" "$ID"
	T0=$(now)
	kill "-$how" "$MPID"
	wait_end "$MPID"
	echo "  FAULT: restart ($how): the master ended ${EL}s after SIG$how, exit $RC"
	t_check "restart ($how): the master ended (no hang)" test "$RC" != 124
	wait_end "$PID"
	said "$out"
	t_check "restart ($how): submit --wait exit 3, the master gone (got $RC)" test "$RC" = 3
	t_check "restart ($how): it says the master went away" \
	    t_grep "^rcpctl: the master closed the connection" "$out"
	t_check "restart ($how): and how to wait for the job once it is back" \
	    t_grep "^rcpctl: job $ID did not end while waited for; .*'rcpctl wait $ID'" "$out"
	t_check "restart ($how): the stopped agent and the other are gone on both hosts" gone 30
	echo "  FAULT: restart ($how): agents and sessions gone $(secs "$T0" "$(now)")s after SIG$how"
	if ps -o stat= -p "$victim" | grep -qv '^Z'; then
		echo "  restart ($how): the stopped agent is still there; continued, it must exit"
		kill -CONT "$victim"
		t_check "restart ($how): continued, the stopped agent exits" gone 30
	else
		echo "  restart ($how): the stopped agent was killed"
	fi
	STOPPED=
	t_check "restart ($how): the copy was cut short" test "$(du -sb "$D" | cut -f1)" -lt "$SIZE"
	t_check "restart ($how): no file looks complete and is not" honest "$S" "$D"
	t_check "restart ($how): the master starts again on the same state" \
	    m_start --workers 2 --session-idle 0
	t_check "restart ($how): the job ends succeeded" \
	    t_run 0 "$T/wait.out" guarded "$RCPCTL" --socket "$SOCK" wait "$ID"
	echo "  FAULT: restart ($how): the job ended $(secs "$T0" "$(now)")s after SIG$how," \
	    "its second run took $(ctl status --json "$ID" | jq -r '.finished - .started')s"
	[ "$how" = KILL ] && t_check "restart (KILL): the journal said running: queued again" \
	    t_grep "job $ID was running: queued again" "$T/master.log"
	t_check "restart ($how): it ran twice, as a restart" \
	    test "$(job_field "$ID" attempts)/$(job_field "$ID" restart)" = "2/true"
	t_check "restart ($how): its data equal" same_rcmp "$S" "$D"
	rerun "restart ($how)" "$D"
}
if has_case restart; then
	restart_case TERM
	restart_case KILL
fi

m_stop
t_check "at the end: no rcpd or SSH session left" gone 30
t_check "master log: no crash, no sanitizer report" \
    test -z "$(grep -E 'ERROR: |runtime error|Sanitizer' "$T/master.log")"

t_done
