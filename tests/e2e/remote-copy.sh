#!/bin/bash
# remote-copy.sh: the real rcp copying through a real sshd, between two
# loopback "hosts" (127.0.0.2 the source, 127.0.0.3 the destination) and
# between a host and the local side (served by an agent rcp starts itself,
# and, with --local-host, over SSH to 127.0.0.1):
# files, trees, many small files, a chain deeper than PATH_MAX, empty
# directories, symlinks (also as the root), odd names, FIFOs, a 4 GiB
# sparse file, hard links, -L, every pairing of entry types under
# --overwrite, unchanged files left alone and not sent, --ignore-existing,
# --delete, filters, --dry-run, errors as an unprivileged SSH user, the
# per-host summary and the merged, tagged logs.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"			# the agents read and write under $T

SH=127.0.0.2			# source host
DH=127.0.0.3			# destination host
LH=127.0.0.1			# serves the local side with --local-host
MODES="h2h h2l l2h"		# host->host, host->local, local->host

# A hung rcp fails its check (exit 124) instead of hanging the test.
R() { timeout -k 5 120 "$RCP" --ssh-config "$SSH_CONFIG" "$@"; }
# rx MODE OPTIONS...: rcp for one pairing.
rx() { shift; R "$@"; }
# sp MODE PATH, dp MODE PATH: PATH as the source / destination operand.
sp() { if [ "$1" = l2h ]; then printf '%s' "$2"; else printf '%s:%s' "$SH" "$2"; fi; }
dp() { if [ "$1" = h2l ]; then printf '%s' "$2"; else printf '%s:%s' "$DH" "$2"; fi; }
# shost MODE, dhost MODE: the host named in the summary.
shost() { if [ "$1" = l2h ]; then echo localhost; else echo "$SH"; fi; }
dhost() { if [ "$1" = h2l ]; then echo localhost; else echo "$DH"; fi; }
re() { printf '%s' "$1" | sed 's/[.]/\\./g'; }

# The QUIC bytes of some runs are counted by an iptables rule on a port range
# of this test (below the kernel's ephemeral ports, which the other runs use).
PORTS_LO=29120 PORTS_HI=29135
IPT_TAG="rcp-e2e-remote-copy-$$"
ipt_rule=(OUTPUT -o lo -p udp -m multiport --sports "$PORTS_LO:$PORTS_HI" -m comment --comment "$IPT_TAG" -j ACCEPT)
ipt_cleanup() { while iptables -w -D "${ipt_rule[@]}" 2>/dev/null; do :; done; }
trap 'ipt_cleanup; sshd_stop; t_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
t_check "iptables counts the QUIC bytes of this test (iptables is needed)" iptables -w -I "${ipt_rule[@]}"
# quic_counter: the bytes the rule counted so far (other tests' rules are
# left alone: no -Z).
quic_counter() {
	iptables -w -L OUTPUT -v -x -n | awk -v tag="$IPT_TAG" '
	    index($0, "/* " tag " */") { print $2; found = 1; exit }
	    END { if (!found) print -1 }'
}

# meta DIR: one line per entry below DIR, sorted: path, type, mode, owner,
# size (not for directories), mtime (ns) and symlink target.
meta() {
	(cd "$1" && find . -mindepth 1 \( -type d -printf '%p\t%y\t%m\t%U:%G\t-\t%T@\t\n' \) \
	    -o -printf '%p\t%y\t%m\t%U:%G\t%s\t%T@\t%l\n' | LC_ALL=C sort)
}
same_meta() { diff <(meta "$1") <(meta "$2") | head -20 >&2; [ "${PIPESTATUS[0]}" = 0 ]; }
# inodes DIR: "path inode" for every non-directory, sorted.
inodes() { (cd "$1" && find . -mindepth 1 ! -type d -printf '%p %i\n' | LC_ALL=C sort); }
# kept_inodes BEFORE DIR: DIR's entries have the inodes listed in BEFORE
# (which must list some).
kept_inodes() { [ -s "$1" ] && diff "$1" <(inodes "$2") | head -5 >&2 && [ "${PIPESTATUS[0]}" = 0 ]; }
# ino PATH: its inode number; a missing PATH gives a token equal to nothing.
ino() { stat -c %i "$1" 2>/dev/null || echo "missing-$RANDOM$RANDOM"; }
nfiles() { find "$1" -type f -printf x | wc -c; }
summary_has() { t_grep "^$2: $3\$" "$1"; }
# no_messages FILE: no error from rcp, and nothing from rcpd's stderr, in
# FILE.  (Not "FILE is empty": what the SSH user's login shell prints, say
# from its ~/.bashrc, is relayed too, and is not ours.)
no_messages() {
	if grep -Eq '^rcp:|^error:|rcpd \(' "$1"; then
		sed 's/^/  | /' "$1" | head -20 >&2
		return 1
	fi
}
# Trees compared by content: diff -r (symlinks by target) and rcmp.
same_diff() { diff -r --no-dereference "$@" >&2; }
same_rcmp() { "$RCMP" --content "$@" | head -5 >&2; [ "${PIPESTATUS[0]}" = 0 ]; }

