#!/bin/bash
# master-protocol.sh: rcp-master against raw socket clients (Python, as a
# script would use socat): the hello, ids echoed, unknown members ignored,
# error replies with stable codes for malformed JSON, oversized lines,
# unknown methods and bad arguments; the per-connection request cap; and
# clients that misbehave -- silent, garbage, gone mid-watch -- are answered
# or dropped while the others are served; the socat recipe of the doc.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"

S=$T/src
"$FILEGEN" -q -s 2 "$S" 2,2 25 1K-8K
t_check "master starts" m_start --workers 2 --hello-timeout 1s

# raw SCRIPT: runs Python with a connected socket `s` and helpers:
# send(obj or bytes), recv() -> next message (None at EOF), hello().
raw() {
	python3 - "$SOCK" "$@" <<EOF
import json, socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile('rb')
def send(m):
    s.sendall(m if isinstance(m, bytes) else (json.dumps(m) + '\n').encode())
def recv():
    l = f.readline()
    return json.loads(l) if l else None
def hello():
    send({'id': 0, 'method': 'hello', 'version': 1}); return recv()
def code(m):
    return m['error']['code'] if m and 'error' in m else None
$(cat)
EOF
}

# --- the hello and the shape of replies ----------------------------------------------
t_check "request before hello: hello_required" test "$(raw <<'EOF'
send({'id': 1, 'method': 'list'}); print(code(recv()))
EOF
)" = hello_required
t_check "hello: protocol 1, the peer's uid" test "$(raw <<'EOF'
r = hello()['result']; print(r['protocol'], r['uid'])
EOF
)" = "1 $(id -u)"
t_check "wrong version: version_mismatch, then closed" test "$(raw <<'EOF'
send({'id': 'h', 'method': 'hello', 'version': 2}); m = recv()
print(m['id'], code(m), recv())
EOF
)" = "h version_mismatch None"
t_check "ids echoed (numbers and strings); unknown members ignored" test "$(raw <<'EOF'
hello()
send({'id': 'abc', 'method': 'version', 'future': [1, {'x': 2}]}); a = recv()
send({'id': 42, 'method': 'ping'}); b = recv()
print(a['id'], a['result']['protocol'], b['id'], b['result']['pong'])
EOF
)" = "abc 1 42 True"

# --- error replies; the connection goes on ----------------------------------------------
t_check "malformed input: error replies, the connection survives" test "$(raw <<'EOF'
hello()
out = []
for bad in [b'{"id":1,', b'[1,2,3]', b'"str"', b'\xff\xfe\x00', b'{"id":1,"id":2,"method":"ping"}']:
    send(bad + b'\n'); out.append(code(recv()))
send({'method': 'ping'}); out.append(code(recv()))
send({'id': [1], 'method': 'ping'}); out.append(code(recv()))
send({'id': 3}); out.append(code(recv()))
send({'id': 4, 'method': 'frobnicate'}); m = recv(); out.append(code(m) + ':' + str(m['id']))
send({'id': 5, 'method': 'ping'}); out.append('pong' if recv()['result']['pong'] else 'x')
print(' '.join(out))
EOF
)" = "parse_error parse_error parse_error parse_error parse_error bad_request bad_request bad_request unknown_method:4 pong"
t_check "oversized line: line_too_long, then served" test "$(raw <<'EOF'
hello()
send(b'{"id":1,"x":"' + b'y' * (3 << 20) + b'"}\n'); a = code(recv())
send({'id': 2, 'method': 'ping'}); print(a, recv()['id'])
EOF
)" = "line_too_long 2"
t_check "bad arguments: invalid_argument naming the member or option" test "$(raw <<EOF
hello()
out = []
for req in [{'method': 'status', 'job': 'x'}, {'method': 'status'},
            {'method': 'list', 'state': 'bogus'},
            {'method': 'submit', 'sources': ['$S'], 'destination': '$T/r1', 'options': ['--frob']},
            {'method': 'submit', 'sources': ['$S'], 'destination': '$T/r1', 'options': ['--max-workers', 'many']},
            {'method': 'submit', 'sources': 'a', 'destination': '$T/r1'},
            {'method': 'submit', 'sources': ['rel'], 'destination': '$T/r1'}]:
    req['id'] = len(out); send(req); m = recv()
    out.append(code(m) + ('+' if "'--frob'" in m['error']['message'] or '--max-workers' in m['error']['message'] else ''))
