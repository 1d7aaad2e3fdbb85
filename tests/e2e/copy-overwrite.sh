#!/bin/bash
# copy-overwrite.sh: updating an existing destination: --overwrite and its
# comparison, every pairing of entry types, --ignore-existing, merging,
# --delete with and without --delete-excluded, and --dry-run.
. "$(dirname "$0")/lib.sh"

# inodes DIR: "inode path" for every non-directory, sorted by path.
inodes() { (cd "$1" && find . -mindepth 1 ! -type d -printf '%p %i\n' | LC_ALL=C sort); }
ino() { stat -c %i "$1"; }
# full DIR: names, types, modes, owners, sizes, mtimes and content hashes.
full() { t_tree_listing_full "$1"; }
# summary_has FILE FIELD N: the summary in FILE says "FIELD: N".
summary_has() { t_grep "^$2: $3\$" "$1"; }

# The source, and a copy made with -p so that sizes and mtimes agree.
S=$T/src D=$T/dst
mkdir -p "$S/sub/deeper"
printf 'alpha\n' >"$S/a"
printf 'bravo\n' >"$S/b"
printf 'charlie\n' >"$S/sub/c"
printf 'delta\n' >"$S/sub/deeper/d"
head -c 50000 /dev/urandom >"$S/sub/e"
ln -s a "$S/link"
t_check "first copy: exit 0" t_run 0 "$T/out" "$RCP" -p "$S" "$D"

# --- equal entries are left alone --------------------------------------------
inodes "$D" >"$T/ino.before"
t_check "--overwrite, nothing changed: exit 0" t_run 0 "$T/out" "$RCP" -p --overwrite --summary "$S" "$D"
inodes "$D" >"$T/ino.after"
t_check "nothing changed: every inode kept" cmp -s "$T/ino.before" "$T/ino.after"
t_check "nothing changed: files unchanged: 5" summary_has "$T/out" "files unchanged" 5
t_check "nothing changed: symlinks unchanged: 1" summary_has "$T/out" "symlinks unchanged" 1
t_check "nothing changed: directories unchanged: 3" summary_has "$T/out" "directories unchanged" 3
t_check "nothing changed: files copied: 0" summary_has "$T/out" "files copied" 0
t_check "nothing changed: bytes copied: 0" t_grep '^bytes copied: 0 B \(0 bytes' "$T/out"

# --- differing entries are replaced -------------------------------------------
printf 'alpha, longer\n' >"$S/a"			# size and mtime differ
touch -d '2001-01-01 00:00:00.5' "$S/b"			# only mtime differs
old_c_mtime=$(stat -c %y "$S/sub/c")
printf 'CHARLIE\n' >"$S/sub/c"				# same size ...
touch -d "$old_c_mtime" "$S/sub/c"			# ... and mtime
ln -sfn sub "$S/link"					# another target
i_d=$(ino "$D/sub/deeper/d")
t_check "--overwrite after changes: exit 0" t_run 0 "$T/out" "$RCP" -p -o --summary "$S" "$D"
t_check "size changed: replaced" cmp -s "$S/a" "$D/a"
t_check "mtime changed: replaced (new mtime)" test "$(stat -c %y "$D/b")" = "$(stat -c %y "$S/b")"
t_check "same size and mtime: left alone (old bytes)" test "$(cat "$D/sub/c")" = charlie
t_check "symlink target changed: replaced" test "$(readlink "$D/link")" = sub
t_check "untouched file: same inode" test "$(ino "$D/sub/deeper/d")" = "$i_d"
t_check "after changes: files copied: 2" summary_has "$T/out" "files copied" 2
t_check "after changes: files unchanged: 3" summary_has "$T/out" "files unchanged" 3
t_check "after changes: symlinks created: 1" summary_has "$T/out" "symlinks created" 1

