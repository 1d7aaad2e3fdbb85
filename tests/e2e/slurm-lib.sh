# slurm-lib.sh: a one-node Slurm of the test's own (sourced after lib.sh):
# munged, slurmctld and slurmd from Debian's packages, every file of theirs
# (config, munge key and socket, state, spool, logs, pid files) under
# $T/slurm, their ports picked free on 127.0.0.1.  Plugins that need no
# cgroup set-up (proctrack/linuxproc, task/none); no slurmdbd: job
# completions go to a jobcomp/filetxt file, $SL_JOBCOMP.  slurm_stop
# (called by slurm_start's trap) kills the three daemons by pid and waits
# for each; the test's own EXIT trap must call it if it sets one.
SL=$T/slurm
SL_JOBCOMP=$SL/jobcomp.txt
SL_PIDS=()
SL_EXTRA=${SL_EXTRA:-}	# more slurm.conf lines
# Set before slurm_start, SL_NODES ("NAME=ADDR ...", e.g. "n1=127.0.0.2
# n2=127.0.0.3") makes a Slurm of several nodes on this machine, a slurmd
# each on its own address and port, instead of the one node "localhost".
SL_NODES=${SL_NODES:-}
export SLURM_CONF=$SL/slurm.conf

# slurm_missing: prints what of Slurm and munge is not installed.
slurm_missing() {
	local b
	for b in munged mungekey slurmctld slurmd sbatch scontrol squeue scancel; do
		command -v "$b" >/dev/null 2>&1 || [ -x "/usr/sbin/$b" ] || echo "$b"
	done
}

# slurm_require: the test needs root (slurmd runs jobs as their users:
# else exit 77, a skip) and Slurm and munge installed (else exit 1: a fail,
# not a skip; a test that passes because it skips proves nothing).
slurm_require() {
	local missing
	if [ "$(id -u)" -ne 0 ]; then
		echo "SKIP: slurmd runs jobs as their users: needs root"
		exit 77
	fi
	missing=$(slurm_missing)
	if [ -n "$missing" ]; then
		echo "not installed: $missing (build-aux/dev installs them)" >&2
		exit 1
	fi
}

# A TCP port free on 127.0.0.1 now (the kernel's choice).
sl_free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

sl_config() {
	local cport dport cpus
	cport=$(sl_free_port) dport=$(sl_free_port)
	while [ "$dport" = "$cport" ]; do dport=$(sl_free_port); done
	cpus=$(nproc)
	local nodes= names= spool=$SL/spool pidf=$SL/slurmd.pid logf=$SL/slurmd.log n
	if [ -n "$SL_NODES" ]; then
		spool=$SL/spool-%n pidf=$SL/slurmd-%n.pid logf=$SL/slurmd-%n.log
		for n in $SL_NODES; do
			nodes+="NodeName=${n%%=*} NodeAddr=${n#*=} NodeHostname=${n%%=*} Port=$(sl_free_port) CPUs=$cpus RealMemory=2048 State=UNKNOWN"$'\n'
			names+=${names:+,}${n%%=*}
		done
	else
		nodes="NodeName=localhost NodeAddr=127.0.0.1 NodeHostname=localhost CPUs=$cpus RealMemory=2048 State=UNKNOWN"
		names=localhost
	fi
	cat >"$SLURM_CONF" <<EOF
ClusterName=rcptest
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$cport
SlurmdPort=$dport
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$SL/munge.sock
CredType=cred/munge
StateSaveLocation=$SL/state
SlurmdSpoolDir=$spool
SlurmctldPidFile=$SL/slurmctld.pid
SlurmdPidFile=$pidf
SlurmctldLogFile=$SL/slurmctld.log
SlurmdLogFile=$logf
SlurmctldDebug=info
SlurmdDebug=info
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SwitchType=switch/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$SL_JOBCOMP
SchedulerType=sched/builtin
SchedulerParameters=sched_interval=1
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MinJobAge=600
KillWait=10
InactiveLimit=0
SlurmctldTimeout=30
SlurmdTimeout=30
MessageTimeout=10
PlugStackConfig=$SL/plugstack.conf
${SL_EXTRA:-}
$nodes
PartitionName=debug Nodes=$names Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:8
EOF
	: >"$SL/plugstack.conf"
}

# sl_daemon NAME CMD...: starts a foreground daemon, logging to $SL/NAME.out.
sl_daemon() {
	local name=$1; shift
	"$@" >>"$SL/$name.out" 2>&1 &
	SL_PIDS+=("$!")
	t_track "$!"
}