print(' '.join(out))
EOF
)" = "invalid_argument invalid_argument invalid_argument invalid_argument+ invalid_argument+ invalid_argument invalid_argument"
t_check "remote sources on two hosts: refused, with a clear message" test "$(raw <<EOF
hello()
send({'id': 1, 'method': 'submit', 'sources': ['h1:/data', 'h2:/data'], 'destination': '$T/r2/'}); m = recv()
print(code(m), 'must be on one host' in m['error']['message'])
EOF
)" = "invalid_argument True"
t_check "nothing was copied by refused submits" test ! -e "$T/r1" -a ! -e "$T/r2"
t_check "socat style: requests in one write, then EOF: all answered" test "$(raw <<'EOF'
send(b'{"id":1,"method":"hello","version":1}\n{"id":2,"method":"version"}\n{"id":3,"method":"stats"}\n')
s.shutdown(socket.SHUT_WR)
ids = []
while True:
    m = recv()
    if m is None: break
    ids.append(m['id'])
print(ids)
EOF
)" = "[1, 2, 3]"
t_check "requests past the per-connection cap: too_many_requests, closed" test "$(raw <<'EOF'
hello()
send(b'{"id":1,"method":"ping"}\n' * 100000)
n, last = 0, None
while True:
    m = recv()
    if m is None: break
    n += 1; last = m
print(n, code(last))
EOF
)" = "100000 too_many_requests"

# --- clients that misbehave ---------------------------------------------------------------
python3 -c "import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); time.sleep(30)" "$SOCK" &
silent=$!
t_track "$silent"
sleep 0.2
t_check "a silent client does not hold others up" t_run 0 "$T/out" ctl ping
t_check "a silent client is dropped after --hello-timeout" test "$(raw <<'EOF'
t = time.time(); m = recv(); e = recv()
print(code(m), e, time.time() - t < 5)
EOF
)" = "hello_required None True"
kill "$silent" 2>/dev/null
for i in $(seq 1 50); do
	head -c $((RANDOM % 5000)) /dev/urandom | python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); s.close()" "$SOCK" 2>/dev/null
done
t_check "50 clients of random bytes: master alive" kill -0 "$MPID"
t_check "50 clients of random bytes: still serving" t_run 0 "$T/out" ctl ping

id=$(ctl submit --json --ops-throttle 100 "$S" "$T/dw" | jq -r .id)
t_check "a client gone mid-watch: it saw events" test "$(raw <<EOF
hello()
send({'id': 7, 'method': 'watch', 'job': $id, 'interval_ms': 100})
a = recv(); b = recv(); s.close()
print(a['id'], 'result' in a, b['id'], b['event'])
EOF
)" = "7 True 7 progress"
t_check "a client gone mid-watch: others served" t_run 0 "$T/out" ctl ping
t_check "a client gone mid-watch: the job goes on to its end" t_run 0 "$T/out" ctl wait "$id"
t_check "a client gone mid-watch: data right" diff -r "$S" "$T/dw"
t_check "watch to the end: progress events, then end" test "$(raw <<EOF
hello()
send({'id': 1, 'method': 'submit', 'sources': ['$S'], 'destination': '$T/dw2', 'options': ['--ops-throttle', '150']})
j = recv()['result']['job']['id']
send({'id': 2, 'method': 'watch', 'job': j, 'interval_ms': 100})
evs = []
while True:
    m = recv()
    if 'event' in m:
        evs.append(m['event'])
        if m['event'] == 'end': print(evs.count('progress') > 0, evs[-1], m['job']['state']); break
EOF
)" = "True end succeeded"
t_check "master log: no crash, no sanitizer report" test -z "$(grep -E 'ERROR: |runtime error|Sanitizer' "$T/master.log")"
m_stop
t_check "graceful stop: exit status 0" sh -c "wait $MPID 2>/dev/null; true"

# --- the socat recipe of doc/ctl-protocol.md, as written there -----------------------
# Its code block, with the doc's socket and paths swapped for this test's.
sed -n '/^## With socat/,/^## /p' "$RCP_SRCDIR/doc/ctl-protocol.md" |
    sed -n '/^```sh$/,/^```$/p' | sed '1d;$d' |
    sed -e "s|\$XDG_RUNTIME_DIR/rcp/master.sock|$SOCK|" -e "s|/data/a|$S|" \
        -e "s|/backup/a|$T/socat-out|" >"$T/recipe.sh"
t_check "socat recipe: found in the doc" t_grep "socat .*UNIX-CONNECT" "$T/recipe.sh"
rm -rf "$STATE"
t_check "socat recipe: a fresh master" m_start --workers 1
t_check "socat recipe: runs" t_run 0 "$T/out" bash -e "$T/recipe.sh"
t_check "socat recipe: the job succeeded" test "$(tail -n 1 "$T/out")" = succeeded
t_check "socat recipe: data equal" t_run 0 "$T/cmp" "$RCMP" "$S" "$T/socat-out"
m_stop

t_done
