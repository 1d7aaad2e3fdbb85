# xmeta-lib.sh: the ACL and xattr fixture of copy-xmeta.sh and
# remote-xmeta.sh, and the dumps they compare (sourced after lib.sh, bash).
# Needs root: trusted.*, security.capability.

# fixture DIR: the tree every copy starts from.
fixture() {
	local s=$1
	mkdir -p "$s/d/sub" "$s/plain"
	echo acl >"$s/f-acl"
	setfacl -m u:1:rwx,g:2:r "$s/f-acl"
	echo tight >"$s/f-tight"
	chmod 0770 "$s/f-tight"
	# The mode's group bits are the mask (rwx), the owning group has none.
	setfacl -m u:1:rwx,g::- "$s/f-tight"
	echo x >"$s/f-xattr"
	setfattr -n user.one -v 1 "$s/f-xattr"
	setfattr -n user.bin -v 0x00ff00fe "$s/f-xattr"
	setfattr -n trusted.t -v trusted "$s/f-xattr"
	head -c 65000 /dev/zero | tr '\0' a >"$T/big.val"
	echo big >"$s/f-big"
	setfattr -n user.big -v "$(cat "$T/big.val")" "$s/f-big"
	setfacl -m u:1:rx "$s/d"
	setfacl -d -m u:1:rwx,g:2:rx "$s/d"
	setfattr -n user.dir -v d "$s/d"
	echo in >"$s/d/sub/file"
	ln -s f-xattr "$s/link"
	setfattr -h -n trusted.link -v l "$s/link"
	echo cap >"$s/f-cap"
	setcap cap_net_raw+ep "$s/f-cap"
	echo odd >"$s/$(printf 'n\377\376')"
	setfattr -n user.odd -v o "$s/$(printf 'n\377\376')"
	echo plain >"$s/plain/p"
}

# dump DIR: its ACLs and xattrs, paths relative to DIR, sorted (getfacl -R
# and getfattr -R walk in directory order, which differs between copies).
# Symlinks have no ACLs, and getfacl would follow them.
dump() {
	(cd "$1" && find . ! -type l -print0 | LC_ALL=C sort -z | xargs -0 getfacl -n 2>&1 &&
	    find . -print0 | LC_ALL=C sort -z | xargs -0 getfattr -d -m - -h -e hex 2>&1)
}
same_dump() { diff <(dump "$1") <(dump "$2") | head -20 >&2; [ "${PIPESTATUS[0]}" = 0 ]; }

