# cluster-lib.sh: a small cluster of "hosts" for bench/bench-multi.sh
# (sourced after lib.sh, bash): network namespaces of our own, h0 ... hN,
# each with one veth link to a switch (a bridge in a namespace of its own)
# and its own sshd, all seeing this machine's file systems (/dev/shm) as
# nodes of one shared file system would.  h0 is 198.19.0.1, hK 198.19.0.K+1
# (the benchmarking range of RFC 2544): nothing leaves the namespaces.
#
#   cl_setup N                 h0 and N more hosts
#   cl_cap K RATE              caps what hK sends at RATE (tbf, e.g. 200mbit)
#   cl_cap_in K RATE           caps what hK receives at RATE (tbf on its
#                              switch port)
#   cl_on K CMD...             runs CMD on hK
#   cl_cleanup                 (also at exit)
#
# After cl_setup: CL_ADDR[K], CL_SSH_CONFIG (an ssh client config for every
# host).  At exit the sshds are ended by pid, then whatever still runs in
# one of our namespaces (only ours can be there), and the namespaces go.
CL_DIR=$T/cluster
CL_SSH_CONFIG=$CL_DIR/ssh_config
CL_NS_SW=rcpclsw-$$
CL_NETNS=()
CL_SSHD_PIDS=()
CL_ADDR=()

cl_die() {
	echo "cluster-lib: $*" >&2
	exit 99
}

cl_ns() { echo "rcpcl$1-$$"; }
cl_on() { local k=$1; shift; ip netns exec "$(cl_ns "$k")" "$@"; }

cl_cleanup() {
	local p
	for p in "${CL_SSHD_PIDS[@]}"; do
		kill "$p" $(t_offspring "$p") 2>/dev/null
		wait "$p" 2>/dev/null
	done
	CL_SSHD_PIDS=()
	t_netns_del "${CL_NETNS[@]}"
	CL_NETNS=()
}

# cl_sshd K: an sshd on hK, port 22 of its address.
cl_sshd() {
	local k=$1 addr=${CL_ADDR[$1]} cfg=$CL_DIR/sshd_config.$1 i pid
	cat >"$cfg" <<-EOF
		Port 22
		ListenAddress $addr
		HostKey $CL_DIR/host_ed25519
		PidFile none
		UsePAM no
		StrictModes no
		AuthorizedKeysFile $CL_DIR/authorized_keys .ssh/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		LogLevel VERBOSE
		MaxSessions 20
		MaxStartups 100
		PrintMotd no
	EOF
	mkdir -p /run/sshd
	cl_on "$k" /usr/sbin/sshd -t -f "$cfg" >"$CL_DIR/sshd.$k.log" 2>&1 ||
		cl_die "bad sshd_config for h$k: $(cat "$CL_DIR/sshd.$k.log")"
	cl_on "$k" /usr/sbin/sshd -D -e -f "$cfg" 2>"$CL_DIR/sshd.$k.log" &
	pid=$!
	CL_SSHD_PIDS+=("$pid")
	for i in $(seq 100); do
		cl_on "$k" ss -Hltn "sport = :22" | grep -q "$addr:22" && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
	cl_die "sshd on h$k did not start: $(tail -5 "$CL_DIR/sshd.$k.log")"
}

# cl_setup N: the switch, h0..hN on it, their sshds, keys and config.
cl_setup() {
	local n=$1 k ns
	[ -x /usr/sbin/sshd ] || cl_die "/usr/sbin/sshd is needed (openssh-server)"
	trap 'cl_cleanup; t_cleanup' EXIT
	mkdir -p "$CL_DIR" && chmod 700 "$CL_DIR" || cl_die "cannot create $CL_DIR"
	ip netns add "$CL_NS_SW" || cl_die "cannot make the namespace $CL_NS_SW"
	CL_NETNS+=("$CL_NS_SW")
	ip -n "$CL_NS_SW" link add br0 type bridge &&
	    ip -n "$CL_NS_SW" link set br0 up &&
	    ip -n "$CL_NS_SW" link set lo up || cl_die "cannot make the switch"
	for ((k = 0; k <= n; k++)); do
		ns=$(cl_ns "$k")
		CL_ADDR[$k]=198.19.0.$((k + 1))
		ip netns add "$ns" || cl_die "cannot make the namespace $ns"
		CL_NETNS+=("$ns")
		ip -n "$ns" link add eth0 type veth peer name "p$k" netns "$CL_NS_SW" &&
		    ip -n "$CL_NS_SW" link set "p$k" master br0 &&
		    ip -n "$CL_NS_SW" link set "p$k" up &&
		    ip -n "$ns" link set lo up &&
		    ip -n "$ns" addr add "${CL_ADDR[$k]}/24" dev eth0 &&
		    ip -n "$ns" link set eth0 up || cl_die "cannot link h$k"
		ip netns exec "$ns" sysctl -q -w net.ipv4.tcp_rmem="4096 131072 16777216" \
		    net.ipv4.tcp_wmem="4096 16384 16777216" || cl_die "cannot set TCP buffers on h$k"
	done
	rm -f "$CL_DIR"/host_ed25519* "$CL_DIR"/id_ed25519*
	ssh-keygen -q -t ed25519 -N '' -C rcp-cluster-host -f "$CL_DIR/host_ed25519" </dev/null &&
	    ssh-keygen -q -t ed25519 -N '' -C rcp-cluster-client -f "$CL_DIR/id_ed25519" </dev/null ||
		cl_die "ssh-keygen failed"
	cp "$CL_DIR/id_ed25519.pub" "$CL_DIR/authorized_keys"
	for ((k = 0; k <= n; k++)); do
		echo "${CL_ADDR[$k]} $(cut -d' ' -f1,2 "$CL_DIR/host_ed25519.pub")"
	done >"$CL_DIR/known_hosts"
	cat >"$CL_SSH_CONFIG" <<-EOF
		Host ${CL_ADDR[*]}
		    User root
		    IdentityFile $CL_DIR/id_ed25519
		    UserKnownHostsFile $CL_DIR/known_hosts
		    GlobalKnownHostsFile /dev/null
		    StrictHostKeyChecking yes
		    IdentitiesOnly yes
		    BatchMode yes
	EOF
	for ((k = 0; k <= n; k++)); do
		cl_sshd "$k"
	done
}

# cl_cap K RATE: what hK sends goes out at RATE at most.
cl_cap() {
	cl_on "$1" tc qdisc replace dev eth0 root tbf rate "$2" burst 256kb latency 50ms ||
		cl_die "cannot cap h$1 at $2"
}

# cl_cap_in K RATE: what hK receives comes in at RATE at most (the switch's
# port towards it sends no faster).
cl_cap_in() {
	ip netns exec "$CL_NS_SW" tc qdisc replace dev "p$1" root tbf rate "$2" \
	    burst 256kb latency 50ms || cl_die "cannot cap what h$1 receives at $2"
}
