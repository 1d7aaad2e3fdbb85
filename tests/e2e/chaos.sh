#!/bin/bash
# chaos.sh: remote copies (rcp through a real sshd, 127.0.0.2 to 127.0.0.3,
# or from here to 127.0.0.3) whose network or disks fail under them.
#
#   partition  the QUIC traffic of the run is dropped both ways (iptables)
#              mid-copy; once more with the master stopped (SIGSTOP), so
#              that only the agents' own idle timeout can end them
#   slow       64 kbit/s on the QUIC ports (tc): slow is not dead; and one
#              chunk that takes three idle timeouts to arrive
#   enospc     a destination on a 20 MiB tmpfs, here and on the remote side
#   eacces     an unreadable source file, an unwritable destination
#              directory, as an ordinary user (root passes every mode)
#
# Each fault must end the run in bounded time (the bounds are hang guards,
# ten times the normal, not speed claims), with a non-zero exit that names
# the cause, leave no rcp, rcpd or SSH session behind and no file that
# looks complete and is not; a re-run with --overwrite then completes to a
# tree that rcmp --content finds equal.  "FAULT: ended N s after the
# fault" lines give the measured times.
#
# EIO is in chaos-eio.sh, made by an LD_PRELOAD library
# (tests/fault/fault.so): the standard way to make a disk fail on demand,
# a loop device under device-mapper's "error" target, needs the kernel's
# device-mapper driver, which this machine's kernel lacks (dmsetup:
# "Failure to communicate with kernel device-mapper driver"), and no FUSE
# file system is installed.
#
# Only UDP on this test's port ranges is touched, only on lo; every rule,
# qdisc, mount and account is removed at exit, whatever happens.
# CHAOS_CASES (words of the list above) runs some of the cases only;
# CHAOS_GUARD (seconds, 120) is the hang guard of each run.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"			# the agents read and write under $T

CASES=${CHAOS_CASES:-partition slow enospc eacces}
RL_GUARD=${CHAOS_GUARD:-120}			# seconds: the hang guard of every run
. "$(dirname "$0")/remote-lib.sh"
has_case() { case " $CASES " in *" $1 "*) return 0 ;; esac; return 1; }

# --- what is ours to remove -------------------------------------------------------
PART_LO=29184 PART_HI=29199		# partition
SLOW_LO=29200 SLOW_MASK=0xfff0		# 29200-29215: 0x7210-0x721f
part_rule "$PART_LO" "$PART_HI"
TC_ROOT_BEFORE=$(tc qdisc show dev lo 2>/dev/null | grep ' root ' | head -1)
TC_OURS=no
MOUNTS=()
ACCOUNT=
STOPPED=
cleanup() {
	local p m
	[ -n "$STOPPED" ] && kill -CONT "$STOPPED" 2>/dev/null
	part_heal
	if [ "$TC_OURS" = yes ]; then
		tc qdisc del dev lo root 2>/dev/null
		TC_OURS=no
	fi
	for p in $(ours); do kill -9 "$p" 2>/dev/null; done
	sshd_stop
	for m in "${MOUNTS[@]}"; do umount "$m" 2>/dev/null || umount -l "$m"; done
	if [ -n "$ACCOUNT" ]; then
		for p in $(pgrep -u "$ACCOUNT"); do kill -9 "$p" 2>/dev/null; done
		userdel -r "$ACCOUNT" 2>/dev/null
	fi
}
trap 'cleanup; t_cleanup' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

quiet() { "$@" >/dev/null; }
t_check "iptables works here" quiet iptables -w -L INPUT -n
t_check "tc works here" quiet tc qdisc show dev lo

# said OUT: rcp's own lines of OUT, indented, for the log.
said() { grep -E '^rcp:|^error:' "$1" | head -6 | sed 's/^/  | /'; }
# The fixture: a big file and small ones (64 MiB in all, about 7 s at the
# pace below).
S=$T/src
mkdir -p "$S/small/a" "$S/small/b"
head -c $((64 << 20)) /dev/urandom >"$S/big"
for i in $(seq 1 40); do
	head -c $((i * 997)) /dev/urandom >"$S/small/a/f$i"
	printf '%s\n' "$i" >"$S/small/b/g$i"
