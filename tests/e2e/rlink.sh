#!/bin/bash
# rlink.sh: rlink against cp -al and rsync -a --link-dest on the awkward
# fixture: the same tree, every regular file a hard link to the source's
# (inode and link count checked with stat), trailing-slash rules, --update
# with --update-compare and --update-exclusive, -o, --delete, the lossy
# update refusal, usage, and errors as an unprivileged user.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/suite-lib.sh"
suite_user

# The tree without inode numbers: type, mode, owner, size, link target and
# mtime of everything but regular files' link counts.
listing() { (cd "$1" && find . -mindepth 1 -printf '%p\t%y\t%m\t%U:%G\t%s\t%l\t%T@\n' | LC_ALL=C sort); }
# "PATH INODE" of each regular file.
inodes() { (cd "$1" && find . -type f -printf '%p %i\n' | LC_ALL=C sort); }
same_listing() {
	listing "$1" >"$T/l1"; listing "$2" >"$T/l2"
	cmp -s "$T/l1" "$T/l2" && return 0
	diff "$T/l1" "$T/l2" | head -10 >&2
	return 1
}
# rsync --link-dest leaves a directory's mtime at the time of its last
# link: directories' times are left out against it.
listing_nodirtime() { (cd "$1" && find . -mindepth 1 \( -type d -printf '%p\t%y\t%m\t%U:%G\n' \) -o \( ! -type d -printf '%p\t%y\t%m\t%U:%G\t%s\t%l\t%T@\n' \) | LC_ALL=C sort); }
same_as_rsync() {
	listing_nodirtime "$1" >"$T/l1"; listing_nodirtime "$2" >"$T/l2"
	cmp -s "$T/l1" "$T/l2" && return 0
	diff "$T/l1" "$T/l2" | head -10 >&2
	return 1
}
# "PATH linked|own" of each regular file of $1: linked if it is the inode
# of the same path in $2.
linkmap() {
	local f
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z) | while IFS= read -r -d '' f; do
		if [ "$(stat -c %i "$1/$f")" = "$(stat -c %i "$2/$f" 2>/dev/null)" ]; then
			printf '%q linked\n' "$f"
		else
			printf '%q own\n' "$f"
		fi
	done
}
same_links() {
	linkmap "$1" "$3" >"$T/m1"; linkmap "$2" "$3" >"$T/m2"
	cmp -s "$T/m1" "$T/m2" && grep -q linked "$T/m1" && grep -q own "$T/m1" && return 0
	diff "$T/m1" "$T/m2" | head -10 >&2
	return 1
}
same_inodes() {
	inodes "$1" >"$T/i1"; inodes "$2" >"$T/i2"
	cmp -s "$T/i1" "$T/i2" && return 0
	diff "$T/i1" "$T/i2" | head -10 >&2
	return 1
}

S=$T/src
suite_fixture "$S"
rm -rf "$S/fifo" "$S/ro"	# cp -al copies neither the same way: below
touch -d '2005-05-05 05:05:05.5' "$S/dir" "$S/names"
t_check "fixture: deeper than PATH_MAX" suite_deep_ok "$S"

# --- a plain rlink is cp -al -------------------------------------------------------
cp -al "$S" "$T/cp" 2>"$T/cp.err"
t_check "rlink: exit 0" t_run 0 "$T/out" "$RLINK" --summary "$S" "$T/rl"
t_check "rlink: no file copied" t_grep '^files copied: 0$' "$T/out"
t_check "rlink: every file linked" t_grep "^hard links created: $(find "$S" -type f -printf x | wc -c)$" "$T/out"
t_check "rlink: the tree is cp -al's (deep chain aside when cp fails there)" same_listing "$T/rl" "$S"
t_check "rlink: every file is the source's inode" same_inodes "$T/rl" "$S"
t_check "rlink: link counts went up" test "$(stat -c %h "$S/dir/f2")" -ge 3
if [ ! -s "$T/cp.err" ]; then
	t_check "rlink: as cp -al, inode for inode" same_inodes "$T/rl" "$T/cp"
	t_check "rlink: as cp -al, entry for entry" same_listing "$T/rl" "$T/cp"
