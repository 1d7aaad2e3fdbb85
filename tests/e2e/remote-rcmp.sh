#!/bin/bash
# remote-rcmp.sh: rcmp on remote trees through a real sshd (127.0.0.2 the
# source, 127.0.0.3 the destination; and local to host, host to local):
# the same records and exit codes as a local rcmp, --content by hashes that
# each side takes of its own files (a byte changed in the middle of a big
# file of equal size and mtime is found, and named, only with --content),
# names that are not UTF-8, trees deeper than PATH_MAX, and the data does
# not cross: the bytes on the QUIC ports, counted by iptables in a private
# chain, stay far below the size of the files compared.  rcmp | head -1
# ends as a local one does, without a line for each entry left.  A source
# disk that hangs (fault.so) ends at --stall-timeout, a stopped source
# agent at the QUIC idle timeout: exit 2 naming the host, nothing left;
# SIGINT stops it, exit 2.  As a user without privileges (sshd_account), a
# directory of mode 000 on either side (and one 66 KB deep) gives what the
# user's local rcmp gives: the same records, exit 2, the same error lines.
# A destination rcpd that does not know COMPARE (RCPD_TEST_LACKS) is
# refused by name, exit 2.  Needs root (iptables, the account).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
# A dead disk, made by tests/fault/fault.so in every agent (as chaos-stop.sh):
# while $T/stuck-on exists, reads of a file named "big" past 8 MiB hang.
# No effect otherwise.  (ASan must not insist on coming first.)
SSHD_SETENV="LD_PRELOAD=$RCP_BUILDDIR/tests/fault/fault.so RCP_TEST_STUCK=$T/stuck-on RCP_TEST_STUCK_NAME=/big RCP_TEST_STUCK_AT=$((8 << 20)) ASAN_OPTIONS=verify_asan_link_order=0"
sshd_setup
chmod 755 "$T"
. "$(dirname "$0")/remote-lib.sh"
ln -s "$RCP_BUILDDIR/rcmp" "$T/bin/rcmp"
XRCMP=$T/bin/rcmp
# QUIC on ports of this test's own, so that the counter sees only ours.
QLO=$((30000 + ($$ % 1000) * 20)) QHI=$((30000 + ($$ % 1000) * 20 + 19))
CA=("$XRCMP" --ssh-config "$SSH_CONFIG" --rcpd-path "$XRCPD" --quic-port-ranges "$QLO-$QHI")
C() { timeout -k 5 "$RL_GUARD" "${CA[@]}" "$@"; }
CHAIN=RCPE2E$$
chain_drop() {
	iptables -w -D INPUT -i lo -j "$CHAIN" 2>/dev/null
	iptables -w -F "$CHAIN" 2>/dev/null
	iptables -w -X "$CHAIN" 2>/dev/null
}
trap 'chain_drop; ours_cleanup; sshd_cleanup; t_cleanup' EXIT
iptables -w -N "$CHAIN" && iptables -w -A "$CHAIN" -p udp --dport "$QLO:$QHI" -j RETURN &&
    iptables -w -A "$CHAIN" -p udp --sport "$QLO:$QHI" -j RETURN &&
    iptables -w -I INPUT -i lo -j "$CHAIN" || { echo "iptables failed (root needed)" >&2; exit 1; }
wire_zero() { iptables -w -Z "$CHAIN"; }
wire_udp() { iptables -w -L "$CHAIN" -n -v -x | awk '$4 == "17" || $4 == "udp" { s += $2 } END { printf "%.0f", s }'; }

# same_records A B: the two runs wrote the same records, in any order.
same_records() { diff <(sort "$1") <(sort "$2") >&2; }
same_errors() { diff "$1" "$2" | cut -c1-300 >&2; [ "${PIPESTATUS[0]}" = 0 ]; }
lines() { [ "$(grep -c '' "$1")" = "$2" ] || { echo "  $1 has $(grep -c '' "$1") lines, expected $2" >&2; return 1; }; }