done
SIZE=$(du -sb "$S" | cut -f1)
PACE=(--chunk-size 1M --iops-throttle 10)

# --- partition ----------------------------------------------------------------------------
# partition_case MODE: MODE h2h (host to host) or l2h (here to a host).
# Both directions of the run's QUIC traffic are dropped once the copy is
# under way.  The connections time out (10 s of silence, the default
# idle timeout): the master names the agent it lost and what it heard
# last, and stops both agents over SSH.
partition_case() {
	local m=$1 D=$T/dst-part-$1 out=$T/part-$1.out src=$SH:$S pid hosts
	[ "$m" = l2h ] && src=$S
	"${RA[@]}" -p "${PACE[@]}" --quic-port-ranges "$PART_LO-$PART_HI" \
	    "$src" "$DH:$D" >"$out" 2>&1 &
	pid=$!
	t_track "$pid"
	if ! started "$out" "$D" $((16 << 20)); then
		t_fail "partition ($m): the copy got going"
		kill -9 "$pid" 2>/dev/null
		return
	fi
	part_cut
	T0=$(now)
	wait_end "$pid"
	echo "  FAULT: partition ($m): rcp ended ${EL}s after the fault, exit $RC"
	said "$out"
	t_check "partition ($m): exit 1 (got $RC)" test "$RC" = 1
	# The master's reader or the agent's own idle timeout, whichever
	# comes first: both are 10 s.  Local to host, the partition also cuts
	# the master from its own source agent ('localhost'), which may go
	# first.
	hosts='127\.0\.0\.[23]'
	[ "$m" = l2h ] && hosts='(127\.0\.0\.3|localhost)'
	t_check "partition ($m): the error names the lost agent, its host and what came last" \
	    t_grep "^rcp: .*(lost the (source|destination) agent on '$hosts'|the (source|destination) agent on '$hosts' exited with status [0-9]+) \((its last message, [a-z ]+, came [0-9.]+ s ago|no message came from it)\)" "$out"
	t_check "partition ($m): no rcp, rcpd or SSH session left, the rule still in place" gone 30
	echo "  FAULT: partition ($m): all ended $(secs "$T0" "$(now)")s after the fault"
	part_heal
	t_check "partition ($m): the copy is incomplete" test "$(du -sb "$D" | cut -f1)" -lt "$SIZE"
	t_check "partition ($m): no file looks complete and is not" honest "$S" "$D"
	t_check "partition ($m): a re-run with --overwrite: exit 0" \
	    t_run 0 "$T/rerun.out" R -p --overwrite --quic-port-ranges "$PART_LO-$PART_HI" "$src" "$DH:$D"
	t_check "partition ($m): then rcmp --content finds the trees equal" same_rcmp "$S" "$D"
	t_check "partition ($m): and nothing is left" gone 30
}

# The master is stopped (SIGSTOP) and the network cut: nobody closes the
# agents' stdin, their SSH sessions stay up.  Each agent must see by
# itself that its master is gone (the idle timeout of its connection to
# it) and exit; then the master, resumed, sees them gone and ends.
orphan_case() {
	local D=$T/dst-orphan out=$T/orphan.out pid i el
	"${RA[@]}" -p "${PACE[@]}" --quic-port-ranges "$PART_LO-$PART_HI" \
	    "$SH:$S" "$DH:$D" >"$out" 2>&1 &
	pid=$!
	t_track "$pid"
	if ! started "$out" "$D" $((16 << 20)); then
		t_fail "orphans: the copy got going"
		kill -9 "$pid" 2>/dev/null
		return
	fi
	kill -STOP "$pid"
	STOPPED=$pid
	part_cut
	T0=$(now)
	for i in $(seq $((RL_GUARD * 10))); do
		[ -z "$(pgrep -f "^$XRCPD --role ")" ] && break
		sleep 0.1
	done
	el=$(secs "$T0" "$(now)")
	echo "  FAULT: orphans: the agents ended ${el}s after the fault (master stopped)"
	t_check "orphans: agents whose master is cut off exit by themselves" \
	    test -z "$(pgrep -f "^$XRCPD --role ")"
	kill -CONT "$pid"
	STOPPED=
	wait_end "$pid"
	echo "  FAULT: orphans: rcp, resumed, ended ${EL}s after the fault, exit $RC"
	said "$out"
	t_check "orphans: the resumed master ends: exit 1 (got $RC)" test "$RC" = 1
	t_check "orphans: it names an agent" \
	    t_grep "^rcp: .*the (source|destination) agent on '127\.0\.0\.[23]'" "$out"
	t_check "orphans: no rcp, rcpd or SSH session left" gone 30
	part_heal
	t_check "orphans: no file looks complete and is not" honest "$S" "$D"
	t_check "orphans: a re-run with --overwrite: exit 0" \
	    t_run 0 "$T/rerun.out" R -p --overwrite --quic-port-ranges "$PART_LO-$PART_HI" "$SH:$S" "$DH:$D"
	t_check "orphans: then rcmp --content finds the trees equal" same_rcmp "$S" "$D"
}

