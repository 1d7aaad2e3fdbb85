#!/bin/bash
# copy-resume.sh: --resume locally.  A big file killed (SIGKILL) after its
# first chunk, in the middle and near its last chunk is finished identical
# (cmp) by writing fewer bytes than a full copy; a file changed in place in
# 1% of its chunks writes about 1%; a longer destination is cut; a source
# changed between a kill and the resume still comes out right; sparse and
# hard-linked destinations; and a resume that is itself killed never leaves
# a file that looks complete to a later -o.
. "$(dirname "$0")/lib.sh"

M=$((1 << 20))
# bytes_copied OUT: the exact byte count of a --summary.
bytes_copied() { sed -n 's/^bytes copied: .*(\([0-9]*\) bytes.*/\1/p' "$1"; }
# data_bytes FILE: bytes of FILE that hold data (allocated blocks).
data_bytes() { echo $(($(stat -c %b "$1" 2>/dev/null || echo 0) * 512)); }
sizemtime() { stat -c '%s %Y.%y' "$1"; }
looks_complete() { [ "$(sizemtime "$1")" = "$(sizemtime "$2")" ]; }
# wait_data FILE BYTES SECONDS: waits until FILE holds BYTES of data.
wait_data() {
	local i
	for ((i = 0; i < $3 * 100; i++)); do
		[ "$(data_bytes "$1")" -ge "$2" ] && return 0
		sleep 0.01
	done
	return 1
}
# kill_at BYTES FILE ARGS...: rcp ARGS, throttled, SIGKILLed once FILE
# holds BYTES of data (4 chunks a second: the point is hit, not raced).
kill_at() {
	local pid bytes=$1 file=$2
	shift 2
	"$RCP" --chunk-size 1M --max-workers 1 --iops-throttle 4 "$@" \
	    >"$T/killed.out" 2>&1 &
	pid=$!
	t_track "$pid"
	wait_data "$file" "$bytes" 30 || echo "  no $bytes bytes of data in $file" >&2
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

S=$T/src
mkdir "$S"
name=$'big\xff'				# names are bytes
head -c $((16 * M + 12345)) /dev/urandom >"$S/$name"	# 17 chunks of 1 MiB
size=$(stat -c %s "$S/$name")
t_check "usage: --resume with --ignore-existing is refused" t_run 2 "$T/out" "$RCP" --resume --ignore-existing "$S" "$T/x"
t_check "usage: says why" t_grep "resume and --ignore-existing cannot be combined" "$T/out"

# --- SIGKILL at the first chunk, in the middle, near the last ---------------------
for point in 1 8 16; do
	D=$T/d$point
	kill_at $((point * M)) "$D" -p "$S/$name" "$D"
	have=$(data_bytes "$D")
	t_check "kill after $point chunk(s): the file is there, short ($have bytes of data)" test -f "$D" -a "$(stat -c %s "$D")" -lt "$size"
	t_check "kill after $point: it does not look complete" test "$(sizemtime "$S/$name")" != "$(sizemtime "$D")"
	t_check "kill after $point: --resume: exit 0" t_run 0 "$T/out" "$RCP" -p --resume --chunk-size 1M --summary "$S/$name" "$D"
	t_check "kill after $point: identical (cmp)" cmp -s "$S/$name" "$D"
	t_check "kill after $point: times kept" looks_complete "$S/$name" "$D"
	n=$(bytes_copied "$T/out")
	# What was there is kept, but for the chunk cut by the kill.
	t_check "kill after $point: wrote $n bytes: fewer than the file" test "$n" -lt "$size"
	t_check "kill after $point: at most what was missing and a chunk" test "$n" -le $((size - have + M))
done

# --- changed in place: 1% of the chunks ---------------------------------------------
head -c $((100 * M)) /dev/urandom >"$S/image"
D=$T/img
t_check "image: first copy: exit 0" t_run 0 "$T/out" "$RCP" -p --chunk-size 1M "$S/image" "$D"
printf 'changed' | dd of="$S/image" bs=1 seek=$((42 * M + 7)) conv=notrunc 2>/dev/null
i=$(stat -c %i "$D")
t_check "image: --resume after a change in 1 of 100 chunks: exit 0" t_run 0 "$T/out" "$RCP" -p --resume --chunk-size 1M --summary "$S/image" "$D"
t_check "image: identical (cmp)" cmp -s "$S/image" "$D"
n=$(bytes_copied "$T/out")
t_check "image: wrote $n bytes: the chunk and the byte that sets the size" test "$n" = $((M + 1))
t_check "image: updated in place (same inode)" test "$(stat -c %i "$D")" = "$i"
t_check "image: nothing to do now: unchanged" t_run 0 "$T/out" "$RCP" -p --resume --chunk-size 1M --summary "$S/image" "$D"
t_check "image: files unchanged: 1" t_grep '^files unchanged: 1$' "$T/out"
touch "$D"
t_check "image: with --verify: exit 0" t_run 0 "$T/out" "$RCP" --resume --verify --chunk-size 1M --summary "$S/image" "$D"
t_check "image: --verify: every byte verified" t_grep "^bytes verified: .*\\($((100 * M)) bytes\\)" "$T/out"
t_check "image: --verify: wrote nothing" test "$(bytes_copied "$T/out")" -le 1

# --- a destination longer than its source --------------------------------------------
head -c $((3 * M + 5)) /dev/urandom >>"$D"
t_check "longer: --resume: exit 0" t_run 0 "$T/out" "$RCP" -p --resume --chunk-size 1M --summary "$S/image" "$D"
t_check "longer: cut to the source (cmp)" cmp -s "$S/image" "$D"
t_check "longer: wrote $(bytes_copied "$T/out") bytes, not the file" test "$(bytes_copied "$T/out")" -le $((M + 1))

# --- the source changes between a kill and the resume ---------------------------------
D=$T/changed
kill_at $((8 * M)) "$D" -p "$S/$name" "$D"
printf 'new bytes' | dd of="$S/$name" bs=1 seek=$((15 * M + 3)) conv=notrunc 2>/dev/null
printf 'new bytes' | dd of="$S/$name" bs=1 seek=$((2 * M + 3)) conv=notrunc 2>/dev/null
t_check "changed source: --resume: exit 0" t_run 0 "$T/out" "$RCP" -p --resume --chunk-size 1M "$S/$name" "$D"
t_check "changed source: identical (cmp)" cmp -s "$S/$name" "$D"

# --- a resume killed midway never looks complete ---------------------------------------
# The destination has the source's size but other bytes in every chunk, and
# no times are kept: only the resume's own care keeps it from looking
# complete to a comparison of sizes.
D=$T/other
head -c "$size" /dev/urandom >"$D"
"$RCP" --chunk-size 1M --max-workers 1 --iops-throttle 4 --resume "$S/$name" "$D" >"$T/killed.out" 2>&1 &
pid=$!
t_track "$pid"
# Under way once the file is cut (then a few chunks: any moment will do).
for ((i = 0; i < 3000; i++)); do
	[ "$(stat -c %s "$D")" -lt "$size" ] && break
	sleep 0.01
done
sleep 0.5
kill -9 "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
t_check "killed resume: shorter than the source" test "$(stat -c %s "$D")" -lt "$size"
t_check "killed resume: a later -o by size: exit 0" t_run 0 "$T/out" "$RCP" -o --overwrite-compare size "$S/$name" "$D"
t_check "killed resume: a later -o by size makes it identical" cmp -s "$S/$name" "$D"

# --- sparse sources; hard-linked destinations --------------------------------------------
truncate -s $((8 * M)) "$S/sparse"
printf 'island' | dd of="$S/sparse" bs=1 seek=$((5 * M)) conv=notrunc 2>/dev/null
head -c $((8 * M)) /dev/urandom >"$T/sparse"
t_check "sparse: --resume over other data: exit 0" t_run 0 "$T/out" "$RCP" --resume --chunk-size 1M "$S/sparse" "$T/sparse"
t_check "sparse: holes read as zeros (cmp)" cmp -s "$S/sparse" "$T/sparse"
t_check "sparse: the copy is sparse again ($(data_bytes "$T/sparse") bytes of data)" test "$(data_bytes "$T/sparse")" -lt $((2 * M))
head -c "$size" /dev/urandom >"$T/linked"
ln "$T/linked" "$T/other-link"
cp "$T/linked" "$T/linked.orig"
t_check "hard-linked destination: --resume: exit 0" t_run 0 "$T/out" "$RCP" --resume --chunk-size 1M "$S/$name" "$T/linked"
t_check "hard-linked destination: replaced (cmp)" cmp -s "$S/$name" "$T/linked"
t_check "hard-linked destination: the other link is untouched" cmp -s "$T/linked.orig" "$T/other-link"

# --- a tree: small files replaced, big ones resumed, dry-run says which --------------------
mkdir -p "$T/tree"
cp "$S/image" "$T/tree/image"
printf 'small\n' >"$T/tree/small"
"$RCP" -p "$T/tree" "$T/tree2" >/dev/null 2>&1
printf 'x' | dd of="$T/tree/image" bs=1 seek=100 conv=notrunc 2>/dev/null
printf 'SMALL\n' >"$T/tree/small"
touch -d '2001-01-01' "$T/tree/small"
t_check "tree: --dry-run explain: exit 0" t_run 0 "$T/out" "$RCP" -p --resume --chunk-size 1M --dry-run explain "$T/tree" "$T/tree2"
t_check "tree: dry-run: the big file is resumed" t_grep "^dry-run: resume '.*/tree2/image': mtime differ$" "$T/out"
t_check "tree: dry-run: the small one replaced" t_grep "^dry-run: replace '.*/tree2/small': mtime differ$" "$T/out"
t_check "tree: --resume: exit 0" t_run 0 "$T/out" "$RCP" -p --resume --chunk-size 1M --summary "$T/tree" "$T/tree2"
t_check "tree: identical" diff -r "$T/tree" "$T/tree2"
t_check "tree: wrote a chunk, a byte and the small file" test "$(bytes_copied "$T/out")" = $((M + 1 + 6))

t_done
