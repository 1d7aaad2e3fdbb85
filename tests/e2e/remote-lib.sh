# remote-lib.sh: what the tests of remote copies under trouble share
# (remote-faults.sh, chaos.sh, chaos-stop.sh, chaos-eio.sh,
# chaos-master.sh; sourced after lib.sh and sshd-lib.sh, once sshd_setup
# has run).  Runs use the "hosts" 127.0.0.2 (source) and 127.0.0.3
# (destination) of the harness's sshd, and rcp and rcpd under names of
# the test's own, so that pgrep finds its processes and not those of
# other tests running at the same time.
SH=127.0.0.2 DH=127.0.0.3
mkdir "$T/bin"
ln -s "$RCP_BUILDDIR/rcp" "$T/bin/rcp"
ln -s "$RCP_BUILDDIR/rcpd" "$T/bin/rcpd"
XRCP=$T/bin/rcp XRCPD=$T/bin/rcpd
RA=("$XRCP" --ssh-config "$SSH_CONFIG" --rcpd-path "$XRCPD")
# The hang guard of every run, in seconds (normal is seconds): a hung rcp
# fails its check (exit 124) instead of hanging the test.
RL_GUARD=${RL_GUARD:-120}
R() { timeout -k 5 "$RL_GUARD" "${RA[@]}" "$@"; }
# ours: the pids of this test's rcp and rcpd; sessions: of the sshd
# sessions that run them.
ours() { pgrep -f "^$XRCPD --role |^$XRCP( |\$)"; }
sessions() { sshd_descendants "$SSHD_PID"; }
agent_pid() { pgrep -f "^$XRCPD --role $1 " | head -1; }
same_rcmp() { "$RCMP" --content "$@" | head -5 >&2; [ "${PIPESTATUS[0]}" = 0 ]; }
now() { date +%s.%N; }
secs() { echo "$2 - $1" | bc; }		# secs START END
lt() { [ "$(echo "$1 < $2" | bc)" = 1 ]; }

# gone SECS: true once none of our rcp/rcpd processes and no sshd session
# is left, within SECS.
gone() {
	local i
	for i in $(seq $(($1 * 10))); do
		[ -z "$(ours)" ] && [ -z "$(sessions)" ] && return 0
		sleep 0.1
	done
	echo "  still running:" >&2
	ps -o pid,stat,etime,args -p "$( (ours; sessions) | paste -sd,)" >&2
	return 1
}

# started OUT DST [BYTES]: waits (up to 20 s) until the copy into DST has
# begun: both agents are up and more than BYTES (2 MiB) have arrived.
started() {
	local i
	for i in $(seq 200); do
		if [ -n "$(agent_pid source)" ] && [ -n "$(agent_pid destination)" ] &&
		    [ "$(du -sb "$2" 2>/dev/null | cut -f1)" -gt "${3:-$((2 << 20))}" ] 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "  the copy did not start; its output:" >&2
	sed 's/^/  | /' "$1" | head -20 >&2
	return 1
}

# ours_cleanup: kills whatever of ours is left, by pid (continuing any that
# a test stopped, so that the kill lands).
ours_cleanup() {
	local p
	for p in $(ours); do
		kill -9 "$p" 2>/dev/null
		kill -CONT "$p" 2>/dev/null
	done
}

# wait_end PID: waits for PID (an rcp started with &) to end, RL_GUARD
# seconds at most; sets RC (124: it did not end, and was killed), END, the
# time it ended, and EL, the seconds from T0 (if set) to then.
wait_end() {
	local i rc
	for i in $(seq $((RL_GUARD * 10))); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done 2>/dev/null
	END=$(now)
	EL=$(secs "${T0:-$END}" "$END")
	if kill -0 "$1" 2>/dev/null; then
		kill -9 "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		RC=124
		return
	fi
	if wait "$1" 2>/dev/null; then rc=0; else rc=$?; fi
	RC=$rc
}

# honest SRC DST: no file of DST has its source's size without its
# source's bytes: a file cut short never looks complete (rcp writes a
# file's last chunk, the one that gives it its size, after all others).
honest() {
	local f bad=0
	while IFS= read -r -d '' f; do
		[ -f "$2/$f" ] || continue
		if [ "$(stat -c %s "$1/$f")" = "$(stat -c %s "$2/$f")" ] &&
		    ! cmp -s "$1/$f" "$2/$f"; then
			echo "  '$f' has its full size but not its contents" >&2
			bad=1
		fi
	done < <(cd "$1" && find . -type f -print0)
	return $bad
}

# part_rule LO HI: the iptables rule (PART_RULE) of a partition: UDP to
# or from ports LO-HI on lo dropped, both ways (every loopback packet
# passes INPUT).  part_cut puts it in place; part_heal removes every copy
# of it, and does nothing if there is none (call it at exit).
part_rule() {
	PART_RULE=(INPUT -i lo -s 127.0.0.0/8 -d 127.0.0.0/8 -p udp -m multiport --ports "$1:$2"
	    -m comment --comment "rcp-e2e-$(basename "$0" .sh)-$$" -j DROP)
}
part_cut() { iptables -w -I "${PART_RULE[@]}"; }
part_heal() {
	[ -n "${PART_RULE+set}" ] || return 0
	while iptables -w -D "${PART_RULE[@]}" 2>/dev/null; do :; done
}

# lo_qdisc_lock: lo has one root qdisc, and tests that shape traffic with
# one (remote-faults.sh, chaos.sh) may run at the same time (make -j):
# takes a lock that only one holds at a time (up to 300 s), then reads
# lo's root as it is (TC_ROOT_BEFORE).  lo_qdisc_unlock releases it.
lo_qdisc_lock() {
	exec 7>"${TMPDIR:-/tmp}/rcp-e2e-lo-qdisc.lock"
	flock -w 300 7 || return 1
	TC_ROOT_BEFORE=$(tc qdisc show dev lo 2>/dev/null | grep ' root ' | head -1)
}
lo_qdisc_unlock() { flock -u 7 2>/dev/null; exec 7>&-; }