else
	t_check "cp -al fails on the deep chain only" test -z "$(grep -v 'File name too long' "$T/cp.err")"
fi
t_check "rlink: symlinks recreated, not linked" test "$(stat -c %i "$T/rl/dangling")" != "$(stat -c %i "$S/dangling")"
t_check "rlink: directories are new ones" test "$(stat -c %i "$T/rl/dir")" != "$(stat -c %i "$S/dir")"
mkdir "$T/into"
t_check "DST/: into it" t_run 0 "$T/out" "$RLINK" "$S/dir" "$T/into/"
t_check "DST/: DST/NAME is the link" test "$(stat -c %i "$T/into/dir/f1")" = "$(stat -c %i "$S/dir/f1")"
t_check "existing DST: refused" t_run 1 "$T/out" "$RLINK" "$S" "$T/rl"
t_check "existing DST: the cause" t_grep "^rlink: destination '.*/rl' already exists; use --overwrite" "$T/out"
printf new >"$S/dir/added"
t_check "-o: exit 0" t_run 0 "$T/out" "$RLINK" -o --summary "$S" "$T/rl"
t_check "-o: only the new file linked" t_grep '^hard links created: 1$' "$T/out"
t_check "-o: the new file is linked" test "$(stat -c %i "$T/rl/dir/added")" = "$(stat -c %i "$S/dir/added")"
rm "$S/dir/added"
t_check "-o --delete: exit 0" t_run 0 "$T/out" "$RLINK" -o --delete "$S" "$T/rl"
t_check "-o --delete: gone from DST" test ! -e "$T/rl/dir/added"
mkfifo "$S/fifo"
t_check "--skip-specials: exit 0" t_run 0 "$T/out" "$RLINK" --skip-specials "$S" "$T/nospec"
t_check "--skip-specials: no FIFO" test ! -e "$T/nospec/fifo"
t_check "specials: recreated" t_run 0 "$T/out" "$RLINK" "$S" "$T/spec"
t_check "specials: a FIFO" test -p "$T/spec/fifo"
rm "$S/fifo"

t_check "--dry-run all: exit 0" t_run 0 "$T/out" "$RLINK" --dry-run all "$S" "$T/dry"
t_check "--dry-run all: one line per link" t_grep "^dry-run: hard link '.*/dry/dir/f1'$" "$T/out"
t_check "--dry-run: nothing made" test ! -e "$T/dry"
t_check "--exclude: exit 0" t_run 0 "$T/out" "$RLINK" --exclude 'f2' "$S/dir" "$T/excl"
t_check "--exclude: not linked" test ! -e "$T/excl/f2" -a -e "$T/excl/f3"
printf stale >"$T/excl/f2"
t_check "--delete without --delete-excluded: exit 0" t_run 0 "$T/out" "$RLINK" -o --delete --exclude 'f2' "$S/dir" "$T/excl"
t_check "--delete: an excluded DST entry is protected" test -e "$T/excl/f2"
t_check "--delete-excluded: exit 0" t_run 0 "$T/out" "$RLINK" -o --delete --delete-excluded --exclude 'f2' "$S/dir" "$T/excl"
t_check "--delete-excluded: the excluded DST entry removed" test ! -e "$T/excl/f2"

# --- --update is rsync -a --link-dest ------------------------------------------------
N=$T/new
cp -a "$S" "$N" 2>/dev/null
rm -rf "$N/deep"	# rsync cannot go deeper than PATH_MAX
printf changed >"$N/dir/f1"		# same size? no: differs by size
# A new inode, equal by size, mtime and mode: linked, by rsync too.
printf 'f2\n' >"$N/dir/f2.tmp" && touch -r "$S/dir/f2" "$N/dir/f2.tmp" &&
    chmod --reference="$S/dir/f2" "$N/dir/f2.tmp" && mv "$N/dir/f2.tmp" "$N/dir/f2"