if has_case partition; then
	partition_case h2h
	partition_case l2h
	orphan_case
fi

# --- slow is not dead ---------------------------------------------------------------------
# tc_cap RATE: htb at the root of lo; unclassified traffic goes straight
# through (no default class), UDP from or to our slow ports is capped to
# RATE, with a queue of 512 KB.
tc_cap() {
	# Another test of the machine may hold lo's root a while: wait for it.
	lo_qdisc_lock || return 1
	case $TC_ROOT_BEFORE in
	*"qdisc noqueue "*|"") ;;
	*)
		echo "  lo's root qdisc is not ours to replace: $TC_ROOT_BEFORE" >&2
		lo_qdisc_unlock
		return 1 ;;
	esac
	tc qdisc add dev lo root handle 1: htb || return 1
	TC_OURS=yes
	tc class add dev lo parent 1: classid 1:10 htb rate "$1" ceil "$1" burst 16k cburst 16k quantum 1514 &&
	tc qdisc add dev lo parent 1:10 handle 10: bfifo limit 512kb &&
	tc filter add dev lo parent 1: protocol ip prio 1 u32 \
	    match ip protocol 17 0xff match ip sport "$SLOW_LO" "$SLOW_MASK" flowid 1:10 &&
	tc filter add dev lo parent 1: protocol ip prio 1 u32 \
	    match ip protocol 17 0xff match ip dport "$SLOW_LO" "$SLOW_MASK" flowid 1:10
}
tc_uncap() {
	tc qdisc del dev lo root 2>/dev/null
	TC_OURS=no
	lo_qdisc_unlock
}
shaped() { tc -s class show dev lo classid 1:10 2>/dev/null | awk '/Sent/ { print $2; exit }'; }

# slow_case NAME RATE SRC MIN_SECS OPTS...: the copy of SRC through the cap
# must end with exit 0 and an exact copy, and take at least MIN_SECS (the
# cap held).
slow_case() {
	local name=$1 rate=$2 src=$3 min=$4 D=$T/dst-slow-$1 b el
	shift 4
	if ! tc_cap "$rate"; then
		t_fail "slow ($name): tc caps the QUIC ports to $rate"
		tc_uncap
		return
	fi
	T0=$(now)
	t_check "slow ($name): exit 0 at $rate" t_run 0 "$T/slow-$name.out" \
	    R -p --quic-port-ranges "$SLOW_LO-$((SLOW_LO + 15))" "$@" "$SH:$src" "$DH:$D"
	el=$(secs "$T0" "$(now)")
	b=$(shaped)
	tc_uncap
	echo "  slow ($name): ${el}s, ${b:-0} bytes through the $rate class"
	t_check "slow ($name): the cap held: at least ${min}s (${el}s)" lt "$min" "$el"
	t_check "slow ($name): rcmp --content finds the trees equal" same_rcmp "$src" "$D"
	t_check "slow ($name): lo's root qdisc is back as it was" \
	    test "$(tc qdisc show dev lo | grep ' root ' | head -1)" = "$TC_ROOT_BEFORE"
	t_check "slow ($name): nothing is left" gone 30
}

