#!/bin/bash
# remote-resume.sh: --resume across hosts through a real sshd (127.0.0.2
# the source, 127.0.0.3 the destination; and local to host).  A copy whose
# rcp is SIGKILLed midway is finished identical with fewer bytes than a full
# copy; a file changed in 1 of 100 chunks sends that chunk (and the byte that
# sets the size), the destination agent hashing its own chunks and the
# source sending only hashes for the rest; a longer destination is cut.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"
. "$(dirname "$0")/remote-lib.sh"
trap 'ours_cleanup; sshd_stop; t_cleanup' EXIT

M=$((1 << 20))
bytes_copied() { sed -n 's/^bytes copied: .*(\([0-9]*\) bytes.*/\1/p' "$1"; }
data_bytes() { echo $(($(stat -c %b "$1" 2>/dev/null || echo 0) * 512)); }

S=$T/src
mkdir "$S"
head -c $((24 * M + 777)) /dev/urandom >"$S/big"	# 25 chunks of 1 MiB
printf 'small\n' >"$S/small"
size=$(stat -c %s "$S/big")

# --- rcp SIGKILLed midway, then --resume -------------------------------------------
for m in h2h l2h; do
	src=$SH:$S
	[ $m = l2h ] && src=$S
	D=$T/d-$m
	# rcp itself, not R's timeout: the kill is for rcp.
	"${RA[@]}" -p --chunk-size 1M --max-workers 1 --iops-throttle 8 "$src" "$DH:$D" >"$T/killed.out" 2>&1 &
	pid=$!
	t_track "$pid"
	for ((i = 0; i < 3000; i++)); do
		[ "$(data_bytes "$D/big")" -ge $((8 * M)) ] && break
		sleep 0.01
	done
	kill -9 "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	t_check "killed ($m): agents end with it" gone 30
	have=$(data_bytes "$D/big")
	t_check "killed ($m): big is there, short ($have bytes of data)" test -f "$D/big" -a "$(stat -c %s "$D/big" 2>/dev/null || echo 0)" -lt "$size"
	t_check "--resume ($m): exit 0" t_run 0 "$T/out" R -p --resume --chunk-size 1M --summary "$src" "$DH:$D"
	t_check "--resume ($m): identical" same_rcmp "$S" "$D"
	n=$(bytes_copied "$T/out")
	t_check "--resume ($m): $n bytes crossed: fewer than the file" test "$n" -lt "$size"
	t_check "--resume ($m): at most what was missing and a chunk" test "$n" -le $((size - have + M + 6))
done

# --- changed in place: 1 of 100 chunks -----------------------------------------------
head -c $((100 * M)) /dev/urandom >"$S/image"
D=$T/d-img
t_check "image: first copy: exit 0" t_run 0 "$T/out" R -p --chunk-size 1M "$SH:$S/image" "$DH:$D"
printf 'changed' | dd of="$S/image" bs=1 seek=$((60 * M + 11)) conv=notrunc 2>/dev/null
t_check "image: --resume: exit 0" t_run 0 "$T/out" R -p --resume --chunk-size 1M --summary "$SH:$S/image" "$DH:$D"
t_check "image: identical (cmp)" cmp -s "$S/image" "$D"
t_check "image: one chunk and a byte crossed" test "$(bytes_copied "$T/out")" = $((M + 1))
t_check "image: with --verify (nothing changed but the mtime): exit 0" t_run 0 "$T/out" sh -c "touch '$D' && timeout 120 ${RA[*]} --resume --verify --chunk-size 1M --summary '$SH:$S/image' '$DH:$D'"
t_check "image: --verify: every byte verified, by hashes alone" t_grep "^bytes verified: .*\\($((100 * M)) bytes\\)" "$T/out"
t_check "image: --verify: a byte crossed" test "$(bytes_copied "$T/out")" = 1

# --- a longer destination -------------------------------------------------------------
head -c $((2 * M)) /dev/urandom >>"$D"
t_check "longer: --resume: exit 0" t_run 0 "$T/out" R -p --resume --chunk-size 1M --summary "$SH:$S/image" "$DH:$D"
t_check "longer: cut to the source (cmp)" cmp -s "$S/image" "$D"
t_check "longer: a byte crossed" test "$(bytes_copied "$T/out")" = 1
t_check "no rcp or rcpd left behind" gone 30

t_done
