#!/bin/bash
# rchm.sh: rchm against chmod -R and chown -R on the awkward fixture
# (compared by `find -printf '%m %u %g %p'` dumps), typed modes, octal and
# symbolic modes, --defer-dir-changes, --no-setid, age filters, usage, and
# errors as an unprivileged user with their root cause.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/suite-lib.sh"
suite_user
umask 022

dump() { (cd "$1" && find . -printf '%m %u %g %p\n' | LC_ALL=C sort); }
same() {
	dump "$1" >"$T/d1"; dump "$2" >"$T/d2"
	cmp -s "$T/d1" "$T/d2" && return 0
	diff "$T/d1" "$T/d2" | head -10 >&2
	return 1
}
fresh() { rm -rf "$T/a" "$T/b"; suite_fixture "$T/a"; suite_fixture "$T/b"; }

fresh
t_check "fixture: deeper than PATH_MAX" suite_deep_ok "$T/a"
for m in 'g+rw,o-rwx' 'u=rwx,g=rX,o=' 'a+X' '=r,u+w' 'g=u' 'o+t' '750' '0640' 'u-s,g-s'; do
	fresh
	chmod -R "$m" "$T/b"
	t_check "--mode '$m': exit 0" t_run 0 "$T/out" "$RCHM" --mode "$m" "$T/a"
	t_check "--mode '$m': as chmod -R" same "$T/a" "$T/b"
done

# '.' as a root, as chmod -R takes it.
fresh
(cd "$T/b" && chmod -R o-r .)
t_check "'.': exit 0" t_run 0 "$T/out" sh -c 'cd "$1" && "$2" --mode o-r .' sh "$T/a" "$RCHM"
t_check "'.': as chmod -R ." same "$T/a" "$T/b"

# Typed: files and directories apart.
fresh
find "$T/b" ! -type d ! -type l -execdir chmod g+rw {} +
find "$T/b" -type d -execdir chmod g+rwxs {} +
t_check "typed 'f:g+rw d:g+rwxs': exit 0" t_run 0 "$T/out" "$RCHM" --mode 'f:g+rw d:g+rwxs' "$T/a"
t_check "typed: as chmod on each type" same "$T/a" "$T/b"
fresh
find "$T/b" ! -type d ! -type l -execdir chmod 640 {} +
find "$T/b" -type d -execdir chmod 750 {} +
t_check "typed octal 'f:640 d:750': exit 0" t_run 0 "$T/out" "$RCHM" --mode 'f:640 d:750' "$T/a"
t_check "typed octal: as chmod" same "$T/a" "$T/b"

# Owners: names and ids, symlinks by lchown, as chown -R.
fresh
chown -R "$SUITE_USER:1234" "$T/b"
t_check "--owner NAME --group ID: exit 0" t_run 0 "$T/out" "$RCHM" --owner "$SUITE_USER" --group 1234 "$T/a"
t_check "--owner/--group: as chown -R (symlinks too)" same "$T/a" "$T/b"
fresh
chown -R 4321 "$T/b"
chmod -R g+w "$T/b"
t_check "owner and mode in one run: exit 0" t_run 0 "$T/out" "$RCHM" --owner 4321 --mode g+w "$T/a"
t_check "owner and mode: as chown -R then chmod -R" same "$T/a" "$T/b"
fresh
find "$T/b" -type l -execdir chown -h 777 {} +
t_check "--owner 'l:777': exit 0" t_run 0 "$T/out" "$RCHM" --owner 'l:777' "$T/a"
t_check "--owner 'l:': symlinks only" same "$T/a" "$T/b"
t_check "symlinks never followed: their targets unchanged" test "$(stat -c %u "$T/a/dir/f1")" = 0

# --defer-dir-changes: a mode that denies reading still walks the tree.
fresh
chown -R "$SUITE_USER" "$T/a"
t_check "d:0 before the contents, as the user: fails to descend" t_run 1 "$T/out" as_user "$RCHM" --mode 'd:0 f:600' "$T/a/dir"
t_check "... with its root cause" t_grep "^error: cannot (stat|change mode of) '.*/dir/f1': Permission denied$" "$T/out"
chmod -R u+rwx "$T/a"
t_check "--defer-dir-changes: exit 0" t_run 0 "$T/out" as_user "$RCHM" --defer-dir-changes --mode 'd:0 f:600' "$T/a/dir"
t_check "--defer-dir-changes: files below changed" test "$(stat -c %a "$T/a/dir/sub/g")" = 600
t_check "--defer-dir-changes: the directories too" test "$(stat -c %a "$T/a/dir/sub")" = 0
chmod -R u+rwx "$T/a"

