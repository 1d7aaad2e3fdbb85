#!/bin/bash
# master-resume.sh: resume through rcp-master.  `rcpctl submit --resume`
# finishes a half-copied file writing only what was missing; a job whose
# master is killed (-9) in the middle of a large file finishes it after the
# restart chunk by chunk, in the master and in a job of another user
# (rcp-job), so that the restart sends far less than the file again; and
# the data is right (cmp).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"

USER_=rcptest
id "$USER_" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_" 2>/dev/null ||
    id "$USER_" >/dev/null 2>&1 || { echo "cannot create user $USER_" >&2; exit 1; }
chmod 755 "$T"
M=$((1 << 20))
data_bytes() { echo $(($(stat -c %b "$1" 2>/dev/null || echo 0) * 512)); }
# wait_data FILE BYTES SECONDS: waits until FILE holds BYTES of data.
wait_data() {
	local i
	for ((i = 0; i < $3 * 100; i++)); do
		[ "$(data_bytes "$1")" -ge "$2" ] && return 0
		sleep 0.01
	done
	return 1
}
S=$T/src
mkdir "$S"
head -c $((24 * M + 99)) /dev/urandom >"$S/big"		# 25 chunks of 1 MiB
chmod -R a+rX "$S"
size=$(stat -c %s "$S/big")
mkdir "$T/u" && chown "$USER_:$USER_" "$T/u"

t_check "master starts" m_start --workers 2 --socket-mode 0666

# --- rcpctl submit --resume -----------------------------------------------------
head -c $((10 * M)) "$S/big" >"$T/half"
id=$(ctl submit --json --resume --chunk-size 1M "$S/big" "$T/half" | jq -r .id)
t_check "submit --resume: the job succeeds" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" wait "$id"
t_check "submit --resume: identical (cmp)" cmp -s "$S/big" "$T/half"
n=$(job_field "$id" stats.bytes_copied)
t_check "submit --resume: wrote only what was missing ($n bytes)" test "$n" = $((size - 10 * M))

# --- kill -9 of the master in the middle of a large file ------------------------------
r1=$(ctl submit --json -p --chunk-size 1M --max-workers 1 --iops-throttle 4 "$S/big" "$T/r1" | jq -r .id)
r2=$(setpriv --reuid "$USER_" --regid "$USER_" --clear-groups "$RCPCTL" --socket "$SOCK" submit --json -p --chunk-size 1M --max-workers 1 --iops-throttle 4 "$S/big" "$T/u/r2" | jq -r .id)
t_check "both jobs got going" wait_data "$T/r1" $((6 * M)) 30
wait_data "$T/u/r2" $((6 * M)) 30
{ kill -9 "$MPID"; wait "$MPID"; } 2>/dev/null
# The user's rcp-job dies with the master (PR_SET_PDEATHSIG): wait for it.
for ((i = 0; i < 100; i++)); do
	[ -z "$(pgrep -f "^$RCP_BUILDDIR/rcp-job" | while read -r p; do t_descends "$p" $$ && echo "$p"; done)" ] && break
	sleep 0.05
done
h1=$(data_bytes "$T/r1") h2=$(data_bytes "$T/u/r2")
t_check "kill -9: both files are short ($h1, $h2 bytes of data)" test "$(stat -c %s "$T/r1")" -lt "$size" -a "$(stat -c %s "$T/u/r2")" -lt "$size"
t_check "master restarts" m_start --workers 2 --socket-mode 0666
t_check "restart: the root job succeeds" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" wait "$r1"
t_check "restart: the user's job succeeds" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" wait "$r2"
t_check "restart: ran twice" test "$(job_field "$r1" attempts)/$(job_field "$r1" restart)" = "2/true"
t_check "restart: root's copy identical (cmp)" cmp -s "$S/big" "$T/r1"
t_check "restart: the user's copy identical (cmp)" cmp -s "$S/big" "$T/u/r2"
t_check "restart: the user's copy is the user's" test "$(stat -c %U "$T/u/r2")" = "$USER_"
n1=$(job_field "$r1" stats.bytes_copied) n2=$(job_field "$r2" stats.bytes_copied)
t_check "restart: root's job wrote $n1 bytes: at most what was missing and a chunk" test "$n1" -le $((size - h1 + M))
t_check "restart: the user's job wrote $n2 bytes: at most what was missing and a chunk" test "$n2" -le $((size - h2 + M))
m_stop

t_done
