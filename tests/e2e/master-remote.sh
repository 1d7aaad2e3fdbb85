#!/bin/bash
# master-remote.sh: remote jobs of rcp-master through a real sshd, between
# two loopback "hosts" (127.0.0.2 the source, 127.0.0.3 the destination) and
# the local side (an agent the job starts itself): host to host, local to
# host, host to local, the data checked with rcmp --content; one SSH
# connection and one pair of agents serving a series of jobs between the
# same hosts; kept agents that died while idle replaced without the job
# noticing; a canceled remote job that leaves no rcpd behind; errors that
# name their cause (unknown host key, missing source); a shutdown that ends
# the kept agents; kill -9 of the master mid-copy, restart, the job
# completes; a job read through two source hosts, by a list and by a group
# of --host-groups, and a list on the destination side refused; remote jobs of another user logged in as them (with
# --record-files, the files its destination copied in its ledger), a series of
# them served by one process of theirs over one login; a job of another
# user that cannot use root's SSH key.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"
. "$(dirname "$0")/master-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"
trap 'sshd_stop; t_cleanup' EXIT

SH=127.0.0.2
DH=127.0.0.3
# The options of every remote job here.
RO=(-p --ssh-config "$SSH_CONFIG")

# logins: how many SSH logins sshd has accepted so far.
logins() { grep -c 'Accepted publickey' "$SSHD_LOG"; }

S=$T/src
"$FILEGEN" -q -s 7 "$S" 2,3 10 1K-64K
printf 'x\n' >"$S/one"
N=$(find "$S" -type f | wc -l)
t_check "source: files" test "$N" -gt 50
t_check "master starts" m_start --workers 2 --session-idle 30s

# --- the three pairings, each checked byte for byte ------------------------------------
t_check "host to host: exit 0" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$SH:$S" "$DH:$T/h2h"
t_check "host to host: how it ended" t_grep "^job 1 succeeded: $N files" "$T/out"
t_check "host to host: data equal" t_run 0 "$T/cmp" "$RCMP" --content "$S" "$T/h2h"
t_check "host to host: the pair" test "$(job_field 1 pair)" = "$SH→$DH"
t_check "local to host: exit 0" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$S" "$DH:$T/l2h"
t_check "local to host: data equal" t_run 0 "$T/cmp" "$RCMP" --content "$S" "$T/l2h"
t_check "local to host: totals from a scan of the local source" test "$(ctl status --json 2 | jq -r '[.files_total, .files_done, .bytes_total == .bytes_done, .eta] | join(" ")')" = "$N $N true 0"
t_check "host to local: exit 0" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$SH:$S" "$T/h2l"
t_check "host to local: data and times equal" t_run 0 "$T/cmp" "$RCMP" --content "$S" "$T/h2l"
t_check "host to local: counters" test "$(job_field 3 files_done)" = "$N"
t_check "relative remote path: against the client's cwd" t_run 0 "$T/out" \
    bash -c "cd '$S' && '$RCPCTL' --socket '$SOCK' submit --wait --ssh-config '$SSH_CONFIG' one '$DH:../rel-one'"
t_check "relative remote path: landed there" cmp -s "$S/one" "$T/rel-one"

# --- one SSH connection and one pair of agents for a series of jobs ---------------------
t_check "idle sessions are kept" test "$(ctl stats --json | jq -r .sessions_idle)" -ge 1
before=$(logins)
pids_before=$(agents | sort | tr '\n' ' ')
for i in 1 2 3 4 5; do
	ctl submit --wait "${RO[@]}" "$SH:$S/one" "$DH:$T/series$i" >"$T/out$i" 2>&1 || echo "job $i: $(cat "$T/out$i")" >&2
done
t_check "series: five jobs succeeded" test "$(ctl list --state succeeded | grep -c series)" = 5
t_check "series: every copy right" bash -c "for i in 1 2 3 4 5; do cmp -s '$S/one' '$T/series'\$i || exit 1; done"
t_check "series: no new SSH login" test "$(logins)" = "$before"
t_check "series: the same agents" test "$(agents | sort | tr '\n' ' ')" = "$pids_before"

# --- kept agents that died while idle ------------------------------------------------------
kill -9 $(agents) 2>/dev/null
sleep 0.5
t_check "after the agents died: the job still succeeds" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$SH:$S" "$DH:$T/after-kill"
t_check "after the agents died: data equal" t_run 0 "$T/cmp" "$RCMP" --content "$S" "$T/after-kill"
t_check "after the agents died: a new login" test "$(logins)" -gt "$before"