S=$T/src D=$T/dst
BIG=$((64 << 20))
mkdir -p "$S/sub/deeper" "$S/dir"
head -c "$BIG" /dev/urandom >"$S/big"
printf 'alpha\n' >"$S/a"
printf 'beta\n' >"$S/sub/b"
printf 'gamma\n' >"$S/sub/deeper/c"
printf 'caf\xe9\n' >"$S/$(printf 'caf\xe9')"
ln -s a "$S/link"
cp -a "$S" "$D"

# --- equal trees ----------------------------------------------------------
t_check "equal h2h: exit 0" t_run 0 "$T/out" C "$SH:$S" "$DH:$D"
t_check "equal h2h: no records" test ! -s "$T/out"
t_check "equal h2h --content: exit 0" t_run 0 "$T/out" C --content "$SH:$S" "$DH:$D"
t_check "equal l2h --content: exit 0" t_run 0 "$T/out" C --content "$S" "$DH:$D"
t_check "equal h2l --content: exit 0" t_run 0 "$T/out" C --content "$SH:$S" "$D"

# --- a byte in the middle of the big file: equal size and mtime ------------
m=$(stat -c %y "$D/big")
printf 'X' | dd of="$D/big" bs=1 seek=$((BIG / 2 + 12345)) conv=notrunc status=none
touch -d "$m" "$D/big"
t_check "changed byte: the files differ" sh -c "! cmp -s '$S/big' '$D/big'"
t_check "changed byte, no --content: exit 0" t_run 0 "$T/out" C "$SH:$S" "$DH:$D"
wire_zero
C --content "$SH:$S" "$DH:$D" >"$T/h2h.out" 2>"$T/h2h.err"
rc=$?
wire=$(wire_udp)
t_check "changed byte h2h --content: exit 1" test "$rc" = 1
t_check "changed byte h2h --content: one record" lines "$T/h2h.out" 1
t_check "changed byte h2h --content: names big" json_has "$T/h2h.out" path=big diff=content type=file src_size=$BIG dst_size=$BIG offset=$((BIG / 2 / (8 << 20) * (8 << 20)))
t_check "changed byte h2h --content: $wire bytes on the QUIC ports, far below the $((2 * BIG)) compared" test "$wire" -gt 0 -a "$wire" -lt $((BIG / 64))
wire_zero
t_check "changed byte l2h --content: exit 1" t_run 1 "$T/l2h.out" C --content "$S" "$DH:$D"
wire=$(wire_udp)
t_check "changed byte l2h --content: names big" json_has "$T/l2h.out" path=big diff=content
t_check "changed byte l2h --content: $wire bytes on the QUIC ports, far below the file" test "$wire" -lt $((BIG / 64))
t_check "changed byte h2l --content: exit 1" t_run 1 "$T/h2l.out" C --content "$SH:$S" "$D"
t_check "changed byte h2l --content: names big" json_has "$T/h2l.out" path=big diff=content
cp -a "$S/big" "$D/big"