# --- --overwrite-compare -------------------------------------------------------
touch -d '2002-02-02' "$S/sub/deeper/d"			# mtime only
printf 'echo!\n' >>"$S/sub/e"				# size too
i_d=$(ino "$D/sub/deeper/d")
m_d=$(stat -c %y "$D/sub/deeper/d")
t_check "--overwrite-compare size: exit 0" t_run 0 "$T/out" "$RCP" -p -o --overwrite-compare size --summary "$S" "$D"
t_check "compare size: same size, other mtime: unchanged" test "$(ino "$D/sub/deeper/d")" = "$i_d" -a "$(stat -c %y "$D/sub/deeper/d")" = "$m_d"
t_check "compare size: other size: replaced" cmp -s "$S/sub/e" "$D/sub/e"
t_check "compare size: files copied: 1" summary_has "$T/out" "files copied" 1
t_check "--overwrite-compare f:size,mtime: exit 0" t_run 0 "$T/out" "$RCP" -p -o --overwrite-compare 'f:size,mtime l:mtime' --summary "$S" "$D"
t_check "compare f:size,mtime: now replaced" test "$(stat -c %y "$D/sub/deeper/d")" = "$(stat -c %y "$S/sub/deeper/d")"
t_check "compare f:size,mtime: files copied: 1" summary_has "$T/out" "files copied" 1
chmod 600 "$S/b"
t_check "--overwrite-compare mode: exit 0" t_run 0 "$T/out" "$RCP" -p -o --overwrite-compare mode --summary "$S" "$D"
t_check "compare mode: mode change copied" test "$(stat -c %a "$D/b")" = 600
t_check "compare mode: files copied: 1" summary_has "$T/out" "files copied" 1
printf 'x' >>"$S/b"
t_check "--overwrite-compare 'l:mtime' (files compare nothing): exit 0" t_run 0 "$T/out" "$RCP" -p -o --overwrite-compare 'l:mtime' --summary "$S" "$D"
t_check "compare l:mtime: changed file counts as unchanged" test "$(cat "$D/b")" = bravo
t_check "compare l:mtime: files copied: 0" summary_has "$T/out" "files copied" 0

# Without -p the copy gets new mtimes: a default --overwrite copies again.
t_check "copy without -p: exit 0" t_run 0 "$T/out" "$RCP" "$S" "$T/np"
t_check "without -p, then --overwrite: exit 0" t_run 0 "$T/out" "$RCP" -o --summary "$S" "$T/np"
t_check "without -p, then --overwrite: files copied again" summary_has "$T/out" "files copied" 5

# --- every pairing of destination type and source type ---------------------------
# pairs/XY: the destination has type X, the source type Y (f file, d
# directory, l symlink, p FIFO); every entry differs from its source.
P=$T/psrc Q=$T/pdst
mkdir "$P" "$Q"
for x in f d l p; do
	for y in f d l p; do
		case $y in
		f) printf 'src %s%s\n' "$x" "$y" >"$P/$x$y" ;;
		d) mkdir "$P/$x$y"; printf 'src inner\n' >"$P/$x$y/inner" ;;
		l) ln -s "target-$x$y" "$P/$x$y" ;;
		p) mkfifo "$P/$x$y" ;;
		esac
		case $x in
		f) printf 'old destination file\n' >"$Q/$x$y" ;;
		d) mkdir "$Q/$x$y"; mkdir "$Q/$x$y/olddir"; printf old >"$Q/$x$y/olddir/f"; printf old >"$Q/$x$y/inner" ;;
		l) ln -s "old-$x$y" "$Q/$x$y" ;;
		p) mkfifo "$Q/$x$y" ;;
		esac
	done
done
# A destination symlink to a directory where the source has a directory: the
# symlink is replaced, never followed.
mkdir "$T/victim" "$P/ld2"
printf 'src\n' >"$P/ld2/inner"
ln -s "$T/victim" "$Q/ld2"
t_check "type pairings: exit 0" t_run 0 "$T/out" "$RCP" -p -o --summary "$P" "$Q"
t_check "type pairings: no errors" summary_has "$T/out" errors 0
# Everything now matches the source, except that directories were merged:
# dd keeps its extra olddir.
t_check "type pairings: merged dir keeps its extra entry" test -f "$Q/dd/olddir/f"
t_check "type pairings: destination = source" diff <(full "$P") <(full "$Q" | grep -v '^\./dd/olddir')
t_check "type pairings: symlink to a dir replaced by a dir" test -d "$Q/ld2" -a ! -L "$Q/ld2"
t_check "type pairings: the symlink's target untouched" test -z "$(ls -A "$T/victim")"

# The destination named on the command line may be of another type too.
printf 'a file\n' >"$T/rootfile"
t_check "dir over a file root: exit 0" t_run 0 "$T/out" "$RCP" -o "$S" "$T/rootfile"
t_check "dir over a file root: replaced" test -d "$T/rootfile" -a -f "$T/rootfile/sub/c"
mkdir -p "$T/rootdir/x"
t_check "file over a dir root: exit 0" t_run 0 "$T/out" "$RCP" -o "$S/a" "$T/rootdir"
t_check "file over a dir root: replaced" cmp -s "$S/a" "$T/rootdir"