# --no-setid
fresh
t_check "--no-setid: exit 0" t_run 0 "$T/out" "$RCHM" --no-setid --mode u+s,g+s "$T/a"
t_check "--no-setid: files lose setuid" test "$(stat -c %a "$T/a/dir/f3")" = 755
t_check "--no-setid: directories keep setgid" test "$(stat -c %a "$T/a/sgid")" = 6775

# Age filters, dry runs.
fresh
touch -d 2001-01-01 "$T/a/dir/f1"
t_check "--modified-before: exit 0" t_run 0 "$T/out" "$RCHM" --modified-before 30d --mode 600 "$T/a/dir"
t_check "--modified-before: old file changed" test "$(stat -c %a "$T/a/dir/f1")" = 600
t_check "--modified-before: new file left" test "$(stat -c %a "$T/a/dir/f2")" = 640
t_check "--dry-run all: exit 0" t_run 0 "$T/out" "$RCHM" --dry-run all --mode 600 "$T/a/dir"
t_check "--dry-run all: names the change" t_grep "^dry-run: change mode of '.*/dir/f2'$" "$T/out"
t_check "--dry-run: nothing changed" test "$(stat -c %a "$T/a/dir/f2")" = 640
t_check "--dry-run explain: the modes" t_run 0 "$T/out" "$RCHM" --dry-run explain --mode 600 "$T/a/dir"
t_check "--dry-run explain: from and to" t_grep "^dry-run: change mode of '.*/dir/f2': 0640 -> 0600$" "$T/out"

# Filters: an excluded entry is left as it is, an excluded directory not
# entered.
fresh
t_check "--exclude: exit 0" t_run 0 "$T/out" "$RCHM" --mode 600 --exclude 'f2' --exclude 'sub/' "$T/a/dir"
t_check "--exclude: the excluded file left" test "$(stat -c %a "$T/a/dir/f2")" = 640
t_check "--exclude: the excluded dir's contents left" test "$(stat -c %a "$T/a/dir/sub/g")" = 644
t_check "--exclude: the rest changed" test "$(stat -c %a "$T/a/dir/f1")" = 600
t_check "--summary: kept and skipped counted" t_run 0 "$T/out" "$RCHM" --summary --mode 600 --exclude 'f2' "$T/a/dir"
t_check "--summary: skipped" t_grep '^skipped: 1$' "$T/out"

# Usage.
t_check "nothing to change: exit 2" t_run 2 "$T/out" "$RCHM" "$T/a"
t_check "nothing to change: says so" t_grep '^rchm: nothing to change: give --mode, --owner or --group$' "$T/out"
t_check "no path: exit 2" t_run 2 "$T/out" "$RCHM" --mode 600
t_check "bad mode: exit 2" t_run 2 "$T/out" "$RCHM" --mode 'g+z' "$T/a"
t_check "bad mode: the cause" t_grep "^rchm: --mode: 'g\+z' is not a mode" "$T/out"
t_check "mode for symlinks: refused" t_run 2 "$T/out" "$RCHM" --mode 'l:644' "$T/a"
t_check "unknown user: exit 2" t_run 2 "$T/out" "$RCHM" --owner no-such-user-x "$T/a"
t_check "unknown user: the cause" t_grep "^rchm: --owner: no user 'no-such-user-x'$" "$T/out"

# Errors as an unprivileged user: what chown would refuse, with the cause.
mkdir -p "$T/u/mine" && printf x >"$T/u/mine/f" && printf y >"$T/u/theirs"
chown -R "$SUITE_USER" "$T/u/mine"
t_check "unprivileged chown: exit 1" t_run 1 "$T/out" as_user "$RCHM" --owner 0 "$T/u/mine"
t_check "unprivileged chown: root cause" t_grep "^error: cannot change owner of '.*/u/mine/f': Operation not permitted$" "$T/out"
t_check "unprivileged chmod of another's file: exit 1" t_run 1 "$T/out" as_user "$RCHM" --mode f:600 "$T/u"
t_check "... root cause" t_grep "^error: cannot change mode of '.*/u/theirs': Operation not permitted$" "$T/out"
t_check "... the user's own changed" test "$(stat -c %a "$T/u/mine/f")" = 600

t_done