# --- errors name their cause ---------------------------------------------------------------
t_check "missing remote source: failed (exit 1)" t_run 1 "$T/out" ctl submit --wait --ssh-config "$SSH_CONFIG" "$SH:$T/nonexistent" "$DH:$T/nx"
t_check "missing remote source: the cause" t_grep "nonexistent.*No such file or directory" "$T/out"
: >"$T/empty_known_hosts"
t_check "unknown host key: exit 1" t_run 1 "$T/out" ctl submit --wait --ssh-config "$SSH_CONFIG" --ssh-known-hosts "$T/empty_known_hosts" "$SH:$S/one" "$DH:$T/uk"
t_check "unknown host key: the cause" t_grep "host key of '\\[$SH\\]:$SSHD_PORT' .* is not in '$T/empty_known_hosts'" "$T/out"
t_check "unknown host key: nothing copied" test ! -e "$T/uk"
# The master here runs in no Slurm allocation: a job that asks for srun
# fails with that cause, and never falls back to SSH.
t_check "--launcher srun outside Slurm: exit 1" t_run 1 "$T/out" ctl submit --wait "${RO[@]}" --launcher srun "$SH:$S/one" "$DH:$T/sr"
t_check "--launcher srun outside Slurm: the cause" t_grep "SLURM_JOB_ID is not set" "$T/out"
t_check "--launcher srun outside Slurm: nothing copied" test ! -e "$T/sr"

# --- cancel a running remote job -------------------------------------------------------------
"$FILEGEN" -q -s 9 "$T/big" 1,2 200 4K
id=$(ctl submit --json "${RO[@]}" --ops-throttle 40 "$SH:$T/big" "$DH:$T/canceled" | jq -r .id)
t_check "cancel: the job runs" wait_running "$id" 30
# No speed claim: timeout 60 is a hang guard (exit 124); the evidence that
# the cancel took is the state and a copy cut short of its 400 files
# (10 s at 40 entries a second).
t_check "cancel --wait: exit 5 (canceled)" t_run 5 "$T/out" timeout -k 5 60 "$RCPCTL" --socket "$SOCK" cancel --wait "$id"
t_check "cancel: state canceled" test "$(job_field "$id" state)" = canceled
n=$(find "$T/canceled" -type f 2>/dev/null | wc -l)
t_check "cancel: the copy was cut short ($n of 400 files)" test "$n" -lt 400
# What was copied before the cancel is counted, not 0.
t_check "cancel: its counters show what was copied" test "$(job_field "$id" stats.files_copied)" -gt 0
t_check "cancel: no file looks complete but differs" test -z "$(looks_complete_but_differs "$T/big" "$T/canceled")"

# The canceled job's agents were the only ones running (the others were killed above).
t_check "cancel: its agents are gone" wait_agents_gone 60

# --- shutdown ends the kept agents -------------------------------------------------------------
t_check "after a cancel: the next job succeeds" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$SH:$S/one" "$DH:$T/after-cancel"
t_check "before shutdown: kept agents run" test -n "$(agents)"
m_stop
t_check "shutdown: no rcpd left" wait_agents_gone 60

# --- kill -9 of the master mid-copy: its agents go, the restarted job completes ------------
t_check "master restarts for the crash test" m_start --workers 2 --session-idle 30s
id=$(ctl submit --json "${RO[@]}" --ops-throttle 40 "$SH:$T/big" "$DH:$T/crashed" | jq -r .id)
t_check "crash: the remote job runs" wait_running "$id" 30
sleep 0.5
kill -9 "$MPID"
wait "$MPID" 2>/dev/null
t_check "crash: the agents end with their master" wait_agents_gone 60
n=$(find "$T/crashed" -type f | wc -l)
t_check "crash: the copy was cut short ($n of 400 files)" test "$n" -lt 400
t_check "crash: no file looks complete but differs" test -z "$(looks_complete_but_differs "$T/big" "$T/crashed")"
t_check "crash: the master restarts" m_start --workers 2 --session-idle 30s
t_check "crash: the job runs again to its end" t_run 0 "$T/out" ctl wait "$id"
t_check "crash: its data equal" t_run 0 "$T/cmp" "$RCMP" --content "$T/big" "$T/crashed"
t_check "crash: it ran twice" test "$(job_field "$id" attempts)" = 2
m_stop
t_check "crash: no rcpd left" wait_agents_gone 60

