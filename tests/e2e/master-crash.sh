#!/bin/bash
# master-crash.sh: kill -9 of rcp-master in the middle of copies.  A job's
# process (of another user) dies with it; the restarted master shows every
# job in the state it had (finished ones), queued ones run, running ones run
# again and skip what they had already copied, a torn journal line is
# ignored, and in the end all data is right.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"

USER_=rcptest
id "$USER_" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_" 2>/dev/null ||
    id "$USER_" >/dev/null 2>&1 || { echo "cannot create user $USER_" >&2; exit 1; }
chmod 755 "$T"
S=$T/src
"$FILEGEN" -q -s 4 "$S" 2 40 1K-32K
chmod -R a+rX "$S"
mkdir "$T/u" && chown "$USER_:$USER_" "$T/u"

t_check "master starts" m_start --workers 3 --socket-mode 0666
done_id=$(ctl submit --json -p "$S" "$T/done" | jq -r .id)
ctl wait "$done_id" >/dev/null
# Two slow jobs of root run in the master, one of the user in a child.
r1=$(ctl submit --json -p --ops-throttle 20 "$S" "$T/r1" | jq -r .id)
r2=$(ctl submit --json -p --ops-throttle 20 "$S" "$T/r2" | jq -r .id)
r3=$(setpriv --reuid "$USER_" --regid "$USER_" --clear-groups "$RCPCTL" --socket "$SOCK" submit --json -p --ops-throttle 20 "$S" "$T/u/r3" | jq -r .id)
t_check "three jobs running" wait_running "$r1" 20
wait_running "$r2" 20
wait_running "$r3" 20
# Four more wait in the queue behind them; one is canceled there.
cancel_id=$(ctl submit --json -p "$S" "$T/never" | jq -r .id)
q=()
for k in 1 2 3; do q+=("$(ctl submit --json -p "$S" "$T/q$k" | jq -r .id)"); done
ctl cancel "$cancel_id" >/dev/null
t_check "queued jobs wait" test "$(job_field "${q[0]}" state)" = queued
kids=$(pgrep -P "$MPID")
t_check "the user's job runs in a process of its own" test -n "$kids"
t_check "that process is the user's" test "$(ps -o user= -p "$kids" | sort -u)" = "$USER_"
t_check "that process is rcp-job, without network libraries" test "$(basename "$(readlink "/proc/$kids/exe")")" = rcp-job
t_check "rcp-job links no SSH or TLS library" test -z "$(ldd "$RCP_BUILDDIR/rcp-job" | grep -E 'libssh|gnutls|ngtcp2')"

kill -9 "$MPID"
wait "$MPID" 2>/dev/null
gone=1
for i in $(seq 1 40); do
	gone=1
	for p in $kids; do kill -0 "$p" 2>/dev/null && gone=0; done
	[ "$gone" = 1 ] && break
	sleep 0.05
done
t_check "kill -9: the job's process died with the master" test "$gone" = 1
n1=$(find "$T/r1" -type f | wc -l)
t_check "kill -9: the copy was cut short ($n1 of 80 files)" test "$n1" -lt 80
t_check "kill -9: no file looks complete without being so" test -z "$(looks_complete_but_differs "$S" "$T/r1")"
# As if the kill had come in the middle of a journal write.
printf '{"job":{"id":%d,"state":"succ' "$r1" >>"$STATE/journal"

t_check "master restarts" m_start --workers 3 --socket-mode 0666
t_check "restart: the torn line was noticed" t_grep "unreadable line skipped" "$T/master.log"
all=$(ctl list --json | jq -r .id | sort -n | tr '\n' ' ')
t_check "restart: every job is there ($all)" test "$all" = "$(echo "$done_id $cancel_id $r1 $r2 $r3 ${q[*]}" | tr ' ' '\n' | sort -n | tr '\n' ' ')"
t_check "restart: the finished job is still succeeded" test "$(job_field "$done_id" state)" = succeeded
t_check "restart: the canceled job is still canceled" test "$(job_field "$cancel_id" state)" = canceled
for id in "$r1" "$r2" "$r3" "${q[@]}"; do
	t_check "restart: job $id ends succeeded" t_run 0 "$T/out" ctl wait "$id"
done
t_check "restart: the interrupted jobs ran twice" test "$(job_field "$r1" attempts)/$(job_field "$r1" restart)" = "2/true"
t_check "restart: the user's job ran as the user again" test -z "$(find "$T/u/r3" ! -user "$USER_")"
unchanged=$(( $(job_field "$r1" stats.files_unchanged) + $(job_field "$r2" stats.files_unchanged) + $(job_field "$r3" stats.files_unchanged) ))
t_check "restart: files already copied were not copied again ($unchanged)" test "$unchanged" -gt 0
for d in r1 r2 u/r3 q1 q2 q3 done; do
	t_check "data right: $d" t_run 0 "$T/out" "$RCMP" --content "$S" "$T/$d"
done
t_check "the canceled job copied nothing" test ! -e "$T/never"
m_stop

t_done