# --- the fixture ----------------------------------------------------------------
DEEPNAME=$(printf 'n%.0s' {1..100})
F=$T/fix
mkdir -p "$F/dir/sub" "$F/empty/nested/empty2" "$F/emptydir" "$F/many" "$F/names" "$F/modes"
printf 'data\n' >"$F/file1"
: >"$F/emptyfile"
head -c 100000 /dev/urandom >"$F/random"
head -c $((20 << 20)) /dev/urandom >"$F/big"		# over the 16M chunk size
printf 'inner\n' >"$F/dir/inner"
ln -s file1 "$F/rel_link"
ln -s "$F/file1" "$F/abs_link"
ln -s does/not/exist "$F/dangling"
ln -s ../empty "$F/dir/dirlink"
for n in $'\xff' $'bad\xfe\xfdname' $'new\nline' '-rf' '--help' '-' ' lead space' \
    $'tab\there' 'é' '..dots' '*'; do
	printf '%s\n' "$n" >"$F/names/$n"
done
mkdir "$F/names/"$'dir\xff' "$F/names/-dashdir"
printf x >"$F/names/"$'dir\xff/'$'in\nner'
printf y >"$F/names/-dashdir/-f"
ln -s $'target\xfe\nx' "$F/names/"$'link\xfe'
for m in 0600 0640 0755 0444 4755 2755 0000; do
	printf '%s\n' "$m" >"$F/modes/m$m"
	chmod "$m" "$F/modes/m$m"
done
for m in 0700 1777 0555; do
	mkdir "$F/modes/d$m"
	printf '%s\n' "$m" >"$F/modes/d$m/in"
	chmod "$m" "$F/modes/d$m"
done
chown 1234:5678 "$F/dir/inner" "$F/dir/sub"
chown -h 4321:8765 "$F/rel_link"
for i in $(seq 0 4999); do printf '%s\n' "$i" >"$F/many/f$i"; done
# A chain deeper than PATH_MAX: 45 levels of 100-byte names.
mkdir "$F/deep"
(
	cd "$F/deep" || exit 1
	for ((i = 0; i < 45; i++)); do mkdir "$DEEPNAME$i" && cd "$DEEPNAME$i" || exit 1; done
	printf 'bottom\n' >file
	ln -s file link
	mkdir emptyleaf
	touch -d '2002-02-02 02:02:02.222222222' file
)
touch -d '2001-02-03 04:05:06.123456789' "$F/random"
touch -h -d '2003-03-03 03:03:03.333333333' "$F/rel_link"
touch -d '2010-10-10 10:10:10.101010101' "$F/dir/sub" "$F/empty/nested" "$F/emptydir"
t_check "fixture: deeper than PATH_MAX" \
    test "$(find "$F/deep" | awk '{ if (length($0) > m) m = length($0) } END { print m }')" -gt 4096
NF=$(nfiles "$F")
NL=$(find "$F" -type l -printf x | wc -c)

# deep_leaf DIR: the bottom file of the chain, read by walking down.
deep_leaf() {
	(cd "$1/deep" && for ((i = 0; i < 45; i++)); do cd "$DEEPNAME$i" || exit 1; done; cat file)
}

# --- the whole fixture, with -p, in every pairing ---------------------------------
for m in $MODES; do
	D=$T/main-$m
	out=$T/main-$m.out
	t_check "$m: tree with -p: exit 0" t_run 0 "$out" rx "$m" -p --summary "$(sp $m "$F")" "$(dp $m "$D")"
	t_check "$m: diff -r finds the trees equal" same_diff -x deep "$F" "$D"
	t_check "$m: rcmp --content finds the trees equal" same_rcmp "$F" "$D"
	t_check "$m: types, modes, owners, sizes, mtimes, targets (find)" same_meta "$F" "$D"
	t_check "$m: the chain deeper than PATH_MAX arrived" test "$(deep_leaf "$D")" = bottom
	t_check "$m: empty directories arrived" test -d "$D/empty/nested/empty2" -a -d "$D/emptydir"
	t_check "$m: 5,000 small files arrived" test "$(nfiles "$D/many")" = 5000
	t_check "$m: name \\xff intact" cmp -s "$F/names/"$'\xff' "$D/names/"$'\xff'
	t_check "$m: name with a newline intact" cmp -s "$F/names/"$'new\nline' "$D/names/"$'new\nline'
	t_check "$m: name with a leading dash intact" cmp -s "$F/names/-rf" "$D/names/-rf"
	t_check "$m: symlink target that is not UTF-8 intact" \
	    test "$(readlink "$D/names/"$'link\xfe')" = $'target\xfe\nx'
	t_check "$m: summary: files copied: $NF" summary_has "$out" "files copied" "$NF"
	t_check "$m: summary: symlinks created: $NL" summary_has "$out" "symlinks created" "$NL"
	t_check "$m: summary: errors: 0" summary_has "$out" errors 0
	t_check "$m: summary: source host line" t_grep \
	    "^source host $(re "$(shost $m)"): walltime [0-9.]+m?s, cpu time [0-9.]+m?s, peak rss [0-9.]+ [KMG]i?B$" "$out"
	t_check "$m: summary: destination host line" t_grep \
	    "^destination host $(re "$(dhost $m)"): walltime [0-9.]+m?s, cpu time [0-9.]+m?s, peak rss [0-9.]+ [KMG]i?B$" "$out"
done

# Again with --overwrite: nothing has changed, nothing is replaced.
for m in h2l l2h; do
	D=$T/main-$m
	inodes "$D" >"$T/ino.before"
	t_check "$m: --overwrite of an unchanged tree: exit 0" t_run 0 "$T/out" rx "$m" -p -o --summary "$(sp $m "$F")" "$(dp $m "$D")"
	t_check "$m: --overwrite of an unchanged tree: every inode kept" kept_inodes "$T/ino.before" "$D"
	t_check "$m: --overwrite of an unchanged tree: files unchanged: $NF" summary_has "$T/out" "files unchanged" "$NF"
	t_check "$m: --overwrite of an unchanged tree: files copied: 0" summary_has "$T/out" "files copied" 0
