#!/bin/bash
# multi-source.sh: one copy read through several source hosts that share a
# file system ("h1,h2:/path"), through the harness's real sshd: 127.0.0.2
# and 127.0.0.1 are the source hosts (they see the same files, as nodes of
# one Lustre would), 127.0.0.3 the destination.  Checks that:
#   - the copy is exact (rcmp --content) and both sources served data, as
#     the destination's -v summary of its source agents says; -H keeps a
#     hard link; --overwrite re-runs copy nothing, then the one changed file;
#     --verify verifies every file, --delete and --exclude hold, and a big
#     file cut short by SIGKILL is completed by --resume, equal by cmp;
#   - SIGKILL of either source agent mid-copy does not end the copy: it
#     completes, equal, exit 0, with a warning naming the lost host; and
#     SIGKILL of both ends it with exit 1, naming them;
#   - a source host that sees another tree at the path (another user's
#     home) takes no part, with a warning, and the copy is still exact;
#   - named groups of hosts (--host-groups FILE, $RCP_HOST_GROUPS) stand
#     for their hosts, alone or in a list; a bad or missing groups file is
#     refused, naming the cause (several destination hosts: multi-dest.sh);
#   - bad host lists (an empty host, a host twice, more than 16 hosts) are
#     refused with a message naming them;
#   - nothing of ours is left running.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"			# the agents read and write under $T

. "$(dirname "$0")/remote-lib.sh"
trap 'ours_cleanup; sshd_cleanup; rm -rf ~/rcp-ms-tree-$$; t_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

H1=127.0.0.2 H2=127.0.0.1
S=$T/src
mkdir -p "$S/a" "$S/b" "$S/c/d"
head -c $((24 << 20)) /dev/urandom >"$S/big1"
head -c $((24 << 20)) /dev/urandom >"$S/big2"
for i in $(seq 1 150); do
	head -c $((i * 311)) /dev/urandom >"$S/a/f$i"
	head -c $((i * 7)) /dev/urandom >"$S/b/g$i"
	printf '%s\n' "$i" >"$S/c/d/h$i"
done
printf 'x' >"$S/$(printf 'bad\377name')"
ln -s big1 "$S/link"
ln "$S/a/f7" "$S/b/hard-f7"		# one inode, two names