touch -d 2010-01-01 "$N/dir/f3"	# same size, other mtime
printf only-new >"$N/onlynew"
rm "$N/dir/sub/g"			# only in SRC
rsync -a --link-dest="$S" "$N/" "$T/rs/"
t_check "--update --update-exclusive: exit 0" t_run 0 "$T/out" "$RLINK" --summary --update "$N" --update-exclusive "$S" "$T/ux"
t_check "--update-exclusive: the tree is rsync --link-dest's" same_as_rsync "$T/ux" "$T/rs"
t_check "--update-exclusive: the same files linked to SRC as rsync's" same_links "$T/ux" "$T/rs" "$S"
t_check "--update: an unchanged file is SRC's inode" test "$(stat -c %i "$T/ux/dir/f2")" = "$(stat -c %i "$S/dir/f2")"
t_check "--update: a changed file is copied from NEW" test "$(cat "$T/ux/dir/f1")" = changed -a "$(stat -c %h "$T/ux/dir/f1")" = 1
t_check "--update: another mtime is a change" test "$(stat -c %i "$T/ux/dir/f3")" != "$(stat -c %i "$S/dir/f3")"
t_check "--update-exclusive: SRC's other entries left out" test ! -e "$T/ux/dir/sub/g"
t_check "--update: exit 0" t_run 0 "$T/out" "$RLINK" --update "$N" "$S" "$T/u"
t_check "--update: SRC's other entries linked too" test "$(stat -c %i "$T/u/dir/sub/g")" = "$(stat -c %i "$S/dir/sub/g")"
t_check "--update: NEW's own entries copied" test "$(cat "$T/u/onlynew")" = only-new
t_check "--update-compare size: mtime no longer matters" t_run 0 "$T/out" "$RLINK" --update "$N" --update-compare size --update-exclusive "$S" "$T/us"
t_check "--update-compare size: f3 linked" test "$(stat -c %i "$T/us/dir/f3")" = "$(stat -c %i "$S/dir/f3")"
t_check "lossy update: refused (exit 2)" t_run 2 "$T/out" "$RLINK" --update "$N" --preserve-settings none "$S" "$T/lossy"
t_check "lossy update: the cause" t_grep "^rlink: --update-compare compares the mtime of files, which --preserve-settings does not keep" "$T/out"
t_check "lossy only for files: directories' settings do not count" t_run 0 "$T/out" "$RLINK" --update "$N" --update-exclusive --preserve-settings 'f:uid,gid,time,07777 d:0777' "$S" "$T/dlossy"
t_check "--update-compare content: refused with the cause" t_run 2 "$T/out" "$RLINK" --update "$N" --update-compare size,content "$S" "$T/cont"
t_check "--update-compare content: says what it compares" t_grep "^rlink: --update-compare: rlink compares uid, gid, mode, size, mtime and ctime only" "$T/out"
t_check "--allow-lossy-update: exit 0" t_run 0 "$T/out" "$RLINK" --update "$N" --preserve-settings none --allow-lossy-update "$S" "$T/lossy"

# --- usage -----------------------------------------------------------------------------
t_check "one operand: exit 2" t_run 2 "$T/out" "$RLINK" "$S"
t_check "three operands: exit 2" t_run 2 "$T/out" "$RLINK" "$S" "$T/x" "$T/y"
t_check "--update-exclusive alone: exit 2" t_run 2 "$T/out" "$RLINK" --update-exclusive "$S" "$T/x"
t_check "--help: exit 0" t_run 0 "$T/out" "$RLINK" --help
t_check "--help: --update" t_grep 'update NEW' "$T/out"

# --- errors as an unprivileged user ------------------------------------------------------
mkdir -p "$T/home" "$T/usrc/ok" && printf x >"$T/usrc/ok/f" && printf y >"$T/usrc/secret"
chmod 600 "$T/usrc/secret"
chown "$SUITE_USER" "$T/home" "$T/usrc/ok/f"
# fs.protected_hardlinks: a user may link only files it owns (or may read
# and write): root's secret is refused, the user's own file linked.
t_check "unprivileged: exit 1" t_run 1 "$T/out" as_user "$RLINK" "$T/usrc" "$T/home/l"
t_check "unprivileged: root cause and path" t_grep "^error: cannot create hard link '.*/home/l/secret': Operation not permitted$" "$T/out"
t_check "unprivileged: the rest linked" test "$(stat -c %i "$T/home/l/ok/f")" = "$(stat -c %i "$T/usrc/ok/f")"

t_done
