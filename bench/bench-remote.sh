#!/usr/bin/env bash
# bench-remote.sh -- remote-copy benchmark: rcp against scp, rsync over ssh
# and tar piped through ssh, all through one real OpenSSH sshd on this
# machine (tests/e2e/sshd-lib.sh) listening on 127.0.0.1, .2 and .3, with
# the data on tmpfs (/dev/shm) so the disk plays no part.
#
# Usage: RCP_BUILDDIR=build sh bench/bench-remote.sh     (or: make bench-remote)
#
# Tools (each copies SRC to a fresh DST; "hosts" are loopback addresses):
#   rcp      rcp 127.0.0.2:SRC 127.0.0.3:DST -- remote to remote, the agents
#            on .2 and .3 talk QUIC, data flows source agent -> destination
#   rcp-l    rcp SRC 127.0.0.3:DST -- local to remote, the same kind of
#            transfer as the SSH tools: one SSH login, the local side is
#            served by an agent that rcp starts itself
#   rcp-ls   rcp --local-host 127.0.0.1 SRC 127.0.0.3:DST -- the same with
#            the local side served by an agent over SSH to 127.0.0.1 (as
#            upstream rcp does: two logins)
#   scp      scp -r SRC 127.0.0.3:DST
#   rsync    rsync -a -e ssh SRC/ 127.0.0.3:DST/
#   tar      tar -cf - -C SRC . | ssh 127.0.0.3 'mkdir DST && tar -xf - -C DST'
#   tar-gcm  the same with ssh -c aes128-gcm@openssh.com
# Every ssh, scp, rsync and rcp uses the sshd's client config ($SSH_CONFIG).
#
# Environment:
#   RCP_BUILDDIR     where rcp, rcpd, rcmp and filegen are (default: ./build
#                    of the source tree if it has them, else the current dir)
#   BENCH_REPS       repetitions per tool and dataset (default 3 for A, 5 for
#                    B and C)
#   BENCH_DATASETS   any of "A B C" (default all):
#                      A  one 2 GiB file
#                      B  20,000 x 4 KiB files in 200 directories
#                      C  2,000 files, 1 KiB-16 MiB log-uniform, 20 dirs x 100
#   BENCH_TOOLS      any of "rcp rcp-verify rcp-l rcp-ls scp rsync tar tar-gcm
#                    rcp-base rcp-l-base" (default all; the -base ones only
#                    with BENCH_RCP_BASE; rcp-verify: rcp --verify .2->.3)
#   BENCH_RCP_BASE   the build directory of another rcp (an older tree) whose
#                    rcp and rcpd run as rcp-base and rcp-l-base beside ours,
#                    in the same run: a before/after of a change
#   BENCH_SEED       filegen seed (default 42)
#   BENCH_OUT        markdown report (default $RCP_BUILDDIR/bench-results-remote.md)
#   BENCH_RCP_ARGS   extra arguments for both rcp modes (e.g. "--max-workers 8")
#   BENCH_TTFB_REPS  untimed time-to-first-byte runs per rcp mode and dataset
#                    (default 3; the other tools run once)
#   BENCH_SSH_USER   the account every tool logs in as (default root).  Any
#                    other name is made if missing (useradd -m: a fresh home
#                    from /etc/skel) and the destinations are made its own.
#                    Each tool's run includes the login's shell start-up,
#                    which runs that account's ~/.bashrc: root's on the
#                    development VM runs `pyenv init` (0.15-0.25 s a login),
#                    a fresh account's does next to nothing.
#
# Per dataset, first an untimed probe round: every tool copies once (rcp
# $BENCH_TTFB_REPS times) while a poller watches the destination tree, which
# gives the time to first byte (see ttfb_poll), and rcp also runs with
# --progress as a cross-check; the output of every tool is then checked with rcmp --content and an independent
# `find -printf` listing (any difference fails the run).  The probe round
# doubles as the warm-up (the first writes into memory the VM has not touched
# yet are much slower).  Then each repetition runs every tool once,
# round-robin, the starting tool rotated each repetition so no tool is always
# first; every run copies into a fresh destination, removed (and `sync` run)
# before the next.  Wall time comes from bash's $EPOCHREALTIME around the run
# and includes everything: SSH logins, agent start-up, QUIC handshake, the
# copy and the shutdown.  rcp runs with --summary, whose per-host lines give
# each agent's walltime, CPU time and peak RSS.  The report gives the median
# per tool and dataset, throughput, rcp's speed-up over the others and the
# targets.
#
# At exit (normal, error or signal) the running copy and everything under it
# is killed, any agent still running from this benchmark's private rcpd copy
# is killed, sshd and its sessions are stopped, and the data is removed.

# Re-exec with bash when started as `sh bench-remote.sh` (make uses $(SHELL)).
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -euo pipefail
export LC_ALL=C         # '.' as the decimal point in $EPOCHREALTIME and awk

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
srcdir=$(cd "$here/.." && pwd)
BENCH_NAME=bench-remote
SHM=/dev/shm
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

# ---------------------------------------------------------------- settings

if [ -z "${RCP_BUILDDIR:-}" ]; then
    if [ -x "$srcdir/build/rcp" ]; then RCP_BUILDDIR=$srcdir/build
    else RCP_BUILDDIR=.; fi