# served OUT HOST: the bytes the destination says HOST's agent served.
served() {
	sed -n "s/.*read through .* source agents.*'$2' [0-9]* requests, \([0-9]*\) bytes.*/\1/p" "$1" | head -1
}
# src_agent HOST: the pid of our source agent that sshd started on HOST.
src_agent() {
	local p
	for p in $(pgrep -f "^$XRCPD --role source "); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null |
		    grep -q "^SSH_CONNECTION=[^ ]* [^ ]* $1 " && { echo "$p"; return; }
	done
}
# both_up: both source agents run and the copy has begun.
both_up() {
	local i
	for i in $(seq 200); do
		[ -n "$(src_agent $H1)" ] && [ -n "$(src_agent $H2)" ] &&
		    [ "$(du -sb "$1" 2>/dev/null | cut -f1)" -gt $((3 << 20)) ] 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# --- a copy through both ------------------------------------------------
D=$T/dst1
t_check "a copy through two source hosts exits 0" t_run 0 "$T/out.both" R -p -v "$H1,$H2:$S" "$DH:$D"
t_check "the copy is exact" same_rcmp "$S" "$D"
t_check "the destination read through both" t_grep "read through 2 source agents \(2 left\)" "$T/out.both"
b1=$(served "$T/out.both" $H1) b2=$(served "$T/out.both" $H2)
t_check "$H1 served data ($b1 bytes)" test "${b1:-0}" -gt 0
t_check "$H2 served data ($b2 bytes)" test "${b2:-0}" -gt 0
t_check "nothing left running" gone 10
D=$T/dst-H
t_check "with -H through both: exit 0" t_run 0 "$T/out" R -p -H "$H1,$H2:$S" "$DH:$D"
t_check "with -H: the hard link is kept" test "$(stat -c %i "$D/a/f7")" = "$(stat -c %i "$D/b/hard-f7")"
t_check "an --overwrite run through both: exit 0" t_run 0 "$T/out.ow" R -p -H --overwrite --summary "$H1,$H2:$S" "$DH:$D"
t_check "an --overwrite run: nothing copied again" t_grep "^files copied: *0( |\$)" "$T/out.ow"
touch -d '2001-01-01' "$S/c/d/h5"
t_check "after one change: exit 0" t_run 0 "$T/out.ow2" R -p -H --overwrite --summary "$H1,$H2:$S" "$DH:$D"
t_check "after one change: one file copied" t_grep "^files copied: *1( |\$)" "$T/out.ow2"
t_check "after one change: exact" same_rcmp "$S" "$D"
# --verify, --delete and a filter through both.
N=$(find "$S" -type f | wc -l)
D=$T/dst-v
t_check "--verify through both: exit 0" t_run 0 "$T/out.v" R -p --verify --summary "$H1,$H2:$S" "$DH:$D"
t_check "--verify: every file verified ($N)" t_grep "^files verified: *$N( |\$)" "$T/out.v"
t_check "--verify: exact" same_rcmp "$S" "$D"
echo stale >"$D/a/stale"
t_check "--delete with --exclude through both: exit 0" t_run 0 "$T/out.d" R -p --overwrite --delete --exclude 'g1*' "$H1,$H2:$S" "$DH:$D"
t_check "--delete: the file not in the source is gone" test ! -e "$D/a/stale"
t_check "--exclude: what it names stays as it was" test -e "$D/b/g10"
t_check "--exclude: and nothing else changed" test -z "$("$RCMP" "$S" "$D" | grep -v '"b/g1')"
# --resume of a big file cut short through both.
D=$T/dst-r
R -p --chunk-size 1M --iops-throttle 4 "$H1,$H2:$S/big1" "$DH:$D" >"$T/out.r0" 2>&1 &
pid=$!
for i in $(seq 200); do
	[ "$(du -B1 --apparent-size "$D" 2>/dev/null | cut -f1)" -gt 0 ] 2>/dev/null &&
	    [ -n "$(src_agent $H2)" ] && break
	sleep 0.1
done
sleep 1
kill -9 $pid
wait $pid 2>/dev/null
ours_cleanup
t_check "cut short: the killed copy left its agents" gone 15
t_check "cut short: the file is not complete" test "$(cmp "$S/big1" "$D" 2>&1 | wc -l)" -gt 0
t_check "--resume through both: exit 0" t_run 0 "$T/out.r" R -p --resume --summary "$H1,$H2:$S/big1" "$DH:$D"
t_check "--resume: identical by cmp" cmp "$S/big1" "$D"

# --- a source agent lost mid-copy -------------------------------------------
# 1 MiB chunks at 20 a second: about 3 s of copying, so a kill lands in it.
SLOW=(--chunk-size 1M --iops-throttle 20)
for victim in $H2 $H1; do
	D=$T/dst-$victim
	T0=$(now)
	R -p "${SLOW[@]}" "$H1,$H2:$S" "$DH:$D" >"$T/out.$victim" 2>&1 &
	pid=$!
	if both_up "$D"; then
		kill -9 "$(src_agent $victim)"
		t_pass "the source agent on $victim killed mid-copy"
	else
		t_fail "the copy with $victim to be killed did not start"
	fi
	wait_end $pid
	t_check "killing $victim's agent: the copy still exits 0 (got $RC)" test "$RC" = 0
	t_check "killing $victim's agent: the loss is named" t_grep "lost the source agent on '$victim'" "$T/out.$victim"
	t_check "killing $victim's agent: its work went to the other" t_grep "other source agents go on with its work" "$T/out.$victim"
	t_check "killing $victim's agent: the copy is exact" same_rcmp "$S" "$D"
	t_check "killing $victim's agent: nothing left running" gone 10
done

D=$T/dst-both
R -p "${SLOW[@]}" "$H1,$H2:$S" "$DH:$D" >"$T/out.all" 2>&1 &
pid=$!
if both_up "$D"; then
	kill -9 "$(src_agent $H1)" "$(src_agent $H2)"
	t_pass "both source agents killed mid-copy"
else
	t_fail "the copy to lose both sources did not start"
fi
wait_end $pid
t_check "both lost: exit 1 (got $RC)" test "$RC" = 1
t_check "both lost: a source agent is named" t_grep "source agent on '127\.0\.0\.[12]'" "$T/out.all"
t_check "both lost: nothing left running" gone 10

# --- a host that does not see the same tree -----------------------------------
# Another user's home: "~/tree" is another directory there.
U2=rcpms$$
t_check "a second account, whose ~ is elsewhere" sshd_account $U2
mkdir -p ~/rcp-ms-tree-$$ && cp -a "$S/a" ~/rcp-ms-tree-$$/
mkdir -p "$HOME_OF_ACCOUNT/rcp-ms-tree-$$/other" &&
    chown -R $U2 "$HOME_OF_ACCOUNT/rcp-ms-tree-$$"
D=$T/dst-other
t_check "a host seeing another tree: the copy exits 0" t_run 0 "$T/out" R -p "$H1,$U2@$H2:~/rcp-ms-tree-$$" "$DH:$D"
t_check "that host takes no part, said with its name" t_grep "source host '$U2@$H2' does not see" "$T/out"
t_check "the copy is the first host's tree" same_rcmp ~/rcp-ms-tree-$$ "$D"
rm -rf ~/rcp-ms-tree-$$ "$HOME_OF_ACCOUNT/rcp-ms-tree-$$"

# --- named groups of hosts -----------------------------------------------------
G=$T/hosts
printf '# transfer nodes of the shared file system\npair = %s %s   # both\ndst1 = %s\n' \
    $H1 $H2 $DH >"$G"
D=$T/dst-group
t_check "a group as the source: exit 0" t_run 0 "$T/out.g" R -p -v --host-groups "$G" "pair:$S" "dst1:$D"
t_check "the group's copy is exact" same_rcmp "$S" "$D"
t_check "the group's two hosts served it" t_grep "read through 2 source agents \(2 left\)" "$T/out.g"
D=$T/dst-group-env
t_check "the groups file from \$RCP_HOST_GROUPS: exit 0" t_run 0 "$T/out.g2" env RCP_HOST_GROUPS="$G" \
    timeout -k 5 "$RL_GUARD" "${RA[@]}" -p -v "pair,$U2@$H1:$S" "$DH:$D"
t_check "a group and a host together: three sources" t_grep "read through 3 source agents" "$T/out.g2"
t_check "that copy is exact" same_rcmp "$S" "$D"
printf 'pair = %s %s\nbroken line\n' $H1 $H2 >"$T/hosts.bad"
refused_g() {	# refused_g WHAT PATTERN ARGS...
	local what=$1 pat=$2
	shift 2
	t_check "$what: refused with exit 1" t_run 1 "$T/out" R "$@"
	t_check "$what: the message names it" t_grep "$pat" "$T/out"
}
refused_g "a bad groups file" "host groups '$T/hosts.bad', line 2: expected NAME = HOST" \
    --host-groups "$T/hosts.bad" "nosuch:$S" "$DH:$T/x"
refused_g "a missing groups file" "host groups '$T/none': No such file" \
    --host-groups "$T/none" "pair:$S" "$DH:$T/x"
refused_g "a host twice through a group" "source host '$H1' is in 'pair,$H1' twice" \
    --host-groups "$G" "pair,$H1:$S" "$DH:$T/x"

# --- refusals -----------------------------------------------------------
refused() {	# refused WHAT PATTERN ARGS...
	local what=$1 pat=$2
	shift 2
	t_check "$what: refused with exit 1" t_run 1 "$T/out" R "$@"
	t_check "$what: the message names it" t_grep "$pat" "$T/out"
}
refused "an empty host" "an empty host in the source host list '$H1,,$H2'" "$H1,,$H2:$S" "$DH:$T/x"
refused "a host twice" "source host '$H1' is in '$H1,$H2,$H1' twice" "$H1,$H2,$H1:$S" "$DH:$T/x"
many=$(for i in $(seq 1 17); do printf '127.0.1.%d,' "$i"; done)
refused "17 hosts" "more than 16 source hosts" "${many%,}:$S" "$DH:$T/x"
t_check "rcmp with a list of hosts: exit 2" t_run 2 "$T/out" "$RCMP" "$H1,$H2:$S" "$S"
t_check "rcmp with a list of hosts: says why" t_grep "rcmp compares through one host a side" "$T/out"
t_check "refusals start nothing" test ! -e "$T/x"
t_check "nothing left running at the end" gone 10

t_done
