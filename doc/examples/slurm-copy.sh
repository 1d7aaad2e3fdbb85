#!/bin/bash
# doc/examples/slurm-copy.sh: stage a data set through rcp-master from a
# Slurm batch job, so that the copy runs in the service (queued, journaled,
# resumed after a restart) while the job step only waits for it.  The batch
# job ends COMPLETED when the copy succeeded and FAILED otherwise (partial,
# failed, canceled), so `--dependency=afterok` chains only on a good copy
# (slurm-pipeline.sh).  tests/e2e/slurm.sh runs this file.
#
#   sbatch --export=ALL,SRC=/scratch/$USER/run42,DST=/archive/$USER/run42 slurm-copy.sh
#
# scancel of the job cancels the copy: Slurm sends SIGTERM to rcpctl, which
# cancels what it submitted (rcpctl(1), --no-cancel-on-signal).  The
# warning before the time limit (--signal=B:USR1@120: to this shell only)
# makes rcpctl stop waiting and leaves the copy running in the master; the
# job then ends (exit 6) before Slurm kills it, and the log says how to
# follow the copy.  A partial or failed copy lists its failed entries in
# the log, each with its cause, from the job's ledger (rcpctl files).
#
#SBATCH --job-name=rcp-stage
#SBATCH --time=12:00:00
#SBATCH --ntasks=1
#SBATCH --cpus-per-task=1
#SBATCH --mem=256M
#SBATCH --signal=B:USR1@120
#SBATCH --open-mode=append
#SBATCH --output=rcp-stage-%j.log

set -u
: "${SRC:?set SRC}" "${DST:?set DST}"

# The key is the Slurm job id: when Slurm requeues this batch job (node
# failure, preemption, sbatch --requeue), the resubmit finds the copy
# already submitted and waits for it instead of starting it again.
key="slurm-${SLURM_JOB_ID:-manual}-$(basename "$DST")"

# A site-wide master (etc/rcp-master.socket) serves every user: the copy
# runs as this user, with this user's permissions.
export RCP_MASTER_SOCKET=${RCP_MASTER_SOCKET:-/run/rcp/master.sock}

# RCP_OPTS: more of rcp's options, split at blanks (no quoting), e.g. "--ops-throttle 50".
# rcpctl runs in the background so that this shell can take the warning
# signal (bash runs a trap only between commands, or in `wait`); its
# "job ID" line goes to the log and to a file, for the ledger below.
idf=$(mktemp) || exit 1
rcpctl submit --wait --progress --key "$key" --label "slurm-${SLURM_JOB_ID:-manual}" \
    -o -p ${RCP_OPTS:-} "$SRC" "$DST" > >(tee "$idf") &
pid=$!
sig=
trap 'sig=USR1; kill -USR1 $pid' USR1
trap 'sig=TERM; kill -TERM $pid' TERM
wait "$pid"
rc=$?
# A trapped signal ends `wait` early (status 128+n); wait again for rcpctl.
while [ -n "$sig" ] && [ "$rc" -gt 128 ]; do
	sig=
	wait "$pid"
	rc=$?
done
# tee may still be writing it after a copy of a second.
for _ in 1 2 3 4 5 6 7 8 9 10; do
	id=$(sed -n 's/^job \([0-9][0-9]*\)$/\1/p' "$idf" | head -n 1)
	[ -n "$id" ] && break
	sleep 0.1
done
rm -f "$idf"
# The first 100 failed entries of the job, with their causes.
failures() {
	[ -n "$id" ] || return 0
	echo "failed entries (the first 100 of 'rcpctl files --errors $id'):"
	rcpctl files --errors "$id" | head -n 100
}
case $rc in
0) echo "copy succeeded" ;;
4) echo "copy partial: some entries failed"; failures ;;
5) echo "copy canceled" ;;
6) echo "time limit near: the copy goes on in rcp-master (rcpctl list --label slurm-$SLURM_JOB_ID)" ;;
3) echo "rcp-master unreachable" ;;
*) echo "copy failed (exit $rc)"; failures ;;
esac
exit $rc
