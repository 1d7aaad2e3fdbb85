#!/bin/bash
# remote.sh: the remote layer end to end through a real sshd: both agents
# started over SSH on two loopback "hosts", pinned QUIC both ways, the
# destination connected straight to the source, names that are not UTF-8
# intact, merged logs and summaries; then the failures: the master killed
# (the agents must go by themselves), an unknown host key, a missing rcpd,
# an rcpd of another protocol version.  Under ThreadSanitizer, no report
# from rcpd or the master.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

PROBE=$RCP_BUILDDIR/tests/remote-probe
RCPD=$RCP_BUILDDIR/rcpd
# A TSan build (build-aux/dev test) writes its reports to files here, also
# those of an rcpd whose stderr nobody reads any more (the master killed in
# 4.): sshd gives rcpd TSAN_OPTIONS of its own.  Other builds ignore it.
mkdir "$T/tsan"
tsan_opts=${TSAN_OPTIONS:-}${TSAN_OPTIONS:+:}
SSHD_SETENV="TSAN_OPTIONS=${tsan_opts}log_path=$T/tsan/rcpd"
export TSAN_OPTIONS="${tsan_opts}log_path=$T/tsan/master"
sshd_setup

probe() { "$PROBE" --ssh-config "$SSH_CONFIG" --rcpd-path "$RCPD" "$@"; }

# Counts the rcpd processes of this test: those descended from its own
# sshd (other tests may run agents of the same binary at the same time).
agents() {
	local n=0 pid
	for pid in $(pgrep -f "^$RCPD --role"); do
		t_descends "$pid" "$SSHD_PID" && n=$((n + 1))
	done
	echo $n
}

# 1. A full run: echoes to each agent, 20 echoes destination -> source
#    with a name holding bytes that are not UTF-8 and a newline.
out=$T/run.out
t_check "a full run succeeds" t_run 0 "$out" \
    probe --echo 20 --name-hex 612fff0a2dc3a9fe 127.0.0.2 127.0.0.3
t_check "the source agent came up" t_grep '^started$' "$out"
t_check "a non-UTF-8 name crosses to the source intact" \
    t_grep '^echo source: intact$' "$out"
t_check "and to the destination" t_grep '^echo destination: intact$' "$out"
t_check "destination reached the source directly" \
    t_grep '^info: \[source\] destination agent connected$' "$out"
t_check "20 echoes destination -> source" \
    t_grep '^selftest: 20 echoes destination->source, 160 bytes$' "$out"
t_check "agent logs are merged and tagged" \
    t_grep '^info: \[destination\] selftest: 20 echoes' "$out"
t_check "source summary with exit status 0" \
    t_grep '^summary source host=127\.0\.0\.2 status=0 exit=0 walltime=[0-9.]+s cpu=[0-9.]+s peak_rss=[0-9]+KiB$' "$out"
t_check "destination summary with exit status 0" \
    t_grep '^summary destination host=127\.0\.0\.3 status=0 exit=0 ' "$out"
sleep 0.5
t_check "no agent is left running" test "$(agents)" -eq 0

# 2. Both agents on one host share its SSH connection.
t_check "two agents on one host" t_run 0 "$out" probe 127.0.0.2 127.0.0.2
t_check "  both report" t_grep '^summary destination host=127\.0\.0\.2 status=0' "$out"

# 3. A remote copy, host to host through both agents: a tree with small
#    and large files, a sparse file, a symlink, a name that is not UTF-8,
#    with -p; then again with --overwrite, which must send nothing.
chmod 755 "$T"
mkdir -p "$T/src/sub/deeper" "$T/dst"
echo hello >"$T/src/a"
head -c 3000000 /dev/urandom >"$T/src/sub/big"
ln -s a "$T/src/lnk"
echo odd >"$T/src/$(printf 'odd\xff name')"
truncate -s 50M "$T/src/sparse"
printf x | dd of="$T/src/sparse" bs=1 seek=10000000 conv=notrunc 2>/dev/null
for i in $(seq 200); do echo "$i" >"$T/src/sub/deeper/f$i"; done
t_check "remote copy host to host" t_run 0 "$out" \
    probe -p --copy "$T/src" 127.0.0.2 127.0.0.3 "$T/dst/copy"
t_check "  counts every entry" \
    t_grep '^copy result=0 \(success\) files=204 dirs=3 symlinks=1 ' "$out"
t_check "  the trees are identical (diff -r)" diff -r "$T/src" "$T/dst/copy"
t_check "  and by rcmp --content" "$RCMP" --content "$T/src" "$T/dst/copy"
t_check "  -p kept mtimes" test "$(stat -c %Y "$T/src/sub/big")" = \
    "$(stat -c %Y "$T/dst/copy/sub/big")"
blocks=$(stat -c %b "$T/dst/copy/sparse")
t_check "  the sparse file stays sparse ($blocks blocks)" test "$blocks" -lt 1024
t_check "remote --overwrite of an unchanged tree" t_run 0 "$out" \
    probe -p --overwrite --copy "$T/src" 127.0.0.2 127.0.0.3 "$T/dst/copy"
t_check "  sends nothing: all unchanged" \
    t_grep '^copy result=0 .* files=0 .* bytes=0 unchanged=204 ' "$out"