# --- metadata, missing entries, types, links, names as local rcmp reports them ----
printf 'ALPHA!\n' >"$D/a"				# size
touch -d '2001-02-03 04:05:06' "$D/sub/b"		# mtime
rm "$D/sub/deeper/c"					# missing in dst
printf 'new\n' >"$D/sub/only-dst"			# missing in src
rm "$D/link"; ln -s sub/b "$D/link"; touch -h -r "$S/link" "$D/link"	# target
rm -r "$D/dir"; printf 'file\n' >"$D/dir"		# type
touch -r "$S/sub/deeper" "$D/sub/deeper"; touch -r "$S/sub" "$D/sub"; touch -r "$S" "$D"
t_check "meta local: exit 1" t_run 1 "$T/local.out" "$RCMP" --content "$S" "$D"
t_check "meta h2h: exit 1" t_run 1 "$T/meta-h2h.out" C --content "$SH:$S" "$DH:$D"
t_check "meta h2h: the records of a local rcmp" same_records "$T/local.out" "$T/meta-h2h.out"
t_check "meta l2h: exit 1" t_run 1 "$T/meta-l2h.out" C --content "$S" "$DH:$D"
t_check "meta l2h: the records of a local rcmp" same_records "$T/local.out" "$T/meta-l2h.out"
t_check "meta h2h: a size record" json_has "$T/meta-h2h.out" path=a diff=size
t_check "meta h2h: an mtime record" json_has "$T/meta-h2h.out" path=sub/b diff=mtime
t_check "meta h2h: missing in dst" json_has "$T/meta-h2h.out" path=sub/deeper/c diff=missing side=dst
t_check "meta h2h: missing in src" json_has "$T/meta-h2h.out" path=sub/only-dst diff=missing side=src
t_check "meta h2h: a symlink's target" json_has "$T/meta-h2h.out" path=link diff=content src=a dst=sub/b
t_check "meta h2h: a type" json_has "$T/meta-h2h.out" path=dir diff=type src=dir dst=file
# --metadata-compare rides in COMPARE: the remote records are the local ones.
t_check "--metadata-compare f:size local: exit 1" t_run 1 "$T/mc-local.out" "$RCMP" --metadata-compare 'f:size d: l:' "$S" "$D"
t_check "--metadata-compare f:size h2h: exit 1" t_run 1 "$T/mc-h2h.out" C --metadata-compare 'f:size d: l:' "$SH:$S" "$DH:$D"
t_check "--metadata-compare f:size h2h: the records of a local rcmp" same_records "$T/mc-local.out" "$T/mc-h2h.out"
t_check "--metadata-compare f:size h2h: the size record" json_has "$T/mc-h2h.out" path=a diff=size
t_check "--metadata-compare f:size h2h: no mtime record" sh -c "! grep -q '\"diff\":\"mtime\"' '$T/mc-h2h.out'"
t_check "--exit-early h2h: exit 1" t_run 1 "$T/out" C --exit-early "$SH:$S" "$DH:$D"
t_check "--exit-early h2h: one record" lines "$T/out" 1

# --- names that are not UTF-8 ------------------------------------------------
n=$(printf 'caf\xe9')
printf 'CAFE\n' >"$D/$n"; touch -r "$S/$n" "$D/$n"
t_check "non-UTF-8 h2h: exit 1" t_run 1 "$T/out" C --content "$SH:$S/$n" "$DH:$D/$n"
t_check "non-UTF-8 h2h: named by its bytes" json_has "$T/out" 'path_bytes=.' diff=content
t_check "non-UTF-8 h2h (tree): exit 1" t_run 1 "$T/tree.out" C --content "$SH:$S" "$DH:$D"
t_check "non-UTF-8 h2h (tree): named by its bytes" json_has "$T/tree.out" 'path_bytes=caf\xe9' diff=content

# --- a tree deeper than PATH_MAX ---------------------------------------------------
# 30 levels of 200-byte names (6 KB of path), made by descriptors, a file at
# the bottom that differs: h2h reports what local rcmp reports.
# DEEP_PY ROOT LEVELS file TEXT | dir MODE: LEVELS directories of 200-byte
# names below ROOT, made by descriptors, and at the bottom a file of TEXT
# (mtime 2001) or a directory x of MODE (octal).
DEEP_PY='
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(int(sys.argv[2])):
    os.mkdir("d" * 200, dir_fd=fd)
    n = os.open("d" * 200, os.O_RDONLY, dir_fd=fd)
    os.close(fd)
    fd = n
