#!/bin/bash
# copy-filters.sh: --include, --exclude and --filter-file: the glob syntax
# (*, **, ?, [...], \), anchoring with a leading '/', directory-only rules
# with a trailing '/', excludes winning over includes, included directories
# bringing their subtree, and errors in filter files.
. "$(dirname "$0")/lib.sh"

S=$T/src
mkdir -p "$S/lib/sub" "$S/build" "$S/docs/build" "$S/tools" "$S/empty"
for f in a.c a.h a.o README Makefile lib/x.c lib/x.o lib/sub/y.c lib/sub/y.o \
    build/out.o build/log.txt docs/build/index.html docs/guide.txt tools/build \
    file1 file2 file10 filea '[x]' 'star*'; do
	printf '%s\n' "$f" >"$S/$f"
done

# names DIR: every entry below DIR, directories with a trailing '/', sorted.
names() { (cd "$1" && find . -mindepth 1 \( -type d -printf '%P/\n' \) -o -printf '%P\n' | LC_ALL=C sort); }
# expect DESC "ENTRIES" OPTIONS...: copies with OPTIONS to a fresh
# destination; passes if exactly ENTRIES (space-separated) were copied.
n=0
expect() {
	local desc=$1 want=$2; shift 2
	n=$((n + 1))
	if ! t_run 0 "$T/out" "$RCP" "$@" "$S" "$T/d$n"; then
		t_fail "$desc: rcp failed"
		return
	fi
	if diff <(printf '%s\n' $want | grep -v '^$' | LC_ALL=C sort) <(names "$T/d$n") >"$T/diff"; then
		t_pass "$desc"
	else
		t_fail "$desc"
		sed 's/^/  | /' "$T/diff"
	fi
	# Every copied file is a copy of its source.
	(cd "$T/d$n" && find . -type f -exec cmp -s "{}" "$S/{}" \; -o -type f -printf '  differs: %p\n') | grep . && t_fail "$desc: contents"
}

ALL="a.c a.h a.o README Makefile lib/ lib/x.c lib/x.o lib/sub/ lib/sub/y.c lib/sub/y.o
build/ build/out.o build/log.txt docs/ docs/build/ docs/build/index.html docs/guide.txt
tools/ tools/build file1 file2 file10 filea [x] star* empty/"
set -f				# the lists hold glob characters

expect "no filter: everything" "$ALL"
expect "--exclude '*.o': at every depth" \
    "$(printf '%s\n' $ALL | grep -v '\.o$')" --exclude '*.o'
expect "--exclude '/build': anchored at the root" \
    "$(printf '%s\n' $ALL | grep -v '^build/')" --exclude /build
expect "--exclude 'build/': directories only, at any depth" \
    "$(printf '%s\n' $ALL | grep -v -e '^build/' -e '^docs/build/')" --exclude build/
expect "--exclude 'build': any type, at any depth" \
    "$(printf '%s\n' $ALL | grep -v -e '^build/' -e '^docs/build/' -e '^tools/build$')" --exclude build
expect "--exclude 'lib/*.o': several components, unanchored" \
    "$(printf '%s\n' $ALL | grep -vx 'lib/x.o')" --exclude 'lib/*.o'
expect "--exclude '*/y.o': '*' does not cross '/'" \
    "$(printf '%s\n' $ALL | grep -vx 'lib/sub/y.o')" --exclude '*/y.o'
expect "--exclude '/*/y.o': anchored '*' stays in one component" "$ALL" --exclude '/*/y.o'
expect "--exclude '/**/y.o': '**' crosses '/'" \
    "$(printf '%s\n' $ALL | grep -vx 'lib/sub/y.o')" --exclude '/**/y.o'
expect "--exclude '/lib/**': everything below lib, not lib" \
    "$(printf '%s\n' $ALL | grep -v '^lib/.')" --exclude '/lib/**'
expect "--exclude 'file?': one character" \
    "$(printf '%s\n' $ALL | grep -vx -e file1 -e file2 -e filea)" --exclude 'file?'
