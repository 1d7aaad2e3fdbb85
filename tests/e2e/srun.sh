#!/bin/bash
# srun.sh: rcp --launcher srun under a real Slurm (slurm-lib.sh: munged,
# slurmctld and slurmd of the test's own, one node "localhost").  Inside a
# batch job, both agents start as srun steps on the allocation's node, with
# no SSH anywhere (no sshd runs here, and ssh is made to fail): the copy is
# equal by rcmp --content, the log says srun started them, and no rcpd or
# srun is left after the job; a local tree to a node too.  Errors name
# their cause: outside an allocation, a user@ or :port with srun, the
# source agent's step killed mid-copy (rcp ends naming it, with no srun
# left), a node not in the allocation (srun itself would run the step on
# another), an unknown launcher.  Every daemon started here is gone at the
# end; waits are hang guards.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/slurm-lib.sh"

slurm_require
trap 'slurm_stop; t_cleanup' EXIT
trap 'exit 143' TERM INT
sl_agents_setup

S=$T/src
"$FILEGEN" -q -s 5 "$S" 3,2 20 1K-64K
printf 'x' >"$S/$(printf 'bad\377name')"

# --- refused before any agent starts --------------------------------------
t_check "no allocation: exit 1" t_run 1 "$T/out" env -u SLURM_JOB_ID \
    "$RCP" --launcher srun --force-remote --rcpd-path "$RCPD" \
    localhost:"$S" localhost:"$T/d0"
t_check "no allocation: names SLURM_JOB_ID" t_grep "SLURM_JOB_ID is not set" "$T/out"
t_check "no allocation: nothing made" test ! -e "$T/d0"
t_check "unknown launcher: exit 2" t_run 2 "$T/out" "$RCP" --launcher pdsh \
    "$S" "$T/d0"
t_check "unknown launcher: says so" t_grep "'pdsh' is not ssh or srun" "$T/out"
t_check "user@ with srun: exit 1" t_run 1 "$T/out" env SLURM_JOB_ID=1 \
    "$RCP" --launcher srun root@localhost:"$S" "$T/d0"
t_check "user@ with srun: says why" t_grep "name the node alone" "$T/out"

t_check "slurm starts (munged, slurmctld, slurmd)" slurm_start
cd "$T" || exit 1

# --- a copy whose agents are srun steps ------------------------------------
t_check "srun copy: sbatch --wait exit 0" sbjob job <<EOF
export PATH=$T/nossh:\$PATH
"$RCP" -vv -p --launcher srun --force-remote --rcpd-path "$RCPD" \\
    localhost:"$S" localhost:"$T/d1"
EOF
job=$(tail -1 "$T/out")
t_check "srun copy: the job COMPLETED" test "$(job_state "$job")" = COMPLETED
t_check "srun copy: equal by rcmp --content" "$RCMP" --content "$S" "$T/d1"
t_check "srun copy: the non-UTF-8 name arrived" test -f "$T/d1/$(printf 'bad\377name')"
t_check "srun copy: srun started the source agent" \
    t_grep "starting the source agent on 'localhost' by srun" "$T/job.log"
t_check "srun copy: srun started the destination agent" \
    t_grep "starting the destination agent on 'localhost' by srun" "$T/job.log"
t_check "srun copy: no ssh ran" bash -c '! grep -q "ssh must not run" "$1"' _ "$T/job.log"
t_check "srun copy: no rcpd or srun of ours left" ours_gone

# --- a local source to a node: the local agent listens where the node
# reaches this host --------------------------------------------------------
t_check "local to node: sbatch --wait exit 0" sbjob job4 <<EOF
export PATH=$T/nossh:\$PATH
"$RCP" -p --launcher srun --force-remote --rcpd-path "$RCPD" \\
    "$S" localhost:"$T/d4"
EOF
t_check "local to node: equal by rcmp --content" "$RCMP" --content "$S" "$T/d4"

# --- the source agent's step killed mid-copy: named, and nothing left -------
"$FILEGEN" -q -s 7 "$T/big" "" 1 64M
t_check "lost source: the job runs" sbjob job3 <<EOF
"$RCP" -p --launcher srun --force-remote --rcpd-path "$RCPD" \\
    --chunk-size 1M --iops-throttle 12 --quic-idle-timeout-sec 600 \\
    localhost:"$T/big" "$T/d3" >"$T/job3.out" 2>&1 &
p=\$!
for i in \$(seq 600); do [ -e "$T/d3" ] && break; sleep 0.1; done
sleep 1
pkill -KILL -f -- "^$RCPD --role source"
wait \$p
echo "rcp exit \$?"
EOF
t_check "lost source: rcp exits 1" t_grep "^rcp exit 1$" "$T/job3.log"
t_check "lost source: the error names the source agent" \
    t_grep "^rcp: .*(the source agent on 'localhost' was killed by signal 9|lost the source agent)" "$T/job3.out"
t_check "lost source: the copy is not complete" test "$(du -sb "$T/d3" 2>/dev/null | cut -f1)" -lt $((64 << 20))
t_check "lost source: no rcpd or srun of ours left" ours_gone

# --- a node outside the allocation: the agent's start fails, named ---------
t_check "unknown node: the job runs" sbjob job2 <<EOF
"$RCP" --launcher srun --rcpd-path "$RCPD" nosuchnode:"$S" "$T/d2"
echo "rcp exit \$?"
EOF
t_check "unknown node: rcp exits 1" t_grep "^rcp exit 1$" "$T/job2.log"
t_check "unknown node: names the node" t_grep "'nosuchnode' is not a node of Slurm job [0-9]+ \\(its nodes: localhost\\)" "$T/job2.log"
t_check "unknown node: nothing made" test ! -e "$T/d2"
t_check "no rcpd or srun of ours left at the end" ours_gone
t_done
