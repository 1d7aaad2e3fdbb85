#!/bin/bash
# wan.sh: rcp over a long fat network of our own: two network namespaces
# joined by lfnrelay (wan-lib.sh) at 50 Mbit/s and 40 ms RTT.  Checks that
# the relay delays (a TCP connect takes at least one RTT) and caps (8 MiB
# cannot cross in less than 8 MiB / 50 Mbit/s), that rcp copies a tree
# across it intact (remote -> local, run on host B, data from A), and that
# every process is ended and both namespaces are gone at the end.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/wan-lib.sh"

RCPD=$RCP_BUILDDIR/rcpd
RATE_BPS=50000000
RTT_MS=40
wan_setup 50m "$RTT_MS" 1500

# connect_s: seconds one TCP connect from A to B's sshd takes.
connect_s() {
	local t0
	t0=$EPOCHREALTIME
	wan_a timeout 10 bash -c "exec 3<>/dev/tcp/$WAN_B/22" || return 1
	echo "$EPOCHREALTIME - $t0" | bc
}
# A connect is one round trip: at least 40 ms, and nowhere near 2 s.
c=$(connect_s)
echo "  TCP connect A->B: ${c:-failed} s"
t_check "relay delays: a TCP connect takes >= the RTT" \
	test -n "$c" -a "$(echo "${c:-0} >= 0.038" | bc)" = 1
t_check "relay delays: and < 2 s (hang guard)" \
	test -n "$c" -a "$(echo "${c:-9} < 2" | bc)" = 1

# The cap: 8 MiB through ssh cannot take less than its time at 50 Mbit/s.
mkdir "$T/src" "$T/src/d" || exit 1
head -c $((8 << 20)) /dev/urandom >"$T/src/big" || exit 1
t0=$EPOCHREALTIME
wan_b timeout 60 ssh -F "$WAN_SSH_CONFIG" "$WAN_A" cat "$T/src/big" >"$T/big.ssh"
el=$(echo "$EPOCHREALTIME - $t0" | bc)
min=$(echo "scale=3; 8 * 1048576 * 8 / $RATE_BPS" | bc)
echo "  8 MiB over ssh A->B: $el s (at the cap: $min s)"
t_check "the ssh transfer arrived whole" cmp -s "$T/src/big" "$T/big.ssh"
t_check "relay caps: 8 MiB takes >= 8 MiB / 50 Mbit/s" \
	test "$(echo "$el >= $min * 0.97" | bc)" = 1

# rcp across the relay: a large file in chunks, small files, a symlink.
for i in $(seq 50); do echo "file $i" >"$T/src/d/f$i"; done
head -c $((3 << 20)) /dev/urandom >"$T/src/d/mid"
ln -s ../big "$T/src/d/link"
t0=$EPOCHREALTIME
t_check "rcp remote->local across the relay" \
	t_run 0 "$T/rcp.out" wan_b timeout -k 5 60 "$RCP" --ssh-config "$WAN_SSH_CONFIG" \
	--rcpd-path "$RCPD" --quic-profile internet --summary -p "$WAN_A:$T/src" "$T/dst"
el=$(echo "$EPOCHREALTIME - $t0" | bc)
echo "  rcp: $el s"
t_check "the copy is identical (rcmp --content)" \
	"$RCMP" --content "$T/src" "$T/dst"
t_check "and by cmp" cmp -s "$T/src/big" "$T/dst/big"
t_check "the data crossed the relay (>= 11 MiB at the cap)" \
	test "$(echo "$el >= 11 * 1048576 * 8 / $RATE_BPS" | bc)" = 1
t_grep "source host $WAN_A" "$T/rcp.out" && t_pass "the source agent ran on host A" ||
	t_fail "the source agent ran on host A"

# The relay counted what it forwarded, and dropped nothing it should not.
wan_stop_relay
t_check "the relay reports what it forwarded" \
	t_grep "a->b: forwarded [0-9]+ packets" "$WAN_RELAY_LOG"
fwd=$(sed -n 's/.*a->b: forwarded [0-9]* packets, \([0-9]*\) bytes.*/\1/p' "$WAN_RELAY_LOG")
t_check "more than 19 MiB went A->B through it" test "${fwd:-0}" -gt $((19 << 20))

# Everything ends: no process left in our namespaces, and they are gone.
nsa=$WAN_NS_A nsb=$WAN_NS_B
sshds=("${WAN_SSHD_PIDS[@]}")
wan_cleanup
left=0
for p in "${sshds[@]}"; do kill -0 "$p" 2>/dev/null && left=1; done
t_check "both sshds ended" test "$left" = 0
t_check "both namespaces removed" \
	bash -c "! ip netns list | grep -Eq '^($nsa|$nsb)( |\$)'"
t_done
