#!/bin/bash
# rrm.sh: rrm against GNU rm -rf on awkward trees (odd and non-UTF-8
# names, deeper than PATH_MAX, read-only directories, 100,000 entries in
# one directory), errors as an unprivileged user with their root cause, age
# filters, filters, dry runs, an interrupted rrm re-run, and a tree that
# changes under rrm: nothing outside PATH is ever removed.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/suite-lib.sh"
suite_user

# --- the awkward fixture: gone, as with rm -rf ---------------------------------
suite_fixture "$T/a"
suite_fixture "$T/b"
mkdir "$T/outside" && printf keep >"$T/outside/canary"
ln -s "$T/outside" "$T/a/to-outside"
ln -s "$T/outside" "$T/b/to-outside"
t_check "fixture: deeper than PATH_MAX" suite_deep_ok "$T/a"
t_check "rm -rf: removes the fixture" rm -rf "$T/b"
t_check "rrm: exit 0" t_run 0 "$T/out" "$RRM" --summary "$T/a"
t_check "rrm: the fixture is gone, as with rm -rf" test ! -e "$T/a" -a ! -L "$T/a"
t_check "rrm: summary counts every entry" t_grep '^entries seen: ' "$T/out"
t_check "rrm: no error" t_grep '^errors: 0$' "$T/out"
t_check "rrm: the symlinked directory outside survives" test "$(cat "$T/outside/canary")" = keep

# --- a root that is a symlink: the link goes, not its target ---------------------
ln -s "$T/outside" "$T/link-root"
t_check "symlink root: exit 0" t_run 0 "$T/out" "$RRM" "$T/link-root/"
t_check "symlink root: the link is gone" test ! -L "$T/link-root"
t_check "symlink root: its target survives" test -f "$T/outside/canary"

# --- usage ------------------------------------------------------------------------
t_check "no path: exit 2" t_run 2 "$T/out" "$RRM"
t_check "no path: says so" t_grep '^rrm: missing path$' "$T/out"
t_check "an option of rcp's that rrm has not: exit 2" t_run 2 "$T/out" "$RRM" --overwrite x
t_check "bad age: exit 2 naming it" t_run 2 "$T/out" "$RRM" --modified-before 3x "$T/none"
t_check "bad age: the cause" t_grep "^rrm: --modified-before: '3x' is not an age" "$T/out"
t_check "'.': refused" t_run 1 "$T/out" "$RRM" "$T/outside/.."
t_check "'..': refused with its cause" t_grep "^error: refusing '.*/outside/\.\.': a root may not be" "$T/out"
t_check "'..': nothing removed" test -f "$T/outside/canary"
t_check "missing path: exit 1" t_run 1 "$T/out" "$RRM" "$T/missing"
t_check "missing path: root cause" t_grep "^error: cannot access '.*/missing': No such file or directory$" "$T/out"
t_check "--help: exit 0" t_run 0 "$T/out" "$RRM" --help
t_check "--help: names the age filters" t_grep 'created-before' "$T/out"

# --- errors as an unprivileged user: the same leftovers as rm -rf -----------------
for w in u1 u2; do
	mkdir -p "$T/$w/ok/sub" "$T/$w/ro" "$T/$w/closed"
	for i in 1 2 3; do printf x >"$T/$w/ok/sub/f$i"; printf y >"$T/$w/ro/f$i"; done
	printf z >"$T/$w/closed/hidden"
	chown -R "$SUITE_USER:$SUITE_USER" "$T/$w"
	chmod 555 "$T/$w/ro"
	chown root:root "$T/$w/closed" && chmod 700 "$T/$w/closed"
