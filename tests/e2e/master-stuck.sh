#!/bin/bash
# master-stuck.sh: rcp-master stays responsive whatever its jobs do.  A
# remote job whose source agent is stopped (SIGSTOP): status, list and
# stats answer, cancel ends it (state canceled) and its agents go; kept
# agents stopped while idle do not freeze the control socket when they
# expire; a watch client that never reads is dropped while others are
# answered; the stall watchdog fails a job whose (destination) agent is stopped, with
# its reason, and submit --wait exits non-zero.  No speed claims: every
# "timeout" here is a hang guard, where the normal answer takes
# milliseconds.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"
. "$(dirname "$0")/master-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"
STOPPED=
trap '[ -n "$STOPPED" ] && kill -CONT $STOPPED 2>/dev/null; sshd_stop; t_cleanup' EXIT

SH=127.0.0.2
DH=127.0.0.3
RO=(-p --ssh-config "$SSH_CONFIG")
GUARD=30

source_agent() { agents "${1:-source}"; }
# wait_state ID STATE SECONDS
wait_state() {
	local i
	for ((i = 0; i < $3 * 10; i++)); do
		[ "$(guarded "$RCPCTL" --socket "$SOCK" status --json "$1" 2>/dev/null | jq -r .state)" = "$2" ] && return 0
		sleep 0.1
	done
	return 1
}
# stop_source [ROLE]: SIGSTOPs the source (or ROLE) agent of the one running job.
stop_source() {
	local i
	for ((i = 0; i < 100; i++)); do
		STOPPED=$(source_agent "${1:-source}")
		[ -n "$STOPPED" ] && break
		sleep 0.1
	done
	[ -n "$STOPPED" ] && kill -STOP $STOPPED
}
cont_stopped() { [ -n "$STOPPED" ] && kill -CONT $STOPPED 2>/dev/null; STOPPED=; return 0; }

"$FILEGEN" -q -s 9 "$T/big" 1,2 200 4K
ONE=$(find "$T/big" -type f | LC_ALL=C sort | head -1)

# --- (1) a stopped source agent: the master answers, cancel ends the job ----------------------
t_check "master starts" m_start --workers 2 --session-idle 30s
id=$(ctl submit --json "${RO[@]}" --ops-throttle 40 "$SH:$T/big" "$DH:$T/c1" | jq -r .id)
t_check "stopped agent: the job runs" wait_running "$id" 30
t_check "stopped agent: SIGSTOP the source agent" stop_source
sleep 1
t_check "stopped agent: status answers" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" status "$id"
t_check "stopped agent: list answers" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" list
t_check "stopped agent: list shows it" t_grep "^$id +running" "$T/out"
t_check "stopped agent: stats answers" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" stats
t_check "stopped agent: cancel answers" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" cancel "$id"
t_check "stopped agent: status answers during the teardown" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" status "$id"
t_check "stopped agent: the job ends canceled" wait_state "$id" canceled 60
t_check "stopped agent: its agents are gone while still stopped" wait_agents_gone 60
cont_stopped
sleep 1
t_check "stopped agent: no rcpd after SIGCONT" wait_agents_gone 10
t_check "stopped agent: still canceled" test "$(job_field "$id" state)" = canceled
t_check "after it: the next remote job succeeds" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" submit --wait "${RO[@]}" "$SH:$ONE" "$DH:$T/after1"
m_stop

# --- kept agents stopped while idle: their expiry does not freeze the socket -----------------
t_check "idle: master starts" m_start --workers 2 --session-idle 2s
t_check "idle: a job leaves its agents kept" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$SH:$ONE" "$DH:$T/idle"
STOPPED=$(agents | tr '\n' ' ')
t_check "idle: kept agents run" test -n "$STOPPED"
kill -STOP $STOPPED
# Expiry comes within 2 s + one housekeeping round (10 s); ping through it.
ok=true
for i in $(seq 1 60); do
	guarded "$RCPCTL" --socket "$SOCK" ping >/dev/null 2>&1 || { ok=false; break; }
	sleep 0.25
done
t_check "idle: ping answered all through the expiry" $ok
t_check "idle: the stopped agents were ended" wait_agents_gone 60
cont_stopped
m_stop

