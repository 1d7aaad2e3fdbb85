#!/bin/bash
# copy-interrupt.sh: a copy stopped by SIGINT, SIGTERM or SIGKILL never
# leaves a destination file that looks complete (same size and mtime as its
# source) without being so, and a rerun with --overwrite -p completes it.
. "$(dirname "$0")/lib.sh"

S=$T/src D=$T/dst
mkdir "$S"
"$FILEGEN" -q "$S/big" 0 1 1G
"$FILEGEN" -q -s 1 "$S/small" 5,4 20 1K-64K
mkdir "$S/empty"
: >"$S/small/zero"
ln -s big/f0 "$S/link"
touch -d '2005-05-05 05:05:05.5' "$S/small/d0"	# some older times, too
t_check "source: 402 files" test "$(find "$S" -type f | wc -l)" = 402

# looks_complete_but_differs SRC DST: lists every regular file of DST with
# the size and mtime of its source whose bytes differ from it.
looks_complete_but_differs() {
	(cd "$2" && find . -type f -printf '%P\n') | while IFS= read -r f; do
		if [ "$(stat -c '%s %y' "$1/$f")" = "$(stat -c '%s %y' "$2/$f")" ] &&
		    ! cmp -s "$1/$f" "$2/$f"; then
			echo "  looks complete but differs: $f" >&2
			echo "$f"
		fi
	done
}
# check_partial NAME: the invariants of an interrupted copy in $D.
check_partial() {
	local name=$1 n bsize
	t_check "$name: some of the tree was copied" test -d "$D"
	t_check "$name: no file looks complete without being so" test -z "$(looks_complete_but_differs "$S" "$D")"
	if [ -f "$D/big/f0" ]; then
		bsize=$(stat -c %s "$D/big/f0")
		if [ "$(stat -c %y "$D/big/f0")" = "$(stat -c %y "$S/big/f0")" ]; then
			t_check "$name: big file finished before the signal: complete" cmp -s "$S/big/f0" "$D/big/f0"
		else
			# The chunk holding the end is written after all others.
			t_check "$name: unfinished big file is short ($bsize bytes)" test "$bsize" -lt $((1 << 30))
		fi
	fi
	n=$(find "$D" -type f | wc -l)
	echo "# $name: $n of 402 files present, big file $(stat -c %s "$D/big/f0" 2>/dev/null || echo absent)"
}
# rerun_and_compare NAME: --overwrite -p completes the copy.
rerun_and_compare() {
	local name=$1
	t_check "$name: rerun with --overwrite -p: exit 0" t_run 0 "$T/rerun.out" "$RCP" --overwrite -p "$S" "$D"
	t_check "$name: rerun: trees equal (diff -r)" diff -r "$S" "$D"
	t_check "$name: rerun: trees equal (rcmp --content, times)" t_run 0 "$T/rcmp.out" "$RCMP" --content "$S" "$D"
	t_check "$name: rerun: modes, owners, mtimes equal" diff <(cd "$S" && find . -printf '%p %y %m %U:%G %s %T@ %l\n' | LC_ALL=C sort) \
	    <(cd "$D" && find . -printf '%p %y %m %U:%G %s %T@ %l\n' | LC_ALL=C sort)
}
# wait_for_data FILE SECONDS: waits until FILE holds data.
wait_for_data() {
	local i
	for ((i = 0; i < $2 * 100; i++)); do
		[ "$(stat -c %b "$1" 2>/dev/null || echo 0)" -gt 0 ] && return 0
		sleep 0.01
	done
	return 1
}
# elapsed_since T0: milliseconds since T0 (from date +%s%N).
ms_since() { echo $((($(date +%s%N) - $1) / 1000000)); }

