#!/bin/bash
# filegen.sh: the filegen binary: tree shapes, sizes, determinism, usage
# errors and refusals.
. "$(dirname "$0")/lib.sh"

# sums DIR: one "md5  ./path" line per file, sorted.
sums() { (cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum); }
# sizes DIR: the distinct file sizes, one a line.
sizes() { find "$1" -type f -printf '%s\n' | sort -un; }
count() { find "$1" -mindepth 1 -type "$2" | wc -l; }

# --help and --version.
t_check "--help exits 0" t_run 0 "$T/help" "$FILEGEN" --help
for opt in -s --seed -b --bufsize -t --threads -f --force -q --quiet \
    -v --verbose -h --help -V --version; do
	t_check "--help lists $opt" t_grep "(^|[ ,])$opt([ ,=]|$)" "$T/help"
done
t_check "--help shows the size range syntax" t_grep 'MIN-MAX' "$T/help"
t_check "--version exits 0" t_run 0 "$T/version" "$FILEGEN" --version
t_check "--version names the program" t_grep '^filegen \(rcp\) [0-9]' "$T/version"

# Shape: 3 directories with 2 subdirectories each, 10 files per leaf.
t_check "3,2 10 1M runs" t_run 0 "$T/out" "$FILEGEN" "$T/a" 3,2 10 1M
t_check "summary counts files and directories" t_grep '^60 files, 9 directories' "$T/out"
t_check "3,2 makes 9 directories" test "$(count "$T/a" d)" = 9
t_check "3,2 10 makes 60 files" test "$(count "$T/a" f)" = 60
t_check "leaf d2/d1 holds f0..f9" test "$(ls "$T/a/d2/d1" | sort | tr '\n' ' ')" = "f0 f1 f2 f3 f4 f5 f6 f7 f8 f9 "
t_check "no d3 and no d0/d2" test ! -e "$T/a/d3" -a ! -e "$T/a/d0/d2"
t_check "every file is 1 MiB" test "$(sizes "$T/a")" = 1048576

# Files directly in the root, for "" and "0"; a missing root is created.
t_check "empty DIRWIDTH runs" t_run 0 "$T/out" "$FILEGEN" -q "$T/flat1" "" 5 4K
t_check "empty DIRWIDTH: 5 files in the root" test "$(ls "$T/flat1" | wc -l)" = 5 -a "$(count "$T/flat1" d)" = 0
t_check "DIRWIDTH 0 runs" t_run 0 "$T/out" "$FILEGEN" -q "$T/flat0" 0 3 1001
t_check "DIRWIDTH 0: 3 files of 1001 bytes" test "$(count "$T/flat0" f)" = 3 -a "$(sizes "$T/flat0")" = 1001
t_check "-q prints nothing" test ! -s "$T/out"

# Size ranges stay within their bounds and vary.
t_check "1K-16K runs" t_run 0 "$T/out" "$FILEGEN" -q "$T/range" 4 50 1K-16K
t_check "1K-16K sizes are in range" test "$(find "$T/range" -type f \( -size -1024c -o -size +16384c \) | wc -l)" = 0
t_check "1K-16K sizes vary" test "$(sizes "$T/range" | wc -l)" -gt 20

# Determinism: the seed alone fixes the tree, whatever threads and buffer.
"$FILEGEN" -q --seed 7 --threads 1 --bufsize 4K "$T/s1" 2,2 5 1-300K
"$FILEGEN" -q --seed 7 --threads 2 --bufsize 1M "$T/s2" 2,2 5 1-300K
"$FILEGEN" -q -s 8 "$T/s3" 2,2 5 1-300K
sums "$T/s1" >"$T/sums1"; sums "$T/s2" >"$T/sums2"; sums "$T/s3" >"$T/sums3"
t_check "same seed: 20 files hashed" test "$(wc -l <"$T/sums1")" = 20
t_check "same seed, other threads and buffer: identical tree" cmp -s "$T/sums1" "$T/sums2"
t_check "other seed: other bytes" test "$(cut -c1-32 "$T/sums1" | sort -u | comm -12 - <(cut -c1-32 "$T/sums3" | sort -u) | wc -l)" = 0
t_check "files of one tree differ" test "$(cut -c1-32 "$T/sums1" | sort -u | wc -l)" = 20
# A file over 64 MiB is written in pieces by several threads.
"$FILEGEN" -q --threads 2 "$T/big1" 0 1 70M
"$FILEGEN" -q --threads 1 --bufsize 64K "$T/big2" 0 1 70M
t_check "70M file in pieces: exact size" test "$(stat -c %s "$T/big1/f0")" = 73400320
t_check "70M file: identical with 1 and 2 threads" cmp -s "$T/big1/f0" "$T/big2/f0"

# A non-empty root is refused, unless --force.
t_check "non-empty root: exit 1" t_run 1 "$T/out" "$FILEGEN" "$T/a" 3,2 10 1K
t_check "non-empty root: message" t_grep "^filegen: '.*/a' is not empty.*--force" "$T/out"
t_check "non-empty root untouched" test "$(sizes "$T/a")" = 1048576
t_check "--force writes into it" t_run 0 "$T/out" "$FILEGEN" --force "$T/a" 3,2 10 1K
t_check "--force: files now 1 KiB" test "$(sizes "$T/a")" = 1024
t_check "missing parent: exit 1" t_run 1 "$T/out" "$FILEGEN" "$T/no/such" 2 1 1K
t_check "missing parent: message" t_grep "^filegen: cannot create directory '.*/no/such': No such file" "$T/out"
: >"$T/plain"
t_check "root is a file: exit 1" t_run 1 "$T/out" "$FILEGEN" --force "$T/plain" 2 1 1K
t_check "root is a file: message" t_grep "'.*/plain' is not a directory" "$T/out"

# Bad usage: exit 2 and a message naming the problem.
bad() {
	local desc=$1 pattern=$2; shift 2
	t_check "$desc: exit 2" t_run 2 "$T/out" "$FILEGEN" "$@"
	t_check "$desc: message" t_grep "$pattern" "$T/out"
	t_check "$desc: nothing made" test ! -e "$T/x"
}
bad "no arguments" 'expected ROOT DIRWIDTH NUMFILES FILESIZE, got 0'
bad "three arguments" 'got 3 arguments' "$T/x" 2 1
bad "five arguments" 'got 5 arguments' "$T/x" 2 1 1K extra
bad "bad width" "bad directory widths '3,x'" "$T/x" 3,x 1 1K
bad "empty width item" "bad directory widths '3,,2'" "$T/x" 3,,2 1 1K
bad "zero width below the top" "bad directory widths '3,0'" "$T/x" 3,0 1 1K
bad "too many levels" "too many directory levels" "$T/x" 1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1 1 1K
bad "bad file count" "bad number of files 'ten'" "$T/x" 2 ten 1K
bad "bad size" "bad file size '1Q'" "$T/x" 2 1 1Q
bad "half a range" "bad file size '1K-'" "$T/x" 2 1 1K-
bad "MIN above MAX" "bad file size range '16M-1K': minimum above maximum" "$T/x" 2 1 16M-1K
bad "unknown option" "^filegen: unknown option '--bogus'" --bogus "$T/x" 2 1 1K
bad "zero threads" "bad thread count '0'" --threads 0 "$T/x" 2 1 1K
bad "bad seed" "bad seed 'x'" --seed x "$T/x" 2 1 1K
bad "tiny buffer" "bad buffer size '1'" --bufsize 1 "$T/x" 2 1 1K
t_check "usage errors point at --help" t_grep "Try 'filegen --help'" "$T/out"

t_done
