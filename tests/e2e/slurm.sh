#!/bin/bash
# slurm.sh: rcp-master under a real Slurm (slurm-lib.sh: munged, slurmctld
# and slurmd of the test's own), driven by the scripts of doc/examples: a
# batch job's state is its copy's (COMPLETED, FAILED for a failed or
# partial copy, as sacct shows from the jobcomp file); a stage-in chained
# to a compute job with --dependency=afterok starts it only after a good
# copy; scancel of the batch job cancels the copy in the master; the
# warning before the time limit (SIGUSR1 to the batch shell) stops the wait
# and leaves the copy running; a job array shards one batch file;
# burst_buffer/lua stages a job's data in and out (burst_buffer.lua).  Every
# daemon started here is gone at the end.  Waits are hang guards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"
. "$(dirname "$0")/slurm-lib.sh"

slurm_require
EX=$RCP_SRCDIR/doc/examples
trap 'slurm_stop; t_cleanup' EXIT
trap 'exit 143' TERM INT
export PATH=$RCP_BUILDDIR:$PATH RCP_MASTER_SOCKET=$SOCK
GUARD=60

USER_=rcptest
id "$USER_" >/dev/null 2>&1 || useradd -M -s /bin/sh "$USER_" 2>/dev/null ||
    id "$USER_" >/dev/null 2>&1 || { echo "cannot create user $USER_" >&2; exit 1; }
chmod 755 "$T"

S=$T/src
"$FILEGEN" -q -s 3 "$S" 2,2 10 1K-16K
chmod -R a+rX "$S"
t_check "master starts" m_start --workers 2 --socket-mode 0666
# burst_buffer/lua (Debian's build has it) with doc/examples/burst_buffer.lua.
mkdir -p "$SL"
cp "$EX/burst_buffer.lua" "$SL/burst_buffer.lua"
echo "AllowUsers=$USER_" >"$SL/burst_buffer.conf"	# never root (Slurm's rule)
SL_EXTRA=BurstBufferType=burst_buffer/lua
export RCPCTL=$RCP_BUILDDIR/rcpctl	# for burst_buffer.lua, in slurmctld
t_check "slurm starts (munged, slurmctld, slurmd)" slurm_start
cd "$T" || exit 1

# --- sbatch --wait: the job's state is the copy's ------------------------------
t_check "good copy: sbatch --wait exit 0" t_run 0 "$T/out" guarded sbatch --wait --parsable \
    -o "$T/good.log" --export=ALL,SRC="$S",DST="$T/d1" "$EX/slurm-copy.sh"
good=$(tail -1 "$T/out")
t_check "good copy: COMPLETED" test "$(job_state "$good")" = COMPLETED
t_check "good copy: exit code 0:0" test "$(job_exit "$good")" = 0:0
t_check "good copy: data equal" diff -r "$S" "$T/d1"
t_check "good copy: the log says so" t_grep '^copy succeeded$' "$T/good.log"
t_check "good copy: the master's job has the Slurm label" test \
    "$(ctl list --label "slurm-$good" --json | jq -r .state)" = succeeded

t_check "failed copy: sbatch --wait exit non-zero" t_run 1 "$T/out" guarded sbatch --wait --parsable \
    -o "$T/bad.log" --export=ALL,SRC="$T/nonexistent",DST="$T/d2" "$EX/slurm-copy.sh"
bad=$(tail -1 "$T/out")
t_check "failed copy: FAILED" test "$(job_state "$bad")" = FAILED
t_check "failed copy: exit code 1:0" test "$(job_exit "$bad")" = 1:0

# Partial: a file its user cannot read, the batch job running as that user.
printf 'secret\n' >"$S/secret" && chmod 600 "$S/secret"
mkdir "$T/u" && chown "$USER_" "$T/u"
t_check "partial copy: sbatch --uid --wait exit non-zero" t_run 4 "$T/out" guarded sbatch --wait --parsable \
    --uid="$USER_" -o "$T/u/partial.log" --export=ALL,SRC="$S",DST="$T/u/d3" "$EX/slurm-copy.sh"
part=$(tail -1 "$T/out")
rm -f "$S/secret"
t_check "partial copy: FAILED" test "$(job_state "$part")" = FAILED
t_check "partial copy: exit code 4:0" test "$(job_exit "$part")" = 4:0
t_check "partial copy: the log says so" t_grep '^copy partial' "$T/u/partial.log"
t_check "partial copy: the log lists the failure and its cause" t_grep "^error: cannot open '$S/secret': Permission denied$" "$T/u/partial.log"

# sacct without slurmdbd reads the jobcomp/filetxt file (sacct -c): it has
# each job's end state, not its exit code or steps (that needs slurmdbd).
sacct -c -n -X -o JobID,State -j "$good,$bad,$part" >"$T/sacct" 2>&1
t_check "sacct -c: good COMPLETED" t_grep "^$good +COMPLETED" "$T/sacct"
t_check "sacct -c: failed FAILED" t_grep "^$bad +FAILED" "$T/sacct"
t_check "sacct -c: partial FAILED" t_grep "^$part +FAILED" "$T/sacct"