if has_case slow; then
	# Packets of a WAN's size (the internet profile starts at 1,452 bytes)
	# with the datacenter's timeouts (10 s idle, 2 s keep-alive): the
	# datacenter profile sizes packets by lo's MTU, 64 KiB, 8 s each at
	# 64 kbit/s, which no real slow link has.
	WAN=(--quic-profile internet --quic-idle-timeout-sec 10 --quic-keepalive-sec 2)
	# 200 KB at 64 kbit/s: about 25 s, with the default idle timeout (10 s).
	W=$T/slowsrc
	mkdir -p "$W/d"
	for i in $(seq 1 20); do head -c 10000 /dev/urandom >"$W/d/f$i"; done
	slow_case small 64kbit "$W" 15 "${WAN[@]}"
	# One 1 MiB chunk at 560 kbit/s: about 15 s in one SRC_READ reply,
	# three times the 5 s idle timeout; packets flow all the time.
	B=$T/chunksrc
	mkdir "$B"
	head -c $((1 << 20)) /dev/urandom >"$B/one"
	slow_case chunk 560kbit "$B" 10 "${WAN[@]}" --chunk-size 1M --quic-idle-timeout-sec 5
fi

# --- no space left on the destination ------------------------------------------------
# Once a remote destination that ran out of space asked the source for
# the same range again after each failed write, for ever: the run hung
# (found with a 300 MB file to a 100 MiB tmpfs; these sizes show it too).
# A 30 MiB file among small ones, to a 20 MiB tmpfs, here and on the remote
# side.  The run ends at once with "No space left on device" naming the
# big file; every file it does not name is an exact copy, among them the
# small ones that fit (they come with their directory's listing, before
# the big file's chunks); the big file is cut short or absent.
E=$T/esrc
mkdir -p "$E/small"
head -c $((30 << 20)) /dev/urandom >"$E/big"
for i in $(seq 1 50); do head -c 20000 /dev/urandom >"$E/small/s$i"; done
# named OUT DST FILE...: true if OUT names each FILE (under DST) with
# ENOSPC.
named() {
	local out=$1 d=$2 f
	shift 2
	for f; do
		grep -Fq "cannot write '$d/$f': No space left on device" "$out" ||
		    { echo "  '$f' is not named in $out:" >&2; said "$out" >&2; return 1; }
	done
}
# fitted SRC DST OUT: the files OUT does not name are exact copies, and
# the small ones that fit are there.
fitted() {
	local f n=0
	while IFS= read -r -d '' f; do
		f=${f#./}
		grep -Fq "'$2/$f'" "$3" && continue
		cmp -s "$1/$f" "$2/$f" || { echo "  '$f' is not named and not copied" >&2; return 1; }
		n=$((n + 1))
	done < <(cd "$1" && find . -type f -print0)
	echo "  $n files copied whole"
	[ "$n" -gt 0 ]
}
enospc_case() {
	local m=$1 M=$T/full-$1 D out=$T/enospc-$1.out src dst
	mkdir "$M"
	if ! mount -t tmpfs -o size=20m tmpfs "$M"; then
		t_fail "enospc ($m): a 20 MiB tmpfs"
		return
	fi
	MOUNTS+=("$M")
	D=$M/d
	case $m in
	local) src=$E dst=$D ;;
	remote) src=$SH:$E dst=$DH:$D ;;
	esac
	T0=$(now)
	t_check "enospc ($m): exit 1" t_run 1 "$out" R -p "$src" "$dst"
	EL=$(secs "$T0" "$(now)")
	echo "  FAULT: enospc ($m): rcp ended ${EL}s after it started (the disk fills at once)"
	said "$out"
	t_check "enospc ($m): the error names the big file" named "$out" "$D" big
	t_check "enospc ($m): the big file is cut short or absent" \
	    test "$(stat -c %s "$D/big" 2>/dev/null || echo 0)" -lt $((30 << 20))
	t_check "enospc ($m): no file looks complete and is not" honest "$E" "$D"
	t_check "enospc ($m): the files it does not name are copied" fitted "$E" "$D" "$out"
	t_check "enospc ($m): no rcp, rcpd or SSH session left" gone 30
	mount -o remount,size=64m "$M"
	t_check "enospc ($m): with room, a re-run with --overwrite: exit 0" \
	    t_run 0 "$T/rerun.out" R -p --overwrite "$src" "$dst"
	t_check "enospc ($m): then rcmp --content finds the trees equal" same_rcmp "$E" "$D"
	t_check "enospc ($m): and nothing is left" gone 30
}
if has_case enospc; then
	enospc_case local
	enospc_case remote