done

# --- one file ----------------------------------------------------------------------
mkdir "$T/into-h2h" "$T/into-h2l" "$T/into-l2h"
for m in $MODES; do
	t_check "$m: one file to a new name: exit 0" t_run 0 "$T/out" rx "$m" "$(sp $m "$F/random")" "$(dp $m "$T/one-$m")"
	t_check "$m: one file: same bytes" cmp -s "$F/random" "$T/one-$m"
	t_check "$m: one file: no messages" no_messages "$T/out"
	t_check "$m: one file into dir/: exit 0" t_run 0 "$T/out" rx "$m" "$(sp $m "$F/file1")" "$(dp $m "$T/into-$m/")"
	t_check "$m: one file into dir/: lands as dir/file1" test "$(ls -A "$T/into-$m")" = file1 -a "$(cat "$T/into-$m/file1")" = data
done

# --- symlinks as the root of the copy --------------------------------------------------
m=h2h
t_check "symlink root: exit 0" t_run 0 "$T/out" R "$(sp $m "$F/rel_link")" "$(dp $m "$T/lroot")"
t_check "symlink root: copied as a symlink" test -L "$T/lroot" -a "$(readlink "$T/lroot")" = file1
t_check "dangling symlink root: exit 0" t_run 0 "$T/out" R "$(sp $m "$F/dangling")" "$(dp $m "$T/lroot2")"
t_check "dangling symlink root: copied as a symlink" test "$(readlink "$T/lroot2")" = does/not/exist
t_check "symlink root to a dir: exit 0" t_run 0 "$T/out" R "$(sp $m "$F/dir/dirlink")" "$(dp $m "$T/lroot3")"
t_check "symlink root to a dir: copied as a symlink" test -L "$T/lroot3" -a "$(readlink "$T/lroot3")" = ../empty
t_check "-L symlink root: exit 0" t_run 0 "$T/out" R -L "$(sp $m "$F/rel_link")" "$(dp $m "$T/lroot4")"
t_check "-L symlink root: the file it points to" test -f "$T/lroot4" -a ! -L "$T/lroot4" -a "$(cat "$T/lroot4")" = data
t_check "-L symlink root to a dir: exit 0" t_run 0 "$T/out" R -L "$(sp $m "$F/dir/dirlink")" "$(dp $m "$T/lroot5")"
t_check "-L symlink root to a dir: the directory it points to" test -d "$T/lroot5" -a ! -L "$T/lroot5" -a -d "$T/lroot5/nested/empty2"

# --- -L on a tree ----------------------------------------------------------------------
S=$T/lsrc
mkdir -p "$S/d"
printf 'target\n' >"$S/d/t"
ln -s d/t "$S/flink"
ln -s d "$S/dlink"
cp -rL "$S" "$T/lref"
t_check "-L tree: exit 0" t_run 0 "$T/out" R -L "$(sp h2h "$S")" "$(dp h2h "$T/lcopy")"
t_check "-L tree: no symlinks left" test -z "$(find "$T/lcopy" -type l)"
t_check "-L tree: same as cp -rL" same_diff "$T/lref" "$T/lcopy"
t_check "-L tree: a symlinked dir became a dir" test -d "$T/lcopy/dlink" -a ! -L "$T/lcopy/dlink"

# --- hard links --------------------------------------------------------------------------
S=$T/hsrc
mkdir -p "$S/a/b"
printf 'linked\n' >"$S/one"
ln "$S/one" "$S/a/two"
ln "$S/one" "$S/a/b/three"
head -c 300000 /dev/urandom >"$S/big"
ln "$S/big" "$S/a/big2"
printf 'alone\n' >"$S/alone"
for m in h2h l2h; do
	t_check "$m: -H: exit 0" t_run 0 "$T/out" rx "$m" -H --summary "$(sp $m "$S")" "$(dp $m "$T/hcopy-$m")"
	H=$T/hcopy-$m
	t_check "$m: -H: one, a/two, a/b/three share an inode" \
	    test "$(ino "$H/one")" = "$(ino "$H/a/two")" -a "$(ino "$H/one")" = "$(ino "$H/a/b/three")"
	t_check "$m: -H: big, a/big2 share an inode" test "$(ino "$H/big")" = "$(ino "$H/a/big2")"
	t_check "$m: -H: the two groups are apart" test "$(ino "$H/one")" != "$(ino "$H/big")" -a "$(stat -c %h "$H/alone")" = 1
	t_check "$m: -H: contents" same_diff "$S" "$H"
	t_check "$m: -H: summary: hard links created: 3" summary_has "$T/out" "hard links created" 3
done
t_check "without -H: exit 0" t_run 0 "$T/out" R "$(sp h2h "$S")" "$(dp h2h "$T/hcopy-no")"
t_check "without -H: every file on its own" \
    test "$(nfiles "$T/hcopy-no")" = 6 -a -z "$(find "$T/hcopy-no" -type f -links +1)"