# --- SIGINT while throttled, after about half a second ---------------------------------
"$RCP" -p --chunk-size 4M --iops-throttle 20 --summary "$S" "$D" >"$T/int.out" 2>&1 &
pid=$!
t_track "$pid"
sleep 0.5
t0=$(date +%s%N)
kill -INT "$pid"
wait "$pid"
rc=$?
ms=$(ms_since "$t0")
t_check "SIGINT (throttled): exit 1 (got $rc)" test "$rc" = 1
t_check "SIGINT (throttled): stops within 2s (took ${ms}ms)" test "$ms" -lt 2000
t_check "SIGINT (throttled): says so" t_grep '^rcp: interrupted by signal 2; the copy is incomplete$' "$T/int.out"
t_check "SIGINT (throttled): summary still printed" t_grep '^files copied: [0-9]+$' "$T/int.out"
check_partial "SIGINT (throttled)"
rerun_and_compare "SIGINT (throttled)"
rm -rf "$D"

# --- SIGINT while the big file is half copied ------------------------------------------
"$RCP" -p --chunk-size 4M --max-workers 2 "$S" "$D" >"$T/int2.out" 2>&1 &
pid=$!
t_track "$pid"
if wait_for_data "$D/big/f0" 20; then
	kill -INT "$pid"
	wait "$pid"
	rc=$?
	t_check "SIGINT (mid-file): exit 1 (got $rc)" test "$rc" = 1
	t_check "SIGINT (mid-file): says so" t_grep 'interrupted by signal 2' "$T/int2.out"
	t_check "SIGINT (mid-file): the big file is unfinished" test "$(stat -c %y "$D/big/f0")" != "$(stat -c %y "$S/big/f0")"
else
	t_fail "SIGINT (mid-file): no data arrived"
fi
check_partial "SIGINT (mid-file)"
rerun_and_compare "SIGINT (mid-file)"
rm -rf "$D"

# --- SIGTERM among the small files (--ops-throttle: 300 entries a second) -----------------
"$RCP" -p --ops-throttle 300 "$S" "$D" >"$T/term.out" 2>&1 &
pid=$!
t_track "$pid"
sleep 0.7
kill -TERM "$pid"
wait "$pid"
rc=$?
t_check "SIGTERM: exit 1 (got $rc)" test "$rc" = 1
t_check "SIGTERM: says so" t_grep '^rcp: interrupted by signal 15; the copy is incomplete$' "$T/term.out"
check_partial "SIGTERM"
n=$(find "$D" -type f | wc -l)
t_check "SIGTERM: stopped among the small files ($n files)" test "$n" -gt 20 -a "$n" -lt 402
rerun_and_compare "SIGTERM"
rm -rf "$D"

# --- SIGKILL while the big file is half copied -------------------------------------------
"$RCP" -p --chunk-size 4M --max-workers 2 "$S" "$D" >"$T/kill.out" 2>&1 &
pid=$!
t_track "$pid"
if wait_for_data "$D/big/f0" 20; then
	kill -KILL "$pid"
	wait "$pid" 2>/dev/null
	rc=$?
	t_check "SIGKILL: killed (got $rc)" test "$rc" = 137
	t_check "SIGKILL: the big file is unfinished" test "$(stat -c %y "$D/big/f0")" != "$(stat -c %y "$S/big/f0")"
else
	t_fail "SIGKILL: no data arrived"
fi
check_partial "SIGKILL"
rerun_and_compare "SIGKILL"
rm -rf "$D"

# --- SIGKILL among the small files -----------------------------------------------------------
"$RCP" -p --ops-throttle 300 "$S" "$D" >"$T/kill2.out" 2>&1 &
pid=$!
t_track "$pid"
sleep 0.7
kill -KILL "$pid"
wait "$pid" 2>/dev/null
t_check "SIGKILL (small files): killed" test "$?" = 137
check_partial "SIGKILL (small files)"
n=$(find "$D" -type f | wc -l)
t_check "SIGKILL (small files): stopped among them ($n files)" test "$n" -gt 20 -a "$n" -lt 402
rerun_and_compare "SIGKILL (small files)"

t_done