fi
RCP_BUILDDIR=$(cd "$RCP_BUILDDIR" && pwd)
export RCP_BUILDDIR
for b in rcp rcpd rcmp filegen; do
    [ -x "$RCP_BUILDDIR/$b" ] ||
        die "$RCP_BUILDDIR/$b not built (cd $RCP_BUILDDIR && make)"
done

DATASETS=${BENCH_DATASETS:-A B C}
TTFB_REPS=${BENCH_TTFB_REPS:-3}
BASE_DIR=
if [ -n "${BENCH_RCP_BASE:-}" ]; then
    BASE_DIR=$(cd "$BENCH_RCP_BASE" && pwd)
    [ -x "$BASE_DIR/rcp" ] && [ -x "$BASE_DIR/rcpd" ] ||
        die "$BASE_DIR has no rcp and rcpd"
fi
TOOLS=${BENCH_TOOLS:-rcp rcp-verify rcp-l rcp-ls scp rsync tar tar-gcm${BASE_DIR:+ rcp-base rcp-l-base}}
SEED=${BENCH_SEED:-42}
OUT=${BENCH_OUT:-$RCP_BUILDDIR/bench-results-remote.md}
read -r -a RCP_EXTRA <<< "${BENCH_RCP_ARGS:-}"

if [ -n "${BENCH_REPS:-}" ]; then
    case $BENCH_REPS in *[!0-9]*|0) die "BENCH_REPS must be a positive integer" ;; esac
fi
case $TTFB_REPS in ''|*[!0-9]*|0) die "BENCH_TTFB_REPS must be a positive integer" ;; esac
for d in $DATASETS; do
    case $d in A|B|C) ;; *) die "unknown dataset '$d' (A B C)" ;; esac
done
for t in $TOOLS; do
    case $t in
        rcp|rcp-verify|rcp-l|rcp-ls|scp|rsync|tar|tar-gcm) ;;
        rcp-base|rcp-l-base) [ -n "$BASE_DIR" ] || die "$t needs BENCH_RCP_BASE" ;;
        *) die "unknown tool '$t'" ;;
    esac
done
read -r -a TOOL_LIST <<< "$TOOLS"
reps_for() {
    if [ -n "${BENCH_REPS:-}" ]; then echo "$BENCH_REPS"
    elif [ "$1" = A ]; then echo 3
    else echo 5; fi
}

for c in ssh scp rsync tar ss pgrep ssh-keygen; do
    command -v "$c" >/dev/null || die "$c is not installed"
done
[ -x /usr/sbin/sshd ] || die "/usr/sbin/sshd is needed (openssh-server)"
if [ ! -w /dev/shm ] || [ "$(stat -f -c %T /dev/shm)" != tmpfs ]; then
    die "/dev/shm must be a writable tmpfs"
fi

# ---------------------------------------------------------------- sshd, cleanup

# lib.sh makes $T (on /dev/shm) and removes it at exit; sshd-lib.sh starts
# sshd under $T/sshd.  Both only set things up: no test runs.
# shellcheck source=/dev/null
. "$srcdir/tests/e2e/lib.sh"
# shellcheck source=/dev/null
. "$srcdir/tests/e2e/sshd-lib.sh"
set -euo pipefail       # lib.sh sets only -u
WORK=$T
LOG=$WORK/log
RUN_PID=                # the copy running now (a child of ours)

# descendants PID: PID's children, their children...
descendants() {
    local c
    for c in $(pgrep -P "$1" 2>/dev/null); do
        echo "$c"
        descendants "$c"
    done
}
# our_agents: the pids of agents started from our private rcpd copy.
our_agents() { pgrep -f "^$RCPD(-base)?( |$)" 2>/dev/null || true; }

