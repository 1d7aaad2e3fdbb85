#!/bin/bash
# copy-xmeta.sh: POSIX ACLs and extended attributes (-A, -X, -p) against
# GNU cp -a and rsync -aAX, locally: access and default ACLs, user and
# trusted xattrs, a value near the 64 KiB limit, xattrs on directories and
# symlinks, a capability, a name that is not UTF-8.  The dumps of getfacl -R
# and getfattr -R -d -m - -h (paths relative) must be equal, FIFOs, device
# nodes and sockets included, also with --verify and --manifest, and
# --overwrite-compare weighs content beside acl and xattr.  A copy merged
# into an existing one with --overwrite ends with the source's xattrs and
# ACLs (as rsync -aAX); rcmp compares the roots' too.  Then a
# destination that cannot store them (ramfs: no xattrs, no ACLs) gets one
# notice, an error with --fail-early, a correct copy of everything else, and
# modes no more permissive than the source's ACLs.  Needs root (trusted.*,
# security.capability, mount).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/xmeta-lib.sh"

umask 022
RAMFS=$T/ramfs
cleanup() { mountpoint -q "$RAMFS" && umount "$RAMFS"; t_cleanup; }
trap cleanup EXIT

fixture "$T/src"
t_check "the fixture has ACLs and xattrs" t_grep 'default:user:1:rwx' <(dump "$T/src")
t_check "  a FIFO, a device node and a socket with theirs" t_grep 'trusted.s=0x736f636b' <(dump "$T/src")

cp -a "$T/src" "$T/cp"
t_check "cp -a keeps them (the fixture is sound)" same_dump "$T/src" "$T/cp"
rsync -aAX "$T/src/" "$T/rsync/"
t_check "rsync -aAX keeps them" same_dump "$T/src" "$T/rsync"

t_check "rcp -p runs" t_run 0 "$T/p.out" "$RCP" -p "$T/src" "$T/p"
t_check "rcp -p: the same dumps as the source" same_dump "$T/src" "$T/p"
t_check "rcp -p: the same dumps as cp -a" same_dump "$T/cp" "$T/p"
t_check "rcp -p: the same tree as cp -a" diff <(t_tree_listing_full "$T/cp") <(t_tree_listing_full "$T/p")

t_check "rcp -A -X runs" t_run 0 "$T/ax.out" "$RCP" -A -X "$T/src" "$T/ax"
t_check "rcp -A -X: the same dumps as rsync -aAX" same_dump "$T/rsync" "$T/ax"

t_check "rcp -A runs" t_run 0 "$T/a.out" "$RCP" -A "$T/src" "$T/a"
t_check "rcp -A keeps ACLs, no xattrs" test "$(getfattr -h --absolute-names -n user.one "$T/a/f-xattr" 2>/dev/null)" = "" -a \
    "$(getfacl -n -p "$T/a/f-acl" | grep -c user:1:rwx)" = 1
t_check "rcp -X runs" t_run 0 "$T/x.out" "$RCP" -X "$T/src" "$T/x"
t_check "rcp -X keeps xattrs, no ACLs (as rsync -X)" test "$(getfattr --absolute-names --only-values -n user.one "$T/x/f-xattr")" = 1 -a \
    "$(getfacl -n -p "$T/x/f-acl" | grep -c user:1:)" = 0
t_check "rcp (no -p) keeps neither" t_run 0 "$T/n.out" "$RCP" "$T/src" "$T/n"
t_check "  no ACL, no xattr" test -z "$(getfattr -R -d -m - -h "$T/n" 2>/dev/null)"
t_check "--preserve-settings per type: xattrs of files only" t_run 0 "$T/ps.out" \
    "$RCP" --preserve-settings "f:xattr d:0777" "$T/src" "$T/ps"
t_check "  file xattr kept, directory's not" test "$(getfattr --absolute-names --only-values -n user.one "$T/ps/f-xattr")" = 1 -a \
    -z "$(getfattr --absolute-names --only-values -n user.dir "$T/ps/d" 2>/dev/null)"

