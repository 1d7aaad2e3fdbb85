# wan-lib.sh: a long fat network between two "hosts" for tests/e2e/wan.sh
# and bench/bench-wan.sh (sourced after lib.sh, bash).  The hosts are two
# network namespaces of our own, A and B, joined only by lfnrelay (a TUN
# device in each, bench/lfnrelay.c): A is 198.18.0.1, B 198.18.0.2 (the
# benchmarking range of RFC 2544), point to point, so every packet between
# them crosses the relay's delay, rate cap and queue, and nothing leaves the
# two namespaces.  Each has its own sshd (keys under $T/wan, as
# sshd-lib.sh), and both see this machine's file systems (/dev/shm).
#
#   wan_setup RATE RTT_MS [MTU] [RELAY_ARGS...]   e.g. wan_setup 50m 40
#   wan_a CMD...  /  wan_b CMD...                 run CMD on host A / B
#   wan_cleanup                                   (also at exit)
#
# After wan_setup: WAN_A, WAN_B (the addresses), WAN_SSH_CONFIG (an ssh
# client config for both, read by ssh, scp, rsync -e and rcp), WAN_RELAY_PID
# and WAN_RELAY_LOG (its counters are written there when it ends).  Set
# before wan_setup, WAN_SSHD_SETENV (NAME=VALUE words) is put in every
# session's environment on both hosts.  At exit
# the relay and both sshds are ended by pid, then any process still in one
# of our namespaces (only ours can be there), and the namespaces removed.
WAN_DIR=$T/wan
WAN_A=198.18.0.1
WAN_B=198.18.0.2
WAN_NS_A=rcpwanA-$$
WAN_NS_B=rcpwanB-$$
WAN_SSH_CONFIG=$WAN_DIR/ssh_config
WAN_RELAY_LOG=$WAN_DIR/relay.log
WAN_RELAY=${WAN_RELAY:-$RCP_BUILDDIR/bench/lfnrelay}
WAN_RELAY_PID=
WAN_SSHD_PIDS=()
WAN_NETNS=()

wan_die() {
	echo "wan-lib: $*" >&2
	[ -s "$WAN_RELAY_LOG" ] && sed 's/^/  | relay: /' "$WAN_RELAY_LOG" >&2
	exit 99
}

wan_a() { ip netns exec "$WAN_NS_A" "$@"; }
wan_b() { ip netns exec "$WAN_NS_B" "$@"; }

# wan_descendants PID: PID's children, their children...
wan_descendants() { t_offspring "$1"; }

# wan_stop_relay: ends the relay (its counters go to $WAN_RELAY_LOG).
wan_stop_relay() {
	[ -n "$WAN_RELAY_PID" ] || return 0
	kill "$WAN_RELAY_PID" 2>/dev/null
	wait "$WAN_RELAY_PID" 2>/dev/null
	WAN_RELAY_PID=
}

wan_cleanup() {
	local p pids
	for p in "${WAN_SSHD_PIDS[@]}"; do
		pids=$(wan_descendants "$p")
		kill "$p" $pids 2>/dev/null
		wait "$p" 2>/dev/null
	done
	WAN_SSHD_PIDS=()
	wan_stop_relay
	# Whatever still runs in our namespace is ours (an agent whose
	# session ended): ended before the namespace goes.
	t_netns_del "${WAN_NETNS[@]}"
	WAN_NETNS=()
}

# wan_sshd NS ADDR: an sshd inside NS listening on ADDR:22.
wan_sshd() {
	local ns=$1 addr=$2 cfg=$WAN_DIR/sshd_config.$2 i pid
	cat >"$cfg" <<-EOF
		Port 22
		ListenAddress $addr
		HostKey $WAN_DIR/host_ed25519
		PidFile none
		UsePAM no
		StrictModes no
		AuthorizedKeysFile $WAN_DIR/authorized_keys .ssh/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		Subsystem sftp /usr/lib/openssh/sftp-server
		LogLevel VERBOSE
		MaxSessions 20
		MaxStartups 100
		PrintMotd no
		${WAN_SSHD_SETENV:+SetEnv $WAN_SSHD_SETENV}
	EOF
	mkdir -p /run/sshd
	ip netns exec "$ns" /usr/sbin/sshd -t -f "$cfg" >"$WAN_DIR/sshd.$addr.log" 2>&1 ||
		wan_die "bad sshd_config for $addr: $(cat "$WAN_DIR/sshd.$addr.log")"
	ip netns exec "$ns" /usr/sbin/sshd -D -e -f "$cfg" 2>"$WAN_DIR/sshd.$addr.log" &
	pid=$!
	WAN_SSHD_PIDS+=("$pid")
	for i in $(seq 100); do
		ip netns exec "$ns" ss -Hltn "sport = :22" | grep -q "$addr:22" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	wan_die "sshd on $addr did not start: $(tail -5 "$WAN_DIR/sshd.$addr.log")"
}

