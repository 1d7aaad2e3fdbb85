#!/bin/bash
# ssh.sh: the SSH layer (src/net/ssh.c, driven by tests/ssh-probe) against a real
# sshd: commands, exit statuses, streams, channels in parallel, timeouts,
# host key checking, authentication failures and the harness itself.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"

E2E_DIR=$(cd "$(dirname "$0")" && pwd)
PROBE=$RCP_BUILDDIR/tests/ssh-probe
unset SSH_AUTH_SOCK
sshd_setup
# Logins and channel requests block for up to the connect timeout, 10 s by
# default: a speed claim that a CI machine, loaded by a parallel build and
# its sanitizers, can break (8 channels opened at once queue behind one
# another).  60 s is a hang guard; the tests of the timeout itself below
# set their own.
P() { "$PROBE" -F "$SSH_CONFIG" -t 60000 "$@"; }
H=127.0.0.1

# The harness: OpenSSH itself accepts the config, known_hosts and key.
t_check "openssh client runs a command with the harness config" \
    t_run 0 "$T/out" ssh -F "$SSH_CONFIG" 127.0.0.3 'echo via-openssh'
t_check "openssh client output" t_grep '^via-openssh$' "$T/out"
echo scp-data >"$T/scp-src"
t_check "scp works through the sftp subsystem" \
    t_run 0 "$T/out" scp -F "$SSH_CONFIG" -q "$T/scp-src" "127.0.0.2:$T/scp-dst"
t_check "scp copied the file" cmp -s "$T/scp-src" "$T/scp-dst"

# Commands: stdout, exit status, stderr apart from stdout.
t_check "run returns the exit status" t_run 3 "$T/out" P run $H 'echo hello; exit 3'
t_check "run returns stdout" test "$(cat "$T/out")" = hello
P run $H 'echo to-out; echo to-err >&2' >"$T/o" 2>"$T/e"
t_check "stdout holds only stdout" test "$(cat "$T/o")" = to-out
t_check "stderr holds only stderr" test "$(cat "$T/e")" = to-err
t_check "a signal gives 128+signal" t_run 143 "$T/out" P run $H 'kill -TERM $$'
t_check "quoting survives the remote shell" \
    t_run 0 "$T/out" P run $H "printf '%s|' 'it'\\''s' \"\$(echo a b)\""
t_check "quoted output" test "$(cat "$T/out")" = "it's|a b|"

# Binary data through stdin: 1 MiB via run's input, and via a remote cat
# written from one thread while this one reads.
head -c 1048576 /dev/urandom >"$T/bin"
P -s run $H cat <"$T/bin" >"$T/bin-back"
t_check "1 MiB of binary stdin comes back from cat (run)" cmp -s "$T/bin" "$T/bin-back"
t_check "1 MiB through cat, written and read from two threads" \
    t_run 0 "$T/out" P cat $H 1M
t_check "cat echoed every byte" t_grep '^sent 1048576, received 1048576, status 0' "$T/out"

# Channels of one session used from 8 threads at once.  Each command waits
# at a barrier in $T/barrier until all 8 have arrived, and only then prints
# its token: 8 right tokens prove that the 8 ran at the same time, whatever
# the machine's load (a command gives up after about 60 s: a hang guard).
mkdir "$T/barrier"
t_check "8 parallel channels on one session" t_run 0 "$T/out" P parallel $H 8 "$T/barrier"
t_check "all 8 came back right" t_grep '^8 of 8 channels ok' "$T/out"
t_check "they ran concurrently (all 8 met at the barrier)" \
    test "$(ls "$T/barrier" | wc -l)" = 8 -a "$(grep -c '^channel [0-9]*: ok: line .token-' "$T/out")" = 8
t_check "no command gave up at the barrier" eval "! grep -q barrier-timeout '$T/out'"

# Request/reply from two threads on two channels: a thread must not sleep on
# a reply that the other thread's step already read off the socket.
t_check "two threads ping-pong lines on two channels" t_run 0 "$T/out" P pingpong $H 300
t_check "every round trip came back right" test "$(grep -c ' 300 of 300 round trips, .*: success$' "$T/out")" = 2
# A thread sleeping on data already delivered to its buffer sleeps out a
# whole wait slice (SSH_WAIT_MAX_MS, 1 s) before it looks again: every round
# trip doing so would take 300 s, a fifth of them 60 s.  Normal is well
# under a second, so 60 s a thread is a hang guard that still catches a
# lost wake-up that is not rare.  The speed itself is a benchmark's
# (make bench-ssh), not a test's.
t_check "with no sleeping on delivered data (hang guard: 300 round trips < 60 s)" \
    awk '/round trips/ { if ($8 * $3 >= 60000) bad = 1 } END { exit bad }' "$T/out"

# Timeouts and lines.
t_check "wait and read time out on a sleeping command" t_run 0 "$T/out" P timeout $H
t_check "timeout details" t_grep '^wait: timed out after [0-9]+ ms; read: timed out' "$T/out"
rpid=$(sed -n 's/^remote pid \([0-9][0-9]*\)$/\1/p' "$T/out")
# Logged in as root, sshd refuses the TERM the probe sends: end it by pid.
[ -n "$rpid" ] && kill "$rpid" 2>/dev/null
t_check "read_line: lines, TOOBIG, EOF before a newline" t_run 0 "$T/out" P lines $H

