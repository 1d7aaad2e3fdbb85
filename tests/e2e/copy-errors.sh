#!/bin/bash
# copy-errors.sh: how rcp reports failures: each message names the root cause
# and the path, the exit code is right, and the copy goes on (or stops, with
# --fail-early).  Permission errors are provoked as an unprivileged user.
. "$(dirname "$0")/lib.sh"

# A user without privileges, made once and left for later runs.
USER_=rcptest
if ! id "$USER_" >/dev/null 2>&1; then
	useradd -M -s /usr/sbin/nologin "$USER_" 2>/dev/null || id "$USER_" >/dev/null 2>&1 ||
	    { echo "cannot create user $USER_" >&2; exit 1; }
fi
as_user() { setpriv --reuid "$USER_" --regid "$USER_" --clear-groups "$@"; }
chmod 755 "$T"			# mktemp made it 0700: let the user in
printf x >"$T/probe" && chmod 600 "$T/probe"
t_check "the test user is unprivileged" test -z "$(as_user cat "$T/probe" 2>/dev/null)"

# A tree the user may read, except for one file and one directory.
S=$T/src
mkdir -p "$S/sub" "$S/closed"
for i in $(seq 1 20); do printf '%s\n' "$i" >"$S/sub/f$i"; done
printf 'top\n' >"$S/top"
printf 'secret\n' >"$S/secret"
printf 'hidden\n' >"$S/closed/hidden"
chmod 000 "$S/secret" "$S/closed"
mkdir "$T/home"			# the user's writable area
chown "$USER_:$USER_" "$T/home"

# --- an unreadable file and directory: reported, the rest copied ---------------
t_check "unreadable entries: exit 1" t_run 1 "$T/out" as_user "$RCP" "$S" "$T/home/c1"
t_check "unreadable file: root cause and path" t_grep "^error: cannot open '.*/src/secret': Permission denied$" "$T/out"
t_check "unreadable dir: root cause and path" t_grep "^error: cannot open directory '.*/src/closed': Permission denied$" "$T/out"
t_check "unreadable entries: error count on stderr" t_grep "^rcp: 2 errors; see the messages above$" "$T/out"
t_check "unreadable entries: the other files copied" test "$(find "$T/home/c1" -type f | wc -l)" = 21
t_check "unreadable entries: contents right" cmp -s "$S/sub/f20" "$T/home/c1/sub/f20"
t_check "unreadable file: no partial copy" test ! -e "$T/home/c1/secret"

# --- --fail-early stops at the first error ---------------------------------------
F=$T/fsrc
mkdir -p "$F/many"
printf 'secret\n' >"$F/secret"
chmod 000 "$F/secret"
python3 -c '
import sys
for i in range(2000):
    open("%s/many/f%d" % (sys.argv[1], i), "w").write("%d\n" % i)' "$F"
t_check "without --fail-early: exit 1" t_run 1 "$T/out" as_user "$RCP" --ops-throttle 2000 --summary "$F" "$T/home/nofe"
t_check "without --fail-early: all other files copied" t_grep '^files copied: 2000$' "$T/out"
t_check "--fail-early: exit 1" t_run 1 "$T/out" as_user "$RCP" -e --ops-throttle 200 --summary "$F" "$T/home/fe"
t_check "--fail-early: the error" t_grep "^error: cannot open '.*/fsrc/secret': Permission denied$" "$T/out"
t_check "--fail-early: one error" t_grep '^errors: 1$' "$T/out"
n=$(find "$T/home/fe" -type f | wc -l)
t_check "--fail-early: stopped early ($n of 2000 files copied)" test "$n" -lt 1000
t_check "--fail-early long form: exit 1" t_run 1 "$T/out" as_user "$RCP" --fail-early "$F/secret" "$T/home/fe2"