# --- --ignore-existing ------------------------------------------------------------
I=$T/ign
mkdir -p "$I/sub"
printf 'mine\n' >"$I/a"
printf 'not a directory\n' >"$I/sub/deeper"
inodes "$I" >"$T/ino.before"
t_check "--ignore-existing: exit 0" t_run 0 "$T/out" "$RCP" -p --ignore-existing --summary "$S" "$I"
t_check "--ignore-existing: existing file kept" test "$(cat "$I/a")" = mine
t_check "--ignore-existing: missing files added" cmp -s "$S/b" "$I/b"
t_check "--ignore-existing: missing files in merged dirs added" cmp -s "$S/sub/c" "$I/sub/c"
t_check "--ignore-existing: file in the way of a dir kept" test -f "$I/sub/deeper" -a "$(cat "$I/sub/deeper")" = 'not a directory'
t_check "--ignore-existing: existing entries not rewritten" test -z "$(comm -23 "$T/ino.before" <(inodes "$I"))"
t_check "--ignore-existing: skipped: 2" summary_has "$T/out" skipped 2
t_check "--ignore-existing twice: exit 0" t_run 0 "$T/out" "$RCP" -p --ignore-existing --summary "$S" "$I"
t_check "--ignore-existing twice: nothing copied" summary_has "$T/out" "files copied" 0

# --- merging, and --delete ----------------------------------------------------------
M=$T/merge
t_check "copy for merging: exit 0" t_run 0 "$T/out" "$RCP" -p "$S" "$M"
mkdir -p "$M/extra_dir/inside"
printf x >"$M/extra_dir/inside/f"
printf x >"$M/extra_file"
printf x >"$M/sub/deeper/extra_deep"
ln -s nowhere "$M/sub/extra_link"
printf x >"$M/sub/keep.log"
printf x >"$M/keep.log"
t_check "merge without --delete: exit 0" t_run 0 "$T/out" "$RCP" -p -o "$S" "$M"
t_check "merge without --delete: extras stay" test -f "$M/extra_dir/inside/f" -a -f "$M/extra_file" -a -f "$M/sub/deeper/extra_deep" -a -L "$M/sub/extra_link"

# Replacing and deleting never reach outside the destination: a hard link
# to an outside file and a symlink to an outside directory.
mkdir "$T/precious"
printf 'precious\n' >"$T/precious/file"
printf 'outside\n' >"$T/outside"
ln -f "$T/outside" "$M/a"			# differs from the source's a
ln -s "$T/precious" "$M/sub/extra_dirlink"	# not in the source
t_check "replace a hard link to an outside file: exit 0" t_run 0 "$T/out" "$RCP" -p -o "$S" "$M"
t_check "replace a hard link: the outside file untouched" test "$(cat "$T/outside")" = outside
t_check "replace a hard link: replaced inside" cmp -s "$S/a" "$M/a"
t_check "--delete a symlink to an outside dir: exit 0" t_run 0 "$T/out" "$RCP" -p -o --delete --exclude '*.log' --exclude 'extra*' "$S" "$M"
t_check "--delete a symlink: kept while excluded" test -L "$M/sub/extra_dirlink"
t_check "--delete-excluded a symlink to a dir: exit 0" t_run 0 "$T/out" "$RCP" -p -o --delete --delete-excluded --exclude 'extra_dirlink' --exclude '*.log' "$S" "$M"
t_check "--delete a symlink: the symlink is gone" test ! -L "$M/sub/extra_dirlink"
t_check "--delete a symlink: its target untouched" test "$(cat "$T/precious/file")" = precious
# Put the extras back for the tests below.
mkdir -p "$M/extra_dir/inside"
printf x >"$M/extra_dir/inside/f"
printf x >"$M/extra_file"
printf x >"$M/sub/deeper/extra_deep"
ln -s nowhere "$M/sub/extra_link"
printf x >"$M/sub/keep.log"
printf x >"$M/keep.log"

