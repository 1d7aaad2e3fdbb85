#!/usr/bin/env bash
# bench-suite.sh -- rrm, rlink and rchm against rm -rf, cp -al, chmod -R and
# chown -R on a tree of small files on tmpfs (/dev/shm), in the same run.
#
# Usage: RCP_BUILDDIR=build sh bench/bench-suite.sh      (or: make bench-suite)
#
# Environment:
#   RCP_BUILDDIR   where rrm, rlink, rchm, rcp and filegen are
#   BENCH_REPS     repetitions per pair (default 3)
#   BENCH_WIDTH    filegen's DIRWIDTH (default 10,50: 500 leaf directories)
#   BENCH_FILES    files per leaf directory (default 1000: 500,000 files)
#   BENCH_SIZE     size of each file (default 64)
#   BENCH_SHM      where the data goes (default /dev/shm)
#   BENCH_OUT      markdown report (default $RCP_BUILDDIR/bench-results-suite.md)
#   BENCH_ARGS     extra arguments for our tools (e.g. "--max-workers 4")
#
# Each repetition runs both tools of a pair, the one going first alternating.
# rrm and rm -rf each remove a fresh copy of the tree (made by rcp, untimed);
# rlink and cp -al each link the tree to a fresh destination (removed
# untimed); chmod -R and rchm, chown -R and rchm take turns flipping the
# same tree between two states, so each run changes every entry.  Wall time
# from $EPOCHREALTIME, peak RSS from GNU time's %M.  Each result is checked
# once: the tree is gone, every file is a link of the template's, every
# entry has the mode or owner asked.  Targets: >= 2x, peak RSS < 64 MiB.
if [ -z "${BASH_VERSION:-}" ]; then
    exec bash "$0" "$@"
fi
set -euo pipefail
export LC_ALL=C

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_NAME=bench-suite
# shellcheck source=bench/lib.sh
. "$here/lib.sh"

RCP_BUILDDIR=$(cd "${RCP_BUILDDIR:-$here/../build}" && pwd)
for b in rrm rlink rchm rcp filegen; do
    [ -x "$RCP_BUILDDIR/$b" ] || die "$RCP_BUILDDIR/$b not built"
done
REPS=${BENCH_REPS:-3}
WIDTH=${BENCH_WIDTH:-10,50}
FILES=${BENCH_FILES:-1000}
SIZE=${BENCH_SIZE:-64}
SHM=${BENCH_SHM:-/dev/shm}
OUT=${BENCH_OUT:-$RCP_BUILDDIR/bench-results-suite.md}
read -r -a EXTRA <<< "${BENCH_ARGS:-}"
GTIME=/usr/bin/time
"$GTIME" -f %M true >/dev/null 2>&1 || die "GNU time missing (apt-get install time)"
if grep -q 'fsanitize' "$RCP_BUILDDIR/Makefile" 2>/dev/null &&
    grep -q '^SAN_CFLAGS = -f' "$RCP_BUILDDIR/Makefile"; then
    note "warning: $RCP_BUILDDIR is a sanitizer build: its figures are not ours"
fi

WORK=$(mktemp -d "$SHM/bench-suite-XXXXXX")
trap 'chmod -R u+rwx "$WORK" 2>/dev/null; rm -rf "$WORK"' EXIT
TPL=$WORK/tpl
LOG=$WORK/log
declare -A TIMES RSS
TOOLS="rm rrm cp-al rlink chmod rchm-mode chown rchm-owner"

# timed TOOL CMD...: one run; appends its seconds and peak RSS (KiB).
timed() {
    local tool=$1 t0 t1 rc=0; shift
    t0=$EPOCHREALTIME
    "$GTIME" -f %M -o "$WORK/rss" "$@" >"$LOG" 2>&1 || rc=$?
    t1=$EPOCHREALTIME
    [ "$rc" -eq 0 ] || { tail -n 20 "$LOG" >&2; die "$tool failed ($rc): $*"; }
    TIMES[$tool]="${TIMES[$tool]:-} $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.6f", b - a }')"
    RSS[$tool]="${RSS[$tool]:-} $(tail -n 1 "$WORK/rss")"
}
fresh_copy() { "$RCP_BUILDDIR/rcp" -p "$TPL" "$1" >/dev/null || die "cannot copy the template"; }
gone() { [ ! -e "$1" ] || die "$2 left $1 behind"; }
all_linked() {
    local n
    n=$(find "$1" -type f -links 1 | head -n 1)
    [ -z "$n" ] || die "$2: $n is not a link"
    [ "$(find "$1" -type f | wc -l)" = "$NFILES" ] || die "$2: files missing"
}
all_mode() {
    [ -z "$(find "$1" -type f ! -perm "$2" | head -n 1)" ] || die "$3: a file without mode $2"
}
all_owner() {
    [ -z "$(find "$1" ! -user "$2" | head -n 1)" ] || die "$3: an entry not owned by $2"
}