# --- several source hosts of one file system, by a list and by a group ------------------------
printf 'both = %s 127.0.0.1\n' "$SH" >"$T/hosts"
t_check "master restarts with --host-groups" m_start --workers 2 --session-idle 0 --host-groups "$T/hosts"
t_check "a list of source hosts: exit 0" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$SH,127.0.0.1:$S" "$DH:$T/list"
t_check "a list of source hosts: data equal" t_run 0 "$T/cmp" "$RCMP" --content "$S" "$T/list"
t_check "a group of source hosts: exit 0" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "both:$S" "$DH:$T/group"
t_check "a group of source hosts: data equal" t_run 0 "$T/cmp" "$RCMP" --content "$S" "$T/group"
t_check "a list of destination hosts: exit 0" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$SH:$S" "$DH,127.0.0.1:$T/dlist"
t_check "a list of destination hosts: data equal" t_run 0 "$T/cmp" "$RCMP" --content "$S" "$T/dlist"
t_check "a group on both sides: exit 0" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "both:$S" "both:$T/dgroup"
t_check "a group on both sides: data equal" t_run 0 "$T/cmp" "$RCMP" --content "$S" "$T/dgroup"
t_check "a destination host twice: exit 1" t_run 1 "$T/out" ctl submit --wait "${RO[@]}" "$SH:$S" "$DH,$DH:$T/dtwice"
t_check "a destination host twice: says why" t_grep "destination host '$DH' is in" "$T/out"
m_stop
t_check "host lists: no rcpd left" wait_agents_gone 60

# --- remote jobs of another user: their own SSH login, kept between their jobs --------------
# A user who may log in over SSH: their key, config and known_hosts in
# their home, as a real user would have them.
SUSER=rcpsshtest
id "$SUSER" >/dev/null 2>&1 || useradd -m -s /bin/bash "$SUSER" ||
    { echo "cannot create user $SUSER" >&2; exit 1; }
[ "$(getent shadow "$SUSER" | cut -d: -f2)" = '!' ] && usermod -p '*' "$SUSER"
SHOME=$(getent passwd "$SUSER" | cut -d: -f6)
install -d -m 700 -o "$SUSER" "$SHOME/.ssh"
install -m 600 -o "$SUSER" "$SSH_KEY" "$SHOME/.ssh/id_rcp"
install -m 644 -o "$SUSER" "$SSH_KEY.pub" "$SHOME/.ssh/id_rcp.pub"	# (a stale one is offered)
install -m 600 -o "$SUSER" "$SSH_KEY.pub" "$SHOME/.ssh/authorized_keys"
install -m 600 -o "$SUSER" "$SSH_KNOWN_HOSTS" "$SHOME/.ssh/known_hosts_rcp"
sed -e "s|User root|User $SUSER|" -e "s|$SSH_KEY|$SHOME/.ssh/id_rcp|" \
    -e "s|$SSH_KNOWN_HOSTS|$SHOME/.ssh/known_hosts_rcp|" "$SSH_CONFIG" >"$SHOME/.ssh/config"
chown "$SUSER" "$SHOME/.ssh/config"
mkdir -m 777 "$T/sdst"
sctl() { setpriv --reuid "$SUSER" --regid "$SUSER" --init-groups "$RCPCTL" --socket "$SOCK" "$@"; }
t_check "master restarts for other users" m_start --workers 2 --session-idle 30s --socket-mode 0666
before=$(logins)
t_check "user's remote job: exit 0" t_run 0 "$T/out" sctl submit --wait --record-files "$SH:$S" "$DH:$T/sdst/tree"
sid=$(sed -n 's/^job \([0-9]*\) succeeded.*/\1/p' "$T/out")
t_check "user's remote job: data equal" t_run 0 "$T/cmp" "$RCMP" --content --metadata-compare size "$S" "$T/sdst/tree"
t_check "user's remote job: written as the user" test -z "$(find "$T/sdst/tree" ! -user "$SUSER")"
t_check "user's remote job: logged in as the user" t_grep "Accepted publickey for $SUSER" "$SSHD_LOG"
t_check "user's remote job, run by their process: --record-files lists what its destination copied" \
    test "$(sctl files "$sid" | sed -n 's/^copied: //p' | sort | md5sum) $(sctl files "$sid" | grep -c '^copied: ')" = "$(find "$T/sdst/tree" -type f | sort | md5sum) $N"
after1=$(logins)
for i in 1 2 3 4; do
	sctl submit --wait "$SH:$S/one" "$DH:$T/sdst/s$i" >"$T/out$i" 2>&1 || echo "job $i: $(cat "$T/out$i")" >&2