cleanup() {
    local rc=$? pids
    trap - EXIT INT TERM
    set +e
    if [ -n "$RUN_PID" ]; then
        pids="$RUN_PID $(descendants "$RUN_PID")"
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null
        wait "$RUN_PID" 2>/dev/null
    fi
    [ -n "${POLL_PID:-}" ] && kill "$POLL_PID" 2>/dev/null
    sshd_stop
    pids=$(our_agents)
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill $pids 2>/dev/null; sleep 0.5
        pids=$(our_agents)
        # shellcheck disable=SC2086
        [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    fi
    T=$WORK             # lib.sh's t_cleanup kills its pids, removes $T
    t_cleanup
    rm -rf "$WORK"
    exit "$rc"
}

note "starting sshd on 127.0.0.1, 127.0.0.2 and 127.0.0.3"
sshd_setup
# Our own trap replaces sshd-lib's (which ran sshd_stop; t_cleanup).
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
chmod 755 "$WORK"
# Private copies of the binaries: a rebuild during the run cannot change
# them, and every agent of this run has $RCPD in its command line, so that
# cleanup finds stray ones without touching anyone else's (other benchmarks
# or tests may run the build's rcpd meanwhile).
mkdir -p "$WORK/bin"
for b in rcp rcpd rcmp filegen; do
    cp "$RCP_BUILDDIR/$b" "$WORK/bin/$b"
done
RCPD=$WORK/bin/rcpd
RCP=$WORK/bin/rcp
if [ -n "$BASE_DIR" ]; then
    cp "$BASE_DIR/rcp" "$WORK/bin/rcp-base"
    cp "$BASE_DIR/rcpd" "$WORK/bin/rcpd-base"
fi
RCMP=$WORK/bin/rcmp
FILEGEN=$WORK/bin/filegen
SSH_USER=${BENCH_SSH_USER:-root}
OUT_DIR=$WORK
if [ "$SSH_USER" != root ]; then
    bench_account "$SSH_USER"
    sed -i "s/^\( *\)User root\$/\1User $SSH_USER/" "$SSH_CONFIG"
    OUT_DIR=$WORK/out
    mkdir "$OUT_DIR" && chown "$SSH_USER" "$OUT_DIR"
fi
t0=$EPOCHREALTIME
ssh -F "$SSH_CONFIG" 127.0.0.3 true </dev/null ||
    die "cannot log in to 127.0.0.3 as $SSH_USER through the test sshd"
login_s=$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.3f", b - a }')
note "logging in as $SSH_USER: ssh 127.0.0.3 true takes ${login_s}s"
ssh -F "$SSH_CONFIG" 127.0.0.3 true </dev/null ||
    die "cannot log in to 127.0.0.3 through the test sshd"

# ---------------------------------------------------------------- helpers

tool_label() {
    case $1 in
        rcp) echo "rcp .2->.3 (remote->remote)" ;;
        rcp-verify) echo "rcp --verify .2->.3" ;;
        rcp-l) echo "rcp local->.3" ;;
        rcp-ls) echo "rcp local->.3, local agent over SSH" ;;
        rcp-base) echo "rcp (base) .2->.3" ;;
        rcp-l-base) echo "rcp (base) local->.3" ;;
        scp) echo "scp -r" ;;
        rsync) echo "rsync -a -e ssh" ;;
        tar) echo "tar | ssh tar" ;;
        tar-gcm) echo "tar | ssh -c aes128-gcm tar" ;;
    esac
}
is_rcp() { case $1 in rcp|rcp-verify|rcp-l|rcp-ls|rcp-base|rcp-l-base) return 0 ;; esac; return 1; }
SSH_TOOLS="scp rsync tar tar-gcm"

# tool_cmd TOOL SRC DST: sets CMD to the command line of one copy.
tool_cmd() {
    local tool=$1 src=$2 dst=$3 q
    q=$(printf '%q' "$dst")
    # shellcheck disable=SC2016  # the tar script is expanded by the inner bash
    case $tool in
        rcp) CMD=("$RCP" --ssh-config "$SSH_CONFIG" --rcpd-path "$RCPD" --summary
                  "${RCP_EXTRA[@]}" "127.0.0.2:$src" "127.0.0.3:$dst") ;;
        rcp-verify) CMD=("$RCP" --ssh-config "$SSH_CONFIG" --rcpd-path "$RCPD" --summary
                         --verify "${RCP_EXTRA[@]}" "127.0.0.2:$src" "127.0.0.3:$dst") ;;
        rcp-l) CMD=("$RCP" --ssh-config "$SSH_CONFIG" --rcpd-path "$RCPD" --summary
                    "${RCP_EXTRA[@]}" "$src" "127.0.0.3:$dst") ;;
        rcp-ls) CMD=("$RCP" --ssh-config "$SSH_CONFIG" --rcpd-path "$RCPD" --summary
                     --local-host 127.0.0.1 "${RCP_EXTRA[@]}" "$src" "127.0.0.3:$dst") ;;
        rcp-base) CMD=("$RCP-base" --ssh-config "$SSH_CONFIG" --rcpd-path "$RCPD-base"
                       --summary "${RCP_EXTRA[@]}" "127.0.0.2:$src" "127.0.0.3:$dst") ;;
        rcp-l-base) CMD=("$RCP-base" --ssh-config "$SSH_CONFIG" --rcpd-path "$RCPD-base"
                         --summary "${RCP_EXTRA[@]}" "$src" "127.0.0.3:$dst") ;;
        scp) CMD=(scp -q -r -F "$SSH_CONFIG" "$src" "127.0.0.3:$dst") ;;
        rsync) CMD=(rsync -a -e "ssh -F $(printf '%q' "$SSH_CONFIG")" "$src/" "127.0.0.3:$dst/") ;;
        tar) CMD=(bash -c 'set -o pipefail; tar -cf - -C "$1" . |
                  ssh -F "$2" 127.0.0.3 "mkdir $3 && tar -xf - -C $3"' tar "$src" "$SSH_CONFIG" "$q") ;;
        tar-gcm) CMD=(bash -c 'set -o pipefail; tar -cf - -C "$1" . |
                  ssh -F "$2" -c aes128-gcm@openssh.com 127.0.0.3 "mkdir $3 && tar -xf - -C $3"' \
                  tar "$src" "$SSH_CONFIG" "$q") ;;
    esac
}
cmd_text() {
    case $1 in
        rcp) echo "rcp --summary 127.0.0.2:SRC 127.0.0.3:DST" ;;
        rcp-verify) echo "rcp --summary --verify 127.0.0.2:SRC 127.0.0.3:DST" ;;
        rcp-l) echo "rcp --summary SRC 127.0.0.3:DST" ;;
        rcp-ls) echo "rcp --summary --local-host 127.0.0.1 SRC 127.0.0.3:DST" ;;
        rcp-base) echo "(base) rcp --summary 127.0.0.2:SRC 127.0.0.3:DST" ;;
        rcp-l-base) echo "(base) rcp --summary SRC 127.0.0.3:DST" ;;
        scp) echo "scp -q -r SRC 127.0.0.3:DST" ;;
        rsync) echo "rsync -a -e 'ssh -F CFG' SRC/ 127.0.0.3:DST/" ;;
        tar) echo "tar -cf - -C SRC . \\| ssh 127.0.0.3 'mkdir DST && tar -xf - -C DST'" ;;
        tar-gcm) echo "tar -cf - -C SRC . \\| ssh -c aes128-gcm@openssh.com 127.0.0.3 'mkdir DST && tar -xf - -C DST'" ;;
    esac
}

