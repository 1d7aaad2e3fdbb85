#!/bin/bash
# copy-basic.sh: rcp's everyday behaviour: naming the destination (trailing
# slash rules), ~ expansion, the up-front refusal of an existing destination,
# --help, --version, usage errors, --summary, --progress, -q and a directory
# of 100,000 entries.
. "$(dirname "$0")/lib.sh"

# The source tree, for the option table (lib.sh's RCP_SRCDIR defaults to the
# build directory, which in an out-of-tree build holds no sources).
SRCDIR=$RCP_SRCDIR
[ -f "$SRCDIR/src/cmd/main-rcp.c" ] || SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)

# listing DIR: t_tree_listing plus a content hash for files (no times:
# rcp's default keeps none).
listing() {
	t_tree_listing "$1" || return 1
	(cd "$1" && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r md5sum)
}
same_tree() { diff <(listing "$1") <(listing "$2") >&2; }

mkdir "$T/src" "$T/src/sub" "$T/src/sub/deeper" "$T/src/empty"
printf 'hello\n' >"$T/src/a.txt"
head -c 300000 /dev/urandom >"$T/src/sub/b.bin"
: >"$T/src/sub/deeper/zero"
ln -s ../a.txt "$T/src/sub/link"
chmod 0640 "$T/src/a.txt"
chmod 0750 "$T/src/sub"

# One file to a new name.
t_check "file to new name: exit 0" t_run 0 "$T/out" "$RCP" "$T/src/a.txt" "$T/copy.txt"
t_check "file to new name: same bytes" cmp -s "$T/src/a.txt" "$T/copy.txt"
t_check "file to new name: mode & 0777 kept" test "$(stat -c %a "$T/copy.txt")" = 640
t_check "file to new name: no output" test ! -s "$T/out"

# One file into a directory: trailing slash.
mkdir "$T/into"
t_check "file into dir/: exit 0" t_run 0 "$T/out" "$RCP" "$T/src/a.txt" "$T/into/"
t_check "file into dir/: lands as dir/a.txt" cmp -s "$T/src/a.txt" "$T/into/a.txt"
t_check "file into dir/: nothing else made" test "$(ls -A "$T/into")" = a.txt
t_check "into a missing dir/: exit 1" t_run 1 "$T/out" "$RCP" "$T/src/a.txt" "$T/nodir/"
t_check "into a missing dir/: message" t_grep "^rcp: destination directory '.*/nodir/' does not exist" "$T/out"
t_check "into a missing dir/: nothing made" test ! -e "$T/nodir"

# Several sources: only into a directory named with a trailing slash.
mkdir "$T/multi"
t_check "several sources, no slash: exit 1" t_run 1 "$T/out" "$RCP" "$T/src/a.txt" "$T/src/sub" "$T/multi"
t_check "several sources, no slash: message" t_grep "^rcp: several sources need a destination directory ending in '/' \(got '.*/multi'\)" "$T/out"
t_check "several sources, no slash: nothing copied" test -z "$(ls -A "$T/multi")"
t_check "several sources into dir/: exit 0" t_run 0 "$T/out" "$RCP" "$T/src/a.txt" "$T/src/sub" "$T/multi/"
t_check "several sources into dir/: both there" test -f "$T/multi/a.txt" -a -d "$T/multi/sub"
t_check "several sources into dir/: sub copied whole" same_tree "$T/src/sub" "$T/multi/sub"
# A trailing slash on a source does not mean "its contents".
t_check "source with trailing slash: exit 0" t_run 0 "$T/out" "$RCP" "$T/src/sub/" "$T/subcopy"
t_check "source with trailing slash: the directory itself" same_tree "$T/src/sub" "$T/subcopy"

# A directory tree.
t_check "tree: exit 0" t_run 0 "$T/out" "$RCP" "$T/src" "$T/tree"
t_check "tree: identical listing and contents" same_tree "$T/src" "$T/tree"
t_check "tree: empty dir copied" test -d "$T/tree/empty"
t_check "tree: symlink kept as a symlink" test "$(readlink "$T/tree/sub/link")" = ../a.txt
t_check "tree: dir mode 0750 kept" test "$(stat -c %a "$T/tree/sub")" = 750

