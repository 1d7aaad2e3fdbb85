#!/bin/bash
# remote-verify.sh: trust in remote copies through a real sshd (127.0.0.2
# the source, 127.0.0.3 the destination; and local to host): --verify
# against writes corrupted in the destination agent by tests/fault/flip.so
# (once: copied again and right; every time: the file fails, named, and
# nothing looks complete), --overwrite-compare content, and --manifest
# written on the destination's host and checked by xxh128sum -c.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
# Every agent preloads flip.so: writes to files named "flipme" flip once
# when $T/flip-once is missing, and every time while $T/flip-always exists.
FLIP_SO=$RCP_BUILDDIR/tests/fault/flip.so
SSHD_SETENV="LD_PRELOAD=$FLIP_SO RCP_TEST_FLIP_NAME=/flipme RCP_TEST_FLIP_ONCE=$T/flip-once RCP_TEST_FLIP_ALWAYS=$T/flip-always ASAN_OPTIONS=verify_asan_link_order=0"
sshd_setup
chmod 755 "$T"
. "$(dirname "$0")/remote-lib.sh"
trap 'ours_cleanup; sshd_stop; t_cleanup' EXIT
summary_has() { t_grep "^$2: $3\$" "$1"; }
disarm() { touch "$T/flip-once"; rm -f "$T/flip-always"; }

S=$T/src
mkdir -p "$S/sub"
printf 'alpha\n' >"$S/a"
head -c 3000000 /dev/urandom >"$S/sub/big"
head -c 3000000 /dev/urandom >"$S/flipme"	# chunked: 1 MiB chunks
head -c 100000 /dev/urandom >"$S/sub/flipme"	# small: inline with its listing
disarm

# --- a sound copy -----------------------------------------------------------------
t_check "--verify h2h: exit 0" t_run 0 "$T/out" R -p --verify --chunk-size 1M --summary "$SH:$S" "$DH:$T/d1"
t_check "--verify h2h: files verified: 4" summary_has "$T/out" "files verified" 4
t_check "--verify h2h: verify mismatches: 0" summary_has "$T/out" "verify mismatches" 0
t_check "--verify h2h: equal" same_rcmp "$S" "$T/d1"

# --- one flip: copied again, right ------------------------------------------------------
for m in h2h l2h; do
	src=$SH:$S
	[ $m = l2h ] && src=$S
	rm -f "$T/flip-once"
	t_check "one flip ($m): exit 0" t_run 0 "$T/out" R -p --verify --chunk-size 1M --summary "$src" "$DH:$T/d2-$m"
	t_check "one flip ($m): it flipped" test -e "$T/flip-once"
	t_check "one flip ($m): verify mismatches: 1" summary_has "$T/out" "verify mismatches" 1
	t_check "one flip ($m): the copy is right" same_rcmp "$S" "$T/d2-$m"
	n=$(sed -n 's/^bytes copied: .*(\([0-9]*\) bytes.*/\1/p' "$T/out")
	t_check "one flip ($m): bytes copied ($n) count the range sent again" test "$n" -gt "$(du -sb --apparent-size "$S" | cut -f1)"
	t_check "one flip ($m): warned, naming the file" t_grep "'$T/d2-$m/(sub/)?flipme' differs from its source" "$T/out"
done
disarm

# --- a flip every time: the file fails -----------------------------------------------
touch "$T/flip-always"
t_check "flip every time: exit 1" t_run 1 "$T/out" R -p --verify --chunk-size 1M --summary "$SH:$S" "$DH:$T/d3"
disarm
t_check "flip every time: an error names the large file" t_grep "cannot verify '$T/d3/flipme': the copy differs from its source after 3 attempts" "$T/out"
t_check "flip every time: and the small one" t_grep "cannot verify '$T/d3/sub/flipme'" "$T/out"
t_check "flip every time: neither is left" test ! -e "$T/d3/flipme" -a ! -e "$T/d3/sub/flipme"
t_check "flip every time: the rest is copied" cmp "$S/sub/big" "$T/d3/sub/big"
t_check "flip every time: a re-run mends it" t_run 0 "$T/out" R -p -o --verify "$SH:$S" "$DH:$T/d3"
t_check "flip every time: mended" same_rcmp "$S" "$T/d3"

# --- --overwrite-compare content ------------------------------------------------------
t_check "copy for compare: exit 0" t_run 0 "$T/out" R -p "$SH:$S" "$DH:$T/d4"
m=$(stat -c %y "$T/d4/a")
printf 'ALPHA\n' >"$T/d4/a"
touch -d "$m" "$T/d4/a"
t_check "content h2h: exit 0" t_run 0 "$T/out" R -p -o --overwrite-compare size,mtime,content --summary "$SH:$S" "$DH:$T/d4"
t_check "content h2h: the differing file is replaced" cmp "$S/a" "$T/d4/a"
t_check "content h2h: files copied: 1" summary_has "$T/out" "files copied" 1
t_check "content h2h: files unchanged: 3" summary_has "$T/out" "files unchanged" 3
t_check "content h2h: only its bytes crossed" t_grep "^bytes copied: 6 B " "$T/out"

# --- --manifest, on the destination's host -----------------------------------------------
t_check "--manifest h2h: exit 0" t_run 0 "$T/out" R --verify --chunk-size 1M --manifest "$T/man" "$SH:$S" "$DH:$T/d5"
t_check "--manifest h2h: one line per file" test "$(grep -c '' "$T/man")" = 4
t_check "--manifest h2h: xxh128sum -c passes" sh -c "cd '$T/d5' && xxh128sum -c --strict '$T/man' >/dev/null"
t_check "no rcp or rcpd left behind" gone 30

t_done