# --- FIFOs -----------------------------------------------------------------------------------
S=$T/fsrc
mkdir -p "$S/sub"
mkfifo "$S/fifo" "$S/sub/fifo2"
printf 'x\n' >"$S/sub/file"
for m in $MODES; do
	t_check "$m: FIFOs: exit 0" t_run 0 "$T/out" rx "$m" -p --summary "$(sp $m "$S")" "$(dp $m "$T/fcopy-$m")"
	t_check "$m: FIFOs recreated" test -p "$T/fcopy-$m/fifo" -a -p "$T/fcopy-$m/sub/fifo2"
	t_check "$m: FIFOs: summary: special files created: 2" summary_has "$T/out" "special files created" 2
	t_check "$m: FIFOs: metadata" same_meta "$S" "$T/fcopy-$m"
done
t_check "--skip-specials: exit 0" t_run 0 "$T/out" R --skip-specials --summary "$(sp h2h "$S")" "$(dp h2h "$T/fcopy-skip")"
t_check "--skip-specials: no FIFO made" test -z "$(find "$T/fcopy-skip" -type p)" -a -f "$T/fcopy-skip/sub/file"
t_check "--skip-specials: summary: skipped: 2" summary_has "$T/out" skipped 2

# --- a 4 GiB sparse file -----------------------------------------------------------------------
S=$T/ssrc
mkdir "$S"
truncate -s 4G "$S/sparse"
OFFS="0 $((1 << 30)) $((3 << 30)) $(((4 << 30) - 6))"
for off in $OFFS; do
	printf 'D%05d' $((off % 99991)) | dd of="$S/sparse" bs=1 seek="$off" conv=notrunc status=none
done
# at FILE OFF: the 6 bytes at OFF.
at() { dd if="$1" bs=1 skip="$2" count=6 status=none; }
for m in h2h h2l; do
	C=$T/scopy-$m
	t_check "$m: 4 GiB sparse file: exit 0" t_run 0 "$T/out" rx "$m" -p "$(sp $m "$S")" "$(dp $m "$C")"
	t_check "$m: sparse: the apparent size" test "$(stat -c %s "$C/sparse" 2>/dev/null)" = $((4 << 30))
	for off in $OFFS; do
		t_check "$m: sparse: the data at $off" test "$(at "$C/sparse" "$off")" = "$(at "$S/sparse" "$off")"
	done
	blocks=$(stat -c %b "$C/sparse" 2>/dev/null || echo 99999999)
	t_check "$m: sparse: stays sparse ($blocks blocks allocated)" test $((blocks * 512)) -lt $((1 << 20))
	t_check "$m: sparse: rcmp --content" same_rcmp "$S" "$C"
done

# --- --overwrite over every pairing of entry types -------------------------------------------------
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
		d) mkdir "$Q/$x$y" "$Q/$x$y/olddir"; printf old >"$Q/$x$y/olddir/f"; printf old >"$Q/$x$y/inner" ;;
		l) ln -s "old-$x$y" "$Q/$x$y" ;;
		p) mkfifo "$Q/$x$y" ;;
		esac
	done
