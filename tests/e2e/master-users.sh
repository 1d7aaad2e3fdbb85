#!/bin/bash
# master-users.sh: who may do what.  A system-wide master (root, socket
# mode 0666) runs each user's job as that user -- uid, gid, supplementary
# groups, umask -- never as root; a user sees and cancels only their own
# jobs and cannot shut the master down.  Also: the per-user socket
# directory's checks, the lock against two masters, a stale socket
# replaced, and a master of one user refusing another's jobs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"

# A user and a group without privileges, made once and left for later runs.
USER_=rcptest GROUP_=rcptestg
id "$USER_" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_" 2>/dev/null ||
    id "$USER_" >/dev/null 2>&1 || { echo "cannot create user $USER_" >&2; exit 1; }
getent group "$GROUP_" >/dev/null || groupadd "$GROUP_" 2>/dev/null
id -nG "$USER_" | grep -qw "$GROUP_" || usermod -aG "$GROUP_" "$USER_"
UID_=$(id -u "$USER_")
as_user() { setpriv --reuid "$USER_" --regid "$USER_" --clear-groups "$@"; }
uctl() { as_user "$RCPCTL" --socket "$SOCK" "$@"; }
chmod 755 "$T"			# mktemp made it 0700: let the user in

S=$T/src
mkdir -p "$S/sub" "$S/closed"
for i in $(seq 1 20); do printf '%s\n' "$i" >"$S/sub/f$i"; done
printf 'secret\n' >"$S/secret" && chmod 600 "$S/secret"
printf 'hidden\n' >"$S/closed/hidden" && chmod 700 "$S/closed"
printf 'group\n' >"$S/grp" && chgrp "$GROUP_" "$S/grp" && chmod 640 "$S/grp"
chmod 755 "$S" "$S/sub"
mkdir "$T/home" "$T/rootonly" && chown "$USER_:$USER_" "$T/home"
t_check "the test user cannot read the secret" test -z "$(as_user cat "$S/secret" 2>/dev/null)"

t_check "system-wide master starts" m_start --socket-mode 0666 --workers 2
t_check "socket mode 0666" test "$(stat -c %a "$SOCK")" = 666

# --- a user's job runs as that user ---------------------------------------------
t_check "user's job: partial (exit 4)" t_run 4 "$T/out" uctl submit --wait "$S" "$T/home/c1"
uid1=$(uctl list --json | jq -r '.uid' | sort -u)
t_check "user's job: recorded as the user's" test "$uid1" = "$UID_"
t_check "user's job: the unreadable file is an error" sh -c "'$RCPCTL' --socket '$SOCK' status --json 1 | jq -r '.errors[]' | grep -q \"cannot open '.*/secret': Permission denied\""
t_check "user's job: unreadable dir is an error" sh -c "'$RCPCTL' --socket '$SOCK' status --json 1 | jq -r '.errors[]' | grep -q \"closed\""
t_check "user's job: secret not copied" test ! -e "$T/home/c1/secret"
t_check "user's job: the rest copied" diff -r "$S/sub" "$T/home/c1/sub"
t_check "user's job: a group file readable through a supplementary group" cmp -s "$S/grp" "$T/home/c1/grp"
t_check "user's job: everything owned by the user" test -z "$(find "$T/home/c1" ! -user "$USER_")"
t_check "user's job: cannot write where the user cannot: failed (exit 1)" t_run 1 "$T/out" uctl submit --wait "$S/sub" "$T/rootonly/x"
t_check "user's job: the cause" t_grep "Permission denied" "$T/out"
t_check "user's job: nothing written" test ! -e "$T/rootonly/x"
t_check "user's umask: exit 0" t_run 0 "$T/out" as_user sh -c "umask 077 && exec '$RCPCTL' --socket '$SOCK' submit --wait --preserve-settings none '$S/sub' '$T/home/c2'"
t_check "user's umask: new files 0600" test "$(stat -c %a "$T/home/c2/f1")" = 600
NU=$S/$'n\xff-\xe9'
mkdir "$NU" && printf 'x\n' >"$NU/f" && chmod 755 "$NU"
t_check "user's job, names not UTF-8: exit 0" t_run 0 "$T/out" uctl submit --wait "$NU" "$T/home/"$'o\xfe'
t_check "user's job, names not UTF-8: exact bytes in its process" cmp -s "$NU/f" "$T/home/"$'o\xfe'/f
t_check "root's job of root files: succeeds as root" t_run 0 "$T/out" ctl submit --wait "$S" "$T/rootonly/c3"
t_check "root's job: owned by root" test "$(stat -c %U "$T/rootonly/c3/sub/f1")" = root

