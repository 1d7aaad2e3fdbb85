#!/usr/bin/env bash
# bench-local.sh -- local-copy benchmark: rcp against cp -a, rsync -aAX and
# tar|tar, all copying on tmpfs (/dev/shm) so the disk plays no part.
#
# Usage: RCP_BUILDDIR=build sh bench/bench-local.sh      (or: make bench)
#
# Environment:
#   RCP_BUILDDIR     where rcp, rcmp and filegen are (default: ./build of the
#                    source tree if it has them, else the current directory)
#   BENCH_REPS       repetitions per tool and dataset (default 5)
#   BENCH_DATASETS   any of "A B C D" (default all):
#                      A  one 2 GiB file
#                      B  20,000 x 4 KiB files in 200 directories
#                      C  2,000 files, 1 KiB-16 MiB log-uniform, 20 dirs x 100
#                      D  a copy of a real tree ($BENCH_D_SOURCE, /usr/share)
#                         with ACLs and xattrs: a user xattr and an ACL on
#                         every 8th file, a default ACL on every directory
#                         (as root; BENCH_D_XMETA=0 copies the tree bare)
#   BENCH_TOOLS      any of "cp rsync tar rcp rcp-p rcp-verify rcp-base
#                    rcp-p-base rcp-verify-base" (rcp-verify: rcp --verify)
#                    (default all; the -base ones only with BENCH_RCP_BASE)
#   BENCH_RCP_BASE   the build directory of another rcp (an older tree) whose
#                    rcp runs as rcp-base, rcp-p-base and rcp-verify-base
#                    beside ours, in the same run: a before/after of a
#                    change
#   BENCH_SEED       filegen seed (default 42)
#   BENCH_D_SOURCE   the real tree copied for D (default /usr/share)
#   BENCH_SHM        where the data goes (default /dev/shm); must be tmpfs
#                    unless BENCH_ALLOW_NON_TMPFS=1
#   BENCH_OUT        markdown report (default $RCP_BUILDDIR/bench-results-local.md)
#   BENCH_RCP_ARGS   extra arguments for both rcp runs (e.g. "--max-workers 4")
#   BENCH_WARMUP     untimed cp -a copies per dataset before timing (default 1)
#
# Each repetition runs every tool once on every dataset, round-robin, with the
# starting tool rotated each repetition so no tool is always first.  Every run
# copies into a fresh destination, which is removed (and `sync` run) before the
# next.  Wall time comes from bash's $EPOCHREALTIME (microseconds) around the
# run; peak RSS from GNU time's %M.  The report gives the median per tool and
# dataset, throughput, rcp's speed-up over the others and the targets.
# rcp's output is checked once per dataset and mode with rcmp --content and an
# independent `find -printf` listing; any difference fails the run.

# Re-exec with bash when started as `sh bench-local.sh` (make uses $(SHELL)).
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -euo pipefail
export LC_ALL=C         # '.' as the decimal point in $EPOCHREALTIME and awk

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=bench-local
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

# ---------------------------------------------------------------- settings

if [ -z "${RCP_BUILDDIR:-}" ]; then
    if [ -x "$here/../build/rcp" ]; then RCP_BUILDDIR=$here/../build
    else RCP_BUILDDIR=.; fi
fi
RCP_BUILDDIR=$(cd "$RCP_BUILDDIR" && pwd)
RCP=$RCP_BUILDDIR/rcp
RCMP=$RCP_BUILDDIR/rcmp
FILEGEN=$RCP_BUILDDIR/filegen
for b in "$RCP" "$RCMP" "$FILEGEN"; do
    [ -x "$b" ] || die "$b not built (cd $RCP_BUILDDIR && make rcp rcmp filegen)"
done

REPS=${BENCH_REPS:-5}
WARMUP=${BENCH_WARMUP:-1}
DATASETS=${BENCH_DATASETS:-A B C D}
RCP_BASE=
if [ -n "${BENCH_RCP_BASE:-}" ]; then
    RCP_BASE=$(cd "$BENCH_RCP_BASE" && pwd)/rcp
    [ -x "$RCP_BASE" ] || die "$RCP_BASE not built"
fi
TOOLS=${BENCH_TOOLS:-cp rsync tar rcp rcp-p rcp-verify${RCP_BASE:+ rcp-base rcp-p-base}}
SEED=${BENCH_SEED:-42}
D_SOURCE=${BENCH_D_SOURCE:-/usr/share}
SHM=${BENCH_SHM:-/dev/shm}
OUT=${BENCH_OUT:-$RCP_BUILDDIR/bench-results-local.md}
read -r -a RCP_EXTRA <<< "${BENCH_RCP_ARGS:-}"