full "$M" >"$T/before"
for mode in brief all explain; do
	t_check "--dry-run $mode --delete: exit 0" t_run 0 "$T/dry-$mode" "$RCP" -p -o --delete --exclude '*.log' --dry-run "$mode" "$S" "$M"
	full "$M" >"$T/after"
	t_check "--dry-run $mode: nothing changed" cmp -s "$T/before" "$T/after"
	t_check "--dry-run $mode: summary printed" summary_has "$T/dry-$mode" removed 4
done
t_check "--dry-run brief: no per-entry lines" test "$(grep -c '^dry-run:' "$T/dry-brief")" = 0
t_check "--dry-run all: removal listed" t_grep "^dry-run: remove '.*/merge/extra_dir'$" "$T/dry-all"
t_check "--dry-run all: no reasons" test "$(grep -c "^dry-run: .*': " "$T/dry-all")" = 0
t_check "--dry-run explain: removal with reason" t_grep "^dry-run: remove '.*/merge/sub/extra_link': not in the source \(--delete\)$" "$T/dry-explain"
t_check "--dry-run explain: unchanged with reason" t_grep "^dry-run: unchanged '.*/merge/sub/c': size,mtime equal$" "$T/dry-explain"
t_check "--dry-run explain: protected entry with reason" t_grep "^dry-run: keep '.*/merge/sub/keep\.log': excluded, so protected from --delete$" "$T/dry-explain"
t_check "--dry-run explain: merged dir with reason" t_grep "^dry-run: merge directory '.*/merge/sub': exists$" "$T/dry-explain"

t_check "--delete --exclude: exit 0" t_run 0 "$T/out" "$RCP" -p -o --delete --exclude '*.log' --summary "$S" "$M"
t_check "--delete: extras removed" test ! -e "$M/extra_dir" -a ! -e "$M/extra_file" -a ! -e "$M/sub/deeper/extra_deep" -a ! -L "$M/sub/extra_link"
t_check "--delete: removed: 4" summary_has "$T/out" removed 4
t_check "--delete --exclude: excluded entries protected" test -f "$M/keep.log" -a -f "$M/sub/keep.log"
t_check "--delete: the rest is the source" diff <(full "$S") <(full "$M" | grep -v 'keep\.log')
t_check "--delete-excluded: exit 0" t_run 0 "$T/out" "$RCP" -p -o --delete --delete-excluded --exclude '*.log' --summary "$S" "$M"
t_check "--delete-excluded: excluded entries removed" test ! -e "$M/keep.log" -a ! -e "$M/sub/keep.log"
t_check "--delete-excluded: removed: 2" summary_has "$T/out" removed 2
t_check "--delete-excluded: destination = source" diff <(full "$S") <(full "$M")

# --- --dry-run on a fresh and on a changed destination ------------------------------
t_check "--dry-run all, new destination: exit 0" t_run 0 "$T/out" "$RCP" -p --dry-run all "$S" "$T/fresh"
t_check "--dry-run all, new destination: nothing made" test ! -e "$T/fresh"
t_check "--dry-run all: lists the files" t_grep "^dry-run: copy file '.*/fresh/sub/deeper/d'$" "$T/out"
t_check "--dry-run all: lists the directories" t_grep "^dry-run: create directory '.*/fresh/sub'$" "$T/out"
t_check "--dry-run all: counts what it would copy" summary_has "$T/out" "files copied" 5
printf 'changed!\n' >"$S/sub/c"
rm "$M/sub/e"
ln -sfn elsewhere "$M/link"
full "$M" >"$T/before"
t_check "--dry-run explain, changes: exit 0" t_run 0 "$T/out" "$RCP" -p -o --dry-run explain "$S" "$M"
t_check "--dry-run explain, changes: nothing changed" diff "$T/before" <(full "$M")
t_check "--dry-run explain: replacement names the attributes" t_grep "^dry-run: replace '.*/merge/sub/c': size,mtime differ$" "$T/out"
t_check "--dry-run explain: other link target" t_grep "^dry-run: replace '.*/merge/link': ((size,)?mtime differ|link target differs)$" "$T/out"
t_check "--dry-run explain: missing file copied" t_grep "^dry-run: copy file '.*/merge/sub/e'$" "$T/out"
t_check "--dry-run explain: -q does not hide it" t_run 0 "$T/out2" "$RCP" -q -p -o --dry-run explain "$S" "$M"
t_check "--dry-run explain -q: same lines" diff <(grep '^dry-run' "$T/out" | sort) <(grep '^dry-run' "$T/out2" | sort)

t_done
