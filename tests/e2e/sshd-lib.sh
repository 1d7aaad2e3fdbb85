# sshd-lib.sh: a real OpenSSH sshd for one test (sourced after lib.sh, bash).
# Everything lives under $T/sshd: host and client keys, authorized_keys,
# known_hosts, sshd_config and an ssh client config that both OpenSSH
# (ssh -F "$SSH_CONFIG") and rcp's SSH layer (config_file) read.  sshd listens
# on one free port on 127.0.0.1, 127.0.0.2 and 127.0.0.3, so that a test can
# use them as three hosts.  At exit sshd and what it runs at that moment (its
# per-connection processes and their commands) are killed by pid; a command
# that outlived its closed channel has been handed to init and is the test's
# to end.  The real ~/.ssh and the system's sshd are never touched.
#
# After sshd_setup:
#   SSHD_PORT       the port
#   SSH_CONFIG      client config: Host 127.0.0.1 127.0.0.2 127.0.0.3
#   SSH_KNOWN_HOSTS known_hosts with the host key for the three addresses
#   SSH_KEY         the client's private key (its .pub is authorized)
#   SSHD_PID        the running sshd's pid; SSHD_LOG its log
# Set before sshd_setup, SSHD_SETENV (NAME=VALUE words) is put in every
# session's environment (sshd passes none of the test's own).
# sshd_account makes an account of the test's own that logs in to this sshd
# and runs rcp itself; it is removed at exit.
SSHD_DIR=$T/sshd
SSHD_ADDRS="127.0.0.1 127.0.0.2 127.0.0.3"
SSHD_PID=
SSHD_LOG=$SSHD_DIR/sshd.log
SSH_CONFIG=$SSHD_DIR/ssh_config
SSH_KNOWN_HOSTS=$SSHD_DIR/known_hosts
SSH_KEY=$SSHD_DIR/id_ed25519
SSHD_PORT=
SSHD_ACCOUNT=

sshd_die() {
	echo "sshd-lib: $*" >&2
	if [ -s "$SSHD_LOG" ]; then
		echo "sshd-lib: sshd log:" >&2
		sed 's/^/  | /' "$SSHD_LOG" | tail -20 >&2
	fi
	exit 99
}