done
as_user rm -rf "$T/u2" 2>"$T/rm.err"
t_check "rm -rf as the user: fails too" test -s "$T/rm.err"
t_check "rrm as the user: exit 1" t_run 1 "$T/out" as_user "$RRM" "$T/u1"
t_check "read-only dir: root cause and path" t_grep "^error: cannot remove '.*/u1/ro/f1': Permission denied$" "$T/out"
t_check "unreadable dir: root cause and path" t_grep "^error: cannot open directory '.*/u1/closed': Permission denied$" "$T/out"
t_check "errors counted on stderr" t_grep '^rrm: 4 errors; see the messages above$' "$T/out"
(cd "$T/u1" && find . | LC_ALL=C sort) >"$T/left.rrm"
(cd "$T/u2" && find . | LC_ALL=C sort) >"$T/left.rm"
t_check "leftovers are rm -rf's" cmp -s "$T/left.rrm" "$T/left.rm"
t_check "the rest removed" test ! -e "$T/u1/ok"
t_check "-e: stops at the first error" t_run 1 "$T/out" as_user "$RRM" -e --max-workers 1 "$T/u1/ro" "$T/u1/closed"
t_check "-e: one error" t_grep '^rrm: 1 error; see the messages above$' "$T/out"
chmod -R u+w "$T/u1" "$T/u2"

# --- 100,000 entries in one directory on /dev/shm ----------------------------------
mkdir "$T/big"
python3 -c '
import os, sys
d = os.open(sys.argv[1], os.O_RDONLY)
for i in range(100000):
    os.close(os.open("f%06d" % i, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=d))' "$T/big"
t_check "big: exit 0" t_run 0 "$T/out" "$RRM" --summary "$T/big"
t_check "big: every file removed" t_grep '^files removed: 100000$' "$T/out"
t_check "big: the directory too" t_grep '^directories removed: 1$' "$T/out"
t_check "big: gone" test ! -e "$T/big"

# --- age filters, dry runs, filters -------------------------------------------------
A=$T/age
mkdir -p "$A/old/sub" "$A/new" "$A/mixed"
printf o >"$A/old/sub/f"; printf o >"$A/old/g"; printf n >"$A/new/f"
printf o >"$A/mixed/old"; printf n >"$A/mixed/new"
touch -d '2001-01-01' "$A/old/sub/f" "$A/old/g" "$A/mixed/old" "$A/old/sub" "$A/old" "$A/mixed"
t_check "dry-run all: exit 0" t_run 0 "$T/out" "$RRM" --dry-run all --modified-before 30d "$A"
t_check "dry-run all: lists an old file" t_grep "^dry-run: remove '.*/age/old/sub/f'$" "$T/out"
t_check "dry-run all: not a new one" test -z "$(grep "age/new/f" "$T/out")"
t_check "dry-run: nothing removed" test -f "$A/old/sub/f"
t_check "dry-run brief: exit 0" t_run 0 "$T/out" "$RRM" --dry-run brief --modified-before 30d "$A"
t_check "dry-run brief: only the summary" test -z "$(grep "dry-run:" "$T/out")"
t_check "dry-run brief: what would go" t_grep '^files removed: 3$' "$T/out"
t_check "dry-run explain: says why it keeps" t_run 0 "$T/out" "$RRM" --dry-run explain --modified-before 30d "$A"
t_check "dry-run explain: the reason" t_grep "^dry-run: keep '.*/age/new/f': modified too recently$" "$T/out"
t_check "--modified-before: exit 0" t_run 0 "$T/out" "$RRM" --modified-before 30d "$A"
t_check "--modified-before: old tree gone" test ! -e "$A/old"
t_check "--modified-before: new file kept" test -f "$A/new/f"
t_check "--modified-before: old file in a mixed dir gone" test ! -e "$A/mixed/old"
t_check "--modified-before: the mixed dir kept (not empty)" test -f "$A/mixed/new"
t_check "--modified-before: the root kept" test -d "$A"
# /dev/shm (tmpfs) records birth times on Linux >= 6.x only: either way
# the result must be right.
if [ "$(stat -c %W "$A/new/f")" = 0 ]; then
	t_check "--created-before without birth times: exit 0" t_run 0 "$T/out" "$RRM" --created-before 1s "$A"
	t_check "--created-before: skipped with the cause" t_grep "^warning: skipping '.*': its file system records no birth time$" "$T/out"
	t_check "--created-before: nothing removed" test -f "$A/new/f"