# wait_agents: waits (up to 5 s) until no agent of ours runs any more, so
# that a late one cannot steal CPU from the next run; notes stragglers.
STRAGGLERS=0
wait_agents() {
    local i
    for (( i = 0; i < 100; i++ )); do
        [ -z "$(our_agents)" ] && return 0
        sleep 0.05
    done
    STRAGGLERS=$(( STRAGGLERS + 1 ))
    note "agents still running 5 s after rcp exited: $(our_agents | tr '\n' ' ')"
}

# cpu_ticks PID: PID's CPU time plus that of the children it has reaped
# (utime + stime + cutime + cstime from /proc/PID/stat), in clock ticks.
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() {
    sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 + $14 + $15 }'
}
# settle: waits (up to 5 s) until sshd has reaped every session, so that
# their CPU time is in its counters and nothing of this run is left over.
settle() {
    local i
    for (( i = 0; i < 100; i++ )); do
        [ -z "$(pgrep -P "$SSHD_PID" 2>/dev/null)" ] && return 0
        sleep 0.05
    done
    note "sshd sessions still open 5 s after the copy ended"
}

# start_tool TOOL SRC DST [EXTRA...]: starts one copy in the background,
# output to $LOG; sets RUN_PID and RUN_T0.  Extra args go to rcp only.
start_tool() {
    local tool=$1 src=$2 dst=$3
    shift 3
    tool_cmd "$tool" "$src" "$dst"
    if [ $# -gt 0 ]; then CMD=("${CMD[0]}" "$@" "${CMD[@]:1}"); fi
    : > "$LOG"
    settle
    CPU0_LOCAL=$(cpu_ticks $$)
    CPU0_SSHD=$(cpu_ticks "$SSHD_PID")
    RUN_T0=$EPOCHREALTIME
    "${CMD[@]}" > "$LOG" 2>&1 < /dev/null &
    RUN_PID=$!
}

# finish_tool TOOL: waits for the copy; dies if it failed; sets RUN_SECS.
finish_tool() {
    local tool=$1 rc=0 t1 local_ticks
    wait "$RUN_PID" || rc=$?
    t1=$EPOCHREALTIME
    local_ticks=$(( $(cpu_ticks $$) - CPU0_LOCAL ))
    RUN_PID=
    if [ "$rc" -ne 0 ]; then
        note "FAILED ($rc): ${CMD[*]}"
        tail -n 20 "$LOG" >&2
        die "$(tool_label "$tool") failed"
    fi
    RUN_SECS=$(awk -v a="$RUN_T0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    if is_rcp "$tool"; then wait_agents; fi
    settle
    # CPU of everything the copy ran: our reaped children (the tool, the
    # ssh client, tar, rcp) and sshd's reaped sessions (sshd, tar, rsync,
    # the agents).  A few ms of this script's own helpers are in there too.
    RUN_CPU=$(awk -v t="$(( local_ticks + $(cpu_ticks "$SSHD_PID") - CPU0_SSHD ))" \
        -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
}

# to_mib N UNIT: a size as rcp prints it, in MiB.
to_mib() {
    awk -v n="$1" -v u="$2" 'BEGIN {
        f = -1
        if (u == "B") f = 1 / 1048576; else if (u == "KiB") f = 1 / 1024
        else if (u == "MiB") f = 1; else if (u == "GiB") f = 1024
        if (f < 0) print "nan"; else printf "%.1f", n * f }'
}

# rcp_summary TOOL DS: records the per-host lines of rcp's --summary in $LOG:
#   source host H: walltime Ws, cpu time Cs, peak rss N UNIT
declare -A AGENT_WALL AGENT_CPU AGENT_RSS MASTER_RSS
rcp_summary() {
    local tool=$1 ds=$2 side host wall cpu n unit line
    while IFS= read -r line; do
        if [[ $line =~ ^(source|destination)\ host\ ([^:]+):\ walltime\ ([0-9.]+)s,\ cpu\ time\ ([0-9.]+)s,\ peak\ rss\ ([0-9.]+)\ ([KMG]?i?B)$ ]]; then
            side=${BASH_REMATCH[1]}; host=${BASH_REMATCH[2]}
            wall=${BASH_REMATCH[3]}; cpu=${BASH_REMATCH[4]}
            n=${BASH_REMATCH[5]}; unit=${BASH_REMATCH[6]}
            AGENT_WALL[$ds,$tool,$side]="${AGENT_WALL[$ds,$tool,$side]:-} $wall"
            AGENT_CPU[$ds,$tool,$side]="${AGENT_CPU[$ds,$tool,$side]:-} $cpu"
            AGENT_RSS[$ds,$tool,$side]="${AGENT_RSS[$ds,$tool,$side]:-} $(to_mib "$n" "$unit")"
            AGENT_HOST[$tool,$side]=$host
        elif [[ $line =~ ^peak\ rss:\ ([0-9.]+)\ ([KMG]?i?B)$ ]]; then
            MASTER_RSS[$ds,$tool]="${MASTER_RSS[$ds,$tool]:-} $(to_mib "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}")"
        fi
    done < "$LOG"
    if [ -z "${AGENT_RSS[$ds,$tool,source]:-}" ] || [ -z "${AGENT_RSS[$ds,$tool,destination]:-}" ]; then
        note "no per-host summary lines from $(tool_label "$tool"):"
        tail -n 20 "$LOG" >&2
        die "rcp --summary printed no per-host lines"
    fi
}
declare -A AGENT_HOST

# has_data DST: true once any regular file under DST is not empty (one
# find, which stops at the first hit).  rsync's and rcp's temporary files
# are under DST too.  No dataset has sparse files, so a size means data
# was written (rcp truncates to the final size first only for sparse ones).
has_data() {
    [ -d "$1" ] || return 1
    [ -n "$(find "$1" -type f -size +0c -print -quit 2>/dev/null)" ]
}

# ttfb_poll DST T0 PID: polls DST every 5 ms until it holds data or PID is
# gone; prints the seconds from T0 to the first poll that saw data, or "-".
ttfb_poll() {
    local dst=$1 t0=$2 pid=$3 t
    while kill -0 "$pid" 2>/dev/null; do
        if has_data "$dst"; then
            t=$EPOCHREALTIME
            awk -v a="$t0" -v b="$t" 'BEGIN { printf "%.3f\n", b - a }'
            return 0
        fi
        sleep 0.005
    done
    echo -
}

# progress_first T0: from rcp's --progress text lines in $LOG, the seconds
# from T0 to the first line with bytes copied > 0 (its timestamp, ms), or "-".
progress_first() {
    local ts
    ts=$(grep -E '^[0-9T:.-]+Z elapsed ' "$LOG" | grep -v ' copied 0 B ' |
         head -n 1 | cut -d' ' -f1 || true)
    if [ -z "$ts" ]; then echo -; return 0; fi
    awk -v a="$1" -v b="$(date -u -d "$ts" +%s.%N)" 'BEGIN { printf "%.3f\n", b - a }'
}

# listing DIR: a sorted line per entry, independent of rcmp.
listing() {
    (cd "$1" && find . -mindepth 1 \( -type l -printf '%P|%y|%l\n' \) -o \
        \( -type d -printf '%P|%y\n' \) -o -printf '%P|%y|%s\n') | sort
}

# verify TOOL SRC DST: rcmp --content plus a find listing; dies on difference.
# Only sizes and contents: no tool here is asked to keep times.
verify() {
    local tool=$1 src=$2 dst=$3 rc=0
    "$RCMP" --content --metadata-compare "f:size d: l:" "$src" "$dst" \
        > "$WORK/rcmp.out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        note "rcmp found differences ($rc) after $(tool_label "$tool"):"
        head -n 20 "$WORK/rcmp.out" >&2
        die "VERIFICATION FAILED: $(tool_label "$tool") $src -> $dst"
    fi
    if ! cmp -s <(listing "$src") <(listing "$dst"); then
        note "listings differ after $(tool_label "$tool"):"
        diff <(listing "$src") <(listing "$dst") | head -n 20 >&2 || true
        die "VERIFICATION FAILED: $(tool_label "$tool") $src -> $dst"
    fi
    VERIFIED="$VERIFIED $DS:$tool"
}

# ---------------------------------------------------------------- datasets

ds_desc() {
    case $1 in
        A) echo "one 2 GiB file" ;;
        B) echo "20,000 x 4 KiB files in 200 dirs" ;;
        C) echo "2,000 files 1 KiB-16 MiB log-uniform (20 dirs x 100)" ;;
    esac
}
ds_unit() { case $1 in A|C) echo MB/s ;; *) echo files/s ;; esac; }
ds_estimate() {
    case $1 in
        A) echo 2147483648 ;;
        B) echo 209715200 ;;
        C) echo 3758096384 ;;
    esac
}
make_dataset() {
    case $1 in
        A) "$FILEGEN" -q --seed "$SEED" "$2" "" 1 2G ;;
        B) "$FILEGEN" -q --seed "$SEED" "$2" 200 100 4K ;;
        C) "$FILEGEN" -q --seed "$SEED" "$2" 20 100 1K-16M ;;
    esac
}