if sys.argv[3] == "file":
    f = os.open("f", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(f, sys.argv[4].encode())
    os.utime(f, (1e9, 1e9))
else:
    os.mkdir("x", 0o700, dir_fd=fd)
    os.chmod("x", int(sys.argv[4], 8), dir_fd=fd)
'
longest() { python3 -c 'import json, sys; print(max(len(json.loads(l)["path"]) for l in open(sys.argv[1])))' "$1"; }
mkdir -p "$T/deep/s" "$T/deep/d"
python3 -c "$DEEP_PY" "$T/deep/s" 30 file one
python3 -c "$DEEP_PY" "$T/deep/d" 30 file two
t_check "deeper than PATH_MAX local: exit 1" t_run 1 "$T/deep-local.out" "$RCMP" --content "$T/deep/s" "$T/deep/d"
t_check "deeper than PATH_MAX h2h: exit 1" t_run 1 "$T/deep-h2h.out" C --content "$SH:$T/deep/s" "$DH:$T/deep/d"
t_check "deeper than PATH_MAX h2h: the records of a local rcmp" same_records "$T/deep-local.out" "$T/deep-h2h.out"
t_check "deeper than PATH_MAX h2h: the file at the bottom, $(longest "$T/deep-h2h.out") bytes of path" test "$(longest "$T/deep-h2h.out")" -gt 6000
chmod -R u+rwx "$T/deep" 2>/dev/null
rm -rf "$T/deep"

# --- trouble ---------------------------------------------------------------------
t_check "missing root h2h: exit 2" t_run 2 "$T/out" C "$SH:$S/nope" "$DH:$D"
t_check "missing root h2h: named" t_grep "^rcmp: cannot open '$SH:$S/nope': No such file or directory" "$T/out"

# --- the reader of the records goes away (rcmp ... | head -1) -----------------------
# As a local rcmp: exit 1, nothing on stderr of the entries left (the agents
# are stopped, and the destination's, which loses the source agent then,
# does not report every entry left as one it could not read), no agent left.
M=$T/many
mkdir -p "$M/s" "$M/d"
for i in $(seq 3000); do echo "$i" >"$M/s/f$i"; done
touch -r "$M/s" "$M/d"
# headed OUT CMD...: CMD | head -1 into OUT (stderr OUT.err), CMD's exit in RC.
headed() {
	local o=$1; shift
	"$@" 2>"$o.err" | head -1 >"$o"
	RC=${PIPESTATUS[0]}
}
headed "$T/head-local.out" "$RCMP" "$M/s" "$M/d"
t_check "| head -1 local: exit 1" test "$RC" = 1
for c in "h2h $SH:$M/s $DH:$M/d" "l2h $M/s $DH:$M/d"; do
	set -- $c
	n=$1; shift
	headed "$T/head-$n.out" C "$@"
	t_check "| head -1 $n: exit 1, as local (got $RC)" test "$RC" = 1
	t_check "| head -1 $n: one record" lines "$T/head-$n.out" 1
	t_check "| head -1 $n: no error for the entries left" sh -c "! grep -E 'cannot|error' '$T/head-$n.out.err' >&2"
	t_check "| head -1 $n: no agent left" gone 30
done

# --- an unreadable directory, as a user without privileges -------------------------
# (root reads a directory of mode 000 anyway.)  The user's own trees, one
# directory 000 on the source side, then on the destination side; the
# user's rcmp, whose agents log in as the user, reports what a local rcmp of
# the user reports: the same records, exit 2, and the same error lines, with
# each path named by its operand as given (host: and all).
U=rcpxc$$
t_check "a fresh account that logs in to the harness's sshd" sshd_account "$U"
as_user() { setpriv --reuid "$U" --regid "$U" --clear-groups env HOME="$HOME_OF_ACCOUNT" "$@"; }
US=$HOME_OF_ACCOUNT/s UD=$HOME_OF_ACCOUNT/d
as_user mkdir -p "$US/x/y" "$US/z"
for f in a x/b x/y/c z/z; do echo "$f" | as_user tee "$US/$f" >/dev/null; done
as_user cp -a "$US" "$UD"
echo longer | as_user tee "$UD/z/z" >/dev/null && touch -r "$US/z/z" "$UD/z/z" "$UD/z"
# urun NAME RC ARGS...: the user's rcmp; records in $T/NAME.out, errors in
# $T/NAME.err with the hosts taken off the paths (to compare with the local
# run's) and without the agents' warnings of small UDP buffers (a user may
# not raise them past rmem_max); true if it exited RC.
urun() {
	local n=$1 want=$2 rc; shift 2
	as_user timeout -k 5 "$RL_GUARD" "$XRCMP" --ssh-config "$ACCOUNT_SSH_CONFIG" --rcpd-path "$XRCPD" \
	    --quic-port-ranges "$QLO-$QHI" "$@" >"$T/$n.out" 2>"$T/$n.raw"
	rc=$?
	sed -e '/: UDP socket buffers granted: /d' -e "s|'$SH:|'|g" -e "s|'$DH:|'|g" "$T/$n.raw" >"$T/$n.err"
	[ "$rc" = "$want" ] && return 0
	echo "  exited $rc, expected $want:" >&2; sed 's/^/  | /' "$T/$n.raw" | head -20 >&2
	return 1
}
cannot_list() { ! as_user ls "$1" >/dev/null 2>&1 && ls "$1" >/dev/null; }
for side in src dst; do
	[ "$side" = src ] && X=$US/x || X=$UD/x
	as_user chmod 000 "$X"
	t_check "000 $side: the user cannot list it" cannot_list "$X"
	t_check "000 $side local, as the user: exit 2" urun "$side-local" 2 "$US" "$UD"
	t_check "000 $side local: the error names the path and the cause" t_grep "^rcmp: cannot open '$X': Permission denied\$" "$T/$side-local.err"
	t_check "000 $side local: the rest still compared" json_has "$T/$side-local.out" path=z/z diff=size
	t_check "000 $side local --content: exit 2" urun "$side-local-c" 2 --content "$US" "$UD"
	for c in "h2h - $SH:$US $DH:$UD" "l2h - $US $DH:$UD" "h2l - $SH:$US $UD" "h2h-c --content $SH:$US $DH:$UD"; do
		set -- $c
		n=$1 l=local; shift
		[ "$1" = - ] && shift || l=local-c
		t_check "000 $side $n: exit 2" urun "$side-$n" 2 "$@"
		t_check "000 $side $n: the records of the $l rcmp" same_records "$T/$side-$l.out" "$T/$side-$n.out"
		t_check "000 $side $n: its error lines, line for line" same_errors "$T/$side-$l.err" "$T/$side-$n.err"
	done
	t_check "000 $side h2l: the error names the host of the path" t_grep "^rcmp: cannot open '${X/#$US/$SH:$US}': Permission denied\$" "$T/$side-h2l.raw"
	as_user chmod 755 "$X"
done
# A directory of mode 000 66 KB deep: its error, longer than a log line of
# protocol 2 may be, is printed whole, as the local rcmp prints it.
DS=$HOME_OF_ACCOUNT/deep-s DD=$HOME_OF_ACCOUNT/deep-d
as_user mkdir "$DS" "$DD"
for r in "$DS" "$DD"; do
	as_user python3 -c "$DEEP_PY" "$r" 330 dir "$([ "$r" = "$DS" ] && echo 0 || echo 700)"
done
t_check "000 66 KB deep, local: exit 2" urun deep-local 2 "$DS" "$DD"
t_check "000 66 KB deep, local: names the path and the cause" t_grep "^rcmp: cannot open '$DS/(d{200}/){330}x': Permission denied\$" "$T/deep-local.err"
t_check "000 66 KB deep, h2h: exit 2" urun deep-h2h 2 "$SH:$DS" "$DH:$DD"
t_check "000 66 KB deep, h2h: the records of the local rcmp" same_records "$T/deep-local.out" "$T/deep-h2h.out"
t_check "000 66 KB deep, h2h: its error lines, line for line" same_errors "$T/deep-local.err" "$T/deep-h2h.err"
t_check "as the user: no agent left" gone 30

# --- silent and stuck agents ---------------------------------------------------------
# Every wait of a remote comparison is bounded: a source disk that hangs
# mid-hash ends at --stall-timeout, the source agent stopped (SIGSTOP)
# mid-compare at the QUIC idle timeout, each with exit 2 and an error naming the host;
# the stopped agent is killed, nothing is left.  SIGINT to rcmp cancels it
# (exit 2) and stops the agents, stuck hash and all.  (Normal is the timeout
# plus the teardown's graces; the guard is generous.)
# stuck_run NAME WHO|INT|- ARGS...: rcmp --content ARGS with the hash of
# big stuck, WHO's agent stopped (or rcmp sent SIGINT) once it runs.
stuck_run() {
	local n=$1 who=$2 pid i; shift 2
	touch "$T/stuck-on"
	# Not through C: the pid is rcmp's own (wait_end bounds it).
	"${CA[@]}" --content "$@" "$SH:$S" "$DH:$D" >"$T/$n.out" 2>&1 &
	pid=$!
	t_track "$pid"
	for i in $(seq 100); do
		[ -n "$(agent_pid source)" ] && [ -n "$(agent_pid destination)" ] && break
		sleep 0.1
	done
	sleep 0.5
	case $who in
	-) ;;
	INT) kill -INT "$pid" ;;
	*) kill -STOP "$(agent_pid "$who")" ;;
	esac
	wait_end "$pid"
	rm -f "$T/stuck-on"
	echo "  $n: rcmp ended in ${EL}s, exit $RC"
}
T0=$(now) stuck_run stall - --stall-timeout 3
t_check "a stuck source disk: exit 2" test "$RC" = 2
t_check "a stuck source disk: named, with the host" t_grep "^rcmp: no progress from the destination on '127[.]0[.]0[.]3' for 3 s" "$T/stall.out"
t_check "a stuck source disk: no agent left" gone 30
ours_cleanup
T0=$(now) stuck_run sigint INT
t_check "SIGINT while stuck: exit 2" test "$RC" = 2
t_check "SIGINT while stuck: says so" t_grep "^rcmp: comparison canceled\$" "$T/sigint.out"
t_check "SIGINT while stuck: the agents stopped, nothing left" gone 30
ours_cleanup
# The source agent only: a stopped destination is the same idle timeout of
# the master's other connection (chaos-stop.sh stops each for rcp), and
# ~10 s more of CI time.
T0=$(now) stuck_run stop-source source --quic-idle-timeout-sec 3
t_check "a stopped source agent: exit 2" test "$RC" = 2
t_check "a stopped source agent: declared lost, naming its host" t_grep "^rcmp: lost the source agent on '$SH'" "$T/stop-source.out"
t_check "a stopped source agent: killed, nothing left" gone 30
ours_cleanup