# --- a stage-in chained to a compute job (slurm-pipeline.sh) -------------------
cat >"$T/compute.sh" <<EOS
#!/bin/bash
#SBATCH --output=$T/compute-%j.log
set -e
ls "\$SCRATCH" | wc -l >"\$SCRATCH.ran"
EOS
t_check "pipeline: submitted" t_run 0 "$T/ids" "$EX/slurm-pipeline.sh" "$S" "$T/p1" "$T/p1-out" "$T/compute.sh"
read -r in run out <"$T/ids"
t_check "pipeline: stage-in COMPLETED" wait_job_state "$in" "$GUARD" COMPLETED
t_check "pipeline: compute COMPLETED after it" wait_job_state "$run" "$GUARD" COMPLETED
t_check "pipeline: stage-out COMPLETED" wait_job_state "$out" "$GUARD" COMPLETED
t_check "pipeline: compute saw the staged data" test "$(cat "$T/p1.ran" 2>/dev/null)" = 2
t_check "pipeline: staged out" diff -r "$S" "$T/p1-out"

t_check "failed stage-in: submitted" t_run 0 "$T/ids" "$EX/slurm-pipeline.sh" "$T/nonexistent" "$T/p2" "$T/p2-out" "$T/compute.sh"
read -r in run out <"$T/ids"
t_check "failed stage-in: FAILED" wait_job_state "$in" "$GUARD" FAILED
t_check "failed stage-in: compute CANCELLED (--kill-on-invalid-dep)" wait_job_state "$run" "$GUARD" CANCELLED
t_check "failed stage-in: stage-out CANCELLED" wait_job_state "$out" "$GUARD" CANCELLED
t_check "failed stage-in: compute never ran" test ! -e "$T/p2.ran"

t_check "failed stage-in, kept: submitted" t_run 0 "$T/ids" env RCP_KEEP_INVALID=1 "$EX/slurm-pipeline.sh" "$T/nonexistent" "$T/p3" "$T/p3-out" "$T/compute.sh"
read -r in run out <"$T/ids"
t_check "failed stage-in, kept: FAILED" wait_job_state "$in" "$GUARD" FAILED
for ((i = 0; i < 200; i++)); do
	[ "$(job_reason "$run")" = DependencyNeverSatisfied ] && break
	sleep 0.1
done
t_check "failed stage-in, kept: compute PENDING" test "$(job_state "$run")" = PENDING
t_check "failed stage-in, kept: reason DependencyNeverSatisfied" test "$(job_reason "$run")" = DependencyNeverSatisfied
t_check "failed stage-in, kept: compute never ran" test ! -e "$T/p3.ran"
scancel "$run" "$out"

# --- scancel of the batch job cancels the copy -----------------------------------
# waits_copy LABEL STATE: the master's job of LABEL reaches STATE.
waits_copy() {
	local i
	for ((i = 0; i < GUARD * 10; i++)); do
		[ "$(ctl list --label "$1" --json 2>/dev/null | jq -r .state)" = "$2" ] && return 0
		sleep 0.1
	done
	echo "  job of $1: $(ctl list --label "$1" --json | jq -r .state), not $2" >&2
	return 1
}
id=$(sb -o "$T/scancel.log" --export=ALL,SRC="$S",DST="$T/d4",RCP_OPTS="--ops-throttle 5" "$EX/slurm-copy.sh")
t_check "scancel: the copy runs" waits_copy "slurm-$id" running
scancel "$id"
t_check "scancel: the batch job CANCELLED" wait_job_state "$id" "$GUARD" CANCELLED
t_check "scancel: the copy canceled in the master" waits_copy "slurm-$id" canceled
t_check "scancel: rcpctl said why" t_grep 'canceling job' "$T/scancel.log"

# --- the time-limit warning: SIGUSR1 to the batch shell -------------------------------
# What --signal=B:USR1@N sends before the time limit, sent now (the real
# one comes at a time of Slurm's choosing, up to a minute early).
id=$(sb -o "$T/warn.log" --export=ALL,SRC="$S",DST="$T/d5",RCP_OPTS="--ops-throttle 5" "$EX/slurm-copy.sh")
t_check "warning: the copy runs" waits_copy "slurm-$id" running
scancel --batch --signal=USR1 "$id"
t_check "warning: the batch job ends, FAILED" wait_job_state "$id" "$GUARD" FAILED
t_check "warning: exit code 6:0 (not ended)" test "$(job_exit "$id")" = 6:0
t_check "warning: the log says where the copy is" t_grep 'goes on in rcp-master' "$T/warn.log"
t_check "warning: the copy still runs in the master" waits_copy "slurm-$id" running
jid=$(ctl list --label "slurm-$id" --json | jq -r .id)
t_check "warning: the copy can be waited for after (cancel --wait: 5)" t_run 5 "$T/out" guarded "$RCPCTL" --socket "$SOCK" cancel --wait "$jid"

