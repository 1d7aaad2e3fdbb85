#!/bin/bash
# remote-xmeta.sh: ACLs and xattrs (-p, -A -X) through the agents, over the
# harness's sshd: host->host (127.0.0.2 -> 127.0.0.3), local->host and
# host->local.  The dumps of getfacl and getfattr (xmeta-lib.sh) of every
# copy must equal the source's and cp -a's; the tree must equal cp -a's.
# -p with --verify, --manifest and --overwrite-compare content,acl,xattr;
# a merge into an existing copy ends with the source's xattrs and ACLs.
# An rcpd of the protocol before ACLs and xattrs (1) is refused by name.
# A destination on ramfs (no xattrs, no ACLs) gets one notice.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"
. "$(dirname "$0")/xmeta-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"
RAMFS=$T/ramfs
trap 'sshd_stop; mountpoint -q "$RAMFS" && umount "$RAMFS"; t_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

SH=127.0.0.2
DH=127.0.0.3
R() { timeout -k 5 120 "$RCP" --ssh-config "$SSH_CONFIG" "$@"; }

fixture "$T/src"
cp -a "$T/src" "$T/cp"
t_check "cp -a keeps the fixture" same_dump "$T/src" "$T/cp"
for mode in h2h l2h h2l; do
	case $mode in
	h2h) s=$SH:$T/src d=$DH:$T/$mode ;;
	l2h) s=$T/src d=$DH:$T/$mode ;;
	h2l) s=$SH:$T/src d=$T/$mode ;;
	esac
	t_check "$mode: rcp -p runs" t_run 0 "$T/$mode.out" R -p "$s" "$d"
	t_check "$mode: the same dumps as the source" same_dump "$T/src" "$T/$mode"
	t_check "$mode: the same tree as cp -a" diff <(t_tree_listing_full "$T/cp") <(t_tree_listing_full "$T/$mode")
done
t_check "h2h: rcp -A -X runs" t_run 0 "$T/ax.out" R -A -X "$SH:$T/src" "$DH:$T/ax"
t_check "h2h: -A -X, the same dumps as the source" same_dump "$T/src" "$T/ax"
# With --verify and --manifest beside them: hashes and ACLs cross together.
t_check "h2h: rcp -p --verify --manifest runs" t_run 0 "$T/v.out" R -p --verify --manifest "$T/v.xxh" "$SH:$T/src" "$DH:$T/v"
t_check "  the same dumps as the source" same_dump "$T/src" "$T/v"
t_check "  the manifest checks" sh -c 'cd "$1" && xxh128sum -c --quiet "$2"' sh "$T/v" "$T/v.xxh"
setfattr -n user.one -v changed "$T/src/f-xattr"
t_check "h2h: --overwrite-compare size,mtime,content,acl,xattr runs" t_run 0 "$T/vo.out" R -p -vv --overwrite --overwrite-compare size,mtime,content,acl,xattr "$SH:$T/src" "$DH:$T/v"
t_check "  replaces the file whose xattr changed" t_grep "replace '.*f-xattr': xattr differ" "$T/vo.out"
t_check "  leaves the others, hashes and all equal" t_grep "unchanged '.*f-acl': size,mtime,content,acl,xattr equal" "$T/vo.out"
t_check "  the same dumps as the source" same_dump "$T/src" "$T/v"
setfattr -n user.one -v 1 "$T/src/f-xattr"
prep_merge "$T/m"
t_check "h2h: rcp -p --overwrite into an existing copy runs" t_run 0 "$T/m.out" R -p --overwrite "$SH:$T/src" "$DH:$T/m"
t_check "  the same dumps as the source (extras removed)" same_dump "$T/src" "$T/m"
t_check "h2h: rcp without -p keeps none" t_run 0 "$T/n.out" R "$SH:$T/src" "$DH:$T/n"
t_check "  no ACL, no xattr" test -z "$(getfattr -R -d -m - -h "$T/n" 2>/dev/null)"

# An rcpd of protocol 1 ignored -A and -X: it is refused, with its version
# and host, before any copy (here it claims protocol 1: RCPD_TEST_PROTO).
printf '%s\n' '#!/bin/sh' "RCPD_TEST_PROTO=1 exec '$RCP_BUILDDIR/rcpd' \"\$@\"" >"$T/rcpd-proto1"
chmod 755 "$T/rcpd-proto1"
t_check "h2h with an rcpd of protocol 1: refused (exit 1)" t_run 1 "$T/old.out" R -p --rcpd-path "$T/rcpd-proto1" "$SH:$T/src" "$DH:$T/old"
t_check "  naming the host, its version and both protocols" t_grep "rcpd on '127.0.0.[23]' \(version [^)]*\) speaks protocol 1, but this rcp \(version [^)]*\) speaks protocol 2" "$T/old.out"
t_check "  nothing copied" test ! -e "$T/old"
t_check "l2h with it: refused too" t_run 1 "$T/old2.out" R -p --rcpd-path "$T/rcpd-proto1" "$T/src" "$DH:$T/old2"
t_check "  nothing copied" test ! -e "$T/old2"

# A destination agent whose file system cannot store them: one notice.
mkdir -p "$RAMFS"
if mount -t ramfs none "$RAMFS"; then
	chmod 755 "$RAMFS"
	t_check "h2h to ramfs: the copy succeeds" t_run 0 "$T/r.out" R -p "$SH:$T/src" "$DH:$RAMFS/r"
	t_check "  one notice for the file system" test "$(grep -c 'cannot keep ACLs or extended attributes' "$T/r.out")" = 1
	t_check "  a refused ACL leaves the group its own entry" test "$(stat -c %a "$RAMFS/r/f-tight")" = 700
	t_check "h2h to ramfs, --fail-early: the copy fails" t_run 1 "$T/re.out" R -p --fail-early "$SH:$T/src" "$DH:$RAMFS/e"
	umount "$RAMFS"
else
	t_fail "mount a ramfs"
fi

t_done