case $REPS in ''|*[!0-9]*|0) die "BENCH_REPS must be a positive integer" ;; esac
case $WARMUP in ''|*[!0-9]*) die "BENCH_WARMUP must be a number" ;; esac
for d in $DATASETS; do
    case $d in A|B|C|D) ;; *) die "unknown dataset '$d' (A B C D)" ;; esac
done
for t in $TOOLS; do
    case $t in
        cp|rsync|tar|rcp|rcp-p|rcp-verify) ;;
        rcp-base|rcp-p-base|rcp-verify-base) [ -n "$RCP_BASE" ] || die "$t needs BENCH_RCP_BASE" ;;
        *) die "unknown tool '$t'" ;;
    esac
done
read -r -a TOOL_LIST <<< "$TOOLS"

command -v rsync >/dev/null || die "rsync is not installed"
command -v tar >/dev/null || die "tar is not installed"
GTIME=/usr/bin/time
if ! "$GTIME" -f %M true >/dev/null 2>&1; then
    note "GNU time missing; installing it (apt-get install time)"
    { apt-get install -y time >/dev/null 2>&1 || { apt-get update >/dev/null 2>&1 &&
      apt-get install -y time >/dev/null 2>&1; }; } || die "cannot install GNU time"
    "$GTIME" -f %M true >/dev/null 2>&1 || die "$GTIME does not work"
fi

[ -d "$SHM" ] || die "$SHM does not exist"
if [ "$(stat -f -c %T "$SHM")" != tmpfs ] && [ "${BENCH_ALLOW_NON_TMPFS:-0}" != 1 ]; then
    die "$SHM is not tmpfs (set BENCH_ALLOW_NON_TMPFS=1 to go on anyway)"
fi

WORK=$(mktemp -d "$SHM/rcp-bench.XXXXXX")
LOG=$WORK/log
cleanup() {
    local rc=$?
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------- helpers

tool_label() {
    case $1 in
        cp) echo "cp -a" ;;
        rsync) echo "rsync -aAX" ;;
        tar) echo "tar | tar" ;;
        rcp) echo "rcp" ;;
        rcp-p) echo "rcp -p" ;;
        rcp-verify) echo "rcp --verify" ;;
        rcp-base) echo "rcp (base)" ;;
        rcp-p-base) echo "rcp -p (base)" ;;
        rcp-verify-base) echo "rcp --verify (base)" ;;
    esac
}

# run_tool TOOL SRC DST: one timed copy; sets RUN_SECS and RUN_RSS_KIB.
run_tool() {
    local tool=$1 src=$2 dst=$3 t0 t1 rc=0 rssf=$WORK/rss
    local -a cmd
    # shellcheck disable=SC2016  # the tar script is expanded by the inner bash
    case $tool in
        cp) cmd=(cp -a "$src" "$dst") ;;
        rsync) cmd=(rsync -aAX "$src/" "$dst/") ;;
        tar) cmd=(bash -c 'set -o pipefail; mkdir "$2" &&
                  tar -C "$1" -cf - . | tar -C "$2" -xf -' tar "$src" "$dst") ;;
        rcp) cmd=("$RCP" "${RCP_EXTRA[@]}" "$src" "$dst") ;;
        rcp-p) cmd=("$RCP" -p "${RCP_EXTRA[@]}" "$src" "$dst") ;;
        rcp-verify) cmd=("$RCP" --verify "${RCP_EXTRA[@]}" "$src" "$dst") ;;
        rcp-base) cmd=("$RCP_BASE" "${RCP_EXTRA[@]}" "$src" "$dst") ;;
        rcp-p-base) cmd=("$RCP_BASE" -p "${RCP_EXTRA[@]}" "$src" "$dst") ;;
        rcp-verify-base) cmd=("$RCP_BASE" --verify "${RCP_EXTRA[@]}" "$src" "$dst") ;;
    esac
    : > "$LOG"
    t0=$EPOCHREALTIME
    "$GTIME" -f %M -o "$rssf" "${cmd[@]}" > "$LOG" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    if [ "$rc" -ne 0 ]; then
        note "FAILED ($rc): ${cmd[*]}"
        tail -n 20 "$LOG" >&2
        die "$(tool_label "$tool") failed"
    fi
    RUN_SECS=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')
    RUN_RSS_KIB=$(tail -n 1 "$rssf")
}

