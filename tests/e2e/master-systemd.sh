#!/bin/bash
# master-systemd.sh: the system-wide service as shipped in etc/.  The unit
# files pass systemd-analyze verify without a warning; the service's own
# ExecStart line, with the sample config, runs under systemd's socket
# activation tool (systemd-socket-activate: the socket made first, the
# master exec'd on the first connection with LISTEN_FDS, as systemd does),
# serves root and another user (each job as its submitter), and stops on
# SIGTERM, as systemctl stop does, with the running job queued again and
# resumed by the next start on the same socket.  Only the install paths
# are swapped for this build's and this test's.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"

USER_=rcptest
id "$USER_" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_" 2>/dev/null ||
    id "$USER_" >/dev/null 2>&1 || { echo "cannot create user $USER_" >&2; exit 1; }
as_user() { setpriv --reuid "$USER_" --regid "$USER_" --clear-groups "$@"; }
chmod 755 "$T"
ETC=$RCP_SRCDIR/etc
SOCK=$T/run/master.sock
mkdir -p "$T/run" "$T/units" "$T/u"
chown "$USER_:$USER_" "$T/u"

# --- the unit files ---------------------------------------------------------------
sed "s|/usr/local/bin/|$RCP_BUILDDIR/|g" "$ETC/rcp-master.service" >"$T/units/rcp-master.service"
cp "$ETC/rcp-master.socket" "$T/units/"
systemd-analyze verify --man=no "$T/units/rcp-master.socket" "$T/units/rcp-master.service" >"$T/verify" 2>&1
t_check "systemd-analyze verify: exit 0" test $? = 0
t_check "systemd-analyze verify: no warning" test ! -s "$T/verify"
t_check "the socket unit listens where the service serves" test \
    "$(sed -n 's/^ListenStream=//p' "$ETC/rcp-master.socket")" = \
    "$(sed -n 's/^ExecStart=.*--socket \([^ ]*\).*/\1/p' "$ETC/rcp-master.service")"

# --- the service's command line and config under socket activation -------------------
sed "s|^state-dir .*|state-dir $T/state|" "$ETC/rcp-master.conf" >"$T/master.conf"
t_check "the sample config names a state directory" t_grep "^state-dir $T/state$" "$T/master.conf"
read -r -a CMD <<<"$(sed -n 's/^ExecStart=//p' "$T/units/rcp-master.service" |
    sed -e "s|/etc/rcp/master.conf|$T/master.conf|" -e "s|/run/rcp/master.sock|$SOCK|")"
t_check "ExecStart runs this build's rcp-master" test "${CMD[0]}" = "$RCP_BUILDDIR/rcp-master"

# activate: starts systemd-socket-activate on $SOCK (the master execs on the
# first connection, keeping the pid), mode 0666 as SocketMode= says.
activate() {
	systemd-socket-activate -l "$SOCK" "${CMD[@]}" >>"$T/master.log" 2>&1 &
	MPID=$!
	t_track "$MPID"
	for i in $(seq 1 100); do [ -S "$SOCK" ] && break; sleep 0.05; done
	chmod 666 "$SOCK"
	for i in $(seq 1 100); do ctl ping >/dev/null 2>&1 && return 0; sleep 0.05; done
	return 1
}

S=$T/src
"$FILEGEN" -q -s 5 "$S" 1,2 40 1K-16K
chmod -R a+rX "$S"
t_check "socket activation: the master answers" activate
t_check "socket activation: it is the exec'd master" t_grep "Execing $RCP_BUILDDIR/rcp-master" "$T/master.log"
t_check "socket activation: the passed socket (LISTEN_FDS)" test "$(readlink "/proc/$MPID/exe")" = "$RCP_BUILDDIR/rcp-master"
t_check "root's job: exit 0" t_run 0 "$T/out" ctl submit --wait -p "$S" "$T/root-copy"
t_check "root's job: data equal" t_run 0 "$T/cmp" "$RCMP" "$S" "$T/root-copy"
t_check "a user's job: exit 0" t_run 0 "$T/out" as_user "$RCPCTL" --socket "$SOCK" submit --wait "$S" "$T/u/c"
t_check "a user's job: owned by the user" test -z "$(find "$T/u/c" ! -user "$USER_")"
t_check "a user cannot see root's jobs" test "$(as_user "$RCPCTL" --socket "$SOCK" list --json | jq -s length)" = 1
t_check "the state directory of the config is used" test -s "$T/state/journal"

# --- systemctl stop: SIGTERM; the running job is queued again and resumed ----------------
id=$(ctl submit --json --ops-throttle 40 "$S" "$T/slow" | jq -r .id)
t_check "a slow job runs" wait_running "$id" 20
kill -TERM "$MPID"
wait "$MPID" 2>/dev/null
t_check "SIGTERM: the master ended" sh -c "! kill -0 $MPID 2>/dev/null"
t_check "SIGTERM: the socket is left for systemd" test -S "$SOCK"
rm -f "$SOCK"		# systemd would keep it; the tool made a new one
t_check "restart: the master answers" activate
t_check "restart: the job was queued again and ends" t_run 0 "$T/out" ctl wait "$id"
t_check "restart: data equal" t_run 0 "$T/cmp" "$RCMP" --content --metadata-compare size "$S" "$T/slow"
ctl shutdown >/dev/null 2>&1
wait "$MPID" 2>/dev/null

t_done