# slurm_start: the three daemons; returns once the node takes jobs.
slurm_start() {
	local i n want=1
	mkdir -p "$SL/state" "$SL/spool"
	for n in $SL_NODES; do mkdir -p "$SL/spool-${n%%=*}"; done
	chmod 755 "$SL"	# a job of another user runs its script from the spool
	sl_config
	mungekey -c -k "$SL/munge.key" 2>/dev/null ||
	    dd if=/dev/urandom of="$SL/munge.key" bs=1 count=1024 2>/dev/null
	chmod 400 "$SL/munge.key"
	sl_daemon munged munged -F -f --socket="$SL/munge.sock" \
	    --key-file="$SL/munge.key" --pid-file="$SL/munged.pid" \
	    --log-file="$SL/munged.log" --seed-file="$SL/munged.seed"
	for i in $(seq 1 100); do
		[ -S "$SL/munge.sock" ] && break
		sleep 0.05
	done
	sl_daemon slurmctld slurmctld -D -i -f "$SLURM_CONF"
	if [ -n "$SL_NODES" ]; then
		want=0
		for n in $SL_NODES; do
			sl_daemon "slurmd-${n%%=*}" slurmd -D -N "${n%%=*}" -f "$SLURM_CONF"
			want=$((want + 1))
		done
	else
		sl_daemon slurmd slurmd -D -N localhost -f "$SLURM_CONF"
	fi
	for i in $(seq 1 300); do
		[ "$(sinfo -h -N -o '%T' 2>/dev/null | grep -c '^idle')" = "$want" ] && return 0
		sleep 0.1
	done
	echo "  slurm did not come up:" >&2
	sinfo -N 2>&1 | sed 's/^/  | /' >&2
	tail -n 15 "$SL"/*.log "$SL"/*.out 2>/dev/null | sed 's/^/  | /' >&2
	return 1
}

# slurm_stop: kills the daemons (slurmd, slurmctld, munged) by pid, waits.
slurm_stop() {
	local i p
	for ((i = ${#SL_PIDS[@]} - 1; i >= 0; i--)); do
		p=${SL_PIDS[i]}
		kill -TERM "$p" 2>/dev/null || continue
		for _ in $(seq 1 100); do
			kill -0 "$p" 2>/dev/null || break
			sleep 0.05
		done
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	SL_PIDS=()
}

# sl_daemons_left: pids of slurmstepd/slurmd/slurmctld/munged whose files
# are ours (their command line names $SL), to check none is left.
sl_daemons_left() {
	pgrep -f -- "$SL" 2>/dev/null | grep -vx "$$" || true
}

# job_state JOBID: the job's state as slurmctld has it (COMPLETED, FAILED,
# PENDING, CANCELLED...).
job_state() { scontrol -o show job "$1" 2>/dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
# job_reason JOBID: why a pending job waits (Dependency, DependencyNeverSatisfied...).
job_reason() { scontrol -o show job "$1" 2>/dev/null | grep -o ' Reason=[^ ]*' | cut -d= -f2; }
# job_exit JOBID: the batch script's exit code and signal, "RC:SIG".
job_exit() { scontrol -o show job "$1" 2>/dev/null | grep -o ' ExitCode=[^ ]*' | cut -d= -f2; }

# wait_job_state JOBID SECONDS STATE...: waits until the job is in one of
# the STATEs; a hang guard, not a time claim.
wait_job_state() {
	local id=$1 n=$2 i s; shift 2
	for ((i = 0; i < n * 10; i++)); do
		s=$(job_state "$id")
		for want in "$@"; do [ "$s" = "$want" ] && return 0; done
		sleep 0.1
	done
	echo "  slurm job $id is '$s', not $*" >&2
	return 1
}

# sb ARGS...: sbatch --parsable, the job id on stdout.
sb() { sbatch --parsable "$@" | cut -d';' -f1; }

# sl_agents_setup: for tests of rcp --launcher srun.  RCPD, an rcpd by a
# path of the test's own, so that the processes it looks for (and kills)
# are its own, never those of a test running beside it; $T/nossh/ssh, an
# ssh that always fails (nothing may log in anywhere).
sl_agents_setup() {
	mkdir -p "$T/bin" "$T/nossh"
	ln -s "$RCP_BUILDDIR/rcpd" "$T/bin/rcpd"
	RCPD=$T/bin/rcpd
	printf '#!/bin/sh\necho "ssh must not run" >&2\nexit 255\n' >"$T/nossh/ssh"
	chmod 755 "$T/nossh/ssh"
}
# The nodes a job of sbjob takes: a test of more sets it after this.
SL_NODES_N=1

# ours_gone: no rcpd of ours and no srun of it within 30 s (a step killed
# with its srun ends a moment after rcp does; a hang guard, not a claim).
ours_gone() {
	local i
	for i in $(seq 300); do
		pgrep -f -- "$RCPD" >/dev/null || return 0
		sleep 0.1
	done
	echo "  left behind:" >&2
	pgrep -af -- "$RCPD" | sed 's/^/  | /' >&2
	return 1
}

# sbjob NAME: the script on stdin as $T/NAME.sh, run by sbatch --wait on
# SL_NODES_N nodes, a task each (its output in $T/NAME.log, the job id last
# in $T/out); 180 s at most, a hang guard.
sbjob() {
	{ echo '#!/bin/bash'; cat; } >"$T/$1.sh"
	chmod 755 "$T/$1.sh"
	t_run 0 "$T/out" timeout -k 5 180 sbatch --wait --parsable \
	    -N"$SL_NODES_N" -n"$SL_NODES_N" -o "$T/$1.log" "$T/$1.sh"
}