# listing DIR [meta]: a sorted line per entry, independent of rcmp.
listing() {
    if [ "${2:-}" = meta ]; then
        # owner, group, mode, size and mtime (ns) of everything but symlinks'
        # own times (cp -a keeps them; not every tool does).
        (cd "$1" && find . -mindepth 1 \( -type l -printf '%P|%y|%U|%G|%l\n' \) -o \
            -printf '%P|%y|%U|%G|%m|%s|%T@\n') | sort
    else
        (cd "$1" && find . -mindepth 1 \( -type l -printf '%P|%y|%l\n' \) -o \
            \( -type d -printf '%P|%y\n' \) -o -printf '%P|%y|%s\n') | sort
    fi
}

# verify TOOL SRC DST: rcmp --content plus a find listing; dies on difference.
verify() {
    local tool=$1 src=$2 dst=$3 spec mode=plain rc=0
    if [ "$tool" = rcp-p ]; then
        spec="f:uid,gid,mode,size,mtime d:uid,gid,mode,mtime l:uid,gid"
        mode=meta
    else
        spec="f:size d: l:"
    fi
    "$RCMP" --content --metadata-compare "$spec" "$src" "$dst" \
        > "$WORK/rcmp.out" 2>&1 || rc=$?
    if [ "$rc" -ne 0 ]; then
        note "rcmp found differences ($rc) after $(tool_label "$tool"):"
        head -n 20 "$WORK/rcmp.out" >&2
        die "VERIFICATION FAILED: $(tool_label "$tool") $src -> $dst"
    fi
    if ! cmp -s <(listing "$src" $mode) <(listing "$dst" $mode); then
        note "listings differ after $(tool_label "$tool"):"
        diff <(listing "$src" $mode) <(listing "$dst" $mode) | head -n 20 >&2 || true
        die "VERIFICATION FAILED: $(tool_label "$tool") $src -> $dst"
    fi
    if [ "$tool" = rcp-p ] && ! cmp -s <(xdump "$src") <(xdump "$dst"); then
        note "ACLs or xattrs differ after $(tool_label "$tool"):"
        diff <(xdump "$src") <(xdump "$dst") | head -n 20 >&2 || true
        die "VERIFICATION FAILED: $(tool_label "$tool") $src -> $dst"
    fi
    VERIFIED="$VERIFIED $DS:$(tool_label "$tool" | tr -d ' ')"
}

# ---------------------------------------------------------------- datasets

ds_desc() {
    case $1 in
        A) echo "one 2 GiB file" ;;
        B) echo "20,000 x 4 KiB files in 200 dirs" ;;
        C) echo "2,000 files 1 KiB-16 MiB log-uniform (20 dirs x 100)" ;;
        D) echo "copy of $D_SOURCE" ;;
    esac
}
ds_unit() { case $1 in A|C) echo MB/s ;; *) echo files/s ;; esac; }
# Rough source size, to check room before generating.
ds_estimate() {
    case $1 in
        A) echo 2147483648 ;;
        B) echo 209715200 ;;
        C) echo 3758096384 ;;
        D) du -sb "$D_SOURCE" 2>/dev/null | awk '{ print $1 }' ;;
    esac
}

# decorate DIR: ACLs and xattrs for -p to carry (dataset D).
decorate() {
    (cd "$1" && find . -type f -print0 | awk 'BEGIN { RS = ORS = "\0" } NR % 8 == 0' |
        tee >(xargs -0 setfacl -m u:1:r) | xargs -0 setfattr -n user.bench -v rcp) &&
    find "$1" -type d -print0 | xargs -0 setfacl -m d:u:1:rx ||
        die "cannot put ACLs and xattrs on dataset D"
}

# xdump DIR: the ACLs and xattrs of every entry, paths relative.
xdump() {
    (cd "$1" && find . -print0 | LC_ALL=C sort -z | xargs -0 getfattr -d -m - -h -e hex 2>&1)
}

make_dataset() {
    local ds=$1 src=$2
    case $ds in
        A) "$FILEGEN" -q --seed "$SEED" "$src" "" 1 2G ;;
        B) "$FILEGEN" -q --seed "$SEED" "$src" 200 100 4K ;;
        C) "$FILEGEN" -q --seed "$SEED" "$src" 20 100 1K-16M ;;
        D) [ -d "$D_SOURCE" ] || die "$D_SOURCE does not exist"
           cp -a "$D_SOURCE" "$src"
           [ "${BENCH_D_XMETA:-1}" = 1 ] && [ "$(id -u)" = 0 ] && decorate "$src" ;;
    esac
}