# The local address is the one the server sees us at.
t_check "local address towards 127.0.0.1" t_run 0 "$T/la1" P localaddr 127.0.0.1
t_check "it is 127.0.0.1" test "$(cat "$T/la1")" = 127.0.0.1
t_check "local address towards 127.0.0.2" t_run 0 "$T/la2" P localaddr 127.0.0.2
P run 127.0.0.2 'echo $SSH_CONNECTION' >"$T/conn2"
t_check "the server sees the same address" \
    test "$(cut -d' ' -f1 "$T/conn2")" = "$(cat "$T/la2")"
# On loopback Linux picks lo's primary address, not the destination.
t_check "which is 127.0.0.1 (loopback source)" test "$(cat "$T/la2")" = 127.0.0.1
t_check "127.0.0.3 answers as a third host" t_run 0 "$T/out" P run 127.0.0.3 'echo $SSH_CONNECTION'
t_check "its connection goes to 127.0.0.3" t_grep " 127\.0\.0\.3 $SSHD_PORT\$" "$T/out"

# ssh_config keywords libssh applies: Hostname, Port, User, IdentityFile,
# UserKnownHostsFile; an explicit user beats the config's User.
cat >"$T/alias_config" <<EOF
Host myalias
    Hostname 127.0.0.2
    Port $SSHD_PORT
    User nosuchuser
    IdentityFile $SSH_KEY
    UserKnownHostsFile $SSH_KNOWN_HOSTS
EOF
t_check "config Hostname/Port/User are applied" \
    t_run 255 "$T/out" "$PROBE" -F "$T/alias_config" run myalias true
t_check "config User shows in the auth failure" \
    t_grep "^ssh-probe: authentication to 'nosuchuser@myalias' failed: no key was accepted \(tried: '$SSH_KEY'\)" "$T/out"
t_check "user@alias overrides the config User" \
    t_run 0 "$T/out" "$PROBE" -F "$T/alias_config" run root@myalias 'echo $SSH_CONNECTION'
t_check "alias reached 127.0.0.2" t_grep " 127\.0\.0\.2 $SSHD_PORT\$" "$T/out"
t_check "a missing config file is an error" \
    t_run 255 "$T/out" "$PROBE" -F "$T/nonexistent" run $H true
t_check "missing config message" t_grep "^ssh-probe: cannot read ssh config '$T/nonexistent': No such file" "$T/out"

# Host keys: unknown refused and nothing runs; accept-new adds it.
: >"$T/empty_kh"
rm -f "$T/ran"
t_check "unknown host key is refused" \
    t_run 255 "$T/out" P -k "$T/empty_kh" run $H "touch $T/ran"
t_check "unknown key message" \
    t_grep "^ssh-probe: host key of '\[127\.0\.0\.1\]:$SSHD_PORT' \(ssh-ed25519 SHA256:[A-Za-z0-9+/]{43}\) is not in '$T/empty_kh'; refusing to connect \(verify it and add it, or pass accept-new\)$" "$T/out"
t_check "the command did not run" test ! -e "$T/ran"
t_check "known_hosts was left alone" test ! -s "$T/empty_kh"
t_check "a missing known_hosts file is refused too" \
    t_run 255 "$T/out" P -k "$T/kh-dir/known_hosts" run $H true
t_check "message for the missing file" t_grep "is not in '$T/kh-dir/known_hosts'; refusing" "$T/out"
t_check "accept-new accepts an unknown key" \
    t_run 0 "$T/out" P -a -k "$T/kh-dir/known_hosts" run $H 'echo accepted'
t_check "accept-new ran the command" t_grep '^accepted$' "$T/out"
t_check "accept-new wrote the key" \
    test "$(cat "$T/kh-dir/known_hosts")" = "$(sshd_known_hosts_lines | head -1)"
t_check "the added key is then known without accept-new" \
    t_run 0 "$T/out" P -k "$T/kh-dir/known_hosts" run $H true

# Authentication failures.
ssh-keygen -q -t ed25519 -N '' -f "$T/wrong_key" </dev/null
sed "s|IdentityFile .*|IdentityFile $T/wrong_key|" "$SSH_CONFIG" >"$T/wrong_config"
t_check "a key the server does not know fails" \
    t_run 255 "$T/out" "$PROBE" -F "$T/wrong_config" run $H "touch $T/ran"
t_check "auth failure message names user, host and key" \
    t_grep "^ssh-probe: authentication to 'root@127\.0\.0\.1' failed: no key was accepted \(tried: '$T/wrong_key'\)$" "$T/out"
t_check "an explicit identity is tried first, then the config's" \
    t_run 0 "$T/out" P -i "$T/wrong_key" run $H true
t_check "an explicit identity alone can be the right one" \
    t_run 0 "$T/out" "$PROBE" -F "$T/wrong_config" -i "$SSH_KEY" run $H true
