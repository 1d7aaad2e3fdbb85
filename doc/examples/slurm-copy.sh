#!/bin/bash
# doc/examples/slurm-copy.sh: stage a data set through rcp-master from a
# Slurm batch job, so that the copy runs in the service (queued, journaled,
# resumed after a restart) while the job step only waits for it.
#
#   sbatch --export=SRC=/scratch/$USER/run42,DST=/archive/$USER/run42 slurm-copy.sh
#
#SBATCH --job-name=rcp-stage
#SBATCH --time=12:00:00
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=256M
#SBATCH --requeue
#SBATCH --open-mode=append
#SBATCH --output=rcp-stage-%j.log

set -u
: "${SRC:?set SRC}" "${DST:?set DST}"

# The key is the Slurm job id: when Slurm requeues this batch job (node
# failure, preemption), the resubmit finds the copy already submitted and
# waits for it instead of starting it again.
key="slurm-${SLURM_JOB_ID:-manual}-$(basename "$DST")"

# A site-wide master (etc/rcp-master.socket) serves every user: the copy
# runs as this user, with this user's permissions.
export RCP_MASTER_SOCKET=${RCP_MASTER_SOCKET:-/run/rcp/master.sock}

rcpctl submit --wait --progress --key "$key" --label "slurm-$SLURM_JOB_ID" \
    -o -p "$SRC" "$DST"
rc=$?
case $rc in
0) echo "copy succeeded" ;;
4) echo "copy partial: some entries failed"; rcpctl list --label "slurm-$SLURM_JOB_ID" --json ;;
5) echo "copy canceled" ;;
3) echo "rcp-master unreachable"; exit 75 ;;	# EX_TEMPFAIL: worth a requeue
*) echo "copy failed (exit $rc)" ;;
esac
exit $rc