# --no-cancel-on-signal: SIGTERM leaves the copy.
id=$(sb -o "$T/nocancel.log" --wrap "exec rcpctl submit --wait --no-cancel-on-signal --label nocancel --ops-throttle 5 '$S' '$T/d6'")
t_check "--no-cancel-on-signal: the copy runs" waits_copy nocancel running
scancel "$id"
t_check "--no-cancel-on-signal: the batch job CANCELLED" wait_job_state "$id" "$GUARD" CANCELLED
sleep 1
t_check "--no-cancel-on-signal: the copy still runs" waits_copy nocancel running
ctl cancel "$(ctl list --label nocancel --json | jq -r .id)" >/dev/null

# --- a job array shards one batch file --------------------------------------------------
for i in 1 2 3 4 5; do echo "-p '$S/d0' '$T/a$i'"; done >"$T/copies.txt"
t_check "array: sbatch --array=0-2 --wait exit 0" t_run 0 "$T/out" guarded sbatch --wait --parsable \
    --array=0-2 -o "$T/array-%a.log" --export=ALL,BATCH="$T/copies.txt" "$EX/slurm-array.sh"
arr=$(tail -1 "$T/out")
t_check "array: five copies in the master" test "$(ctl list --label "slurm-$arr" --json | jq -s length)" = 5
t_check "array: all succeeded" test "$(ctl list --label "slurm-$arr" --state succeeded --json | jq -s length)" = 5
t_check "array: task 0 took lines 1 and 4" test "$(grep -Ec '^job [0-9]+$' "$T/array-0.log")" = 2
t_check "array: task 2 took line 3" test "$(grep -Ec '^job [0-9]+$' "$T/array-2.log")" = 1
t_check "--shard 2/3 alone: the third line" test "$(ctl batch --json --shard 2/3 "$T/copies.txt" | jq -r .destination)" = "$T/a3"
t_check "--shard 7/9: no line, nothing to do (exit 0)" t_run 0 "$T/out" ctl batch --shard 7/9 "$T/copies.txt"
t_check "--shard 3/3: bad usage" t_run 2 "$T/out" ctl batch --shard 3/3 "$T/copies.txt"
t_check "--shard 1: bad usage" t_run 2 "$T/out" ctl batch --shard 1 "$T/copies.txt"
t_check "submit --shard: bad usage" t_run 2 "$T/out" ctl submit --shard 0/2 "$S" "$T/x"

for i in 1 2 3 4 5; do
	t_check "array: copy $i done" diff -r "$S/d0" "$T/a$i"
done
t_check "array: every task COMPLETED" test "$(squeue -h -t all -j "$arr" -o %T 2>/dev/null | sort -u | tr '\n' ' ')" = "COMPLETED "

# --- burst_buffer/lua: #BB_LUA stage_in/stage_out through rcp-master --------------------
bbjob() {
	cat >"$T/u/bb$1.sh" <<EOS
#!/bin/bash
#BB_LUA stage_in $2 $T/u/bb$1
#BB_LUA stage_out $T/u/bb$1 $T/u/bb$1-out
ls "$T/u/bb$1" >"$T/u/bb$1.ran"
EOS
	sb --uid="$USER_" -o "$T/u/bb$1.log" "$T/u/bb$1.sh"
}
id=$(bbjob 1 "$S")
t_check "burst buffer: the job COMPLETED" wait_job_state "$id" "$GUARD" COMPLETED
t_check "burst buffer: it ran on the staged-in data" test "$(cat "$T/u/bb1.ran" 2>/dev/null | wc -l)" = 2
for ((i = 0; i < GUARD * 10; i++)); do
	[ "$(scontrol -o show job "$id" | grep -o 'BurstBufferState=[a-z-]*')" = BurstBufferState=complete ] && break
	sleep 0.1
done
t_check "burst buffer: staged out" diff -r "$S" "$T/u/bb1-out"
t_check "burst buffer: two copies in the master, as the user" test \
    "$(ctl list --label "slurm-$id" --state succeeded --json | jq -r .uid | sort -u)" = "$(id -u "$USER_")"
id=$(bbjob 2 "$T/nonexistent")
for ((i = 0; i < GUARD * 10; i++)); do
	[ "$(ctl list --label "slurm-$id" --json | jq -r .state)" = failed ] && break
	sleep 0.1
done
sleep 2
scontrol -o show job "$id" | grep -o 'JobState=[^ ]*\|Reason=[^ ]*\|BurstBufferState=[^ ]*' | tr '\n' ' ' >"$T/bbstate"
# Slurm 22.05 leaves such a job pending (staging-in), the copy's message
# in its reason, until it is canceled.
t_check "burst buffer, failed stage-in: the job PENDING" t_grep 'JobState=PENDING' "$T/bbstate"
t_check "burst buffer, failed stage-in: the reason is the copy's" t_grep "Reason=burst_buffer/lua.*cannot_access_source" "$T/bbstate"
t_check "burst buffer, failed stage-in: the job never ran" test ! -e "$T/u/bb2.ran"
scancel "$id" 2>/dev/null

# --- every daemon goes ---------------------------------------------------------------------
slurm_stop
t_check "no slurm or munge daemon left" test -z "$(sl_daemons_left)"
m_stop
t_done