# --- (2) a watch client that never reads ---------------------------------------------------
t_check "watch: master starts" m_start --workers 1 --client-timeout 3s
id=$(ctl submit --json --ops-throttle 5 "$T/big" "$T/w" | jq -r .id)
t_check "watch: a slow job runs" wait_state "$id" running 30
# 200 watches at 100 ms on one connection fill its socket buffers within
# seconds; the client reads nothing, ever.
python3 - "$SOCK" "$id" >"$T/pyout" 2>&1 <<'PY' &
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX)
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.connect(sys.argv[1])
reqs = [{"id": 0, "method": "hello", "version": 1}]
reqs += [{"id": i, "method": "watch", "job": int(sys.argv[2]), "interval_ms": 100} for i in range(1, 201)]
s.sendall("".join(json.dumps(r) + "\n" for r in reqs).encode())
time.sleep(600)
PY
PY_PID=$!
t_track "$PY_PID"
ok=true
for i in $(seq 1 40); do
	guarded "$RCPCTL" --socket "$SOCK" status "$id" >/dev/null 2>&1 || { ok=false; break; }
	sleep 0.25
done
t_check "watch: other clients answered all along" $ok
dropped() {
	local i
	for ((i = 0; i < 600; i++)); do
		grep -q "took no reply for .*dropped" "$T/master.log" && return 0
		sleep 0.1
	done
	return 1
}
t_check "watch: the client that never reads is dropped" dropped
t_check "watch: the master counts it gone" test "$(ctl stats --json | jq -r .clients)" = 1
kill -9 "$PY_PID" 2>/dev/null
wait "$PY_PID" 2>/dev/null
ctl cancel "$id" >/dev/null
t_check "watch: the job canceled" wait_state "$id" canceled 60
m_stop

# --- (4) the stall watchdog ----------------------------------------------------------------
t_check "stall: master starts" m_start --workers 2 --session-idle 30s --stall-timeout 4s
"$RCPCTL" --socket "$SOCK" submit --wait "${RO[@]}" --ops-throttle 40 "$SH:$T/big" "$DH:$T/st" >"$T/stall.out" 2>&1 &
W_PID=$!
t_track "$W_PID"
# last_job: the id of the newest job.
last_job() { ctl list --json --limit 1 | jq -r .id; }
sleep 0.5
id=$(last_job)
t_check "stall: the job runs" wait_running "$id" 30
# The destination: the source's read-ahead could feed a small copy for a
# while, the destination's counters are what the master sees.
t_check "stall: SIGSTOP the destination agent" stop_source destination
rc=0
waited() { local i; for ((i = 0; i < 900; i++)); do kill -0 "$W_PID" 2>/dev/null || return 0; sleep 0.1; done; return 1; }
t_check "stall: submit --wait returns" waited
wait "$W_PID"; rc=$?
t_check "stall: submit --wait exit non-zero ($rc)" test "$rc" -ne 0
t_check "stall: the job failed" test "$(job_field "$id" state)" = failed
t_check "stall: the reason in status" bash -c "'$RCPCTL' --socket '$SOCK' status $id | grep -q 'no progress for 4 s'"
t_check "stall: the reason in --wait's output" t_grep "no progress for 4 s" "$T/stall.out"
t_check "stall: its agents are gone" wait_agents_gone 60
cont_stopped
t_check "stall: a job's stall_timeout is kept" test "$(ctl submit --json --stall-timeout 90s "$ONE" "$T/st2" | jq -r .stall_timeout)" = 90
# One option with two names, rcp's: the job's watchdog and the copy's own.
J=$(ctl submit --json --stall-timeout-sec 120 "$ONE" "$T/st4")
t_check "stall: --stall-timeout-sec is the same option" test "$(jq -r .stall_timeout <<<"$J")" = 120
t_check "stall: the copy is given it too" jq -e '.options | index("--stall-timeout")' <<<"$J"
t_check "stall: 0 turns it off for the job" test "$(ctl submit --json --stall-timeout 0 "$ONE" "$T/st3" | jq -r .stall_timeout)" = 0
m_stop
t_check "no rcpd left" wait_agents_gone 10
t_check "master log: no crash, no sanitizer report" test -z "$(grep -E 'ERROR: |runtime error|Sanitizer' "$T/master.log")"

t_done