t_check "remote copy of a missing source fails" t_run 1 "$out" \
    probe --copy "$T/nope" 127.0.0.2 127.0.0.3 "$T/dst/x"
t_check "  naming it" t_grep "cannot access source '.*/nope': No such file" "$out"

# 4. Kill the master: the agents must see their channel close and exit.
# Run directly, not through probe(): $! must be the master itself.
"$PROBE" --ssh-config "$SSH_CONFIG" --rcpd-path "$RCPD" --hold \
    127.0.0.2 127.0.0.3 >"$T/hold.out" 2>&1 &
pid=$!
t_track $pid
for _ in $(seq 600); do
	grep -q '^holding' "$T/hold.out" && break
	sleep 0.1
done
t_check "holding with both agents up" t_grep '^holding pid=' "$T/hold.out"
t_check "two agents running" test "$(agents)" -eq 2
kill -9 $pid
wait $pid 2>/dev/null
# Nothing else ends them (the probe is gone and never sent a shutdown):
# 60 s is a hang guard, not a speed claim.
gone=no
for _ in $(seq 600); do
	if [ "$(agents)" -eq 0 ]; then gone=yes; break; fi
	sleep 0.1
done
t_check "agents exit by themselves after the master's death" test $gone = yes

# 5. An unknown host key is refused, and nothing is started.
: >"$T/empty_known_hosts"
t_check "unknown host key refused" t_run 1 "$out" \
    probe --known-hosts "$T/empty_known_hosts" 127.0.0.2 127.0.0.3
t_check "  the message says why" t_grep 'start failed: .*host key.*127\.0\.0\.2.*not' "$out"

# 6. rcpd missing on the host.
t_check "missing rcpd" t_run 1 "$out" \
    "$PROBE" --ssh-config "$SSH_CONFIG" --rcpd-path /nonexistent/rcpd \
    127.0.0.2 127.0.0.3
t_check "  names the host and the path" \
    t_grep "start failed: cannot find rcpd on '127\.0\.0\.2'.*'/nonexistent/rcpd'" "$out"

# 7. An rcpd speaking another protocol version.
cat >"$T/old-rcpd" <<'SH'
#!/bin/sh
# An rcpd of protocol 999, as far as anyone can tell.
if [ "$1" = --protocol-version ]; then
	echo "rcpd 0.0.1 protocol 999"
else
	echo "RCPD1 proto=999 version=0.0.1 fp=$(printf '%064d' 0)"
	cat >/dev/null
fi
SH
chmod +x "$T/old-rcpd"
chmod 755 "$T"
t_check "protocol version mismatch" t_run 1 "$out" \
    "$PROBE" --ssh-config "$SSH_CONFIG" --rcpd-path "$T/old-rcpd" \
    127.0.0.2 127.0.0.3
t_check "  names both versions" \
    t_grep 'speaks protocol 999, but this rcp .* speaks protocol 2' "$out"

# 8. --auto-deploy-rcpd brings our rcpd where it is missing or of another
#    protocol: ~/.cache/rcp/bin/rcpd-VERSION of the SSH user (root here),
#    removed again at the end.
version=$("$RCPD" --protocol-version | awk '{print $2}')
deployed=/root/.cache/rcp/bin/rcpd-$version
rm -f "$deployed"
trap 'rm -f "$deployed"; t_cleanup' EXIT
mkdir -p "$T/dsrc"
echo deploy >"$T/dsrc/f"
R="$RCP_BUILDDIR/rcp --ssh-config $SSH_CONFIG"
t_check "no rcpd and no auto-deploy: refused" t_run 1 "$out" \
    $R --rcpd-path /nonexistent/rcpd 127.0.0.2:"$T/dsrc" 127.0.0.3:"$T/dd1"
t_check "  with a hint" t_grep 'or use --auto-deploy-rcpd' "$out"
t_check "auto-deploy where rcpd is missing" t_run 0 "$out" \
    $R -v --rcpd-path /nonexistent/rcpd --auto-deploy-rcpd \
    127.0.0.2:"$T/dsrc" 127.0.0.3:"$T/dd1"
t_check "  says so" t_grep "deploying this rcpd to '127\.0\.0\.2'" "$out"
t_check "  the deployed rcpd is ours, byte for byte" cmp "$deployed" "$RCPD"
t_check "  and copied" diff -r "$T/dsrc" "$T/dd1"
rm -f "$deployed"
t_check "auto-deploy over an rcpd of another protocol" t_run 0 "$out" \
    $R --rcpd-path "$T/old-rcpd" --auto-deploy-rcpd \
    127.0.0.2:"$T/dsrc" 127.0.0.3:"$T/dd2"
t_check "  and copied" diff -r "$T/dsrc" "$T/dd2"
t_check "  no temporary file left" test -z "$(find /root/.cache/rcp/bin -name '.rcpd-*')"

# 9. Under ThreadSanitizer: not one report, from any process (rcpd.PID,
#    master.PID).  The agents killed in 4. are long gone by now.
no_tsan_reports() {
	local f
	for f in "$T"/tsan/*; do
		[ -e "$f" ] || continue
		echo "  $(basename "$f"):" >&2
		grep -m1 -A30 'WARNING: ThreadSanitizer' "$f" | sed 's/^/  | /' >&2
		return 1
	done
}
t_check "no ThreadSanitizer report" no_tsan_reports

t_done