done
# A destination symlink to a directory where the source has a directory:
# replaced, never followed.
mkdir "$T/victim" "$P/ld2"
printf 'src\n' >"$P/ld2/inner"
ln -s "$T/victim" "$Q/ld2"
touch -h -d '2001-01-01' "$P"/*		# all differ by mtime from the old ones
t_check "type pairings: exit 0" t_run 0 "$T/out" R -p -o --summary "$(sp h2h "$P")" "$(dp h2h "$Q")"
t_check "type pairings: errors: 0" summary_has "$T/out" errors 0
t_check "type pairings: the merged directory keeps its extra entry" test -f "$Q/dd/olddir/f"
t_check "type pairings: destination = source (find)" \
    diff <(meta "$P") <(meta "$Q" | grep -v '^\./dd/olddir')
# holds_file PATH TEXT: PATH is a regular file holding TEXT (and no FIFO
# is opened to find out).
holds_file() { [ -f "$1" ] && [ ! -L "$1" ] && [ "$(cat "$1")" = "$2" ]; }
for x in f d l p; do
	for y in f d l; do
		case $y in
		f) t_check "type pairings: $x over by file: the source's bytes" holds_file "$Q/$x$y" "src $x$y" ;;
		d) t_check "type pairings: $x over by dir: the source's tree" test -d "$Q/$x$y" -a ! -L "$Q/$x$y" -a "$(cat "$Q/$x$y/inner" 2>/dev/null)" = "src inner" ;;
		l) t_check "type pairings: $x over by symlink: the source's target" test "$(readlink "$Q/$x$y")" = "target-$x$y" ;;
		esac
	done
	t_check "type pairings: $x over by FIFO: a FIFO" test -p "$Q/${x}p" -a ! -L "$Q/${x}p"
done
t_check "type pairings: a symlink to a dir replaced by a dir" test -d "$Q/ld2" -a ! -L "$Q/ld2"
t_check "type pairings: the symlink's target untouched" test -z "$(ls -A "$T/victim")"
# The root named on the command line may be of another type too.
printf 'a file\n' >"$T/rootfile"
mkdir -p "$T/rootdir/x"
ln -s nowhere "$T/rootlink"
t_check "dir over a file root: exit 0" t_run 0 "$T/out" R -o "$(sp h2h "$T/hsrc")" "$(dp h2h "$T/rootfile")"
t_check "dir over a file root: replaced" test -d "$T/rootfile" -a -f "$T/rootfile/a/two"
t_check "file over a dir root: exit 0" t_run 0 "$T/out" R -o "$(sp h2h "$F/file1")" "$(dp h2h "$T/rootdir")"
t_check "file over a dir root: replaced" test -f "$T/rootdir" -a "$(cat "$T/rootdir")" = data
t_check "file over a symlink root: exit 0" t_run 0 "$T/out" R -o "$(sp h2h "$F/file1")" "$(dp h2h "$T/rootlink")"
t_check "file over a symlink root: replaced" test -f "$T/rootlink" -a ! -L "$T/rootlink" -a "$(cat "$T/rootlink")" = data
t_check "without --overwrite an existing root is refused: exit 1" t_run 1 "$T/out" R "$(sp h2h "$F/file1")" "$(dp h2h "$T/rootlink")"

# --- --overwrite leaves unchanged files alone and sends nothing for them -----------------------------
RP=(--quic-port-ranges "$PORTS_LO-$PORTS_HI")
c0=$(quic_counter)
U=$T/upd
t_check "overwrite: first copy with -p: exit 0" t_run 0 "$T/out" R "${RP[@]}" -p "$(sp h2h "$F")" "$(dp h2h "$U")"
c1=$(quic_counter)
first=$((c1 - c0))
echo "  first copy: $first bytes of QUIC"
t_check "overwrite: the first copy is counted ($first bytes, over 20 MiB)" test "$first" -gt $((20 << 20))
inodes "$U" >"$T/ino.before"
t_check "overwrite, nothing changed: exit 0" t_run 0 "$T/out" R "${RP[@]}" -p -o --summary "$(sp h2h "$F")" "$(dp h2h "$U")"
again=$(($(quic_counter) - c1))
echo "  unchanged --overwrite: $again bytes of QUIC"
t_check "overwrite, nothing changed: every inode kept" kept_inodes "$T/ino.before" "$U"
t_check "overwrite, nothing changed: files unchanged: $NF" summary_has "$T/out" "files unchanged" "$NF"
t_check "overwrite, nothing changed: files copied: 0" summary_has "$T/out" "files copied" 0
t_check "overwrite, nothing changed: bytes copied: 0" t_grep '^bytes copied: 0 B \(0 bytes' "$T/out"
t_check "overwrite, nothing changed: no file data sent ($again bytes, under 4 MiB)" test "$again" -lt $((4 << 20))
t_check "overwrite, nothing changed: rcmp --content" same_rcmp "$F" "$U"
# Then one file changes: only it is sent.
printf 'alpha, longer\n' >"$F/file1"
i_rand=$(ino "$U/random")
t_check "overwrite after a change: exit 0" t_run 0 "$T/out" R "${RP[@]}" -p -o --summary "$(sp h2h "$F")" "$(dp h2h "$U")"
t_check "overwrite after a change: the changed file replaced" cmp -s "$F/file1" "$U/file1"
t_check "overwrite after a change: files copied: 1" summary_has "$T/out" "files copied" 1
t_check "overwrite after a change: others keep their inode" test "$(ino "$U/random")" = "$i_rand"
t_check "overwrite after a change: rcmp --content" same_rcmp "$F" "$U"

# --- --ignore-existing -------------------------------------------------------------------------------
S=$T/isrc I=$T/ign
mkdir -p "$S/sub" "$I/sub"
printf 'new a\n' >"$S/a"
printf 'new b\n' >"$S/b"
printf 'new c\n' >"$S/sub/c"
printf 'new d\n' >"$S/sub/d"
printf 'mine\n' >"$I/a"
printf 'mine too\n' >"$I/sub/c"
inodes "$I" >"$T/ino.before"
t_check "--ignore-existing: exit 0" t_run 0 "$T/out" R --ignore-existing --summary "$(sp h2h "$S")" "$(dp h2h "$I")"
t_check "--ignore-existing: existing files kept" test "$(cat "$I/a")" = mine -a "$(cat "$I/sub/c")" = 'mine too'
t_check "--ignore-existing: missing files added" cmp -s "$S/b" "$I/b"
t_check "--ignore-existing: missing files in a merged dir added" cmp -s "$S/sub/d" "$I/sub/d"
t_check "--ignore-existing: existing entries not rewritten" test -z "$(comm -23 "$T/ino.before" <(inodes "$I"))"
t_check "--ignore-existing: skipped: 2" summary_has "$T/out" skipped 2
t_check "--ignore-existing: files copied: 2" summary_has "$T/out" "files copied" 2

# --- --delete and --dry-run ------------------------------------------------------------------------------
S=$T/dsrc M=$T/merge
mkdir -p "$S/sub/deeper"
printf 'a\n' >"$S/a"
printf 'c\n' >"$S/sub/c"
printf 'd\n' >"$S/sub/deeper/d"
t_check "copy for merging: exit 0" t_run 0 "$T/out" R -p "$(sp h2h "$S")" "$(dp h2h "$M")"
extras() {
	mkdir -p "$M/extra_dir/inside"
	printf x >"$M/extra_dir/inside/f"
	printf x >"$M/extra_file"
	printf x >"$M/sub/deeper/extra_deep"
	ln -sfn nowhere "$M/sub/extra_link"
	printf x >"$M/sub/keep.log"
	printf x >"$M/keep.log"
}
extras
printf 'changed\n' >"$S/a"
t_check "merge without --delete: exit 0" t_run 0 "$T/out" R -p -o "$(sp h2h "$S")" "$(dp h2h "$M")"
t_check "merge without --delete: extras stay" \
    test -f "$M/extra_dir/inside/f" -a -f "$M/extra_file" -a -f "$M/sub/deeper/extra_deep" -a -L "$M/sub/extra_link"
printf 'changed again\n' >"$S/a"
meta "$M" >"$T/before"
for mode in brief all explain; do
	t_check "--dry-run $mode --delete: exit 0" t_run 0 "$T/dry-$mode" \
	    R -p -o --delete --exclude '*.log' --dry-run "$mode" "$(sp h2h "$S")" "$(dp h2h "$M")"
	t_check "--dry-run $mode: nothing changed" diff "$T/before" <(meta "$M")
	t_check "--dry-run $mode: the summary says removed: 4" summary_has "$T/dry-$mode" removed 4
	t_check "--dry-run $mode: the summary says files copied: 1" summary_has "$T/dry-$mode" "files copied" 1
done
t_check "--dry-run: the changed file not copied" test "$(cat "$M/a")" = changed
t_check "--dry-run brief: no per-entry lines" test "$(grep -c 'dry-run:' "$T/dry-brief")" = 0
t_check "--dry-run all: the removal listed" t_grep "^(\[destination\] )?dry-run: remove '.*/merge/extra_dir'$" "$T/dry-all"
t_check "--dry-run explain: the removal with its reason" \
    t_grep "^(\[destination\] )?dry-run: remove '.*/merge/sub/extra_link': not in the source \(--delete\)$" "$T/dry-explain"