expect "--exclude 'file[0-9]': a range" \
    "$(printf '%s\n' $ALL | grep -vx -e file1 -e file2)" --exclude 'file[0-9]'
expect "--exclude 'file[!0-9]': a negated class" \
    "$(printf '%s\n' $ALL | grep -vx filea)" --exclude 'file[!0-9]'
expect "--exclude 'file[^0-9]*': '^' negates too" \
    "$(printf '%s\n' $ALL | grep -vx filea)" --exclude 'file[^0-9]*'
expect "--exclude '\\[x\\]': quoted brackets" \
    "$(printf '%s\n' $ALL | grep -vxF '[x]')" --exclude '\[x\]'
expect "--exclude 'star\\*': a quoted star" \
    "$(printf '%s\n' $ALL | grep -vxF 'star*')" --exclude 'star\*'
expect "--exclude '*': only the root" "" --exclude '*'

# Includes: only what matches, with the directories leading to it.
expect "--include '*.c': at any depth, with parent dirs only" \
    "a.c lib/ lib/x.c lib/sub/ lib/sub/y.c" --include '*.c'
expect "--include '/lib/**/*.c': '**/' may match no directory" \
    "lib/ lib/x.c lib/sub/ lib/sub/y.c" --include '/lib/**/*.c'
expect "--include '*.[ch]': a class" \
    "a.c a.h lib/ lib/x.c lib/sub/ lib/sub/y.c" --include '*.[ch]'
expect "--include '*.c' --include README: rules add up" \
    "a.c README lib/ lib/x.c lib/sub/ lib/sub/y.c" --include '*.c' --include README
expect "--include lib/: an included dir brings its subtree" \
    "lib/ lib/x.c lib/x.o lib/sub/ lib/sub/y.c lib/sub/y.o" --include lib/
expect "--include docs: subtree, whatever the names below" \
    "docs/ docs/build/ docs/build/index.html docs/guide.txt" --include docs
expect "--include empty/: an empty included dir is copied" "empty/" --include empty/

# Excludes win over includes, in any order.
expect "--include '*.c' --exclude x.c" "a.c lib/ lib/sub/ lib/sub/y.c" --include '*.c' --exclude x.c
expect "--exclude x.c --include '*.c' (order does not matter)" "a.c lib/ lib/sub/ lib/sub/y.c" --exclude x.c --include '*.c'
expect "--include lib/ --exclude '*.o': subtree less excludes" \
    "lib/ lib/x.c lib/sub/ lib/sub/y.c" --include lib/ --exclude '*.o'
expect "--include lib/ --exclude sub/: excluded dir not entered" \
    "lib/ lib/x.c lib/x.o" --include lib/ --exclude sub/
expect "--include '*.c' --exclude lib/: excluded dir hides included files" \
    "a.c" --include '*.c' --exclude lib/

# --filter-file: the same rules from a file.
cat >"$T/rules" <<'EOF'
# C sources, but not in sub/

+ *.c
include *.h
   - sub/
exclude a.h
EOF
expect "--filter-file: +, -, include, exclude, comments, blanks" "a.c lib/ lib/x.c" --filter-file "$T/rules"
printf '+ *.c\r\n- x.c\r\n' >"$T/rules.crlf"
expect "--filter-file: CRLF line ends" "a.c lib/ lib/sub/ lib/sub/y.c" --filter-file "$T/rules.crlf"
printf -- '- *.o\n' >"$T/rules.o"
expect "--filter-file with --exclude: combined" \
    "$(printf '%s\n' $ALL | grep -v -e '\.o$' -e '^build/' -e '^docs/build/' -e '^tools/build$')" \
    --filter-file "$T/rules.o" --exclude build
set +f

