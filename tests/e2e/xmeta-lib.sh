# xmeta-lib.sh: the ACL and xattr fixtures of copy-xmeta.sh,
# remote-xmeta.sh, xmeta-user.sh and xmeta-user-ssh.sh, and the dumps they
# compare (sourced after lib.sh, bash).  Needs root: trusted.*,
# security.capability.

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
	# Special files keep theirs as cp -a and rsync -aAX keep them (the
	# kernel allows user.* on files and directories only).
	mkdir "$s/sp"
	mkfifo "$s/sp/fifo"
	setfattr -n trusted.f -v fifo "$s/sp/fifo"
	setfacl -m u:1:rw "$s/sp/fifo"
	mknod "$s/sp/cdev" c 1 3
	setfattr -n trusted.c -v cdev "$s/sp/cdev"
	setfacl -m g:2:rw "$s/sp/cdev"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$s/sp/sock"
	setfattr -n trusted.s -v sock "$s/sp/sock"
	setfacl -m u:3:r "$s/sp/sock"
}

# user_fixture DIR USER: a tree of USER's own with user.* xattrs, access and
# default ACLs -- and trusted.* and security.capability, which root put
# there and only root may copy (40 files with a capability: a notice per
# file would show).
user_fixture() {
	local s=$1 i
	mkdir -p "$s/d/sub" "$s/plain"
	echo a >"$s/f-acl" && setfacl -m u:1:rwx,g:2:r "$s/f-acl"
	echo x >"$s/f-xattr"
	setfattr -n user.one -v 1 "$s/f-xattr"
	setfattr -n user.bin -v 0x00ff00fe "$s/f-xattr"
	setfattr -n trusted.t -v root-only "$s/f-xattr"
	setfacl -d -m u:1:rwx "$s/d" && setfattr -n user.dir -v d "$s/d"
	echo in >"$s/d/sub/file"
	for i in $(seq 1 40); do echo "$i" >"$s/plain/c$i"; done
	setfattr -n user.p -v p "$s/plain/c1"
	chown -R "$2:$2" "$s"
	# After the chown, which clears capabilities.
	for i in $(seq 1 40); do setcap cap_net_raw+ep "$s/plain/c$i"; done
}

# prep_merge DIR: a copy of $T/src (cp -a) with xattrs and ACLs the source
# lacks, or other than its, on the root, a directory, a file and a FIFO
# (those two with other times, so that --overwrite replaces them).
prep_merge() {
	cp -a "$T/src" "$1"
	setfattr -n user.extra -v x "$1"
	setfattr -n trusted.extra -v x "$1/d"
	setfattr -n user.dir -v other "$1/d"
	setfacl -m u:5:rwx "$1/d"
	setfacl -m u:5:rwx "$1/plain"
	setfacl -d -m u:6:r "$1/plain"
	setfattr -n user.extra -v x "$1/f-xattr"
	setfacl -m u:7:r "$1/f-xattr"
	touch -d @1 "$1/f-xattr"
	setfattr -n trusted.extra -v x "$1/sp/fifo"
	touch -h -d @1 "$1/sp/fifo"
}

# dump DIR: its ACLs and xattrs, paths relative to DIR, sorted (getfacl -R
# and getfattr -R walk in directory order, which differs between copies).
# Symlinks have no ACLs, and getfacl would follow them.
dump() {
	(cd "$1" && find . ! -type l -print0 | LC_ALL=C sort -z | xargs -0 getfacl -n 2>&1 &&
	    find . -print0 | LC_ALL=C sort -z | xargs -0 getfattr -d -m - -h -e hex 2>&1)
}
same_dump() { diff <(dump "$1") <(dump "$2") | head -20 >&2; [ "${PIPESTATUS[0]}" = 0 ]; }