t_check "--dry-run explain: a protected entry with its reason" \
    t_grep "^(\[destination\] )?dry-run: keep '.*/merge/sub/keep\.log': excluded, so protected from --delete$" "$T/dry-explain"
t_check "--delete --exclude: exit 0" t_run 0 "$T/out" R -p -o --delete --exclude '*.log' --summary "$(sp h2h "$S")" "$(dp h2h "$M")"
t_check "--delete: extras removed" \
    test ! -e "$M/extra_dir" -a ! -e "$M/extra_file" -a ! -e "$M/sub/deeper/extra_deep" -a ! -L "$M/sub/extra_link"
t_check "--delete: removed: 4" summary_has "$T/out" removed 4
t_check "--delete --exclude: excluded entries protected" test -f "$M/keep.log" -a -f "$M/sub/keep.log"
t_check "--delete: the rest is the source" diff <(meta "$S") <(meta "$M" | grep -v 'keep\.log')
t_check "--delete --delete-excluded: exit 0" t_run 0 "$T/out" \
    R -p -o --delete --delete-excluded --exclude '*.log' --summary "$(sp h2h "$S")" "$(dp h2h "$M")"
t_check "--delete-excluded: excluded entries removed" test ! -e "$M/keep.log" -a ! -e "$M/sub/keep.log"
t_check "--delete-excluded: destination = source" same_meta "$S" "$M"
t_check "--delete-excluded: rcmp --content" same_rcmp "$S" "$M"

# --- filters ------------------------------------------------------------------------------------------------
S=$T/flt
mkdir -p "$S/lib/sub" "$S/build" "$S/docs/build" "$S/empty"
for f in a.c a.h a.o README lib/x.c lib/x.o lib/sub/y.c lib/sub/y.o build/out.o \
    docs/build/index.html docs/guide.txt; do
	printf '%s\n' "$f" >"$S/$f"
done
# names DIR: every entry below DIR, directories with a trailing '/', sorted.
names() { (cd "$1" && find . -mindepth 1 \( -type d -printf '%P/\n' \) -o -printf '%P\n' | LC_ALL=C sort); }
n=0
expect() {
	local desc=$1 want=$2; shift 2
	n=$((n + 1))
	if ! t_run 0 "$T/out" R "$@" "$(sp h2h "$S")" "$(dp h2h "$T/flt$n")"; then
		t_fail "filters: $desc: rcp failed"
		return
	fi
	if diff <(printf '%s\n' $want | LC_ALL=C sort) <(names "$T/flt$n") >"$T/diff"; then
		t_pass "filters: $desc"
	else
		t_fail "filters: $desc"
		sed 's/^/  | /' "$T/diff"
	fi
	# Every copied file is a copy of its source.
	t_check "filters: $desc: contents" test -z "$(cd "$T/flt$n" &&
	    find . -type f ! -exec cmp -s {} "$S/{}" \; -print)"
}
set -f
expect "--exclude '*.o'" "a.c a.h README lib/ lib/x.c lib/sub/ lib/sub/y.c build/ docs/ docs/build/ docs/build/index.html docs/guide.txt empty/" --exclude '*.o'
expect "--exclude /build" "a.c a.h a.o README lib/ lib/x.c lib/x.o lib/sub/ lib/sub/y.c lib/sub/y.o docs/ docs/build/ docs/build/index.html docs/guide.txt empty/" --exclude /build
expect "--include '*.c'" "a.c lib/ lib/x.c lib/sub/ lib/sub/y.c" --include '*.c'
expect "--include lib/ --exclude sub/" "lib/ lib/x.c lib/x.o" --include lib/ --exclude sub/
printf '+ *.c\n- lib/sub/\n# a comment\n' >"$T/rules"
expect "--filter-file (read by the master)" "a.c lib/ lib/x.c" --filter-file "$T/rules"
set +f

# --- errors: missing source, missing destination parent --------------------------------------------------------
for m in h2h l2h; do
	t_check "$m: missing source: exit 1" t_run 1 "$T/out" rx "$m" "$(sp $m "$T/nope")" "$(dp $m "$T/x-$m")"
	t_check "$m: missing source: named, with the cause" t_grep "cannot access source '$T/nope': No such file or directory" "$T/out"
	t_check "$m: missing source: nothing made" test ! -e "$T/x-$m"