fi

# --- permission denied ----------------------------------------------------------------------
# As root every mode lets us through: the agents log in as a fresh account
# (bench_account in bench/lib.sh does the same).  Its source tree has a
# file it cannot read; its destination, there already (hence --overwrite),
# a directory it cannot write.
eacces_case() {
	local U="rcpchaos$$" H S2=$T/asrc D2=$T/adst out cfg=$T/ssh_config.user
	ACCOUNT=$U
	if ! useradd -m -s /bin/bash "$U"; then
		ACCOUNT=
		t_fail "eacces: an account to run the agents as"
		return
	fi
	# A new account is locked ('!'), and sshd without PAM refuses locked
	# accounts even for keys: '*' is "no password", not locked.
	usermod -p '*' "$U"
	H=$(getent passwd "$U" | cut -d: -f6)
	install -d -m 700 -o "$U" "$H/.ssh"
	install -m 600 -o "$U" "$SSH_KEY.pub" "$H/.ssh/authorized_keys"
	sed "s/^\( *User \).*/\1$U/" "$SSH_CONFIG" >"$cfg"
	mkdir -p "$S2/ok" "$S2/ro" "$D2/ro"
	for i in $(seq 1 10); do head -c 5000 /dev/urandom >"$S2/ok/f$i"; done
	head -c 300000 /dev/urandom >"$S2/ok/secret"
	for i in 1 2 3; do head -c 3000 /dev/urandom >"$S2/ro/r$i"; done
	chown -R "$U" "$S2" "$D2"
	chmod 000 "$S2/ok/secret"
	chmod 555 "$D2/ro"
	rua() { timeout -k 5 "$RL_GUARD" "$XRCP" --ssh-config "$cfg" --rcpd-path "$XRCPD" "$@"; }

	out=$T/eacces.out
	T0=$(now)
	t_check "eacces: exit 1" t_run 1 "$out" rua -p --overwrite "$SH:$S2" "$DH:$D2"
	echo "  FAULT: eacces: rcp ended $(secs "$T0" "$(now)")s after it started"
	said "$out"
	t_check "eacces: the unreadable file is named" \
	    t_grep "cannot open '[^']*/ok/secret': Permission denied" "$out"
	t_check "eacces: the unwritable directory is named" \
	    t_grep "'$D2/ro/r[123]'[^:]*: Permission denied" "$out"
	t_check "eacces: the run went on: the readable files are copied" \
	    cmp -s "$S2/ok/f10" "$D2/ok/f10"
	t_check "eacces: the unreadable file is not there" test ! -e "$D2/ok/secret"
	t_check "eacces: no rcp, rcpd or SSH session left" gone 30

	out=$T/eacces-e.out
	rm -rf "$D2/ok"
	T0=$(now)
	t_check "eacces (--fail-early): exit 1" t_run 1 "$out" rua -p --overwrite --fail-early "$SH:$S2" "$DH:$D2"
	echo "  FAULT: eacces (--fail-early): rcp ended $(secs "$T0" "$(now)")s after it started"
	said "$out"
	t_check "eacces (--fail-early): a denied file is named" \
	    t_grep "Permission denied" "$out"
	t_check "eacces (--fail-early): no rcp, rcpd or SSH session left" gone 30

	chmod 644 "$S2/ok/secret"
	chmod 755 "$D2/ro"
	t_check "eacces: with the modes back, a re-run with --overwrite: exit 0" \
	    t_run 0 "$T/rerun.out" rua -p --overwrite "$SH:$S2" "$DH:$D2"
	t_check "eacces: then rcmp --content finds the trees equal" same_rcmp "$S2" "$D2"
	t_check "eacces: and nothing is left" gone 30
}
has_case eacces && eacces_case

t_done
