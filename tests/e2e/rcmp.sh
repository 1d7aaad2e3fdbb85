#!/bin/bash
# rcmp.sh: rcmp against trees built and changed with the shell's own tools:
# exit codes, the JSON lines, names that are not UTF-8, a tree deeper than
# PATH_MAX and errors met during the walk.
. "$(dirname "$0")/lib.sh"

# cmp_run WANT NAME ARGS...: runs rcmp with stdout in $T/NAME.out and stderr
# in $T/NAME.err; passes if it exits WANT.
cmp_run() {
	local want=$1 name=$2 rc; shift 2
	"$RCMP" "$@" >"$T/$name.out" 2>"$T/$name.err"
	rc=$?
	if [ "$rc" != "$want" ]; then
		echo "  rcmp $* exited $rc, expected $want" >&2
		sed 's/^/  out| /' "$T/$name.out" | head -20 >&2
		sed 's/^/  err| /' "$T/$name.err" | head -20 >&2
		t_fail "$name: exit $want"
		return 1
	fi
	t_pass "$name: exit $want"
}

# json_ok FILE: every line is a JSON object with string "path" and "diff".
json_ok() {
	python3 -c '
import json, sys
for line in open(sys.argv[1], "rb"):
    o = json.loads(line)
    assert isinstance(o, dict), line
    assert isinstance(o["path"], str) and isinstance(o["diff"], str), line
' "$1"
}

# json_count FILE N: FILE has exactly N lines.
json_count() {
	local n
	n=$(wc -l <"$1")
	[ "$n" -eq "$2" ] && return 0
	echo "  $1 has $n lines, expected $2:" >&2
	sed 's/^/  | /' "$1" | head -20 >&2
	return 1
}


# mk_tree DIR: a tree with every kind of entry and some awkward names.
mk_tree() {
	mkdir -p "$1/a/b/c" "$1/empty" "$1/-dash dir"
	echo hello >"$1/f"
	echo "some bytes" >"$1/a/g"
	: >"$1/a/b/c/zero"
	head -c 3000000 /dev/urandom >"$1/a/big"
	echo x >"$1/-dash dir/-n"
	echo nl >"$1/new"$'\n'"line"
	echo ff >"$1/"$'\xff'
	echo bs >"$1/back\\slash"
	ln -s a/g "$1/l"
	ln -s "/nowhere/at all" "$1/a/b/dangling"
	mkfifo "$1/fifo"
}

SRC=$T/src
mk_tree "$SRC"

# --- usage ----------------------------------------------------------------
cmp_run 0 version --version
t_check "version string" t_grep '^rcmp \(rcp\) [0-9]' "$T/version.out"
cmp_run 0 help --help
for o in --metadata-compare --content --exit-early --log --threads --quiet \
    --verbose --help --version; do
	t_check "help lists $o" t_grep "$o" "$T/help.out"
done
cmp_run 2 noargs
t_check "no operands: message" t_grep '^rcmp: missing SRC or DST' "$T/noargs.err"
cmp_run 2 toomany "$SRC" "$SRC" "$SRC"
cmp_run 2 badopt --bogus "$SRC" "$SRC"
cmp_run 2 badspec --metadata-compare f:color "$SRC" "$SRC"
t_check "bad spec: message" t_grep "unknown attribute 'color'" "$T/badspec.err"
cmp_run 2 badthreads --threads 0 "$SRC" "$SRC"

# --- identical ------------------------------------------------------------
cp -a "$SRC" "$T/same"
cmp_run 0 same "$SRC" "$T/same"
t_check "same: no output" test ! -s "$T/same.out"
cmp_run 0 same-content --content "$SRC" "$T/same"
cmp_run 0 same-all --content --metadata-compare uid,gid,mode,size,mtime \
    "$SRC" "$T/same"
cmp_run 0 same-1thread --threads 1 --content "$SRC" "$T/same"
cmp_run 0 self "$SRC" "$SRC"

# --- missing roots --------------------------------------------------------
cmp_run 2 nosrc "$T/nothing" "$SRC"
t_check "missing src: message" t_grep \
    "^rcmp: cannot open '$T/nothing': No such file or directory" "$T/nosrc.err"
t_check "missing src: no records" test ! -s "$T/nosrc.out"
cmp_run 2 nodst "$SRC" "$T/nothing"