# --- an rcpd that does not know COMPARE --------------------------------------------
# The real rcpd with RCPD_TEST_LACKS=38 answers COMPARE by the default branch
# of its dispatch, as every rcpd before COMPARE did: ERROR "unknown message
# type 38" (an rcpd built from 27f34d6^ gives the same output word for word).
printf '%s\n' '#!/bin/sh' "RCPD_TEST_LACKS=38 exec '$XRCPD' \"\$@\"" >"$T/rcpd-lacks"
chmod +x "$T/rcpd-lacks"
older='rcpd [^ ]+ on .127[.]0[.]0[.]3. cannot compare trees [(]it does not know COMPARE'
t_check "rcpd without COMPARE h2h: exit 2" t_run 2 "$T/old.out" C --rcpd-path "$T/rcpd-lacks" "$SH:$S" "$DH:$D"
t_check "rcpd without COMPARE h2h: names the host and the cause" t_grep "^rcmp: $older" "$T/old.out"
t_check "rcpd without COMPARE h2h: no record" sh -c "! grep -q '^{' '$T/old.out'"
t_check "rcpd without COMPARE h2h: no agent left" gone 30
t_check "rcpd without COMPARE l2h: exit 2" t_run 2 "$T/old.out" C --rcpd-path "$T/rcpd-lacks" "$S" "$DH:$D"
t_check "rcpd without COMPARE l2h: names the host and the cause" t_grep "^rcmp: $older" "$T/old.out"
t_check "no rcmp agents left behind" gone 30

t_done
