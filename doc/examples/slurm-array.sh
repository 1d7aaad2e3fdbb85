#!/bin/bash
# doc/examples/slurm-array.sh: one batch file of copies (rcpctl(1), batch:
# one "[options] SRC DST" a line) spread over the tasks of a Slurm job
# array: task K of N submits the lines K, K+N, K+2N... (rcpctl batch
# --shard K/N) and waits for them; the array's state is then per shard.
# tests/e2e/slurm.sh runs this file.
#
#   sbatch --array=0-3 --export=ALL,BATCH=$HOME/copies.txt slurm-array.sh
#
# --array must count from 0 (task ids 0 to N-1); the shard of a task
# without lines succeeds at once.
#
#SBATCH --job-name=rcp-array
#SBATCH --time=12:00:00
#SBATCH --ntasks=1
#SBATCH --output=rcp-array-%A_%a.log

set -u
: "${BATCH:?set BATCH}" "${SLURM_ARRAY_TASK_ID:?submit with sbatch --array=0-N}"
export RCP_MASTER_SOCKET=${RCP_MASTER_SOCKET:-/run/rcp/master.sock}

# scancel of a task sends rcpctl SIGTERM: it cancels the jobs it submitted.
exec rcpctl batch --wait --label "slurm-${SLURM_ARRAY_JOB_ID}" \
    --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" "$BATCH"