# --- each kind of difference ----------------------------------------------
D=$T/diff
cp -a "$SRC" "$D"
rm "$D/a/g"					# missing in dst
echo extra >"$D/a/b/extra"			# missing in src
mkdir -p "$D/newdir/sub"			# missing in src, reported once
rm -r "$D/a/b/c"; echo c >"$D/a/b/c"		# type: dir -> file
echo more >>"$D/f"				# size and mtime
touch -d '2001-02-03 04:05:06' "$D/-dash dir/-n"	# mtime only
rm "$D/"$'\xff'					# a name that is not UTF-8
rm "$D/new"$'\n'"line"
chmod 600 "$D/back\\slash"; touch -r "$SRC/back\\slash" "$D/back\\slash"
# put the directories' mtimes back: only the entries should differ
for d in . a a/b "-dash dir"; do touch -r "$SRC/$d" "$D/$d"; done

cmp_run 1 diff "$SRC" "$D"
t_check "diff: valid JSON" json_ok "$T/diff.out"
t_check "diff: missing in dst" json_has "$T/diff.out" path=a/g diff=missing \
    side=dst type=file
t_check "diff: missing in src" json_has "$T/diff.out" path=a/b/extra \
    diff=missing side=src type=file
t_check "diff: missing dir" json_has "$T/diff.out" path=newdir diff=missing \
    side=src type=dir
t_check "diff: missing dir once" sh -c "! grep -q newdir/sub '$T/diff.out'"
t_check "diff: type" json_has "$T/diff.out" path=a/b/c diff=type src=dir \
    dst=file
t_check "diff: size" json_has "$T/diff.out" path=f diff=size src=6 dst=11
t_check "diff: mtime" json_has "$T/diff.out" path="-dash dir/-n" diff=mtime \
    dst=2001-02-03T04:05:06.000000000Z
t_check "diff: non-UTF-8 escaped" json_has "$T/diff.out" 'path=\xff' \
    path_b64=/w== diff=missing side=dst
t_check "diff: non-UTF-8 bytes" json_has "$T/diff.out" 'path_bytes=\xff'
t_check "diff: newline" json_has "$T/diff.out" 'path=new\x0aline' \
    'path_bytes=new\nline'
t_check "diff: mode not compared by default" \
    sh -c "! grep -q slash '$T/diff.out'"
t_check "diff: 9 records" json_count "$T/diff.out" 9
t_check "diff: nothing on stderr" test ! -s "$T/diff.err"

cmp_run 1 mode --metadata-compare f:mode "$SRC" "$D"
t_check "mode: record" json_has "$T/mode.out" 'path=back\\slash' \
    'path_bytes=back\\slash' diff=mode src=0644 dst=0600 type=file

cmp_run 1 early --exit-early "$SRC" "$D"
t_check "exit early: one record" json_count "$T/early.out" 1
t_check "exit early: valid JSON" json_ok "$T/early.out"

cmp_run 1 quiet -q "$SRC" "$D"
t_check "quiet: no output" test ! -s "$T/quiet.out" -a ! -s "$T/quiet.err"

cmp_run 1 logfile --log "$T/records.jsonl" "$SRC" "$D"
t_check "log: stdout empty" test ! -s "$T/logfile.out"
t_check "log: same records" cmp -s <(sort "$T/records.jsonl") \
    <(sort "$T/diff.out")
cmp_run 2 logbad --log "$T/no/such/dir/x" "$SRC" "$D"
t_check "log: cannot open" t_grep "^rcmp: cannot open '$T/no/such/dir/x'" \
    "$T/logbad.err"

cmp_run 1 verbose -v "$SRC" "$D"
t_check "verbose: summary" t_grep \
    '^rcmp: .*entries compared.* 9 differences, 0 errors' "$T/verbose.err"

# --- content --------------------------------------------------------------
C=$T/content
cp -a "$SRC" "$C"
# same size and mtime, different bytes past the first megabyte
printf 'X' | dd of="$C/a/big" bs=1 seek=1500000 conv=notrunc status=none
touch -r "$SRC/a/big" "$C/a/big"
# a symlink to elsewhere, same length and mtime
ln -sfn a/G "$C/l"; touch -h -r "$SRC/l" "$C/l"
touch -r "$SRC" "$C"
cmp_run 0 content-meta "$SRC" "$C"
cmp_run 1 content --content "$SRC" "$C"
t_check "content: valid JSON" json_ok "$T/content.out"
t_check "content: file" json_has "$T/content.out" path=a/big diff=content \
    type=file offset=1500000 src_size=3000000 dst_size=3000000
t_check "content: symlink" json_has "$T/content.out" path=l diff=content \
    type=symlink src=a/g dst=a/G