# --- who sees and cancels what --------------------------------------------------
rid=$(ctl submit --json --ops-throttle 5 "$S" "$T/rootonly/slow" | jq -r .id)
t_check "user: root's job not found" t_run 1 "$T/out" uctl status "$rid"
t_check "user: 'no job' (not 'forbidden')" t_grep "no job $rid" "$T/out"
t_check "user: cannot cancel root's job" t_run 1 "$T/out" uctl cancel "$rid"
t_check "user: root's job still running" test "$(job_field "$rid" state)" = running
t_check "user: list shows only the user's jobs" test "$(uctl list --json | jq -r .uid | sort -u)" = "$UID_"
t_check "user: wait on root's job refused" t_run 1 "$T/out" uctl wait "$rid"
t_check "root: sees the user's jobs" test "$(ctl list --json | jq -r .uid | sort -u | grep -c "^$UID_$")" = 1
uid2=$(uctl submit --json --ops-throttle 5 "$S/sub" "$T/home/c4" | jq -r .id)
t_check "root: may cancel a user's job" t_run 5 "$T/out" ctl cancel --wait "$uid2"
t_check "user: cannot shut the master down" t_run 1 "$T/out" uctl shutdown
t_check "user: shutdown refused, and why" t_grep "only root" "$T/out"
ctl cancel "$rid" >/dev/null
t_check "master still serves" t_run 0 "$T/out" uctl ping
m_stop

# --- a master of one user does not take another's jobs -------------------------------
as_user mkdir "$T/home/st"
# setpriv execs the master: $! is the master itself.
setpriv --reuid "$USER_" --regid "$USER_" --clear-groups "$RCP_MASTER" --socket "$T/home/u.sock" \
    --socket-mode 0666 --state-dir "$T/home/st" >"$T/umaster.log" 2>&1 &
upid=$!
t_track "$upid"
for i in $(seq 1 100); do "$RCPCTL" --socket "$T/home/u.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
t_check "user's master: another user's submit refused (exit 1)" t_run 1 "$T/out" "$RCPCTL" --socket "$T/home/u.sock" submit "$S/sub" "$T/rootonly/y"
t_check "user's master: says why" t_grep "can run jobs only as that user" "$T/out"
t_check "user's master: its user's submit works" t_run 0 "$T/out" as_user "$RCPCTL" --socket "$T/home/u.sock" submit --wait "$S/sub" "$T/home/c5"
kill "$upid"; wait "$upid" 2>/dev/null

# --- the per-user socket directory -----------------------------------------------------
X=$T/xdg
mkdir -m 700 "$X" && mkdir -m 755 "$X/rcp"
t_check "socket dir with group/other bits: refused" t_run 1 "$T/out" env XDG_RUNTIME_DIR="$X" "$RCP_MASTER" --state-dir "$T/st2"
t_check "socket dir with group/other bits: says so" t_grep "mode 0755: group and others must have no access" "$T/out"
chown "$USER_" "$X/rcp" && chmod 700 "$X/rcp"
t_check "socket dir of another user: refused" t_run 1 "$T/out" env XDG_RUNTIME_DIR="$X" "$RCP_MASTER" --state-dir "$T/st2"
t_check "socket dir of another user: says so" t_grep "belongs to uid $UID_" "$T/out"
rm -rf "$X/rcp" && mkdir -m 700 "$T/elsewhere" && ln -s "$T/elsewhere" "$X/rcp"
t_check "socket dir that is a symlink: refused" t_run 1 "$T/out" env XDG_RUNTIME_DIR="$X" "$RCP_MASTER" --state-dir "$T/st2"
rm "$X/rcp"
XDG_RUNTIME_DIR=$X "$RCP_MASTER" --state-dir "$T/st2" >"$T/xmaster.log" 2>&1 &
xpid=$!
t_track "$xpid"
for i in $(seq 1 100); do XDG_RUNTIME_DIR=$X "$RCPCTL" ping >/dev/null 2>&1 && break; sleep 0.05; done
t_check "default socket: made in a new 0700 directory" test "$(stat -c %a "$X/rcp")" = 700 -a -S "$X/rcp/master.sock"
t_check "default socket: rcpctl finds it" t_run 0 "$T/out" env XDG_RUNTIME_DIR="$X" "$RCPCTL" ping