# Into a directory with a default ACL: what the entries inherit from it but
# the source lacks is removed, as cp -a does.
mkdir "$T/inh"
setfacl -d -m u:3:rwx,g:4:rwx "$T/inh"
cp -a "$T/src" "$T/inh/cp"
t_check "cp -a into an inheriting directory keeps the source's ACLs" same_dump "$T/src" "$T/inh/cp"
t_check "rcp -p into an inheriting directory runs" t_run 0 "$T/inh.out" "$RCP" -p "$T/src" "$T/inh/p"
t_check "  the same dumps as the source: nothing inherited" same_dump "$T/src" "$T/inh/p"
t_check "  the same tree as cp -a" diff <(t_tree_listing_full "$T/inh/cp") <(t_tree_listing_full "$T/inh/p")
# One made 0700 gives other::--- by default, the umask aside: the copy keeps
# the source's mode bits all the same.
mkdir -m 700 "$T/inh0"
setfacl -d -m u:3:rwx "$T/inh0"
cp -a "$T/src" "$T/inh0/cp"
t_check "rcp -p into an inheriting 0700 directory runs" t_run 0 "$T/inh0.out" "$RCP" -p "$T/src" "$T/inh0/p"
t_check "  the same dumps as the source: its modes" same_dump "$T/src" "$T/inh0/p"
t_check "  the same tree as cp -a" diff <(t_tree_listing_full "$T/inh0/cp") <(t_tree_listing_full "$T/inh0/p")

# Merging into an existing copy with --overwrite: the directories end with
# the source's xattrs and ACLs (what only the destination has is removed,
# as rsync -aAX does), and so do the files that are replaced (prep_merge).
prep_merge "$T/mrsync"
rsync -aAX "$T/src/" "$T/mrsync/"
t_check "rsync -aAX: a merged copy ends with the source's set" same_dump "$T/src" "$T/mrsync"
prep_merge "$T/m"
t_check "the merged copy differs before" t_run 1 "$T/m0.out" "$RCMP" --metadata-compare "f:acl,xattr d:acl,xattr" "$T/src" "$T/m"
t_check "rcp -p --overwrite into the existing copy runs" t_run 0 "$T/m.out" "$RCP" -p --overwrite "$T/src" "$T/m"
t_check "  the same dumps as the source (extras removed)" same_dump "$T/src" "$T/m"
t_check "  the same dumps as rsync -aAX" same_dump "$T/mrsync" "$T/m"
prep_merge "$T/mx"
t_check "rcp -X --overwrite (no -A) runs" t_run 0 "$T/mx.out" "$RCP" -X --overwrite "$T/src" "$T/mx"
xdump() { (cd "$1" && find . -print0 | LC_ALL=C sort -z | xargs -0 getfattr -d -m '^(user|trusted|security)[.]' -h -e hex 2>&1); }
t_check "  xattrs as the source's" diff <(xdump "$T/src") <(xdump "$T/mx")
t_check "  the ACL the source lacks stays (no -A)" t_grep 'user:5:rwx' <(getfacl -n "$T/mx/d")