note "making the template: $WIDTH directories, $FILES files each, $SIZE bytes"
"$RCP_BUILDDIR/filegen" -q "$TPL" "$WIDTH" "$FILES" "$SIZE" || die "filegen failed"
NFILES=$(find "$TPL" -type f | wc -l)
NDIRS=$(find "$TPL" -type d | wc -l)
chmod -R 644 "$TPL" && find "$TPL" -type d -exec chmod 755 {} +
note "$NFILES files, $NDIRS directories; $REPS repetitions"

for ((rep = 0; rep < REPS; rep++)); do
    note "repetition $((rep + 1))"
    # rm -rf / rrm
    for t in $( ((rep % 2)) && echo "rrm rm" || echo "rm rrm"); do
        fresh_copy "$WORK/victim"
        if [ "$t" = rm ]; then timed rm rm -rf "$WORK/victim"
        else timed rrm "$RCP_BUILDDIR/rrm" "${EXTRA[@]}" "$WORK/victim"; fi
        gone "$WORK/victim" "$t"
    done
    # cp -al / rlink
    for t in $( ((rep % 2)) && echo "rlink cp-al" || echo "cp-al rlink"); do
        if [ "$t" = cp-al ]; then timed cp-al cp -al "$TPL" "$WORK/links"
        else timed rlink "$RCP_BUILDDIR/rlink" "${EXTRA[@]}" "$TPL" "$WORK/links"; fi
        ((rep)) || all_linked "$WORK/links" "$t"
        "$RCP_BUILDDIR/rrm" "$WORK/links"
    done
    # chmod -R / rchm --mode: g+w and back
    for t in $( ((rep % 2)) && echo "rchm-mode chmod" || echo "chmod rchm-mode"); do
        m=$(stat -c %a "$TPL/$(ls "$TPL" | head -n 1)")
        [ "$m" = 755 ] && want=g+w || want=g-w
        if [ "$t" = chmod ]; then timed chmod chmod -R "$want" "$TPL"
        else timed rchm-mode "$RCP_BUILDDIR/rchm" "${EXTRA[@]}" --mode "$want" "$TPL"; fi
        ((rep)) || { [ "$want" = g+w ] && all_mode "$TPL" 664 "$t" || all_mode "$TPL" 644 "$t"; }
    done
    # chown -R / rchm --owner: 1000 and back
    for t in $( ((rep % 2)) && echo "rchm-owner chown" || echo "chown rchm-owner"); do
        [ "$(stat -c %u "$TPL")" = 0 ] && u=1000 || u=0
        if [ "$t" = chown ]; then timed chown chown -R "$u" "$TPL"
        else timed rchm-owner "$RCP_BUILDDIR/rchm" "${EXTRA[@]}" --owner "$u" "$TPL"; fi
        ((rep)) || all_owner "$TPL" "$u" "$t"
    done
done

pair() {   # pair OURS THEIRS LABEL
    local a b s r
    a=$(printf '%s' "${TIMES[$1]}" | median)
    b=$(printf '%s' "${TIMES[$2]}" | median)
    s=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b / a }')
    r=$(printf '%s' "${RSS[$1]}" | maxof)
    printf '%s\t%.3f s\t%.3f s\t%sx\t%s\t%.1f MiB\t%s\n' "$3" "$a" "$b" "$s" \
        "$(ge "$s" 2 && echo yes || echo NO)" "$(awk -v k="$r" 'BEGIN { print k / 1024 }')" \
        "$( [ "$r" -lt 65536 ] && echo yes || echo NO)"
}
{
    echo "# rrm, rlink, rchm on $NFILES files of $SIZE bytes in $NDIRS directories ($SHM)"
    echo
    echo "$(nproc) CPUs, median of $REPS; ours: ${EXTRA[*]:-defaults}"
    echo
    {
        printf 'ours vs theirs\tours\ttheirs\tspeed-up\t>= 2x\tpeak RSS (ours)\t< 64 MiB\n'
        pair rrm rm 'rrm vs rm -rf'
        pair rlink cp-al 'rlink vs cp -al'
        pair rchm-mode chmod 'rchm --mode vs chmod -R'
        pair rchm-owner chown 'rchm --owner vs chown -R'
    } | md_table lrrrlrl
    echo
    echo "Runs (s):"
    for t in $TOOLS; do echo "- $t:${TIMES[$t]}"; done
} | tee "$OUT"