# ---------------------------------------------------------------- run

declare -A TIMES CPUS TTFB PTTFB DS_BYTES DS_FILES DS_ENTRIES DS_GEN DS_REPS
VERIFIED=""
started=$EPOCHREALTIME
host_info="$(uname -sr), $(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM"
rcp_version=$("$RCP" --version 2>/dev/null | head -n 1 || echo unknown)
cipher_default=$(ssh -F "$SSH_CONFIG" -G 127.0.0.3 </dev/null 2>/dev/null | awk '$1 == "ciphers" { split($2, c, ","); print c[1] }')

note "work dir $WORK; sshd port $SSHD_PORT; datasets: $DATASETS; tools: $TOOLS"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
note "load average: $load_start"

for DS in $DATASETS; do
    src=$WORK/src-$DS
    dst=$OUT_DIR/dst-$DS
    reps=$(reps_for "$DS")
    DS_REPS[$DS]=$reps
    need $(( $(ds_estimate "$DS") * 2 )) "dataset $DS (source + destination)"
    note "[$DS] generating: $(ds_desc "$DS")"
    g0=$EPOCHREALTIME
    make_dataset "$DS" "$src"
    sync
    DS_GEN[$DS]=$(awk -v a="$g0" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
    DS_BYTES[$DS]=$(find "$src" -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%.0f\n", s }')
    DS_FILES[$DS]=$(find "$src" -type f | wc -l)
    DS_ENTRIES[$DS]=$(find "$src" -mindepth 1 | wc -l)
    need "$(du -sB1 "$src" | awk '{ print $1 }')" "a destination for $DS"
    note "[$DS] $(gib "${DS_BYTES[$DS]}") in ${DS_FILES[$DS]} files, ${DS_ENTRIES[$DS]} entries (${DS_GEN[$DS]}s)"

    # Probe round, untimed: time to first byte ($TTFB_REPS runs for rcp,
    # one for the others); the output of each tool's first run is checked.
    line="[$DS] probe (first byte):"
    for tool in "${TOOL_LIST[@]}"; do
        runs=1
        if is_rcp "$tool"; then runs=$TTFB_REPS; fi
        line="$line $tool="
        for (( k = 0; k < runs; k++ )); do
            rm -rf "$dst"
            sync
            if is_rcp "$tool"; then
                start_tool "$tool" "$src" "$dst" --progress --progress-type text --progress-delay 20ms
            else
                start_tool "$tool" "$src" "$dst"
            fi
            ttfb_poll "$dst" "$RUN_T0" "$RUN_PID" > "$WORK/ttfb" &
            POLL_PID=$!
            finish_tool "$tool"
            wait "$POLL_PID" || true
            POLL_PID=
            v=$(cat "$WORK/ttfb")
            TTFB[$DS,$tool]="${TTFB[$DS,$tool]:-} $v"
            [ "$k" -gt 0 ] && line="$line/"
            if is_rcp "$tool"; then
                pv=$(progress_first "$RUN_T0")
                PTTFB[$DS,$tool]="${PTTFB[$DS,$tool]:-} $pv"
                line="$line${v}s(progress ${pv}s)"
            else
                line="$line${v}s"
            fi
            if [ "$k" -eq 0 ]; then verify "$tool" "$src" "$dst"; fi
        done
    done
    rm -rf "$dst"
    note "$line"

    for (( r = 0; r < reps; r++ )); do
        n=${#TOOL_LIST[@]}
        line="[$DS] rep $(( r + 1 ))/$reps:"
        for (( i = 0; i < n; i++ )); do
            tool=${TOOL_LIST[$(( (i + r) % n ))]}
            rm -rf "$dst"
            sync
            start_tool "$tool" "$src" "$dst"
            finish_tool "$tool"
            TIMES[$DS,$tool]="${TIMES[$DS,$tool]:-} $RUN_SECS"
            CPUS[$DS,$tool]="${CPUS[$DS,$tool]:-} $RUN_CPU"
            if is_rcp "$tool"; then rcp_summary "$tool" "$DS"; fi
            line="$line $tool=$(printf '%.3f' "$RUN_SECS")s"
        done
        rm -rf "$dst"
        note "$line"
    done
    rm -rf "$src" "$dst"
    sync
done
total=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

# fastest_ssh DS: the SSH-based tool with the lowest median, or nothing.
fastest_ssh() {
    local t best='' bm=''
    for t in $SSH_TOOLS; do
        has_tool "$t" || continue
        if [ -z "$best" ] || awk -v a="$(med "$1" "$t")" -v b="$bm" 'BEGIN { exit !(a < b) }'; then
            best=$t; bm=$(med "$1" "$t")
        fi
    done
    echo "$best"
}
TAB=$'\t'
# ttfb_of DS TOOL: median of the first-byte times (and [min-max] if more
# than one); "-" entries (the copy ended before a poll saw data) are counted.
ttfb_of() {
    local l=${TTFB[$1,$2]:-} nums miss
    nums=$(printf '%s' "$l" | tr ' ' '\n' | grep -E '^[0-9.]+$' | tr '\n' ' ' || true)
    miss=$(printf '%s' "$l" | tr ' ' '\n' | grep -c -x -- - || true)
    if [ -z "$nums" ]; then echo -; return 0; fi
    if [ "$(echo "$nums" | wc -w)" -gt 1 ]; then
        printf '%.3f [%.3f-%.3f]' "$(echo "$nums" | median)" "$(echo "$nums" | minof)" "$(echo "$nums" | maxof)"
    else
        printf '%.3f' "$(echo "$nums" | median)"
    fi
    if [ "$miss" -gt 0 ]; then printf ' (%s missed)' "$miss"; fi
}
pttfb_of() { printf '%s' "${PTTFB[$1,$2]:-}" | sed 's/^ *//; s/ /, /g'; }

# medmax LIST FORMAT: "median (max)" of a list of numbers, or "-".
medmax() {
    if [ -z "$1" ]; then echo -; return 0; fi
    # shellcheck disable=SC2059  # the format is ours
    printf "$2 ($2)" "$(printf '%s' "$1" | median)" "$(printf '%s' "$1" | maxof)"
}
throughput() {
    local ds=$1 secs=$2
    if [ "$(ds_unit "$ds")" = MB/s ]; then
        awk -v b="${DS_BYTES[$ds]}" -v s="$secs" 'BEGIN { printf "%.0f", b / 1e6 / s }'
    else
        awk -v f="${DS_FILES[$ds]}" -v s="$secs" 'BEGIN { printf "%.0f", f / s }'
    fi
}

# cpu_unit DS / cpu_per DS SECS: CPU time per GiB (A, C) or per 1000 files (B).
cpu_unit() { case $1 in A|C) echo "CPU s/GiB" ;; *) echo "CPU ms/1000 files" ;; esac; }
cpu_per() {
    case $1 in
        A|C) awk -v c="$2" -v b="${DS_BYTES[$1]}" 'BEGIN { printf "%.2f", c / (b / 1073741824) }' ;;
        *) awk -v c="$2" -v f="${DS_FILES[$1]}" 'BEGIN { printf "%.1f", c * 1000 / (f / 1000) }' ;;
    esac
}