# Comparing ACLs and xattrs: rcmp --metadata-compare, rcp --overwrite-compare.
XSPEC="f:size,acl,xattr d:acl,xattr l:xattr"
t_check "rcmp: acl and xattr of a copy are equal" t_run 0 "$T/cmp0.out" "$RCMP" --metadata-compare "$XSPEC" "$T/src" "$T/p"
setfattr -n user.one -v changed "$T/p/f-xattr"
setfacl -m u:1:r "$T/p/f-acl"
setfattr -h -x trusted.link "$T/p/link"
setfattr -n user.root -v r "$T/p"
setfacl -m u:4:r "$T/p/sp/fifo"
t_check "rcmp: differences found" t_run 1 "$T/cmp1.out" "$RCMP" --metadata-compare "$XSPEC" "$T/src" "$T/p"
t_check "  an xattr of the root itself" t_grep '"path":".","diff":"xattr"' "$T/cmp1.out"
t_check "  an ACL of a FIFO" t_grep '"sp/fifo".*"diff":"acl"|"diff":"acl".*"sp/fifo"' "$T/cmp1.out"
t_check "  an xattr of a file" t_grep '"f-xattr".*"diff":"xattr"|"diff":"xattr".*"f-xattr"' "$T/cmp1.out"
t_check "  an ACL" t_grep '"f-acl".*"diff":"acl"|"diff":"acl".*"f-acl"' "$T/cmp1.out"
t_check "  an xattr of a symlink" t_grep '"link".*"diff":"xattr"|"diff":"xattr".*"link"' "$T/cmp1.out"
t_check "rcp --overwrite (size,mtime) leaves them" t_run 0 "$T/o1.out" "$RCP" -p --overwrite "$T/src" "$T/p"
t_check "  still different" t_run 1 "$T/cmp2.out" "$RCMP" --metadata-compare "$XSPEC" "$T/src" "$T/p"
t_check "rcp --overwrite-compare with acl,xattr recopies them" t_run 0 "$T/o2.out" \
    "$RCP" -p --overwrite --overwrite-compare "f:size,mtime,acl,xattr d:mtime l:xattr" "$T/src" "$T/p"
t_check "  the same dumps as the source" same_dump "$T/src" "$T/p"
# content beside acl and xattr: hashed only where those are equal.
printf 'X' | dd of="$T/p/plain/p" bs=1 seek=0 conv=notrunc status=none
touch -r "$T/src/plain/p" "$T/p/plain/p"
t_check "rcp --overwrite-compare content,acl,xattr runs" t_run 0 "$T/o3.out" \
    "$RCP" -p -vv --overwrite --overwrite-compare "f:size,mtime,content,acl,xattr d:mtime l:xattr" "$T/src" "$T/p"
t_check "  replaces the file whose content differs" t_grep "replace '.*plain/p': content differ" "$T/o3.out"
t_check "  leaves a file with ACLs" t_grep "unchanged '.*f-acl': size,mtime,content,acl,xattr equal" "$T/o3.out"
t_check "  the same data" cmp "$T/src/plain/p" "$T/p/plain/p"
t_check "rcp -p --verify --manifest runs" t_run 0 "$T/v.out" "$RCP" -p --verify --manifest "$T/v.xxh" "$T/src" "$T/v"
t_check "  the same dumps as the source" same_dump "$T/src" "$T/v"
t_check "  the manifest checks" sh -c 'cd "$1" && xxh128sum -c --quiet "$2"' sh "$T/v" "$T/v.xxh"

# A destination without xattrs or ACLs.
mkdir -p "$RAMFS"
if mount -t ramfs none "$RAMFS"; then
	t_check "to ramfs: the copy succeeds" t_run 0 "$T/r.out" "$RCP" -p "$T/src" "$RAMFS/r"
	t_check "  one notice for the file system" test "$(grep -c 'cannot keep ACLs or extended attributes' "$T/r.out")" = 1
	# Entries with an ACL get a safe mode (below): compared without it.
	nomode() { t_tree_listing_full "$1" | awk -F'\t' -v OFS='\t' '$1 ~ /^[.]\/(f-acl|f-tight|d|sp\/.*)$/ { $3 = "-" } 1'; }
	t_check "  everything else is copied" diff <(nomode "$T/cp") <(nomode "$RAMFS/r")
	m=$(stat -c %a "$RAMFS/r/f-tight")
	t_check "  a refused ACL with a tight mask leaves the group nothing ($m)" test "$m" = 700
	m=$(stat -c %a "$RAMFS/r/f-acl")
	t_check "  a refused ACL leaves the group its own entry, not the mask ($m)" test "$m" = 644
	t_check "with --fail-early the copy fails" t_run 1 "$T/re.out" "$RCP" -p --fail-early "$T/src" "$RAMFS/e"
	t_check "  naming what could not be kept" t_grep "cannot keep ACLs and xattrs of" "$T/re.out"
	umount "$RAMFS"
else
	t_fail "mount a ramfs"
fi

t_done