# ~ and ~/x are expanded with $HOME by rcp itself (quoted: not by the shell).
mkdir "$T/home"
t_check "~/x source and destination: exit 0" t_run 0 "$T/out" env HOME="$T/home" "$RCP" "$T/src/a.txt" '~/tilde.txt'
t_check "~/x: written into \$HOME" cmp -s "$T/src/a.txt" "$T/home/tilde.txt"
t_check "~/x as source: exit 0" t_run 0 "$T/out" env HOME="$T/home" "$RCP" '~/tilde.txt' "$T/back.txt"
t_check "~/x as source: read from \$HOME" cmp -s "$T/src/a.txt" "$T/back.txt"
t_check "bare ~ with slash as destination dir: exit 0" t_run 0 "$T/out" env HOME="$T/home" "$RCP" "$T/src/sub" '~/'
t_check "bare ~/: copied into \$HOME" same_tree "$T/src/sub" "$T/home/sub"
t_check "bare ~ as source dir: exit 0" t_run 0 "$T/out" env HOME="$T/home" "$RCP" '~' "$T/homecopy"
t_check "bare ~ as source: \$HOME copied" same_tree "$T/home" "$T/homecopy"
t_check "~user is not expanded: exit 1" t_run 1 "$T/out" env HOME="$T/home" "$RCP" '~nosuchuser/x' "$T/nouser"
t_check "~user is not expanded: named as given" t_grep "^rcp: cannot access source '~nosuchuser/x': No such file or directory" "$T/out"

# An existing destination fails up front, copying nothing at all.
mkdir "$T/exist" "$T/exist/sub"
printf 'old\n' >"$T/exist/sub/b.bin"
t_check "existing destination: exit 1" t_run 1 "$T/out" "$RCP" "$T/src/sub" "$T/exist/sub"
t_check "existing destination: message with --overwrite hint" t_grep "^rcp: destination '.*/exist/sub' already exists; use --overwrite" "$T/out"
t_check "existing destination: untouched" test "$(cat "$T/exist/sub/b.bin")" = old -a "$(ls -A "$T/exist/sub")" = b.bin
t_check "existing 2nd of 2 sources: exit 1" t_run 1 "$T/out" "$RCP" "$T/src/a.txt" "$T/src/sub" "$T/exist/"
t_check "existing 2nd of 2 sources: message" t_grep "already exists; use --overwrite" "$T/out"
t_check "existing 2nd of 2 sources: 1st not copied either" test ! -e "$T/exist/a.txt"
ln -s nowhere "$T/dangling"
t_check "dangling symlink as destination: exit 1" t_run 1 "$T/out" "$RCP" "$T/src/a.txt" "$T/dangling"
t_check "dangling symlink as destination: refused" t_grep "already exists" "$T/out"
t_check "dangling symlink as destination: not followed" test ! -e "$T/nowhere"

# --help names every long option of the option table, and every short one
# (the table is rcp's option parser, src/opts/cliopts.c, shared with the service).
t_check "--help: exit 0" t_run 0 "$T/help" "$RCP" --help
t_check "--help: usage line" t_grep '^usage: rcp \[OPTIONS\] SRC\.\.\. DST' "$T/help"
longs=$(sed -n '/^static const struct option longopts/,/^};/p' "$SRCDIR/src/opts/cliopts.c" |
    grep -o '{ "[a-z-]*"' | cut -d'"' -f2)
t_check "option table read ($(echo "$longs" | wc -w) long options)" test "$(echo "$longs" | wc -w)" -ge 25
for o in $longs; do
	t_check "--help lists --$o" t_grep "(^|[ ,])--$o([ ,]|$)" "$T/help"