t_check "a missing identity file is an error" \
    t_run 255 "$T/out" P -i "$T/nokey" run $H true
t_check "missing identity message" t_grep "^ssh-probe: cannot read identity '$T/nokey': no such file" "$T/out"
t_check "nothing ran after failed logins" test ! -e "$T/ran"

# Connection failures: a closed port fails at once; a server that never
# answers fails after the connect timeout.  No speed claims: a hang guard
# (timeout 60, exit 124) tells "at once" from "after the connect timeout"
# by making that timeout far longer than the guard.
t_check "a closed port fails, without waiting out a 10 min connect timeout" \
    t_run 255 "$T/out" timeout -k 5 60 "$PROBE" -F "$SSH_CONFIG" -t 600000 run 127.0.0.1:1 true
t_check "closed port message names host and port" \
    t_grep "^ssh-probe: cannot connect to '127\.0\.0\.1' port 1: .*refused" "$T/out"
kill -STOP "$SSHD_PID"
start=$(date +%s%N)
t_check "a silent server fails after the connect timeout" \
    t_run 255 "$T/out" timeout -k 5 60 "$PROBE" -F "$SSH_CONFIG" -t 700 run $H true
elapsed=$((($(date +%s%N) - start) / 1000000))
kill -CONT "$SSHD_PID"
t_check "silent server message" t_grep "^ssh-probe: cannot connect to '127\.0\.0\.1' port $SSHD_PORT: " "$T/out"
# Not before the timeout (a lower bound: load cannot make it flake).
t_check "not before the 0.7 s timeout (${elapsed} ms)" test "$elapsed" -ge 600

# The connection dropping under a running command (its sshd process is
# killed) is an error at once, not a hang: the probe's run would time out
# after 20 s with "did not finish within", so the message is the evidence;
# timeout 60 is only a hang guard.
t_check "a dropped connection fails" \
    t_run 254 "$T/out" timeout -k 5 60 "$PROBE" -F "$SSH_CONFIG" run $H 'kill -9 $PPID; sleep 2'
t_check "dropped connection message: the connection was lost, no timeout" \
    t_grep "^ssh-probe: cannot run 'kill -9 \\\$PPID; sleep 2' on '127\.0\.0\.1': connection to '127\.0\.0\.1' lost: " "$T/out"

# A changed host key is refused even with accept-new.
sshd_new_hostkey
sshd_restart
rm -f "$T/ran"
t_check "a changed host key is refused with accept-new" \
    t_run 255 "$T/out" P -a -k "$T/kh-dir/known_hosts" run $H "touch $T/ran"
t_check "changed key message warns of man-in-the-middle" \
    t_grep "^ssh-probe: host key of '\[127\.0\.0\.1\]:$SSHD_PORT' has CHANGED \(now ssh-ed25519 SHA256:.*\): possible man-in-the-middle attack; refusing to connect" "$T/out"
t_check "the command did not run" test ! -e "$T/ran"
t_check "known_hosts still holds the old key only" test "$(wc -l <"$T/kh-dir/known_hosts")" = 1
t_check "changed key is refused by the harness known_hosts too" \
    t_run 255 "$T/out" P run $H true
sed 's/StrictHostKeyChecking yes/StrictHostKeyChecking no/' "$SSH_CONFIG" >"$T/lax_config"
t_check "and with StrictHostKeyChecking no in the config" \
    t_run 255 "$T/out" "$PROBE" -F "$T/lax_config" -k "$T/empty_kh" run $H true
t_check "config's StrictHostKeyChecking no does not let an unknown key in" \
    t_grep "is not in '$T/empty_kh'; refusing" "$T/out"

# The harness ends its sshd: run a whole test in a child, which leaves a
# session running, and look after it.
cat >"$T/child.sh" <<EOF
. "$E2E_DIR/lib.sh"
. "$E2E_DIR/sshd-lib.sh"
sshd_setup
ssh -F "\$SSH_CONFIG" 127.0.0.1 'echo \$\$; exec sleep 30' >"$T/child-session" &
t_track \$!
for i in \$(seq 100); do [ -s "$T/child-session" ] && break; sleep 0.05; done
echo "\$SSHD_PID \$SSHD_PORT \$T" >"$T/child-info"
EOF
t_check "a child test starts an sshd" t_run 0 "$T/out" bash "$T/child.sh"
read -r cpid cport cdir <"$T/child-info"
t_check "the child's sshd pid was known" test -n "$cpid"
# alive PID: PID runs (a zombie does not: this container's init may not reap).
alive() { local st; st=$(ps -o stat= -p "$1" 2>/dev/null) && [ "${st#Z}" = "$st" ]; }
t_check "its sshd is gone after the child's exit" eval "! alive $cpid"
spid=$(cat "$T/child-session")
t_check "the child's session had started" test -n "$spid"
t_check "the command of its session is gone too" eval "! alive $spid"
t_check "nothing listens on its port" sshd_port_free "$cport"
t_check "its work directory is gone" test ! -e "$cdir"

t_done