report() {
    local ds tool unit m s f c1 c2 side base cpu
    echo "# rcp remote-copy benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); host: $host_info; load average at start: $load_start, at end: $load_end"
    echo "- rcp: $rcp_version${BENCH_RCP_ARGS:+ (extra args: $BENCH_RCP_ARGS)}; $(ssh -V 2>&1); $(rsync --version | head -n 1 | sed 's/  */ /g'); $(tar --version | head -n 1)"
    echo "- all hosts are this machine: one OpenSSH sshd (tests/e2e/sshd-lib.sh) on 127.0.0.1, .2 and .3; data on /dev/shm (tmpfs); ssh's default cipher here: $cipher_default"
    echo "- every tool logs in as $SSH_USER; one \`ssh 127.0.0.3 true\` (login plus the account's shell start-up) took ${login_s}s"
    echo "- rcp runs remote->remote (127.0.0.2 -> 127.0.0.3, agents talk QUIC) and local->remote, the same kind of transfer as the SSH tools, which all copy local -> 127.0.0.3: by default the local side is an agent rcp starts itself (one SSH login, as for the other tools); with --local-host 127.0.0.1 it is an agent over SSH to 127.0.0.1 (a second login, as upstream rcp does)"
    echo "- per dataset: one untimed probe round (time to first byte, output checked, warm-up), then the repetitions; tools interleaved round-robin (first tool rotated each rep); fresh destination each run, removed + sync between runs"
    echo "- wall time includes SSH logins, agent start-up and shutdown; median of the repetitions [min-max]; speed-up = median(other) / median(rcp), > 1 means rcp is faster"
    echo "- CPU s: median CPU time (user + system) of everything a run started, on both ends: this script's reaped children (the tool, ssh, tar, rcp) plus the sessions the private sshd reaped (sshd, remote tar/rsync, the agents), from /proc/PID/stat; the SSH logins cost about the same for every tool.  Other work on this machine does not count here, so CPU s compares tools fairly when the wall times are disturbed by load"
    echo "- total run time (generation, probes, copies, checks): ${total}s"
    echo
    echo "Commands (CFG: the sshd's client config, passed to every tool):"
    echo
    for tool in "${TOOL_LIST[@]}"; do
        echo "- $(md_label "$tool"): \`$(cmd_text "$tool" | sed 's/\\|/|/g')\`"
    done
    echo
    for ds in $DATASETS; do
        unit=$(ds_unit "$ds")
        f=$(fastest_ssh "$ds")
        echo "## $ds: $(ds_desc "$ds")"
        echo
        echo "$(gib "${DS_BYTES[$ds]}") (${DS_BYTES[$ds]} bytes) in ${DS_FILES[$ds]} files, ${DS_ENTRIES[$ds]} entries in all; generated in ${DS_GEN[$ds]}s; ${DS_REPS[$ds]} repetitions."
        echo
        {
            printf '%s\n' "tool${TAB}median s${TAB}[min-max] s${TAB}$unit${TAB}CPU s${TAB}$(cpu_unit "$ds")${TAB}first byte s${TAB}rcp .2->.3 speed-up${TAB}rcp local->.3 speed-up"
            for tool in "${TOOL_LIST[@]}"; do
                m=$(med "$ds" "$tool")
                c1=-; c2=-
                has_tool rcp && c1="$(speedup "$ds" rcp "$tool")x"
                has_tool rcp-l && c2="$(speedup "$ds" rcp-l "$tool")x"
                cpu=$(printf '%s' "${CPUS[$ds,$tool]}" | median)
                printf '%s\t%.3f\t[%.3f-%.3f]\t%s\t%.2f\t%s\t%s\t%s\t%s\n' "$(md_label "$tool")" "$m" \
                    "$(printf '%s' "${TIMES[$ds,$tool]}" | minof)" \
                    "$(printf '%s' "${TIMES[$ds,$tool]}" | maxof)" \
                    "$(throughput "$ds" "$m")" "$cpu" "$(cpu_per "$ds" "$cpu")" \
                    "$(ttfb_of "$ds" "$tool")" "$c1" "$c2"
            done
        } | md_table lrlrrrrrr
        echo
        [ -n "$f" ] && echo "Fastest SSH-based tool: $(md_label "$f")." && echo
    done

    echo "## rcp speed-up over the SSH-based tools"
    echo
    echo "median(other) / median(rcp); in brackets the same from the fastest run of each."
    echo
    {
        printf 'dataset\trcp mode'
        for base in $SSH_TOOLS; do has_tool "$base" && printf '\tvs %s' "$(md_label "$base")"; done
        printf '\tvs fastest SSH tool\n'
        for ds in $DATASETS; do
            f=$(fastest_ssh "$ds")
            for tool in rcp rcp-l rcp-ls; do
                has_tool "$tool" || continue
                printf '%s\t%s' "$ds" "$(md_label "$tool")"
                for base in $SSH_TOOLS; do
                    has_tool "$base" || continue
                    printf '\t%sx (%sx)' "$(speedup "$ds" "$tool" "$base")" "$(speedup_min "$ds" "$tool" "$base")"
                done
                if [ -n "$f" ]; then printf '\t%sx (%s)\n' "$(speedup "$ds" "$tool" "$f")" "$(md_label "$f")"
                else printf '\t-\n'; fi
            done
        done
    } | md_table llrrrrr
    echo

    echo "## Targets"
    echo
    {
        printf '%s\n' "target${TAB}rcp .2->.3 (remote->remote)${TAB}rcp local->.3"
        for ds in $DATASETS; do
            case $ds in
                A|C)
                    f=$(fastest_ssh "$ds")
                    [ -n "$f" ] || continue
                    c1=-; c2=-
                    has_tool rcp && { s=$(speedup "$ds" rcp "$f"); c1="${s}x $(yn ge "$s" 1.3)"; }
                    has_tool rcp-l && { s=$(speedup "$ds" rcp-l "$f"); c2="${s}x $(yn ge "$s" 1.3)"; }
                    printf '%s\n' "$ds: rcp >= 1.3x the fastest SSH tool ($(md_label "$f"))${TAB}$c1${TAB}$c2" ;;
                B)
                    has_tool rsync || continue
                    c1=-; c2=-
                    has_tool rcp && { s=$(speedup B rcp rsync); c1="${s}x $(yn ge "$s" 2)"; }
                    has_tool rcp-l && { s=$(speedup B rcp-l rsync); c2="${s}x $(yn ge "$s" 2)"; }
                    printf '%s\n' "B: rcp >= 2x rsync -a -e ssh${TAB}$c1${TAB}$c2" ;;
            esac
        done
    } | md_table lll
    echo

    if has_tool rcp || has_tool rcp-l || has_tool rcp-ls; then
        echo "## rcp: time to first byte and per-host figures"
        echo
        echo "First byte: seconds from starting the command to the first poll (every ~5-10 ms: \`find DST -type f -size +0c -print -quit\`) that found a non-empty regular file under the destination; median [min-max] of $TTFB_REPS untimed runs per rcp mode (the other tools: one run), in the probe round before the timed runs, because the poller competes for the CPUs.  It includes the SSH logins and, for rcp, starting both agents and their QUIC handshakes.  The progress column is the same from rcp's own \`--progress --progress-type text --progress-delay 20ms\` lines, per run (first line with bytes copied > 0; \`-\` if no line showed bytes before the copy ended): the destination agent sends its counters only twice a second, so it is late by up to 0.5 s and is a cross-check only."
        echo
        echo "Per host, from \`--summary\`'s per-host lines over the timed runs: median (max).  The agent's walltime is its copy, without the SSH login before it."
        echo
        {
            printf '%s\n' "dataset${TAB}rcp mode${TAB}first byte s${TAB}first progress s${TAB}side${TAB}host${TAB}peak RSS MiB${TAB}CPU s${TAB}agent walltime s${TAB}rcp (master) peak RSS MiB"
            for ds in $DATASETS; do
                for tool in rcp rcp-l rcp-ls; do
                    has_tool "$tool" || continue
                    for side in source destination; do
                        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$ds" "$(md_label "$tool")" \
                            "$(ttfb_of "$ds" "$tool")" "$(pttfb_of "$ds" "$tool")" "$side" \
                            "${AGENT_HOST[$tool,$side]:--}" \
                            "$(medmax "${AGENT_RSS[$ds,$tool,$side]:-}" "%.1f")" \
                            "$(medmax "${AGENT_CPU[$ds,$tool,$side]:-}" "%.2f")" \
                            "$(medmax "${AGENT_WALL[$ds,$tool,$side]:-}" "%.3f")" \
                            "$(medmax "${MASTER_RSS[$ds,$tool]:-}" "%.1f")"
                    done
                done
            done
        } | md_table llrrllrrrr
        echo
    fi

    raw_times_table
    echo
    echo "Checked once per dataset and tool (probe round) with \`rcmp --content --metadata-compare 'f:size d: l:'\` and a \`find -printf\` listing:${VERIFIED:- nothing}"
    [ "$STRAGGLERS" -eq 0 ] || echo "Warning: $STRAGGLERS time(s) an agent still ran 5 s after rcp had exited."
}

report > "$WORK/report.md"
mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
cat "$WORK/report.md"
note "report written to $OUT (total ${total}s)"
