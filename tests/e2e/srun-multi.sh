#!/bin/bash
# srun-multi.sh: rcp --launcher srun over several nodes, under a real Slurm
# of two nodes (slurm-lib.sh with SL_NODES: munged, slurmctld, and a slurmd
# for each of n1 and n2 on their own addresses, all on this machine, which
# both "nodes" see as their shared file system).  Inside a batch job of two
# nodes, one copy runs with two source agents and two destination agents,
# every one an srun step on its node, and no SSH anywhere: the copy is
# equal by rcmp --content, srun started each agent on the node it names,
# both sources served and both destinations wrote; a destination helper's
# step SIGKILLed mid-copy is named and the copy still completes, equal,
# exit 0; no rcpd or srun is left.  Waits are hang guards.
. "$(dirname "$0")/lib.sh"
SL_NODES="n1=127.0.0.2 n2=127.0.0.3"
. "$(dirname "$0")/slurm-lib.sh"

slurm_require
trap 'slurm_stop; t_cleanup' EXIT
trap 'exit 143' TERM INT
sl_agents_setup
SL_NODES_N=2

S=$T/src
"$FILEGEN" -q -s 5 "$S" 3,2 20 1K-64K
"$FILEGEN" -q -s 6 "$S/big" "" 2 12M
printf 'x' >"$S/$(printf 'bad\377name')"

t_check "slurm of two nodes starts" slurm_start
cd "$T" || exit 1

t_check "two nodes a side: sbatch --wait exit 0" sbjob job <<EOF
export PATH=$T/nossh:\$PATH
echo "nodes \$SLURM_JOB_NODELIST"
"$RCP" -vv -p --launcher srun --rcpd-path "$RCPD" n1,n2:"$S" n2,n1:"$T/d1"
echo "rcp exit \$?"
EOF
t_check "two nodes a side: rcp exit 0" t_grep "^rcp exit 0$" "$T/job.log"
t_check "two nodes a side: the job had both nodes" t_grep "^nodes n\[1-2\]$" "$T/job.log"
t_check "two nodes a side: equal by rcmp --content" "$RCMP" --content "$S" "$T/d1"
for n in n1 n2; do
	t_check "srun started the source agent on $n" \
	    t_grep "starting the source agent on '$n' by srun" "$T/job.log"
	t_check "srun started the destination agent on $n" \
	    t_grep "starting the destination agent on '$n' by srun" "$T/job.log"
done
t_check "two nodes a side: read through both sources" t_grep "read through 2 source agents \(2 left\)" "$T/job.log"
t_check "two nodes a side: wrote through both destinations" t_grep "wrote through 2 destination agents" "$T/job.log"
t_check "two nodes a side: the helper on n1 wrote data" \
    t_grep "'n1' [0-9]+ ranges, [1-9][0-9]* bytes" "$T/job.log"
t_check "two nodes a side: no ssh ran" bash -c '! grep -q "ssh must not run" "$1"' _ "$T/job.log"
t_check "two nodes a side: no rcpd or srun of ours left" ours_gone

t_check "lost helper: the job runs" sbjob job2 <<EOF
"$RCP" -p -v --launcher srun --rcpd-path "$RCPD" --chunk-size 1M \\
    --iops-throttle 10 n1:"$S/big" n1,n2:"$T/d2" >"$T/job2.out" 2>&1 &
p=\$!
for i in \$(seq 600); do
	pgrep -f -- "^$RCPD --role destination --helper" >/dev/null &&
	    [ -n "\$(find "$T/d2" -type f -size +1M 2>/dev/null)" ] && break
	sleep 0.1
done
pkill -KILL -f -- "^$RCPD --role destination --helper"
wait \$p
echo "rcp exit \$?"
EOF
t_check "lost helper: rcp exits 0" t_grep "^rcp exit 0$" "$T/job2.log"
t_check "lost helper: the loss names n2" t_grep "the destination agent on .n2. (was killed|exited|did not)|lost the destination helper on .n2." "$T/job2.out"
t_check "lost helper: equal by rcmp --content" "$RCMP" --content "$S/big" "$T/d2"
t_check "no rcpd or srun of ours left at the end" ours_gone
t_done