# wan_link NS ADDR PEER MTU: brings up NS's loopback and relay device.
wan_link() {
	ip -n "$1" link set lo up &&
	ip -n "$1" addr add "$2" peer "$3" dev wan0 &&
	ip -n "$1" link set wan0 mtu "$4" up ||
		wan_die "cannot configure wan0 in $1"
	# A fresh namespace's TCP buffers stop at 6 MiB, under the 12.5 MB
	# of 1 Gbit/s x 100 ms: give TCP what a WAN host is tuned to, so
	# that the SSH tools are held back by SSH alone, not by TCP.
	ip netns exec "$1" sysctl -q -w net.ipv4.tcp_rmem="4096 131072 67108864" \
		net.ipv4.tcp_wmem="4096 16384 67108864" ||
		wan_die "cannot set TCP buffers in $1"
}

# wan_setup RATE RTT_MS [MTU] [RELAY_ARGS...]: the namespaces, the relay
# at RATE bits/s each way (1g, 50m...) adding RTT_MS, devices of MTU bytes
# (default 1500), both sshds, and the keys and configs.
wan_setup() {
	local rate=$1 rtt=$2 mtu=${3:-1500} i
	shift 2
	[ $# -gt 0 ] && shift
	[ -x "$WAN_RELAY" ] || wan_die "$WAN_RELAY is not built (make)"
	[ -x /usr/sbin/sshd ] || wan_die "/usr/sbin/sshd is needed (openssh-server)"
	trap 'wan_cleanup; t_cleanup' EXIT
	mkdir -p "$WAN_DIR" && chmod 700 "$WAN_DIR" || wan_die "cannot create $WAN_DIR"
	for i in "$WAN_NS_A" "$WAN_NS_B"; do
		ip netns add "$i" || wan_die "cannot make the network namespace $i"
		WAN_NETNS+=("$i")
	done
	"$WAN_RELAY" --a "$WAN_NS_A:wan0" --b "$WAN_NS_B:wan0" --rate "$rate" \
		--rtt "$rtt" "$@" 2>"$WAN_RELAY_LOG" &
	WAN_RELAY_PID=$!
	for i in $(seq 100); do
		ip -n "$WAN_NS_A" link show wan0 >/dev/null 2>&1 &&
			ip -n "$WAN_NS_B" link show wan0 >/dev/null 2>&1 && break
		kill -0 "$WAN_RELAY_PID" 2>/dev/null || wan_die "the relay did not start"
		sleep 0.05
	done
	wan_link "$WAN_NS_A" "$WAN_A" "$WAN_B" "$mtu"
	wan_link "$WAN_NS_B" "$WAN_B" "$WAN_A" "$mtu"
	rm -f "$WAN_DIR"/host_ed25519* "$WAN_DIR"/id_ed25519*
	ssh-keygen -q -t ed25519 -N '' -C rcp-wan-host -f "$WAN_DIR/host_ed25519" </dev/null &&
	ssh-keygen -q -t ed25519 -N '' -C rcp-wan-client -f "$WAN_DIR/id_ed25519" </dev/null ||
		wan_die "ssh-keygen failed"
	cp "$WAN_DIR/id_ed25519.pub" "$WAN_DIR/authorized_keys"
	for i in "$WAN_A" "$WAN_B"; do
		echo "$i $(cut -d' ' -f1,2 "$WAN_DIR/host_ed25519.pub")"
	done >"$WAN_DIR/known_hosts"
	cat >"$WAN_SSH_CONFIG" <<-EOF
		Host $WAN_A $WAN_B
		    User root
		    IdentityFile $WAN_DIR/id_ed25519
		    UserKnownHostsFile $WAN_DIR/known_hosts
		    GlobalKnownHostsFile /dev/null
		    StrictHostKeyChecking yes
		    IdentitiesOnly yes
		    BatchMode yes
	EOF
	wan_sshd "$WAN_NS_A" "$WAN_A"
	wan_sshd "$WAN_NS_B" "$WAN_B"
}