# --- an unwritable destination -----------------------------------------------------
mkdir "$T/rootonly"		# 755 root: the user cannot write in it
t_check "unwritable destination dir (file): exit 1" t_run 1 "$T/out" as_user "$RCP" "$S/top" "$T/rootonly/top"
t_check "unwritable destination dir (file): root cause and path" t_grep "^error: cannot create '.*/rootonly/top': Permission denied$" "$T/out"
t_check "unwritable destination dir (tree): exit 1" t_run 1 "$T/out" as_user "$RCP" "$S/sub" "$T/rootonly/sub"
t_check "unwritable destination dir (tree): root cause and path" t_grep "^error: cannot create directory '.*/rootonly/sub': Permission denied$" "$T/out"
t_check "unwritable destination dir (tree): one error, not one per file" t_grep "^rcp: 1 error; see the messages above$" "$T/out"
t_check "unwritable destination: nothing made" test -z "$(ls -A "$T/rootonly")"
# A merge into a tree where one subdirectory is not writable.
t_check "copy for merging: exit 0" t_run 0 "$T/out" as_user "$RCP" "$S/sub" "$T/home/m"
mkdir "$T/home/m/ro"
printf x >"$T/home/m/f1"	# root-owned, differs: to be replaced
chown root:root "$T/home/m/ro"
mkdir "$T/msrc" && cp -r "$S/sub/." "$T/msrc/" && mkdir "$T/msrc/ro" && printf new >"$T/msrc/ro/new" && printf n >"$T/msrc/f1"
chmod -R a+rX "$T/msrc"
t_check "merge with an unwritable subdir: exit 1" t_run 1 "$T/out" as_user "$RCP" -o "$T/msrc" "$T/home/m"
t_check "merge with an unwritable subdir: root cause and path" t_grep "^error: cannot create '.*/home/m/ro/new': Permission denied$" "$T/out"
t_check "merge with an unwritable subdir: the rest updated" test "$(cat "$T/home/m/f1")" = n

# --- the destination file system is full ----------------------------------------------
# A tmpfs that cannot be mounted is a failure, not a skip: a skipped check
# passes silently and tests nothing (CI runs as root, where mounting works).
mkdir "$T/small"
if t_check "no space left: a 1 MiB tmpfs is mounted" t_run 0 "$T/mount.out" mount -t tmpfs -o size=1M tmpfs "$T/small"; then
	trap 'umount "$T/small" 2>/dev/null; t_cleanup' EXIT
	mkdir "$T/bigsrc"
	head -c $((3 << 20)) /dev/urandom >"$T/bigsrc/big"
	printf 'small\n' >"$T/bigsrc/small"
	t_check "no space left: exit 1" t_run 1 "$T/out" "$RCP" "$T/bigsrc" "$T/small/c"
	t_check "no space left: root cause and path" t_grep "^error: cannot write '.*/small/c/big': No space left on device$" "$T/out"
	t_check "no space left: the small file copied" cmp -s "$T/bigsrc/small" "$T/small/c/small"
	t_check "no space left: the partial file does not look complete" test "$(stat -c %s "$T/small/c/big" 2>/dev/null || echo 0)" != $((3 << 20))
	umount "$T/small"
fi

# --- sources and destinations that cannot be used -------------------------------------
printf 'ok\n' >"$T/good"
t_check "missing source: exit 1" t_run 1 "$T/out" "$RCP" "$T/good" "$T/nope" "$T/home/"
t_check "missing source: named, with the cause" t_grep "^rcp: cannot access source '.*/nope': No such file or directory$" "$T/out"
t_check "missing source: the good one not copied either" test ! -e "$T/home/good"
t_check "destination parent missing: exit 1" t_run 1 "$T/out" "$RCP" "$T/good" "$T/no/such/dst"
t_check "destination parent missing: message" t_grep "^rcp: destination parent directory '.*/no/such' does not exist$" "$T/out"
t_check "destination parent missing: nothing made" test ! -e "$T/no"
t_check "destination parent is a file: exit 1" t_run 1 "$T/out" "$RCP" "$T/good" "$T/good/x"
t_check "destination parent is a file: message" t_grep "^rcp: cannot open destination directory '.*/good': Not a directory$" "$T/out"
t_check "source behind an unreadable dir: exit 1" t_run 1 "$T/out" as_user "$RCP" "$S/closed/hidden" "$T/home/h"
t_check "source behind an unreadable dir: cause" t_grep "^rcp: cannot access source '.*/closed/hidden': Permission denied$" "$T/out"

# --- a directory copied into itself ------------------------------------------------------
mkdir -p "$T/self/a/b"
ln -s self "$T/alias"
for d in "$T/self/inner" "$T/self/a/b/inner" "$T/alias/inner" "$T/self/"; do
	t_check "into itself ($d): exit 1" t_run 1 "$T/out" "$RCP" "$T/self" "$d"
	t_check "into itself ($d): refused" t_grep "^rcp: cannot copy directory '.*/self' into itself" "$T/out"
