#!/bin/bash
# doc/examples/slurm-pipeline.sh: stage in, compute, stage out, as three
# Slurm jobs chained with --dependency=afterok: the compute job starts only
# if the stage-in copy succeeded (a failed, partial or canceled copy leaves
# it pending with reason DependencyNeverSatisfied, never started), and the
# stage-out only if the compute job succeeded.  The copies run in
# rcp-master (slurm-copy.sh); the compute job needs no copy tool at all.
# tests/e2e/slurm.sh runs this file.
#
#   slurm-pipeline.sh SRC SCRATCH RESULT COMPUTE-SCRIPT
#
# prints the three job ids.  Slurm does not cancel a job whose dependency
# can never be met (unless the job asks for it with --kill-on-invalid-dep=yes
# or the site sets DependencyParameters=kill_invalid_depend); this script
# asks, so a failed stage-in ends the rest as CANCELLED.  Set
# RCP_KEEP_INVALID=1 to see them stay pending instead.
set -eu
[ $# -eq 4 ] || { echo "usage: $0 SRC SCRATCH RESULT COMPUTE-SCRIPT" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
kill_dep=--kill-on-invalid-dep=yes
[ "${RCP_KEEP_INVALID:-0}" = 1 ] && kill_dep=--kill-on-invalid-dep=no

in=$(sbatch --parsable --job-name=stage-in --export=ALL,SRC="$1",DST="$2" \
    "$here/slurm-copy.sh")
in=${in%%;*}
run=$(sbatch --parsable --job-name=compute --dependency=afterok:"$in" $kill_dep \
    --export=ALL,SCRATCH="$2" "$4")
run=${run%%;*}
out=$(sbatch --parsable --job-name=stage-out --dependency=afterok:"$run" $kill_dep \
    --export=ALL,SRC="$2",DST="$3" "$here/slurm-copy.sh")
out=${out%%;*}
echo "$in $run $out"