done
shorts=$(sed -n 's/^#define RCP_CLIOPTS_SHORT "\([^"]*\)".*/\1/p' "$SRCDIR/src/opts/cliopts.h" | tr -d :)
t_check "short option string read" test -n "$shorts"
for ((i = 0; i < ${#shorts}; i++)); do
	o=${shorts:i:1}
	t_check "--help lists -$o" t_grep "^  -$o, --" "$T/help"
done
t_check "--help: exit codes" t_grep 'Exit status: 0 success, 1 some entry failed, 2 bad usage' "$T/help"
t_check "-h: exit 0, same text" t_run 0 "$T/h" "$RCP" -h
t_check "-h = --help" cmp -s "$T/h" "$T/help"

# --version.
t_check "--version: exit 0" t_run 0 "$T/out" "$RCP" --version
t_check "--version: 'rcp X.Y.Z'" t_grep '^rcp [0-9]+\.[0-9]+' "$T/out"
t_check "-V: exit 0" t_run 0 "$T/out2" "$RCP" -V
t_check "-V = --version" cmp -s "$T/out" "$T/out2"

# Bad usage: exit 2, a message naming the option, and nothing copied.
bad() {
	local desc=$1 pattern=$2; shift 2
	t_check "$desc: exit 2" t_run 2 "$T/out" "$RCP" "$@"
	t_check "$desc: message" t_grep "$pattern" "$T/out"
	t_check "$desc: points at --help" t_grep "Try 'rcp --help'" "$T/out"
	t_check "$desc: nothing copied" test ! -e "$T/bad"
}
bad "unknown long option" "^rcp: unknown option '--bogus'" --bogus "$T/src" "$T/bad"
bad "unknown short option" "^rcp: unknown option '-Z'" -Z "$T/src" "$T/bad"
bad "missing option argument" "^rcp: option '--include' needs a value" "$T/src" "$T/bad" --include
bad "no arguments" "^rcp: missing source and destination" -p
bad "one argument" "^rcp: missing destination" "$T/src"
bad "--delete-excluded alone" "^rcp: --delete-excluded needs --delete" --delete-excluded "$T/src" "$T/bad"
bad "--overwrite with --ignore-existing" "^rcp: --overwrite and --ignore-existing cannot be combined" -o --ignore-existing "$T/src" "$T/bad"
bad "--progress-type bogus" "^rcp: --progress-type: unknown type 'bogus'" --progress-type bogus "$T/src" "$T/bad"
bad "--progress-delay below 10ms" "^rcp: --progress-delay: '1ms' is not a duration" --progress-delay 1ms "$T/src" "$T/bad"
bad "--progress-delay garbage" "^rcp: --progress-delay: '5x' is not a duration" --progress-delay 5x "$T/src" "$T/bad"
bad "--max-open-files 3" "^rcp: --max-open-files: '3' is not a number of at least 16" --max-open-files 3 "$T/src" "$T/bad"
bad "--ops-throttle -5" "^rcp: throttle: '-5' is not a non-negative number" --ops-throttle -5 "$T/src" "$T/bad"
bad "--iops-throttle x" "^rcp: throttle: 'x' is not a non-negative number" --iops-throttle x "$T/src" "$T/bad"
bad "--chunk-size 2T" "^rcp: --chunk-size: '2T' is not a size from 4K to 1T" --chunk-size 2T "$T/src" "$T/bad"

# --summary: every field, with the right counts.
t_check "--summary: exit 0" t_run 0 "$T/sum" "$RCP" --summary "$T/src" "$T/sumcopy"
for f in "bytes copied" "files copied" "directories created" "symlinks created" \
    "hard links created" "special files created" "files unchanged" \
    "directories unchanged" "symlinks unchanged" "removed" "skipped" "errors" \
    "walltime" "cpu time" "peak rss"; do
	t_check "--summary has '$f'" t_grep "^$f: [0-9]" "$T/sum"
done
t_check "--summary: 3 files copied" t_grep '^files copied: 3$' "$T/sum"
t_check "--summary: 4 directories created" t_grep '^directories created: 4$' "$T/sum"
t_check "--summary: 1 symlink created" t_grep '^symlinks created: 1$' "$T/sum"
t_check "--summary: exact byte count" t_grep '^bytes copied: .*\(300006 bytes, ' "$T/sum"
t_check "--summary: no errors" t_grep '^errors: 0$' "$T/sum"
t_check "--summary: time units" t_grep '^walltime: [0-9.]+s$' "$T/sum"
t_check "--summary: peak rss in bytes units" t_grep '^peak rss: [0-9.]+ (B|KiB|MiB|GiB)$' "$T/sum"
t_check "no --summary: no summary" t_run 0 "$T/out" "$RCP" "$T/src" "$T/nosum"
t_check "no --summary: silent" test ! -s "$T/out"

# --progress: timestamped text lines on stderr, nothing of it on stdout.
mkdir "$T/bigsrc"
"$FILEGEN" -q "$T/bigsrc" 0 1 300M
t_check "--progress text: exit 0" t_run 0 /dev/null sh -c '"$0" --progress --progress-type text --progress-delay 10ms --chunk-size 4M "$1" "$2" >"$3" 2>"$4"' "$RCP" "$T/bigsrc" "$T/bigdst" "$T/pout" "$T/perr"
t_check "--progress: the copy is right" cmp -s "$T/bigsrc/f0" "$T/bigdst/f0"
t_check "--progress: timestamped lines on stderr" t_grep '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z elapsed [0-9.]+s copied .* files [0-9]+ dirs [0-9]+' "$T/perr"
t_check "--progress: only progress lines on stderr" test "$(grep -Evc '^[0-9]{4}-.*Z elapsed ' "$T/perr")" = 0
t_check "--progress: nothing on stdout" test ! -s "$T/pout"
t_check "--progress text: no terminal escapes" test "$(grep -c $'\033' "$T/perr")" = 0
rm -rf "$T/bigdst"
t_check "--progress bar (not a tty): exit 0" t_run 0 /dev/null sh -c '"$0" --progress --progress-type bar --progress-delay 10ms --chunk-size 4M "$1" "$2" >"$3" 2>"$4"' "$RCP" "$T/bigsrc" "$T/bigdst" "$T/pout" "$T/perr"
t_check "--progress bar: drawn on stderr" t_grep 'files [0-9]+ +dirs [0-9]+' "$T/perr"
t_check "--progress bar: cleared at the end" t_grep $'\r\033\\[K$' "$T/perr"
t_check "--progress bar: nothing on stdout" test ! -s "$T/pout"
rm -rf "$T/bigsrc" "$T/bigdst"

# -q: only errors; -vv: a line per action; -q wins.
t_check "-vv: exit 0" t_run 0 "$T/out" "$RCP" -vv "$T/src" "$T/vv"
t_check "-vv: a debug line per file" t_grep "^debug: copy file '.*/vv/sub/b\.bin'" "$T/out"
t_check "-q -vv: exit 0" t_run 0 "$T/out" "$RCP" -q -vv "$T/src" "$T/qvv"
t_check "-q -vv: silent" test ! -s "$T/out"
mkdir "$T/qsrc"
printf x >"$T/qsrc/ok"
ln -s nowhere "$T/qsrc/dangling"
t_check "-q with an error: exit 1" t_run 1 "$T/out" "$RCP" -q -L "$T/qsrc" "$T/qdst"
t_check "-q with an error: the error is shown" t_grep "^error: cannot stat '.*/qsrc/dangling': No such file or directory" "$T/out"
t_check "-q with an error: the rest copied" test "$(cat "$T/qdst/ok")" = x
t_check "-q with an error: only error lines on stdout" test "$(grep -vc -e '^error: ' -e '^rcp: ' "$T/out")" = 0

# Throttles: --ops-throttle N starts at most N entries a second;
# --iops-throttle N allows N I/Os of --chunk-size a second, whether the
# chunks are whole files or pieces of one large file.  A throttle shows as
# a lower bound on the time, which load cannot break; there is no upper
# bound but a hang guard (timeout 60: 40x the normal time, "-1" if it hit).
ms_of() { local t0; t0=$(date +%s%N); timeout -k 5 60 "$@" >/dev/null 2>&1 || { echo -1; return; }; echo $((($(date +%s%N) - t0) / 1000000)); }
mkdir -p "$T/thr/ops" "$T/thr/ten" "$T/thr/one"
for i in $(seq 30); do printf '%s' "$i" >"$T/thr/ops/f$i"; done
for i in $(seq 10); do head -c $((4 << 20)) /dev/urandom >"$T/thr/ten/f$i"; done
head -c $((40 << 20)) /dev/urandom >"$T/thr/one/f"
ms=$(ms_of "$RCP" --ops-throttle 20 "$T/thr/ops" "$T/thr/ops.c")
t_check "--ops-throttle 20: 31 entries take at least 1.3s (${ms}ms)" test "$ms" -ge 1300
t_check "--ops-throttle: copy complete" diff -r "$T/thr/ops" "$T/thr/ops.c"
ms=$(ms_of "$RCP" --chunk-size 4M --iops-throttle 10 "$T/thr/ten" "$T/thr/ten.c")
t_check "--iops-throttle 10: ten 4M files take at least 0.7s (${ms}ms)" test "$ms" -ge 700
ms=$(ms_of "$RCP" --chunk-size 4M --iops-throttle 10 "$T/thr/one" "$T/thr/one.c")
t_check "--iops-throttle 10: one 40M file in 4M chunks takes at least 0.7s too (${ms}ms)" test "$ms" -ge 700
t_check "--iops-throttle: copies complete" cmp -s "$T/thr/one/f" "$T/thr/one.c/f"
t_check "--iops-throttle: ten files complete" diff -r "$T/thr/ten" "$T/thr/ten.c"
rm -rf "$T/thr"

# A directory of 100,000 entries: files (some with data), dirs and symlinks.
python3 - "$T/huge" <<'EOF'
import os, sys
d = sys.argv[1]
os.mkdir(d)
for i in range(98000):
    fd = os.open(f"{d}/f{i}", os.O_CREAT | os.O_WRONLY, 0o644)
    if i % 100 == 0:
        os.write(fd, b"%d\n" % i)
    os.close(fd)
for i in range(1000):
    os.mkdir(f"{d}/d{i}")
    os.symlink(f"f{i}", f"{d}/l{i}")
EOF
t_check "100,000 entries: source built" test "$(ls -f "$T/huge" | wc -l)" = 100002
t_check "100,000 entries: exit 0" t_run 0 "$T/out" "$RCP" --summary "$T/huge" "$T/hugecopy"
t_check "100,000 entries: all there" test "$(ls -f "$T/hugecopy" | wc -l)" = 100002
t_check "100,000 entries: same names and types" diff <(t_tree_listing "$T/huge") <(t_tree_listing "$T/hugecopy")
t_check "100,000 entries: counts" t_grep '^files copied: 98000$' "$T/out"
t_check "100,000 entries: symlinks counted" t_grep '^symlinks created: 1000$' "$T/out"
t_check "100,000 entries: contents" test "$(cat "$T/hugecopy/f97900")" = 97900 -a ! -s "$T/hugecopy/f97901"
rm -rf "$T/huge" "$T/hugecopy"

t_done