done
t_check "into itself: nothing made" test "$(find "$T/self" | wc -l)" = 3
t_check "into a sibling with a common prefix: allowed" t_run 0 "$T/out" "$RCP" "$T/self" "$T/selfish"

# --- bad option values: exit 2, naming the option and the problem --------------------------
bad() {
	local desc=$1 pattern=$2; shift 2
	t_check "$desc: exit 2" t_run 2 "$T/out" "$RCP" "$@" "$T/good" "$T/bad"
	t_check "$desc: message" t_grep "$pattern" "$T/out"
	t_check "$desc: nothing copied" test ! -e "$T/bad"
}
bad "--overwrite-compare bogus" "^rcp: --overwrite-compare: unknown attribute 'bogus' \(expected uid, gid, mode, size, mtime, ctime, content, acl or xattr\)" --overwrite-compare bogus
bad "--overwrite-compare size,bogus" "^rcp: --overwrite-compare: unknown attribute 'bogus'" --overwrite-compare size,bogus
bad "--overwrite-compare x:size" "^rcp: --overwrite-compare: bad group 'x:size'" --overwrite-compare 'x:size'
bad "--preserve-settings bogus" "^rcp: --preserve-settings: bad preserve settings 'bogus'" --preserve-settings bogus
bad "--preserve-settings f:uid,bogus" "^rcp: --preserve-settings: unknown preserve setting 'bogus'" --preserve-settings f:uid,bogus
bad "--preserve-settings f:77777" "^rcp: --preserve-settings: bad mode mask '77777'" --preserve-settings f:77777
bad "--preserve-settings f:9" "^rcp: --preserve-settings: unknown preserve setting '9'" --preserve-settings f:9
bad "--preserve-settings f:017777" "^rcp: --preserve-settings: bad mode mask '017777'" --preserve-settings f:017777
bad "--dry-run bogus" "^rcp: --dry-run: unknown mode 'bogus' \(expected brief, all or explain\)" --dry-run bogus
bad "--max-workers -1" "^rcp: --max-workers: '-1' is not a number from 0 to 4096" --max-workers -1
bad "--max-workers 5000" "^rcp: --max-workers: '5000' is not a number from 0 to 4096" --max-workers 5000
bad "--chunk-size 1" "^rcp: --chunk-size: '1' is not a size from 4K to 1T" --chunk-size 1
bad "--chunk-size 4Q" "^rcp: --chunk-size: '4Q' is not a size" --chunk-size 4Q
bad "--include '[a'" "unclosed '\[' in pattern '\[a'" --include '[a'
bad "--filter-file missing" "^rcp: --filter-file: cannot open filter file '.*/nofilter': No such file or directory" --filter-file "$T/nofilter"
t_check "--chunk-size 4K is accepted" t_run 0 "$T/out" "$RCP" --chunk-size 4K "$T/good" "$T/good4k"
t_check "--max-workers 0 is accepted" t_run 0 "$T/out" "$RCP" --max-workers 0 "$T/good" "$T/good0"

# --- a source that shrinks while it is copied -----------------------------------------------
mkdir "$T/shrink"
head -c $((64 << 20)) /dev/urandom >"$T/shrink/big"
touch -d '2001-01-01 01:01:01.1' "$T/shrink/big"	# not within this clock tick
orig_mtime=$(stat -c %y "$T/shrink/big")
"$RCP" -p --chunk-size 4M --iops-throttle 20 "$T/shrink" "$T/shrunk" >"$T/shrink.out" 2>&1 &
pid=$!
t_track "$pid"
sleep 0.5
truncate -s 1M "$T/shrink/big"
# A distinct new mtime: the copy's own last write may share a clock tick
# with the truncate, so "now" would not tell a copied time from a written one.
touch -d '2002-02-02 02:02:02.2' "$T/shrink/big"
wait "$pid"
rc=$?
t_check "source shrinks: exit 1, no crash (got $rc)" test "$rc" = 1
t_check "source shrinks: reported" t_grep "^error: source '.*/shrink/big' (shrank|changed) while it was copied" "$T/shrink.out"
t_check "source shrinks: the copy has neither the old nor the new mtime" test "$(stat -c %y "$T/shrunk/big")" != "$orig_mtime" -a "$(stat -c %y "$T/shrunk/big")" != "$(stat -c %y "$T/shrink/big")"

t_done
