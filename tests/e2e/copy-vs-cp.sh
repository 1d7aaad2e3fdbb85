#!/bin/bash
# copy-vs-cp.sh: rcp against GNU cp on a fixture of awkward entries:
# `cp -a` vs `rcp -p -H`, `cp -r` vs `rcp`, `cp -rL` vs `rcp -L`, and -L on
# a symlink loop.  Trees are compared by lister.py below, which walks by fd
# (the fixture is deeper than PATH_MAX) and does not use our tools.
. "$(dirname "$0")/lib.sh"

umask 022
LISTER=$T/lister.py
cat >"$LISTER" <<'EOF'
# lister.py ROOT [options]: one line per entry (the root as "."), sorted:
# path, type, mode, owner, size, mtime (ns), symlink target, device numbers,
# a content hash; then "#links" lines, the hard-link partition (paths that
# share an inode).  Names that are not UTF-8 are shown escaped.
# Options: --mode-mask OCT, --no-times, --no-dir-times, --no-owner,
# --no-links, --skip NAME (a top-level entry, repeatable).
import hashlib, os, stat, sys

args = sys.argv[2:]
root = os.fsencode(sys.argv[1])
mask = int(args[args.index("--mode-mask") + 1], 8) if "--mode-mask" in args else 0o7777
times, owner = "--no-times" not in args, "--no-owner" not in args
dirtimes, links = "--no-dir-times" not in args, "--no-links" not in args
skip = {os.fsencode(args[i + 1]) for i, a in enumerate(args) if a == "--skip"}
kinds = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFIFO: "p",
         stat.S_IFSOCK: "s", stat.S_IFCHR: "c", stat.S_IFBLK: "b"}
BLK = 1 << 16

def show(b):
    return b.decode("utf-8", "backslashreplace").encode("unicode_escape").decode("ascii")

def content_hash(fd, size):
    # Hashes the non-zero 64K blocks with their offsets: the same for a
    # file whatever its holes, and fast on a sparse 1G file.
    h, off = hashlib.sha1(), 0
    while off < size:
        try:
            data = os.lseek(fd, off, os.SEEK_DATA)
        except OSError:
            break
        hole = os.lseek(fd, data, os.SEEK_HOLE)
        pos = data - data % BLK
        while pos < hole:
            b = os.pread(fd, BLK, pos)
            if not b:
                break
            if b.count(0) != len(b):
                h.update(b"%d:" % pos)
                h.update(b)
            pos += BLK
        off = hole
    return h.hexdigest()

lines, inodes = [], {}

def entry(rel, dirfd, name):
    st = os.stat(name, dir_fd=dirfd, follow_symlinks=False)
    kind = kinds[stat.S_IFMT(st.st_mode)]
    f = [show(rel), kind, "%o" % (0 if kind == "l" else stat.S_IMODE(st.st_mode) & mask),
         "%d:%d" % (st.st_uid, st.st_gid) if owner else "-",
         str(st.st_size) if kind in "fl" else "-",
         str(st.st_mtime_ns) if times and (kind != "d" or dirtimes) else "-",
         show(os.readlink(name, dir_fd=dirfd)) if kind == "l" else "-"]
    if kind in "cb":
        f.append("%d,%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
    if kind == "f":
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW, dir_fd=dirfd)
        try:
            f.append(content_hash(fd, st.st_size))
        finally:
            os.close(fd)
    else:
        f.append("-")
    if kind != "d":
        inodes.setdefault((st.st_dev, st.st_ino), []).append(show(rel))
    lines.append("\t".join(f))
    return kind

def walk(rel, dirfd):
    for name in os.listdir(dirfd):
        name = os.fsencode(name)
        if rel == b"." and name in skip:
            continue
        sub = name if rel == b"." else rel + b"/" + name
        if entry(sub, dirfd, name) == "d":
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dirfd)
            try:
                walk(sub, fd)
            finally:
                os.close(fd)

top = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
entry(b".", top, b".")
walk(b".", top)
os.close(top)
print("\n".join(sorted(lines)))
if links:
    for g in sorted(sorted(g) for g in inodes.values() if len(g) > 1):
        print("#links\t" + "\t".join(g))
EOF

# lst DIR [options]: the listing of DIR.
lst() { python3 "$LISTER" "$@"; }
# same_listing DESC A B [options]: A and B list the same; shows the diff.
same_listing() {
	local desc=$1 a=$2 b=$3; shift 3
	lst "$a" "$@" >"$T/la" && lst "$b" "$@" >"$T/lb" || { t_fail "$desc (listing failed)"; return; }
	if diff "$T/la" "$T/lb" >"$T/ldiff"; then
		t_pass "$desc"
	else
		t_fail "$desc"
		cut -c1-200 "$T/ldiff" | head -20 | sed 's/^/  | /'
	fi
}

# --- the fixture -----------------------------------------------------------
# mkfixture DIR WITH_LOOPS: builds the fixture; WITH_LOOPS=1 adds symlink
# loops, a symlink to a parent and a dangling symlink (not for -L).
mkfixture() {
	local F=$1 loops=$2 n i
	mkdir "$F"
	printf 'data\n' >"$F/file1"
	head -c 100000 /dev/urandom >"$F/random"
	head -c $((40 << 20)) /dev/urandom >"$F/big"	# over the 16M chunk size
	: >"$F/emptyfile"
	ln -s file1 "$F/rel_link"
	ln -s "$F/file1" "$F/abs_link"
	mkdir "$F/dir" "$F/dir/sub" "$F/tolinkdir"
	printf 'inner\n' >"$F/dir/inner"
	ln -s ../tolinkdir "$F/dir/dirlink"	# a symlink to a directory
	if [ "$loops" = 1 ]; then
		ln -s does/not/exist "$F/broken"
		ln -s loop_b "$F/loop_a"
		ln -s loop_a "$F/loop_b"
		ln -s .. "$F/dir/up"		# leads back to the root
	fi
	# A sparse file: 1 GiB with a little data in the middle and at the end.
	truncate -s 1G "$F/sparse"
	printf 'middle' | dd of="$F/sparse" bs=1 seek=$((500 << 20)) conv=notrunc status=none
	printf 'tail' | dd of="$F/sparse" bs=1 seek=$(((1 << 30) - 4)) conv=notrunc status=none
	truncate -s 100M "$F/allhole"
	# Hard links, across directories too.
	printf 'linked\n' >"$F/hl_a"
	ln "$F/hl_a" "$F/hl_b"
	ln "$F/hl_a" "$F/dir/sub/hl_c"
	head -c $((20 << 20)) /dev/urandom >"$F/hl_big"
	ln "$F/hl_big" "$F/dir/hl_big2"
	# Special files.
	mkfifo "$F/fifo"
	python3 -c 'import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])' "$F/socket"
	mknod "$F/null" c 1 3 2>/dev/null
	# Every mode a file can have, and special bits on directories.
	mkdir "$F/modes"
	python3 - "$F/modes" <<'PY'
import os, sys
for m in range(0o10000):
    p = "%s/m%04o" % (sys.argv[1], m)
    os.close(os.open(p, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(p, m)
PY
	for m in 0000 0700 1777 2755 4755 3775 7777 0555; do
		mkdir "$F/modes/d$m"
		printf '%s\n' "$m" >"$F/modes/d$m/in"
		mkdir "$F/modes/d$m/sub"
		chmod "$m" "$F/modes/d$m"
	done
	# Owners other than ours, on a file, a directory and a symlink.
	chown 1234:5678 "$F/file1" "$F/dir/sub"
	chown -h 4321:8765 "$F/rel_link"
	chown 1234:0 "$F/modes/m6755"
	chmod 6755 "$F/modes/m6755"	# chown cleared the bits
	# Odd names.
	mkdir "$F/names"
	for n in $'\xff\xfe' $'new\nline' '-leading' 'with space' 'back\slash' \
	    ' ' '*' $'tab\there' 'é' '..dots'; do
		printf '%s\n' "$n" >"$F/names/$n"
	done
	mkdir "$F/names/"$'dir\xff'
	printf x >"$F/names/"$'dir\xff/'$'in\nner'
	ln -s $'new\nline' "$F/names/"$'link\xfe'
	# A chain deeper than PATH_MAX: 45 levels of 100-byte names.
	n=$(printf 'n%.0s' {1..100})
	mkdir "$F/deep"
	(
		cd "$F/deep" || exit 1
		for ((i = 0; i < 45; i++)); do mkdir "$n$i" && cd "$n$i" || exit 1; done
		printf 'bottom\n' >file
		ln -s file link
		mkfifo fifo
		ln file hardlink
		touch -d '2002-02-02 02:02:02.222222222' file
	)
	# Empty directories.
	mkdir -p "$F/empty/nested/empty2"
	# Times to the nanosecond, on files, symlinks and (last) directories.
	touch -d '2001-02-03 04:05:06.123456789' "$F/random"
	touch -h -d '2003-03-03 03:03:03.333333333' "$F/rel_link"
	touch -d '1999-12-31 23:59:59.999999999' "$F/modes/m0000"
	touch -d '2010-10-10 10:10:10.101010101' "$F/dir/sub" "$F/empty/nested" "$F/modes/d1777"
}

# Accepts cp's own failures on the chain deeper than PATH_MAX.
cp_deep_only() {
	local out=$1
	grep -v "File name too long" "$out" >"$out.other"
	if [ -s "$out.other" ]; then
		echo "  cp failed on more than the deep chain:" >&2
		head "$out.other" >&2
		return 1
	fi
}

mkfixture "$T/fixture" 1
t_check "fixture: deeper than PATH_MAX" test "$(find "$T/fixture/deep" | awk '{ if (length($0) > m) m = length($0) } END { print m }')" -gt 4096
t_check "fixture: sparse source is sparse" test $(($(stat -c %b "$T/fixture/sparse") * 512)) -lt $((16 << 20))

# --- cp -a vs rcp -p -H ----------------------------------------------------
cp -a "$T/fixture" "$T/ref" >"$T/cp.out" 2>&1
t_check "cp -a: fails on the deep chain only" cp_deep_only "$T/cp.out"
t_check "rcp -p -H: exit 0" t_run 0 "$T/run.out" "$RCP" -p -H "$T/fixture" "$T/out"
t_check "rcp -p -H: no output" test ! -s "$T/run.out"
# The deep chain is compared with the fixture itself (cp cannot copy it).
same_listing "rcp -p -H = cp -a: types, modes, owners, sizes, mtimes, targets, contents, hard links" \
    "$T/ref" "$T/out" --skip deep
same_listing "rcp -p -H: the chain deeper than PATH_MAX is exact" "$T/fixture/deep" "$T/out/deep"
t_check "rcp -p -H: sparse copy stays sparse" test $(($(stat -c %b "$T/out/sparse") * 512)) -lt $((16 << 20))
t_check "rcp -p -H: sparse copy has the apparent size" test "$(stat -c %s "$T/out/sparse")" = $((1 << 30))
t_check "rcp -p -H: all-hole file stays a hole" test "$(stat -c %b "$T/out/allhole")" = 0 -a "$(stat -c %s "$T/out/allhole")" = $((100 << 20))
t_check "rcp -p -H: sparse data in place" test "$(dd if="$T/out/sparse" bs=1 skip=$((500 << 20)) count=6 status=none)" = middle
t_check "rcp -p -H: big file bytes" cmp -s "$T/fixture/big" "$T/out/big"
t_check "rcp -p -H: hard link across dirs" test "$(stat -c %i "$T/out/hl_a")" = "$(stat -c %i "$T/out/dir/sub/hl_c")"
t_check "rcp -p -H: chunked file hard link" test "$(stat -c %i "$T/out/hl_big")" = "$(stat -c %i "$T/out/dir/hl_big2")"
t_check "rcp -p -H: 7777 file keeps all bits" test "$(stat -c %a "$T/out/modes/m7777")" = 7777
t_check "rcp -p -H: 7777 dir keeps all bits" test "$(stat -c %a "$T/out/modes/d7777")" = 7777
t_check "rcp -p -H: setuid file owned by 1234 keeps 6755" test "$(stat -c '%a %u' "$T/out/modes/m6755")" = "6755 1234"
t_check "rcp -p -H: symlink owner" test "$(stat -c %u:%g "$T/out/rel_link")" = 4321:8765

# Hard links among symlinks and FIFOs: cp -a keeps them.
mkdir "$T/hls"
ln -s target "$T/hls/s1"
ln "$T/hls/s1" "$T/hls/s2"
mkfifo "$T/hls/p1"
ln "$T/hls/p1" "$T/hls/p2"
cp -a "$T/hls" "$T/hls_ref"
t_check "rcp -p -H on linked symlinks and FIFOs: exit 0" t_run 0 "$T/run.out" "$RCP" -p -H "$T/hls" "$T/hls_out"
same_listing "rcp -p -H = cp -a: hard-linked symlinks and FIFOs stay linked" "$T/hls_ref" "$T/hls_out"

# --- cp -r vs rcp ------------------------------------------------------------
# rcp's documented default keeps mode & 0777 whatever the umask; cp -r
# applies the umask, so it runs with umask 0 here.  Neither keeps owners
# (we are root: all ours), times or hard links.  cp -r keeps a directory's
# sticky bit: modes are compared on the permission bits, and rcp's own modes
# are checked against the source below.
(umask 0 && cp -r "$T/fixture" "$T/ref_r") >"$T/cp.out" 2>&1
t_check "cp -r: fails on the deep chain only" cp_deep_only "$T/cp.out"
t_check "rcp (umask 077): exit 0" t_run 0 "$T/run.out" sh -c 'umask 077 && exec "$0" "$1" "$2"' "$RCP" "$T/fixture" "$T/out_r"
same_listing "rcp = cp -r: types, names, permission bits, sizes, targets, contents" \
    "$T/ref_r" "$T/out_r" --skip deep --mode-mask 0777 --no-times --no-links
same_listing "rcp: modes are exactly the source's & 0777 (no umask, no special bits)" \
    "$T/fixture" "$T/out_r" --no-times --no-owner --no-links --mode-mask 0777
lst "$T/out_r" --mode-mask 07777 --no-times --no-owner --no-links >"$T/l7777"
lst "$T/out_r" --mode-mask 0777 --no-times --no-owner --no-links >"$T/l0777"
t_check "rcp: no setuid, setgid or sticky bit anywhere" cmp -s "$T/l7777" "$T/l0777"
t_check "rcp: everything owned by us" test -z "$(find "$T/out_r" ! -user root -o ! -group root | head -1)"
t_check "rcp: times not kept" test "$(stat -c %Y "$T/out_r/random")" != "$(stat -c %Y "$T/fixture/random")"
t_check "rcp: hard links not kept" test "$(stat -c %i "$T/out_r/hl_a")" != "$(stat -c %i "$T/out_r/hl_b")"
t_check "rcp: sparse copy stays sparse" test $(($(stat -c %b "$T/out_r/sparse") * 512)) -lt $((16 << 20))
same_listing "rcp: the deep chain (names, types, contents)" "$T/fixture/deep" "$T/out_r/deep" \
    --no-times --no-owner --no-links

# --- cp -rL vs rcp -L --------------------------------------------------------
mkfixture "$T/fixL" 0
(umask 0 && cp -rL "$T/fixL" "$T/ref_L") >"$T/cp.out" 2>&1
t_check "cp -rL: fails on the deep chain only" cp_deep_only "$T/cp.out"
t_check "rcp -L: exit 0" t_run 0 "$T/run.out" "$RCP" -L "$T/fixL" "$T/out_L"
same_listing "rcp -L = cp -rL: symlinks replaced by what they point to" \
    "$T/ref_L" "$T/out_L" --skip deep --mode-mask 0777 --no-times --no-links
t_check "rcp -L: no symlinks left" test -z "$(find "$T/out_L" -type l | head -1)"
t_check "rcp -L: symlinked dir copied as a dir" test -d "$T/out_L/dir/dirlink" -a ! -L "$T/out_L/dir/dirlink"
t_check "rcp -L: absolute symlink copied as the file" cmp -s "$T/fixL/file1" "$T/out_L/abs_link"
# The deep chain: as the source, except that its symlink became a file.
lst "$T/fixL/deep" --no-times --no-owner --no-links | grep -v $'/link\t' >"$T/la"
lst "$T/out_L/deep" --no-times --no-owner --no-links | grep -v $'/link\t' >"$T/lb"
t_check "rcp -L: the deep chain" diff "$T/la" "$T/lb"
t_check "rcp -L: deep symlink became a copy of its target" test "$(lst "$T/out_L/deep" | grep -c $'/link\tf\t644\t0:0\t7\t')" = 1
# A source that is a symlink: followed with -L, kept without.
t_check "rcp -L symlink argument: exit 0" t_run 0 "$T/run.out" "$RCP" -L "$T/fixL/dir/dirlink" "$T/argL"
t_check "rcp -L symlink argument: a directory" test -d "$T/argL" -a ! -L "$T/argL"
t_check "rcp symlink argument: exit 0" t_run 0 "$T/run.out" "$RCP" "$T/fixL/dir/dirlink" "$T/argP"
t_check "rcp symlink argument: stays a symlink" test "$(readlink "$T/argP")" = ../tolinkdir

# --- rcp -L on loops ---------------------------------------------------------
t_check "rcp -L with loops: exit 1, in bounded time" t_run 1 "$T/loops.out" timeout 60 "$RCP" -L "$T/fixture" "$T/out_loops"
t_check "rcp -L: loop to a parent named" t_grep "^error: cannot copy '.*/fixture/dir/up': it is a directory loop" "$T/loops.out"
t_check "rcp -L: symlink loop named" t_grep "^error: cannot stat '.*/fixture/loop_a': Too many levels of symbolic links" "$T/loops.out"
t_check "rcp -L: dangling symlink named" t_grep "^error: cannot stat '.*/fixture/broken': No such file or directory" "$T/loops.out"
t_check "rcp -L: error count" t_grep "^rcp: 4 errors; see the messages above" "$T/loops.out"
t_check "rcp -L: nothing made for the loop" test ! -e "$T/out_loops/dir/up"
t_check "rcp -L: the rest was copied" cmp -s "$T/fixture/dir/inner" "$T/out_loops/dir/inner"
t_check "rcp -L: deep chain copied despite the loops" test "$(cd "$T/out_loops/deep" && find . -name file -type f | wc -l)" = 1

# --- -p into a setgid directory of another group ---------------------------
# Entries made there take its group: -p must still give them the source's
# (rcp skips a chown only where new entries are surely ours already).
mkdir -p "$T/own/src/d" "$T/sgid"
echo a >"$T/own/src/f" && echo b >"$T/own/src/d/g" && echo c >"$T/own/src/other"
chown 1234:5678 "$T/own/src/other"
chgrp 5678 "$T/sgid" && chmod 2775 "$T/sgid"
cp -a "$T/own/src" "$T/sgid/cp"
t_check "rcp -p into a setgid directory: exit 0" t_run 0 "$T/run.out" "$RCP" -p "$T/own/src" "$T/sgid/rcp"
owners() { (cd "$1" && find . -printf '%P %U:%G %m\n' | LC_ALL=C sort); }
t_check "  owners and groups as cp -a's" diff <(owners "$T/sgid/cp") <(owners "$T/sgid/rcp")
t_check "  the source's group, not the directory's" test "$(stat -c %g "$T/sgid/rcp/d/g")" = 0

t_done
