#!/bin/bash
# copy-verify.sh: trust in a local copy: --overwrite-compare content (equal
# sizes told apart by hash), --verify against real corruption (writes
# flipped by tests/fault/flip.so, once and every time), --verify=reread,
# and --manifest checked by xxh128sum -c, odd names included.
. "$(dirname "$0")/lib.sh"

FLIP_SO=$RCP_BUILDDIR/tests/fault/flip.so
summary_has() { t_grep "^$2: $3\$" "$1"; }
ino() { stat -c %i "$1"; }
# sizemtime FILE: "size mtime" as the overwrite comparison sees them.
sizemtime() { stat -c '%s %Y.%y' "$1"; }
# looks_complete SRC DST: DST exists with SRC's size and mtime.
looks_complete() { [ -e "$2" ] && [ "$(sizemtime "$1")" = "$(sizemtime "$2")" ]; }
flip() { env LD_PRELOAD="$FLIP_SO" RCP_TEST_FLIP_NAME="$1" "${@:2}"; }

t_check "flip.so is built" test -f "$FLIP_SO"

S=$T/src
mkdir -p "$S/sub"
printf 'alpha\n' >"$S/a"
printf 'bravo\n' >"$S/sub/b"
head -c 5000000 /dev/urandom >"$S/big"		# 5 chunks of 1 MiB
head -c 300000 /dev/urandom >"$S/mid"
: >"$S/empty"
truncate -s 3M "$S/sparse"
printf 'data' | dd of="$S/sparse" bs=1 seek=1000000 conv=notrunc 2>/dev/null

# --- --overwrite-compare content ----------------------------------------------
D=$T/dst
t_check "first copy: exit 0" t_run 0 "$T/out" "$RCP" -p "$S" "$D"
m=$(stat -c %y "$D/a")
printf 'ALPHA\n' >"$D/a"			# same size ...
touch -d "$m" "$D/a"				# ... and mtime
i_b=$(ino "$D/sub/b") i_big=$(ino "$D/big")
t_check "size,mtime: exit 0" t_run 0 "$T/out" "$RCP" -p -o --summary "$S" "$D"
t_check "size,mtime: other bytes go unseen" test "$(cat "$D/a")" = ALPHA
t_check "--overwrite-compare size,mtime,content: exit 0" t_run 0 "$T/out" "$RCP" -p -o --overwrite-compare size,mtime,content --summary "$S" "$D"
t_check "content: the differing file is replaced" cmp -s "$S/a" "$D/a"
t_check "content: files copied: 1" summary_has "$T/out" "files copied" 1
t_check "content: files unchanged: 5" summary_has "$T/out" "files unchanged" 5
t_check "content: equal files keep their inodes" test "$(ino "$D/sub/b")" = "$i_b" -a "$(ino "$D/big")" = "$i_big"
printf 'X' | dd of="$D/big" bs=1 seek=4500000 conv=notrunc 2>/dev/null
touch -r "$S/big" "$D/big"
t_check "content, explained: exit 0" t_run 0 "$T/out" "$RCP" -p -o --overwrite-compare size,content --dry-run explain "$S" "$D"
t_check "content, explained: names the content" t_grep "^dry-run: replace '.*/dst/big': content differ$" "$T/out"
t_check "content, explained: equal ones too" t_grep "^dry-run: unchanged '.*/dst/mid': size,content equal$" "$T/out"
t_check "content: a byte deep in a chunked file: exit 0" t_run 0 "$T/out" "$RCP" -p -o --chunk-size 1M --overwrite-compare size,content --summary "$S" "$D"
t_check "content: that file is replaced" cmp -s "$S/big" "$D/big"
t_check "content: only it: files copied: 1" summary_has "$T/out" "files copied" 1
t_check "content alone (sizes differ): exit 0" t_run 0 "$T/out" "$RCP" -o --overwrite-compare content --summary "$S/sub/b" "$T/short"
printf 'much longer than bravo\n' >"$T/short"
t_check "content alone: exit 0" t_run 0 "$T/out" "$RCP" -o --overwrite-compare content --summary "$S/sub/b" "$T/short"
t_check "content alone: another size is other content" cmp -s "$S/sub/b" "$T/short"
t_check "rcmp refuses content as metadata" t_run 2 "$T/out" "$RCMP" --metadata-compare size,content "$S" "$D"
t_check "rcmp names why" t_grep "'content' is not metadata" "$T/out"

# --- --verify on a sound copy --------------------------------------------------------
t_check "--verify: exit 0" t_run 0 "$T/out" "$RCP" -p --verify --chunk-size 1M --summary "$S" "$T/v1"
t_check "--verify: files verified: 6" summary_has "$T/out" "files verified" 6
t_check "--verify: bytes verified: all" t_grep "^bytes verified: .* \($(( 6 + 6 + 5000000 + 300000 + 3145728 )) bytes\)$" "$T/out"
t_check "--verify: verify mismatches: 0" summary_has "$T/out" "verify mismatches" 0
t_check "--verify: the copy is the source" diff -r "$S" "$T/v1"
t_check "--verify=reread: exit 0" t_run 0 "$T/out" "$RCP" --verify=reread --chunk-size 1M --summary "$S" "$T/v2"
t_check "--verify=reread: files verified: 6" summary_has "$T/out" "files verified" 6
t_check "--verify=reread: the copy is the source" diff -r "$S" "$T/v2"
t_check "--verify=bogus: usage error" t_run 2 "$T/out" "$RCP" --verify=bogus "$S" "$T/v3"
t_check "--verify=bogus: says why" t_grep "^rcp: --verify: unknown mode 'bogus' \(expected cache or reread\)" "$T/out"
t_check "no --verify: no verification lines" t_run 0 "$T/out" "$RCP" --summary "$S" "$T/v4"
t_check "no --verify: summary unchanged" test "$(grep -c verif "$T/out")" = 0