done
t_check "user's series: every copy right" bash -c "for i in 1 2 3 4; do cmp -s '$S/one' '$T/sdst/s'\$i || exit 1; done"
t_check "user's series: no new SSH login after the first job" test "$(logins)" = "$after1"
t_check "user's series: one process of the user serves them" test "$(pgrep -u "$SUSER" -f '^rcp-master-host' | wc -l)" = 1
hostpid=$(pgrep -u "$SUSER" -f '^rcp-master-host')
id=$(sctl submit --json --ops-throttle 40 "$SH:$T/big" "$DH:$T/sdst/canceled" | jq -r .id)
t_check "user's job: runs" wait_running "$id" 30
t_check "user's job: cancel --wait" t_run 5 "$T/out" sctl cancel --wait "$id"
t_check "user's job: the user's process lives on" kill -0 "$hostpid"
t_check "user's job after a cancel: exit 0" t_run 0 "$T/out" sctl submit --wait "$SH:$S/one" "$DH:$T/sdst/after"
t_check "user's job after a cancel: data right" cmp -s "$S/one" "$T/sdst/after"
m_stop
t_check "shutdown: the user's process ended" sh -c "! kill -0 $hostpid 2>/dev/null"
t_check "shutdown: no rcpd left" wait_agents_gone 60
# (sshd's per-session processes of the user end just after the agents)
t_check "shutdown: nothing of the user left" bash -c "for i in \$(seq 50); do [ -z \"\$(pgrep -u $SUSER)\" ] && exit 0; sleep 0.1; done; pgrep -a -u $SUSER >&2; exit 1"

# --- no reuse when told so ------------------------------------------------------------------
t_check "master restarts without keeping sessions" m_start --workers 1 --session-idle 0 --socket-mode 0666
before=$(logins)
t_check "no reuse: job 1" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$SH:$S/one" "$DH:$T/nr1"
t_check "no reuse: job 2" t_run 0 "$T/out" ctl submit --wait "${RO[@]}" "$SH:$S/one" "$DH:$T/nr2"
t_check "no reuse: a login per job" test "$(logins)" -ge $((before + 2))
t_check "no reuse: no agent left between jobs" wait_agents_gone 60

# --- a job of another user gets that user's rights, not the daemon's ------------------------
# The user may read the client config and known_hosts (copied where they
# can), but not root's private key the config names: their job must fail to
# log in, not use root's key.
USER_=rcptest
id "$USER_" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_" 2>/dev/null ||
    id "$USER_" >/dev/null 2>&1 || { echo "cannot create user $USER_" >&2; exit 1; }
as_user() { setpriv --reuid "$USER_" --regid "$USER_" --clear-groups "$@"; }
cp "$SSH_KNOWN_HOSTS" "$T/user_known_hosts"
sed "s|$SSH_KNOWN_HOSTS|$T/user_known_hosts|" "$SSH_CONFIG" >"$T/user_ssh_config"
chmod 644 "$T/user_ssh_config" "$T/user_known_hosts"
mkdir -m 777 "$T/udst"
before=$(logins)
t_check "another user's remote job: fails" t_run 1 "$T/out" as_user \
    "$RCPCTL" --socket "$SOCK" submit --wait --ssh-config "$T/user_ssh_config" "$SH:$S/one" "$DH:$T/udst/x"
t_check "another user's remote job: root's key is not theirs" t_grep "(cannot read identity|[Aa]uthentication).*" "$T/out"
t_check "another user's remote job: no login accepted" test "$(logins)" = "$before"
t_check "another user's remote job: nothing copied" test ! -e "$T/udst/x"
t_check "another user's job, root's ssh config: fails" t_run 1 "$T/out" as_user \
    "$RCPCTL" --socket "$SOCK" submit --wait --ssh-config "$SSH_CONFIG" "$SH:$S/one" "$DH:$T/udst/y"
t_check "another user's job, root's ssh config: says it cannot read it" t_grep "cannot read ssh config '$SSH_CONFIG': Permission denied" "$T/out"
sed "s|$T/user_known_hosts|$SSH_KNOWN_HOSTS|" "$T/user_ssh_config" >"$T/user_ssh_config2"
chmod 644 "$T/user_ssh_config2"
t_check "another user's job, root's known_hosts: fails" t_run 1 "$T/out" as_user \
    "$RCPCTL" --socket "$SOCK" submit --wait --ssh-config "$T/user_ssh_config2" "$SH:$S/one" "$DH:$T/udst/z"
t_check "another user's job, root's known_hosts: says it cannot read it" t_grep "cannot read known hosts file '$SSH_KNOWN_HOSTS'.*Permission denied" "$T/out"
t_check "another user's remote job: no agent left" wait_agents_gone 60
m_stop
t_check "master log: no crash, no sanitizer report" test -z "$(grep -E 'ERROR: |runtime error|Sanitizer' "$T/master.log")"
grep -q -E 'ERROR: |runtime error|Sanitizer' "$T/master.log" && grep -m1 -A40 -E 'ERROR: |runtime error|Sanitizer' "$T/master.log" | sed 's/^/  | /' >&2

t_done