done
for m in h2h h2l; do
	t_check "$m: destination parent missing: exit 1" t_run 1 "$T/out" rx "$m" "$(sp $m "$F/file1")" "$(dp $m "$T/no/such/dst")"
	t_check "$m: destination parent missing: message" t_grep "destination parent directory '$T/no/such' does not exist" "$T/out"
	t_check "$m: destination parent missing: nothing made" test ! -e "$T/no"
done

# --- where the local side's agent runs ---------------------------------------------------------------------------
# By default rcp starts it itself: one SSH login (the other host's), no sshd
# needed here.  --local-host serves it over SSH, as upstream rcp does.
logins() { grep -c 'Accepted publickey' "$SSHD_LOG"; }
n0=$(logins)
t_check "local agent: exit 0" t_run 0 "$T/out" R -p --summary "$F/many" "$DH:$T/la-1"
t_check "local agent: one SSH login for a local->host copy" test "$(($(logins) - n0))" = 1
t_check "local agent: trees equal" same_rcmp "$F/many" "$T/la-1"
# The source reads ahead while the destination logs in (-vv says so); the
# copy is the same.  Not through symlinks (-L): nothing is read ahead.
# The read-ahead uses idle time (nice 10): on a loaded machine a quick
# login could leave it none, so the destination is held back 3 s.
printf '%s\n' '#!/bin/sh' \
    'if [ "$2" = destination ]; then RCPD_TEST_CONNECT_DELAY_MS=3000; export RCPD_TEST_CONNECT_DELAY_MS; fi' \
    "exec '$RCP_BUILDDIR/rcpd' \"\$@\"" >"$T/rcpd-slow-destination"
chmod 755 "$T/rcpd-slow-destination"
t_check "read-ahead: exit 0" t_run 0 "$T/out" R -vv -p --rcpd-path "$T/rcpd-slow-destination" "$F/many" "$DH:$T/ra-1"
t_check "read-ahead: the source read ahead" t_grep '^debug: \[source\] read ahead [1-9][0-9]* directories' "$T/out"
t_check "read-ahead: trees equal" same_rcmp "$F/many" "$T/ra-1"
t_check "read-ahead: -L: exit 0" t_run 0 "$T/out" R -vv -L -p "$F/many" "$DH:$T/ra-2"
t_check "read-ahead: -L: none" test -z "$(grep 'read ahead' "$T/out")"
t_check "read-ahead: -L: trees equal" same_rcmp "$F/many" "$T/ra-2"
# Nor past a throttle meant to spare the source.
t_check "read-ahead: --ops-throttle: exit 0" t_run 0 "$T/out" R -vv --ops-throttle 1000000 -p "$F/many" "$DH:$T/ra-3"
t_check "read-ahead: --ops-throttle: none" test -z "$(grep 'read ahead' "$T/out")"
n0=$(logins)
t_check "--local-host: local->host: exit 0" t_run 0 "$T/out" R --local-host "$LH" -p --summary "$F/many" "$DH:$T/lh-1"
t_check "--local-host: two SSH logins" test "$(($(logins) - n0))" = 2
t_check "--local-host: summary names $LH as the source" t_grep "^source host $(re "$LH"): " "$T/out"
t_check "--local-host: local->host: trees equal" same_rcmp "$F/many" "$T/lh-1"
t_check "--local-host: host->local: exit 0" t_run 0 "$T/out" R --local-host "$LH" -p --summary "$SH:$F/many" "$T/lh-2"
t_check "--local-host: summary names $LH as the destination" t_grep "^destination host $(re "$LH"): " "$T/out"
t_check "--local-host: host->local: trees equal" same_rcmp "$F/many" "$T/lh-2"
# No rcpd next to rcp nor in PATH: the error says what is missing.
mkdir "$T/lonely" && cp "$RCP" "$T/lonely/rcp"
t_check "no rcpd here: exit 1" t_run 1 "$T/out" env PATH="$T/lonely" "$T/lonely/rcp" --ssh-config "$SSH_CONFIG" "$F/many" "$DH:$T/la-2"
t_check "no rcpd here: the error names it" \
    t_grep "^rcp: cannot start 'rcpd': No such file or directory; install rcpd next to rcp or in PATH$" "$T/out"
t_check "no rcpd here: nothing made" test ! -e "$T/la-2"

# --- two agents on one host, the destination first ------------------------------------------------------------
# They share the host's endpoint: each connection is matched by its
# fingerprint, whatever the order.  A wrapper holds the source back before
# it dials us, so the destination's connection comes first.
printf '%s\n' '#!/bin/sh' \
    'if [ "$2" = source ]; then RCPD_TEST_CONNECT_DELAY_MS=500; export RCPD_TEST_CONNECT_DELAY_MS; fi' \
    "exec '$RCP_BUILDDIR/rcpd' \"\$@\"" >"$T/rcpd-slow-source"
chmod 755 "$T/rcpd-slow-source"
# A mismatch would wait out the fixed 30 s start-up timeout; 25 s is a
# hang guard (normal is about 2 s) that still ends before it.
t0=$(date +%s)
t_check "one host, destination connects first: exit 0" t_run 0 "$T/out" R --rcpd-path "$T/rcpd-slow-source" -p "$SH:$F/many" "$SH:$T/same-1"
t_check "one host, destination connects first: no wait for the 30 s start-up timeout" test $(($(date +%s) - t0)) -lt 25
t_check "one host, destination connects first: trees equal" same_rcmp "$F/many" "$T/same-1"