# --- one master per socket; a stale socket is replaced --------------------------------------
t_check "second master on the socket: refused" t_run 1 "$T/out" env XDG_RUNTIME_DIR="$X" "$RCP_MASTER" --state-dir "$T/st3"
t_check "second master: says why" t_grep "another rcp-master is running" "$T/out"
t_check "second master on the state dir: refused" t_run 1 "$T/out" "$RCP_MASTER" --socket "$T/other.sock" --state-dir "$T/st2"
t_check "second master on the state dir: says why" t_grep "another rcp-master uses the state directory" "$T/out"
kill -9 "$xpid"; wait "$xpid" 2>/dev/null
t_check "after kill -9: the socket is left behind" test -S "$X/rcp/master.sock"
XDG_RUNTIME_DIR=$X "$RCP_MASTER" --state-dir "$T/st2" >>"$T/xmaster.log" 2>&1 &
xpid=$!
t_track "$xpid"
for i in $(seq 1 100); do XDG_RUNTIME_DIR=$X "$RCPCTL" ping >/dev/null 2>&1 && break; sleep 0.05; done
t_check "stale socket replaced: the new master answers" t_run 0 "$T/out" env XDG_RUNTIME_DIR="$X" "$RCPCTL" ping
kill "$xpid"; wait "$xpid" 2>/dev/null
t_check "SIGTERM: socket removed" test ! -e "$X/rcp/master.sock"
# --- socket activation: the socket systemd made (LISTEN_FDS) -------------------------
python3 - "$T/act.sock" "$RCP_MASTER" "$T/st5" >"$T/act.log" 2>&1 <<'EOF' &
import os, socket, sys
s = socket.socket(socket.AF_UNIX)
s.bind(sys.argv[1]); s.listen(16)
os.dup2(s.fileno(), 3)
os.set_inheritable(3, True)
os.environ['LISTEN_FDS'] = '1'
os.environ['LISTEN_PID'] = str(os.getpid())	# exec keeps the pid
os.execv(sys.argv[2], [sys.argv[2], '--socket', sys.argv[1], '--state-dir', sys.argv[3]])
EOF
apid=$!
t_track "$apid"
for i in $(seq 1 100); do "$RCPCTL" --socket "$T/act.sock" ping >/dev/null 2>&1 && break; sleep 0.05; done
t_check "socket activation: the passed socket is served" t_run 0 "$T/out" "$RCPCTL" --socket "$T/act.sock" submit --wait "$S/sub" "$T/rootonly/act"
t_check "socket activation: copied" diff -r "$S/sub" "$T/rootonly/act"
"$RCPCTL" --socket "$T/act.sock" shutdown >/dev/null || kill "$apid"
wait "$apid" 2>/dev/null
t_check "socket activation: the socket is systemd's, left in place" test -S "$T/act.sock"
t_check "LISTEN_FDS without a socket: refused" t_run 1 "$T/out" bash -c "exec 3</dev/null; LISTEN_FDS=1 LISTEN_PID=\$\$ exec '$RCP_MASTER' --state-dir '$T/st6'"
t_check "LISTEN_FDS without a socket: says so" t_grep "fd 3 is not a listening socket" "$T/out"

printf 'not a socket\n' >"$T/file.sock"
t_check "a file where the socket goes: refused" t_run 1 "$T/out" "$RCP_MASTER" --socket "$T/file.sock" --state-dir "$T/st4"
t_check "a file where the socket goes: untouched" test "$(cat "$T/file.sock")" = "not a socket"

t_done