# The summary counts what the filters left out.
t_check "--summary with --exclude: exit 0" t_run 0 "$T/out" "$RCP" --summary --exclude '*.o' "$S" "$T/sum"
t_check "--summary: 4 skipped" t_grep '^skipped: 4$' "$T/out"
# A single file named on the command line is never filtered out.
t_check "a filtered-out file given as the source: exit 0" t_run 0 "$T/out" "$RCP" --exclude '*.c' "$S/a.c" "$T/single.c"
t_check "a filtered-out file given as the source: copied" cmp -s "$S/a.c" "$T/single.c"
# --dry-run explain names the rule.
t_check "--dry-run explain with filters: exit 0" t_run 0 "$T/out" "$RCP" --dry-run explain --exclude '*.o' --include '*.c' "$S" "$T/dry"
t_check "--dry-run explain: excluded by the rule" t_grep "^dry-run: exclude '.*/dry/lib/x\.o': --exclude '\*\.o'$" "$T/out"
t_check "--dry-run explain: not included" t_grep "^dry-run: exclude '.*/dry/README': matches no --include$" "$T/out"

# With -L a symlink to a directory is a directory: filtered, searched for
# included entries and counted like one (as cp -rL would see it).
L=$T/lsrc
mkdir -p "$L/real"
printf 'c\n' >"$L/real/x.c"
printf 'o\n' >"$L/real/x.o"
ln -s real "$L/link"
t_check "-L --include '*.c': exit 0" t_run 0 "$T/out" "$RCP" -L --include '*.c' "$L" "$T/l1"
t_check "-L --include '*.c': found in a real dir" test -f "$T/l1/real/x.c" -a ! -e "$T/l1/real/x.o"
t_check "-L --include '*.c': found through a symlinked dir" test -f "$T/l1/link/x.c" -a ! -e "$T/l1/link/x.o"
t_check "-L --exclude link/: exit 0" t_run 0 "$T/out" "$RCP" -L --summary --exclude link/ "$L" "$T/l2"
t_check "-L --exclude link/: the symlinked dir is excluded" test ! -e "$T/l2/link" -a -f "$T/l2/real/x.o"
t_check "-L --exclude link/: counted as skipped" t_grep '^skipped: 1$' "$T/out"
t_check "-L --exclude link/ --dry-run explain: exit 0" t_run 0 "$T/out" "$RCP" -L --dry-run explain --exclude link/ "$L" "$T/l3"
t_check "-L --exclude link/ --dry-run explain: says so" t_grep "^dry-run: exclude '.*/l3/link': --exclude 'link/'$" "$T/out"

# Errors in filter files: exit 2, naming the file and the line.
badfile() {
	local desc=$1 pattern=$2 content=$3
	printf '%b' "$content" >"$T/bad.rules"
	t_check "$desc: exit 2" t_run 2 "$T/out" "$RCP" --filter-file "$T/bad.rules" "$S" "$T/bad"
	t_check "$desc: file and line named" t_grep "$pattern" "$T/out"
	t_check "$desc: nothing copied" test ! -e "$T/bad"
}
badfile "a line without + or -" "^rcp: --filter-file: .*/bad\.rules:3: expected '\+ PATTERN' or '- PATTERN'$" '+ *.c\n\n*.o\n'
badfile "'+' without a space" "^rcp: --filter-file: .*/bad\.rules:1: expected" '+*.c\n'
badfile "an unclosed class" "^rcp: --filter-file: .*/bad\.rules:2: unclosed '\[' in pattern 'a\[b'$" '# x\n- a[b\n'
badfile "an empty pattern" "^rcp: --filter-file: .*/bad\.rules:1: empty pattern" '+ /\n'
long=$(head -c 5000 /dev/zero | tr '\0' a)
badfile "a line too long" "^rcp: --filter-file: .*/bad\.rules:1: line too long" "+ $long\n"
t_check "--exclude '': exit 2" t_run 2 "$T/out" "$RCP" --exclude '' "$S" "$T/bad"
t_check "--exclude '': message" t_grep "^rcp: empty pattern ''" "$T/out"
t_check "--include 'x[': exit 2" t_run 2 "$T/out" "$RCP" --include 'x[' "$S" "$T/bad"
t_check "--include 'x[': message" t_grep "^rcp: unclosed '\[' in pattern 'x\['" "$T/out"

t_done