# --- -v: the agents' logs, merged and tagged ---------------------------------------------------------------------
t_check "-v: exit 0" t_run 0 "$T/out" R -v "$(sp h2h "$T/dsrc")" "$(dp h2h "$T/vcopy")"
t_check "-v: the source agent's lines tagged [source]" t_grep '^info: \[source\] ' "$T/out"
t_check "-v: the destination agent's lines tagged [destination]" t_grep '^info: \[destination\] ' "$T/out"
t_check "without -v: exit 0" t_run 0 "$T/out" R "$(sp h2h "$T/dsrc")" "$(dp h2h "$T/vcopy2")"
t_check "without -v: no info lines" test -z "$(grep '^info:' "$T/out")"
t_check "without -v: no messages" no_messages "$T/out"

# --- as an unprivileged SSH user: unreadable sources, unwritable destinations ----------------------------------
# The agents run as the SSH user: log in as one without privileges.  The
# harness's authorized_keys must be readable by that user for sshd.
# A user made once and left for later runs, with a shell and a password
# field that is not locked ('*': no password login, but sshd lets keys in).
RU=rcpremote
for _ in 1 2 3 4 5; do	# another test may hold the lock on /etc/passwd
	id "$RU" >/dev/null 2>&1 && break
	useradd -m -s /bin/sh -p '*' "$RU" 2>/dev/null || sleep 1
done
t_check "user $RU exists" id "$RU"
chmod 711 "$SSHD_DIR"
chmod 644 "$SSHD_DIR/authorized_keys"
printf x >"$T/probe" && chmod 600 "$T/probe"
t_check "unprivileged: the user cannot read a root-only file" \
    test -z "$(setpriv --reuid "$RU" --regid "$RU" --clear-groups cat "$T/probe" 2>/dev/null)"
S=$T/usrc
mkdir -p "$S/sub" "$S/closed"
for i in $(seq 1 20); do printf '%s\n' "$i" >"$S/sub/f$i"; done
printf 'secret\n' >"$S/secret"
printf 'hidden\n' >"$S/closed/hidden"
chmod 000 "$S/secret" "$S/closed"
mkdir "$T/uhome"
chown "$RU:$RU" "$T/uhome"
t_check "unreadable entries: exit 1" t_run 1 "$T/out" R --summary "$RU@$SH:$S" "$RU@$DH:$T/uhome/c1"
t_check "unreadable file: root cause and path, with its host" t_grep "cannot open '$RU@$SH:$S/secret': Permission denied$" "$T/out"
t_check "unreadable dir: root cause and path" t_grep "cannot open directory '$RU@$SH:$S/closed': Permission denied$" "$T/out"
t_check "unreadable entries: error count" t_grep '^rcp: 2 errors; see the messages above$' "$T/out"
t_check "unreadable entries: the other files copied" test "$(nfiles "$T/uhome/c1")" = 20
t_check "unreadable entries: contents right" cmp -s "$S/sub/f20" "$T/uhome/c1/sub/f20"
t_check "unreadable file: no partial copy" test ! -e "$T/uhome/c1/secret"
t_check "unreadable entries: the copy belongs to the SSH user" test "$(stat -c %U "$T/uhome/c1/sub/f1")" = "$RU"
# --fail-early stops at the first error.
E=$T/esrc
mkdir -p "$E/many"
printf 'secret\n' >"$E/secret"
chmod 000 "$E/secret"
for i in $(seq 0 1999); do printf '%s\n' "$i" >"$E/many/f$i"; done
t_check "without --fail-early: exit 1" t_run 1 "$T/out" R --ops-throttle 2000 --summary "$RU@$SH:$E" "$RU@$DH:$T/uhome/nofe"
t_check "without --fail-early: all other files copied" summary_has "$T/out" "files copied" 2000
t_check "--fail-early: exit 1" t_run 1 "$T/out" R -e --ops-throttle 2000 --summary "$RU@$SH:$E" "$RU@$DH:$T/uhome/fe"
t_check "--fail-early: the error" t_grep "cannot open '$RU@$SH:$E/secret': Permission denied$" "$T/out"
t_check "--fail-early: one error" summary_has "$T/out" errors 1
n=$(nfiles "$T/uhome/fe" 2>/dev/null || echo 0)
t_check "--fail-early: stopped early ($n of 2000 files copied)" test "$n" -lt 1000
# An unwritable destination.
mkdir "$T/rootonly"		# 755 root: the user cannot write in it
t_check "unwritable destination (file): exit 1" t_run 1 "$T/out" R "$RU@$SH:$S/sub/f1" "$RU@$DH:$T/rootonly/top"
t_check "unwritable destination (file): root cause and path" t_grep "cannot create '$T/rootonly/top': Permission denied$" "$T/out"
t_check "unwritable destination (tree): exit 1" t_run 1 "$T/out" R "$RU@$SH:$S/sub" "$RU@$DH:$T/rootonly/sub"
t_check "unwritable destination (tree): root cause and path" \
    t_grep "cannot create directory '$T/rootonly/sub': Permission denied$" "$T/out"
t_check "unwritable destination (tree): one error, not one per file" t_grep '^rcp: 1 error; see the messages above$' "$T/out"
t_check "unwritable destination: nothing made" test -z "$(ls -A "$T/rootonly")"

t_done
