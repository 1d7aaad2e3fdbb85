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
# wait_for_files DIR N SECONDS: waits until DIR holds more than N regular
# files (evidence that the copy is under way, instead of a guessed sleep).
wait_for_files() {
	local i
	for ((i = 0; i < $3 * 20; i++)); do
		[ "$(find "$1" -type f 2>/dev/null | wc -l)" -gt "$2" ] && return 0
		sleep 0.05
	done
	return 1
}
# wait_ended PID SECONDS: waits until PID has ended (a zombie has: it waits
# for our wait), false if it still runs after SECONDS.  A hang guard only:
# how fast a copy stops is no test's business.
wait_ended() {
	local i st
	for ((i = 0; i < $2 * 20; i++)); do
		st=$(ps -o stat= -p "$1" 2>/dev/null) || return 0
		[ "${st#Z}" = "$st" ] || return 0
		sleep 0.05
	done
	return 1
}
# stop PID SIGNAL: sends SIGNAL to PID and sets rc to its exit status, or
# to "hung" (after a SIGKILL) if it still runs 60 s later.
# (stderr: not bash's notice that its job was killed.)
stop() {
	{
		kill -"$2" "$1"
		if wait_ended "$1" 60; then
			wait "$1"
			rc=$?
		else
			kill -9 "$1"
			wait "$1"
			rc=hung
		fi
	} 2>/dev/null
}

# --- SIGINT while throttled, once files arrive ----------------------------------------
"$RCP" -p --chunk-size 4M --iops-throttle 20 --summary "$S" "$D" >"$T/int.out" 2>&1 &
pid=$!
t_track "$pid"
t_check "SIGINT (throttled): the copy got going" wait_for_files "$D" 0 20
stop "$pid" INT
t_check "SIGINT (throttled): exit 1 (got $rc)" test "$rc" = 1
t_check "SIGINT (throttled): the throttled copy was cut short, not finished" test "$(stat -c %y "$D/big/f0" 2>/dev/null)" != "$(stat -c %y "$S/big/f0")"
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
	stop "$pid" INT
	t_check "SIGINT (mid-file): exit 1 (got $rc)" test "$rc" = 1
	t_check "SIGINT (mid-file): says so" t_grep 'interrupted by signal 2' "$T/int2.out"
	t_check "SIGINT (mid-file): the big file is unfinished" test "$(stat -c %y "$D/big/f0")" != "$(stat -c %y "$S/big/f0")"
else
	t_fail "SIGINT (mid-file): no data arrived"
fi
check_partial "SIGINT (mid-file)"
rerun_and_compare "SIGINT (mid-file)"
rm -rf "$D"

# --- SIGTERM among the small files --------------------------------------------------------
# --ops-throttle 50: the 402 entries take 8 s; the signal goes once more
# than 20 files are there (about 0.4 s in), so it lands among the small
# files unless this shell stalls for 7 s (a hang guard's margin), instead of
# a guessed sleep that a slow start or a slow shell turns into a flake.
"$RCP" -p --ops-throttle 50 "$S" "$D" >"$T/term.out" 2>&1 &
pid=$!
t_track "$pid"
t_check "SIGTERM: the copy got going" wait_for_files "$D" 20 30
stop "$pid" TERM
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
	stop "$pid" KILL
	t_check "SIGKILL: killed (got $rc)" test "$rc" = 137
	t_check "SIGKILL: the big file is unfinished" test "$(stat -c %y "$D/big/f0")" != "$(stat -c %y "$S/big/f0")"
else
	t_fail "SIGKILL: no data arrived"
fi
check_partial "SIGKILL"
rerun_and_compare "SIGKILL"
rm -rf "$D"

# --- SIGKILL among the small files -----------------------------------------------------------
# (--ops-throttle 50 and the wait as for SIGTERM.)
"$RCP" -p --ops-throttle 50 "$S" "$D" >"$T/kill2.out" 2>&1 &
pid=$!
t_track "$pid"
t_check "SIGKILL (small files): the copy got going" wait_for_files "$D" 20 30
stop "$pid" KILL
t_check "SIGKILL (small files): killed (got $rc)" test "$rc" = 137
check_partial "SIGKILL (small files)"
n=$(find "$D" -type f | wc -l)
t_check "SIGKILL (small files): stopped among them ($n files)" test "$n" -gt 20 -a "$n" -lt 402
rerun_and_compare "SIGKILL (small files)"

t_done
