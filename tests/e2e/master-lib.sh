# master-lib.sh: a real rcp-master for the service's end-to-end tests
# (sourced after lib.sh).  Its socket and state live in $T, and the test's
# exit kills it (t_track) if it is still running.
RCP_MASTER=$RCP_BUILDDIR/rcp-master
RCPCTL=$RCP_BUILDDIR/rcpctl
SOCK=$T/master.sock
STATE=$T/state
MPID=

# m_start [ARGS...]: starts rcp-master on $SOCK, state in $STATE, logging to
# $T/master.log; returns once it answers.
m_start() {
	local i
	"$RCP_MASTER" --socket "$SOCK" --state-dir "$STATE" "$@" >>"$T/master.log" 2>&1 &
	MPID=$!
	t_track "$MPID"
	for i in $(seq 1 200); do
		"$RCPCTL" --socket "$SOCK" ping >/dev/null 2>&1 && return 0
		kill -0 "$MPID" 2>/dev/null || break
		sleep 0.05
	done
	echo "  rcp-master did not start:" >&2
	tail -20 "$T/master.log" | sed 's/^/  | /' >&2
	return 1
}

# m_stop [--requeue]: a graceful shutdown; waits for the process to end.
m_stop() {
	"$RCPCTL" --socket "$SOCK" shutdown "$@" >/dev/null 2>&1
	wait "$MPID" 2>/dev/null
}

# ctl ARGS...: rcpctl on this test's master.
ctl() { "$RCPCTL" --socket "$SOCK" "$@"; }

# guarded CMD...: CMD under a hang guard of GUARD seconds (30 unless
# set): a call to the master answers in milliseconds.
guarded() { timeout -k 5 "${GUARD:-30}" "$@"; }

# job_field ID FIELD: a member of the job's JSON object (jq syntax).
job_field() { ctl status --json "$1" | jq -r ".$2"; }

# wait_running ID SECONDS: waits until job ID is running and has copied a file.
wait_running() {
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		[ "$(ctl status --json "$1" 2>/dev/null | jq -r 'select(.state == "running") | .files_done')" -gt 0 ] 2>/dev/null && return 0
		sleep 0.05
	done
	return 1
}

# agents [ROLE]: pids of this test's rcpd processes now running (of ROLE):
# those that descend from this shell, through its master or its sshd, and
# not those of another test running at the same time from the same build.
agents() {
	local p
	for p in $(pgrep -f "^$RCP_BUILDDIR/rcpd ${1:+.*--role $1}"); do
		t_descends "$p" $$ && echo "$p"
	done
	return 0
}
# wait_agents_gone SECONDS: waits until no rcpd of ours runs.
wait_agents_gone() {
	local i
	for ((i = 0; i < $1 * 10; i++)); do
		[ -z "$(agents)" ] && return 0
		sleep 0.1
	done
	echo "  rcpd still running: $(agents)" >&2
	return 1
}