else
	t_check "--created-before 1d: exit 0" t_run 0 "$T/out" "$RRM" --created-before 1d "$A"
	t_check "--created-before 1d: new files kept" test -f "$A/new/f"
	sleep 1.2
	t_check "--created-before 1s AND --modified-before 30d: exit 0" t_run 0 "$T/out" "$RRM" --created-before 1s --modified-before 30d "$A"
	t_check "both: new-mtime files kept" test -f "$A/new/f"
fi
X=$T/filt
mkdir -p "$X/keep" "$X/drop"
printf a >"$X/keep/a.log"; printf b >"$X/keep/b.txt"; printf c >"$X/drop/c.txt"
t_check "--exclude: exit 0" t_run 0 "$T/out" "$RRM" --exclude '*.log' "$X"
t_check "--exclude: the excluded file and its parents kept" test -f "$X/keep/a.log"
t_check "--exclude: the rest gone" test ! -e "$X/keep/b.txt" -a ! -e "$X/drop"
mkdir -p "$X/i/j"; printf a >"$X/i/j/x.tmp"; printf b >"$X/i/j/y.dat"
t_check "--include: exit 0" t_run 0 "$T/out" "$RRM" --include '*.tmp' "$X"
t_check "--include: only matching entries removed" test ! -e "$X/i/j/x.tmp" -a -f "$X/i/j/y.dat"

# --- interrupted (SIGINT, then SIGKILL) and re-run ----------------------------------
mk_tree() {
	python3 -c '
import os, sys
for d in range(40):
    p = "%s/d%02d" % (sys.argv[1], d)
    os.makedirs(p)
    for i in range(250):
        open("%s/f%03d" % (p, i), "w").close()' "$1"
}
mkdir "$T/int" && mk_tree "$T/int"
"$RRM" --ops-throttle 2000 --progress --progress-type text --progress-delay 200ms "$T/int" >"$T/out" 2>&1 &
pid=$!; t_track "$pid"
sleep 1.5
kill -INT "$pid"
wait "$pid"; rc=$?
t_check "SIGINT: exit 1" test "$rc" = 1
t_check "SIGINT: says the run is incomplete" t_grep '^rrm: interrupted by signal 2; the run is incomplete$' "$T/out"
t_check "--progress: text lines while it runs" t_grep '^[0-9.hms]+ removed [0-9]+ files, [0-9]+ dirs; kept 0, skipped 0, errors 0$' "$T/out"
left=$(find "$T/int" -type f | wc -l)
t_check "SIGINT: stopped part way ($left files left)" test "$left" -gt 0 -a "$left" -lt 10000
"$RRM" --ops-throttle 2000 "$T/int" >"$T/out" 2>&1 &
pid=$!; t_track "$pid"
sleep 1
kill -KILL "$pid"; wait "$pid" 2>/dev/null
t_check "SIGKILL: part way" test "$(find "$T/int" -type f | wc -l)" -lt "$left"
t_check "re-run: exit 0" t_run 0 "$T/out" "$RRM" "$T/int"
t_check "re-run: all gone" test ! -e "$T/int"

# --- a tree changing under rrm: directories swapped for symlinks to a canary ----------
C=$T/canary-dir
mkdir "$C"
for i in $(seq 1 50); do printf c >"$C/c$i"; done
mkdir "$T/chg" && mk_tree "$T/chg"
"$RRM" --ops-throttle 1500 "$T/chg" >"$T/out" 2>&1 &
pid=$!; t_track "$pid"
swapped=0
for d in "$T"/chg/d*; do
	kill -0 "$pid" 2>/dev/null || break
	[ -d "$d" ] && [ ! -L "$d" ] || continue
	mv "$d" "$d.moved" 2>/dev/null && ln -s "$C" "$d" && swapped=$((swapped + 1))
	sleep 0.05
done
wait "$pid"
t_check "swaps happened while rrm ran ($swapped)" test "$swapped" -gt 5
t_check "the canary survives whole" test "$(ls "$C" | wc -l)" = 50
t_check "no symlink was followed: no error about the canary" test -z "$(grep canary-dir "$T/out")"
rm -rf "$T/chg"

t_done