# sshd_port_free PORT: true if nothing listens on PORT.
sshd_port_free() {
	[ -z "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]
}

# sshd_listening PORT PID: true if PID listens on PORT on all three addresses.
sshd_listening() {
	[ "$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -c "pid=$2,")" -ge 3 ]
}

# sshd_new_hostkey: a fresh host key (known_hosts is not updated: a running
# sshd keeps the old one until sshd_restart).
sshd_new_hostkey() {
	rm -f "$SSHD_DIR/host_ed25519" "$SSHD_DIR/host_ed25519.pub"
	ssh-keygen -q -t ed25519 -N '' -C rcp-test-host \
	    -f "$SSHD_DIR/host_ed25519" </dev/null || sshd_die "ssh-keygen failed"
}

# sshd_known_hosts_lines: known_hosts lines for the three addresses.
sshd_known_hosts_lines() {
	local a key
	key=$(cut -d' ' -f1,2 "$SSHD_DIR/host_ed25519.pub")
	for a in $SSHD_ADDRS; do
		echo "[$a]:$SSHD_PORT $key"
	done
}

sshd_write_configs() {
	cat >"$SSHD_DIR/sshd_config" <<-EOF
		Port $SSHD_PORT
		ListenAddress 127.0.0.1
		ListenAddress 127.0.0.2
		ListenAddress 127.0.0.3
		HostKey $SSHD_DIR/host_ed25519
		PidFile $SSHD_DIR/sshd.pid
		UsePAM no
		StrictModes no
		AuthorizedKeysFile $SSHD_DIR/authorized_keys .ssh/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		Subsystem sftp /usr/lib/openssh/sftp-server
		LogLevel VERBOSE
		MaxSessions 20
		MaxStartups 100
		PrintMotd no
		${SSHD_SETENV:+SetEnv $SSHD_SETENV}
	EOF
	cat >"$SSH_CONFIG" <<-EOF
		Host $SSHD_ADDRS
		    Port $SSHD_PORT
		    User root
		    IdentityFile $SSH_KEY
		    UserKnownHostsFile $SSH_KNOWN_HOSTS
		    GlobalKnownHostsFile /dev/null
		    StrictHostKeyChecking yes
		    IdentitiesOnly yes
		    BatchMode yes
	EOF
	sshd_known_hosts_lines >"$SSH_KNOWN_HOSTS"
}

# sshd_start: starts sshd on $SSHD_PORT and waits until it listens.
sshd_start() {
	local i
	mkdir -p /run/sshd
	/usr/sbin/sshd -t -f "$SSHD_DIR/sshd_config" >"$SSHD_LOG" 2>&1 ||
	    sshd_die "bad sshd_config"
	/usr/sbin/sshd -D -e -f "$SSHD_DIR/sshd_config" 2>"$SSHD_LOG" &
	SSHD_PID=$!
	t_track "$SSHD_PID"
	# sshd may run on without having bound the port: check the port.
	for i in $(seq 100); do
		sshd_listening "$SSHD_PORT" "$SSHD_PID" && return 0
		kill -0 "$SSHD_PID" 2>/dev/null || return 1
		sleep 0.05
	done
	return 1
}

# sshd_descendants PID: the pids of PID's children, their children...
sshd_descendants() {
	local c
	for c in $(pgrep -P "$1"); do
		echo "$c"
		sshd_descendants "$c"
	done
}

# sshd_stop: ends sshd and the sessions it runs, and waits for it.
sshd_stop() {
	local pids
	if [ -n "$SSHD_PID" ]; then
		pids=$(sshd_descendants "$SSHD_PID")
		kill "$SSHD_PID" 2>/dev/null
		[ -n "$pids" ] && kill $pids 2>/dev/null
		wait "$SSHD_PID" 2>/dev/null
		SSHD_PID=
	fi
}

sshd_restart() {
	sshd_stop
	sshd_start || sshd_die "sshd did not come back on port $SSHD_PORT"
}

# sshd_account NAME: a fresh account NAME, without privileges, that logs in
# to this sshd and may run ssh clients (rcp) of its own: a home under $T
# (HOME_OF_ACCOUNT) with a shell, '*' for a password (not locked: sshd
# without PAM refuses locked accounts even for keys), and in its ~/.ssh the
# harness's key pair (sshd reads authorized_keys as the user, and the
# harness's own files are root's), known_hosts, and config
# (ACCOUNT_SSH_CONFIG) that logs in as NAME.  Fails if NAME exists: the
# account and everything it runs are the test's, ended by pid and removed
# at exit (sshd_cleanup).
sshd_account() {
	local u=$1 h=$T/home-$1 try
	id "$u" >/dev/null 2>&1 && { echo "sshd-lib: account $u exists" >&2; return 1; }
	for try in 1 2 3 4 5; do	# another test may hold the lock on /etc/passwd
		useradd -M -d "$h" -s /bin/sh -p '*' -c "rcp test $$" "$u" 2>/dev/null && break
		id "$u" >/dev/null 2>&1 && break
		sleep 1
	done
	id "$u" >/dev/null 2>&1 || { echo "sshd-lib: cannot create account $u" >&2; return 1; }
	SSHD_ACCOUNT=$u
	HOME_OF_ACCOUNT=$h
	chmod o+x "$T" || return 1	# mktemp made it 0700: let the account in
	ACCOUNT_SSH_CONFIG=$h/.ssh/config
	install -d -m 755 -o "$u" -g "$u" "$h" &&
	    install -d -m 700 -o "$u" -g "$u" "$h/.ssh" &&
	    install -m 600 -o "$u" -g "$u" "$SSH_KEY" "$h/.ssh/id_ed25519" &&
	    install -m 644 -o "$u" -g "$u" "$SSH_KEY.pub" "$h/.ssh/id_ed25519.pub" &&
	    install -m 600 -o "$u" -g "$u" "$SSH_KEY.pub" "$h/.ssh/authorized_keys" &&
	    install -m 600 -o "$u" -g "$u" "$SSH_KNOWN_HOSTS" "$h/.ssh/known_hosts" || return 1
	sed -e "s|^\( *User \).*|\1$u|" -e "s|$SSH_KEY|$h/.ssh/id_ed25519|" \
	    -e "s|$SSH_KNOWN_HOSTS|$h/.ssh/known_hosts|" "$SSH_CONFIG" >"$ACCOUNT_SSH_CONFIG" &&
	    chown "$u:$u" "$ACCOUNT_SSH_CONFIG"
}

# sshd_account_remove: ends what the account of sshd_account runs (by pid:
# every process of that account is the test's) and removes it.
sshd_account_remove() {
	local p i
	[ -n "$SSHD_ACCOUNT" ] || return 0
	for i in $(seq 50); do
		p=$(pgrep -u "$SSHD_ACCOUNT")
		[ -z "$p" ] && break
		kill -9 $p 2>/dev/null
		sleep 0.1
	done
	for i in 1 2 3 4 5; do
		userdel "$SSHD_ACCOUNT" 2>/dev/null
		id "$SSHD_ACCOUNT" >/dev/null 2>&1 || break
		sleep 1
	done
	id "$SSHD_ACCOUNT" >/dev/null 2>&1 && echo "sshd-lib: cannot remove account $SSHD_ACCOUNT" >&2
	SSHD_ACCOUNT=
}

# sshd_cleanup: sshd_stop, then sshd_account_remove (the exit trap of
# sshd_setup, before lib.sh's t_cleanup).
sshd_cleanup() {
	sshd_stop
	sshd_account_remove
}

# sshd_setup: keys, configs, a free port and a running sshd.
sshd_setup() {
	local try
	command -v ss >/dev/null || sshd_die "ss (iproute2) is needed"
	command -v pgrep >/dev/null || sshd_die "pgrep (procps) is needed"
	# Before lib.sh's cleanup, which kills the listener alone.
	trap 'sshd_cleanup; t_cleanup' EXIT
	[ -x /usr/sbin/sshd ] || sshd_die "/usr/sbin/sshd is needed (openssh-server)"
	mkdir -p "$SSHD_DIR" && chmod 700 "$SSHD_DIR" || sshd_die "cannot create $SSHD_DIR"
	sshd_new_hostkey
	ssh-keygen -q -t ed25519 -N '' -C rcp-test-client -f "$SSH_KEY" </dev/null ||
	    sshd_die "ssh-keygen failed"
	cp "$SSH_KEY.pub" "$SSHD_DIR/authorized_keys"
	for try in 1 2 3 4 5 6 7 8; do
		SSHD_PORT=$((20000 + RANDOM % 40000))
		sshd_port_free "$SSHD_PORT" || continue
		sshd_write_configs
		sshd_start && break
		sshd_stop
		SSHD_PORT=
	done
	[ -n "$SSHD_PORT" ] || sshd_die "sshd did not start"
	export SSHD_PORT SSH_CONFIG SSH_KNOWN_HOSTS SSH_KEY
}