# ---------------------------------------------------------------- run

declare -A TIMES RSS DS_BYTES DS_FILES DS_ENTRIES DS_GEN
VERIFIED=""
started=$EPOCHREALTIME
host_info="$(uname -sr), $(nproc) CPUs, $(free -g | awk '/^Mem:/ { print $2 }') GiB RAM"
rcp_version=$("$RCP" --version 2>/dev/null | head -n 1 || echo unknown)

note "work dir $WORK; datasets: $DATASETS; tools: $TOOLS; reps: $REPS"
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
note "load average: $load_start"

for DS in $DATASETS; do
    src=$WORK/src-$DS
    est=$(ds_estimate "$DS")
    need $(( est * 2 )) "dataset $DS (source + destination)"
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
    # Untimed warm-up copies: the first writes into memory the VM has not
    # touched yet are far slower (8 s instead of 2 s for C), which would
    # otherwise land on whichever tool runs first.
    for (( w = 0; w < WARMUP; w++ )); do
        rm -rf "$WORK/dst-$DS"
        cp -a "$src" "$WORK/dst-$DS"
    done
    rm -rf "$WORK/dst-$DS"

    for (( r = 0; r < REPS; r++ )); do
        n=${#TOOL_LIST[@]}
        line="[$DS] rep $(( r + 1 ))/$REPS:"
        for (( i = 0; i < n; i++ )); do
            tool=${TOOL_LIST[$(( (i + r) % n ))]}
            dst=$WORK/dst-$DS
            rm -rf "$dst"
            sync
            run_tool "$tool" "$src" "$dst"
            TIMES[$DS,$tool]="${TIMES[$DS,$tool]:-} $RUN_SECS"
            RSS[$DS,$tool]="${RSS[$DS,$tool]:-} $RUN_RSS_KIB"
            line="$line $tool=$(printf '%.3f' "$RUN_SECS")s"
            if [ "$r" -eq 0 ] && { [ "$tool" = rcp ] || [ "$tool" = rcp-p ]; }; then
                verify "$tool" "$src" "$dst"
            fi
            rm -rf "$dst"
        done
        note "$line"
    done
    rm -rf "$src"
    sync
done
total=$(awk -v a="$started" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.0f", b - a }')
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---------------------------------------------------------------- report

gt1() { awk -v a="$1" 'BEGIN { exit !(a + 0 > 1) }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
T=$'\t'

report() {
    local ds tool unit m tp rssmax rssmed c1 c2 v s
    echo "# rcp local-copy benchmark"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M:%S UTC'); host: $host_info; load average at start: $load_start, at end: $load_end"
    echo "- rcp: $rcp_version${BENCH_RCP_ARGS:+ (extra args: $BENCH_RCP_ARGS)}; $(cp --version | head -n 1); $(rsync --version | head -n 1 | sed 's/  */ /g'); $(tar --version | head -n 1)"
    echo "- data on $SHM ($(stat -f -c %T "$SHM")); $REPS repetitions; tools interleaved round-robin (first tool rotated each rep); $WARMUP untimed warm-up copy per dataset; fresh destination each run, removed + sync between runs"
    echo "- commands: \`cp -a SRC DST\`, \`rsync -aAX SRC/ DST/\`, \`mkdir DST; tar -C SRC -cf - . | tar -C DST -xf -\`, \`rcp SRC DST\`, \`rcp -p SRC DST\`"
    echo "- wall time, median of $REPS [min-max]; peak RSS from GNU time %M, median (max); speed-up = median(other) / median(rcp), > 1 means rcp is faster"
    echo "- total run time (generation, copies, checks): ${total}s"
    echo
    for ds in $DATASETS; do
        unit=$(ds_unit "$ds")
        echo "## $ds: $(ds_desc "$ds")"
        echo
        echo "$(gib "${DS_BYTES[$ds]}") (${DS_BYTES[$ds]} bytes) in ${DS_FILES[$ds]} files, ${DS_ENTRIES[$ds]} entries in all; generated in ${DS_GEN[$ds]}s."
        echo
        {
            printf '%s\n' "tool${T}median s${T}[min-max] s${T}$unit${T}peak RSS MiB${T}rcp -p speed-up"
            for tool in "${TOOL_LIST[@]}"; do
                m=$(med "$ds" "$tool")
                if [ "$unit" = MB/s ]; then
                    tp=$(awk -v b="${DS_BYTES[$ds]}" -v s="$m" 'BEGIN { printf "%.0f", b / 1e6 / s }')
                else
                    tp=$(awk -v f="${DS_FILES[$ds]}" -v s="$m" 'BEGIN { printf "%.0f", f / s }')
                fi
                rssmax=$(printf '%s' "${RSS[$ds,$tool]}" | maxof)
                rssmed=$(printf '%s' "${RSS[$ds,$tool]}" | median)
                s=-
                has_tool rcp-p && s="$(speedup "$ds" rcp-p "$tool")x"
                printf '%s\t%.3f\t[%.3f-%.3f]\t%s\t%s (%s)\t%s\n' "$(md_label "$tool")" "$m" \
                    "$(printf '%s' "${TIMES[$ds,$tool]}" | minof)" \
                    "$(printf '%s' "${TIMES[$ds,$tool]}" | maxof)" \
                    "$tp" "$(mib "$rssmed")" "$(mib "$rssmax")" "$s"
            done
        } | md_table lrlrrr
        echo
    done

    echo "## rcp speed-up over the other tools"
    echo
    echo "median(other) / median(rcp); in brackets the same from the fastest run of each."
    echo
    {
        printf '%s\n' "dataset${T}rcp mode${T}vs cp -a${T}vs tar\\|tar${T}vs rsync -aAX"
        for ds in $DATASETS; do
            for tool in rcp rcp-p; do
                has_tool "$tool" || continue
                printf '%s\t%s' "$ds" "$(md_label "$tool")"
                for b in cp tar rsync; do
                    if has_tool "$b"; then printf '\t%sx (%sx)' "$(speedup "$ds" "$tool" "$b")" "$(speedup_min "$ds" "$tool" "$b")"
                    else printf '\t-'; fi
                done
                printf '\n'
            done
        done
    } | md_table llrrr
    echo

    echo "## Targets"
    echo
    {
        printf '%s\n' "target${T}rcp (default)${T}rcp -p"
        for ds in $DATASETS; do
            case $ds in
                A|C)
                    has_tool cp || continue
                    [ "$ds" = A ] && v=1.0 || v=1.2
                    c1=-; c2=-
                    has_tool rcp && { s=$(speedup "$ds" rcp cp); c1="${s}x $(yn ge "$s" "$v")"; }
                    has_tool rcp-p && { s=$(speedup "$ds" rcp-p cp); c2="${s}x $(yn ge "$s" "$v")"; }
                    printf '%s\n' "$ds: rcp >= ${v}x cp -a${T}$c1${T}$c2" ;;
                B)
                    if has_tool cp; then
                        c1=-; c2=-
                        has_tool rcp && { s=$(speedup B rcp cp); c1="${s}x $(yn ge "$s" 2)"; }
                        has_tool rcp-p && { s=$(speedup B rcp-p cp); c2="${s}x $(yn ge "$s" 2)"; }
                        printf '%s\n' "B: rcp >= 2x cp -a${T}$c1${T}$c2"
                    fi
                    if has_tool tar; then
                        # "faster than tar|tar": speed-up strictly above 1.
                        c1=-; c2=-
                        has_tool rcp && { s=$(speedup B rcp tar); c1="${s}x $(yn gt1 "$s")"; }
                        has_tool rcp-p && { s=$(speedup B rcp-p tar); c2="${s}x $(yn gt1 "$s")"; }
                        printf '%s\n' "B: rcp faster than tar\\|tar${T}$c1${T}$c2"
                    fi
                    c1=-; c2=-
                    has_tool rcp && { s=$(printf '%s' "${RSS[B,rcp]}" | maxof); c1="$(mib "$s") MiB $(yn test "$s" -lt 65536)"; }
                    has_tool rcp-p && { s=$(printf '%s' "${RSS[B,rcp-p]}" | maxof); c2="$(mib "$s") MiB $(yn test "$s" -lt 65536)"; }
                    printf '%s\n' "B: rcp peak RSS < 64 MiB (max of reps)${T}$c1${T}$c2" ;;
            esac
        done
    } | md_table lll
    echo
    raw_times_table
    echo
    echo "Checked once per dataset with \`rcmp --content\` and a \`find -printf\` listing (rcp -p: also uid, gid, mode, mtime):${VERIFIED:- nothing}"
}

report > "$WORK/report.md"
mkdir -p "$(dirname "$OUT")"
cp "$WORK/report.md" "$OUT"
cat "$WORK/report.md"
note "report written to $OUT (total ${total}s)"