t_check "content: two records" json_count "$T/content.out" 2
cmp_run 1 content-early --content --exit-early "$SRC" "$C"
t_check "content early: one record" json_count "$T/content-early.out" 1

# sizes differ: reported without reading, no offset
echo "hello world" >"$C/f"; touch -r "$SRC/f" "$C/f"
cmp_run 1 content-size --content --metadata-compare f:mtime "$SRC" "$C"
t_check "content size: record" json_has "$T/content-size.out" path=f \
    diff=content src_size=6 dst_size=12
t_check "content size: no offset" python3 -c '
import json, sys
for l in open(sys.argv[1]):
    o = json.loads(l)
    if o["path"] == "f":
        sys.exit("offset" in o)
sys.exit(1)' "$T/content-size.out"

# single files as operands
cmp_run 0 files "$SRC/f" "$T/same/f"
cmp_run 1 files-differ "$SRC/f" "$C/f"
t_check "files: root path is ." json_has "$T/files-differ.out" path=. diff=size

# --- deeper than PATH_MAX -------------------------------------------------
# 60 levels of 100-byte names: over 6000 bytes, so built one cd at a time.
NAME=$(printf 'd%.0s' $(seq 100))
mk_deep() {
	(
		mkdir "$1" && cd "$1" || exit 1
		for i in $(seq 60); do mkdir "$NAME" && cd "$NAME" || exit 1; done
		echo "leaf data" >leaf
		# equal mtimes on the way back up, deepest first
		touch -d @1000000000 leaf
		for i in $(seq 60); do
			cd .. && touch -d @1000000000 "$NAME" || exit 1
		done
	)
}
t_check "deep: build src" mk_deep "$T/deep-src"
t_check "deep: build dst" mk_deep "$T/deep-dst"
touch -d @1000000000 "$T/deep-src" "$T/deep-dst"
cmp_run 0 deep-same --content "$T/deep-src" "$T/deep-dst"
(
	cd "$T/deep-dst" && for i in $(seq 60); do cd "$NAME" || exit 1; done
	echo "LEAF DATA" >leaf && touch -d @1000000000 leaf
)
cmp_run 1 deep-diff --content "$T/deep-src" "$T/deep-dst"
t_check "deep: one record" json_count "$T/deep-diff.out" 1
t_check "deep: long path" python3 -c '
import json, sys
o = json.loads(open(sys.argv[1]).readline())
sys.exit(not (o["diff"] == "content" and len(o["path"]) == 60 * 101 + 4
    and o["path"].endswith("/leaf")))' "$T/deep-diff.out"

# --- errors during the walk -----------------------------------------------
# root reads everything, so run out of descriptors instead: with one thread
# the roots, p and p/p1 take six, and p/p1/a is refused.
E=$T/err
mkdir -p "$E/s/p/p1/a" "$E/s/p/p1/b" "$E/s/p/p2" "$E/s/q"
cp -a "$E/s" "$E/d"
echo extra >"$E/d/extra"; touch -r "$E/s" "$E/d"
cmp_run 1 err-ok --threads 1 "$E/s" "$E/d"
(ulimit -n 9 && exec "$RCMP" --threads 1 "$E/s" "$E/d") \
    >"$T/err.out" 2>"$T/err.err"
rc=$?
t_check "walk error: exit 2 over a difference" test "$rc" = 2
t_check "walk error: message" t_grep \
    "^rcmp: cannot open '$E/s/p/p1/a': Too many open files" "$T/err.err"
t_check "walk error: summary cause" t_grep 'could not be compared' "$T/err.err"
t_check "walk error: differences still reported" json_has "$T/err.out" \
    path=extra diff=missing side=src

# --- output errors --------------------------------------------------------
if [ -w /dev/full ]; then
	cmp_run 2 full --log /dev/full "$SRC" "$D"
	t_check "full: message" t_grep "^rcmp: cannot write '/dev/full'" \
	    "$T/full.err"
fi

# --- atimes ------------------------------------------------------------------
# --content reads every file, but leaves atimes as they were (O_NOATIME).
A=$T/atime
mkdir -p "$A/s" && echo data >"$A/s/f" && cp -a "$A/s" "$A/d"
touch -a -d '2001-02-03 04:05:06' "$A/s/f" "$A/d/f"
cmp_run 0 atime --content "$A/s" "$A/d"
t_check "atime: --content left the source's atime" test "$(stat -c %X "$A/s/f")" = "$(date -d '2001-02-03 04:05:06' +%s)"
t_check "atime: and the destination's" test "$(stat -c %X "$A/d/f")" = "$(date -d '2001-02-03 04:05:06' +%s)"

t_done