# --- real corruption -----------------------------------------------------------------
# Without --verify a flipped write goes unnoticed: the fault is real.
t_check "flipped, no --verify: exit 0" t_run 0 "$T/out" flip /mid "$RCP" "$S" "$T/f0"
t_check "flipped, no --verify: the copy is corrupt" test -n "$(cmp "$S/mid" "$T/f0/mid" 2>&1)"
# One flip: --verify copies the range again and the copy is right.
for f in sub/b mid big sparse; do
	rm -f "$T/once"
	t_check "one flip in '$f', --verify: exit 0" t_run 0 "$T/out" env LD_PRELOAD="$FLIP_SO" RCP_TEST_FLIP_NAME="/$f" RCP_TEST_FLIP_ONCE="$T/once" "$RCP" -p --verify --chunk-size 1M --summary "$S" "$T/f1-${f//\//-}"
	t_check "one flip in '$f': it did flip" test -e "$T/once"
	t_check "one flip in '$f': the copy is the source" cmp "$S/$f" "$T/f1-${f//\//-}/$f"
	t_check "one flip in '$f': verify mismatches: 1" summary_has "$T/out" "verify mismatches" 1
	t_check "one flip in '$f': warned, naming it" t_grep "^warning: '.*/f1-${f//\//-}/$f' differs from its source in bytes [0-9]+ to [0-9]+; copying them again$" "$T/out"
	t_check "one flip in '$f': files verified: 6" summary_has "$T/out" "files verified" 6
done
# A flip every time: the file fails, named, and nothing looks complete.
for f in sub/b big; do
	d=$T/f2-${f//\//-}
	t_check "flip every time in '$f', --verify: exit 1" t_run 1 "$T/out" flip "/$f" "$RCP" -p --verify --chunk-size 1M --summary "$S" "$d"
	t_check "every time in '$f': an error names it" t_grep "^error: cannot verify '$d/$f': the copy differs from its source after 3 attempts; removed it$" "$T/out"
	# Each chunk of a large file is checked on its own, three times.
	t_check "every time in '$f': verify mismatches: 3 a chunk" t_grep "^verify mismatches: (3|6|9|12|15)$" "$T/out"
	t_check "every time in '$f': errors: 1" summary_has "$T/out" errors 1
	t_check "every time in '$f': no file with its size and mtime" test ! -e "$d/$f"
	t_check "every time in '$f': the others are copied" cmp "$S/a" "$d/a"
	t_check "every time in '$f': a later --overwrite --verify mends it" t_run 0 "$T/out2" "$RCP" -p -o --verify "$S" "$d"
	t_check "every time in '$f': mended" cmp "$S/$f" "$d/$f"
done

# --- --manifest ----------------------------------------------------------------------
M=$T/msrc
mkdir -p "$M/deep/er"
printf 1 >"$M/plain"
printf 2 >"$M/sp ace"
printf 3 >"$M/back\\slash"
printf 4 >"$M/$(printf 'tab\tx')"
printf 5 >"$M/$(printf 'non-utf8-\xff\xfe')"
printf 6 >"$M/deep/er/$(printf 'new\nline')"
printf 7 >"$M/$(printf 'cr\rx')"
cp "$S/big" "$M/deep/big"
: >"$M/empty"
# xxh128sum's own line for the escaped names (0.8.2's format).
esc_nl="\\$(xxh128sum <"$M/deep/er/$(printf 'new\nline')" | cut -c1-32)  deep/er/new\\nline"
esc_cr="\\$(xxh128sum <"$M/$(printf 'cr\rx')" | cut -c1-32)  cr\\rx"
for v in "" --verify; do
	rm -rf "$T/mdst" "$T/man"
	t_check "--manifest $v: exit 0" t_run 0 "$T/out" "$RCP" $v --chunk-size 1M --manifest "$T/man" "$M" "$T/mdst"
	t_check "--manifest $v: one line per file" test "$(grep -c '' "$T/man")" = 9
	# Debian 12's xxhsum (0.8.1) reads no escaped line: check the rest with
	# it, and the escaped ones against the format.
	t_check "--manifest $v: xxh128sum -c passes" sh -c "cd '$T/mdst' && grep -av '^\\\\' '$T/man' | xxh128sum -c --strict - >'$T/chk'"
	t_check "--manifest $v: every plain line checked" test "$(grep -ac ': OK$' "$T/chk")" = 7
	t_check "--manifest $v: a newline escaped as xxhsum does" grep -aqxF "$esc_nl" "$T/man"
	t_check "--manifest $v: a carriage return too" grep -aqxF "$esc_cr" "$T/man"
	t_check "--manifest $v: a backslash alone is kept" grep -aq '  back\\slash$' "$T/man"
done
mkdir "$T/mdst2"
t_check "--manifest into DST/: exit 0" t_run 0 "$T/out" "$RCP" --manifest "$T/man2" "$M/plain" "$M/deep" "$T/mdst2/"
t_check "--manifest into DST/: paths below DST" sh -c "cd '$T/mdst2' && grep -av '^\\\\' '$T/man2' | xxh128sum -c --strict - >/dev/null"
t_check "--manifest into DST/: names each source" grep -aq '  deep/big$' "$T/man2"
t_check "--manifest in a missing directory: exit 1" t_run 1 "$T/out" "$RCP" --manifest "$T/nodir/man" "$M" "$T/mdst3"
t_check "--manifest in a missing directory: says so" t_grep "^rcp: cannot create manifest '$T/nodir/man': No such file or directory$" "$T/out"

t_done
