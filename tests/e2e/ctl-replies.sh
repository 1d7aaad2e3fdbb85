#!/bin/bash
# ctl-replies.sh: rcpctl against a fake master (a Python script on a Unix
# socket) whose replies lack members or give them the wrong type: every
# command that reads a reply says which member is wrong and exits 3,
# never crashes.  The fake answers the hello, then each request with the
# job in $T/job (for list, status, wait, watch, submit, batch, cancel) or
# as the whole result (stats, files).
. "$(dirname "$0")/lib.sh"

RCPCTL=$RCP_BUILDDIR/rcpctl
FSOCK=$T/fake.sock
JOB=$T/job

python3 - "$FSOCK" "$JOB" >"$T/fake.log" 2>&1 <<'PY' &
import json, os, socket, sys
path, jobfile = sys.argv[1], sys.argv[2]
srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
srv.bind(path)
srv.listen(8)
def serve(conn):
    f = conn.makefile('rb')
    def send(m):
        conn.sendall((json.dumps(m) + '\n').encode())
    job = json.load(open(jobfile))
    hello = {'protocol': 1, 'server': 'fake-master', 'uid': os.getuid(),
             'pid': os.getpid()}
    if isinstance(job, dict) and '__hello__' in job:
        hello = job['__hello__']
    for line in f:
        req = json.loads(line)
        rid, m = req.get('id'), req.get('method')
        one = {} if job == '__absent__' else {'job': job}
        if m == 'hello':
            send({'id': rid, 'result': hello})
        elif m in ('status', 'wait', 'submit', 'cancel'):
            send({'id': rid, 'result': one})
        elif m == 'list':
            send({'id': rid, 'result': {'jobs': [job]}})
        elif m == 'batch':
            send({'id': rid, 'result': {'jobs': [one]}})
        elif m == 'watch':
            send({'id': rid, 'event': 'progress', **one})
            send({'id': rid, 'event': 'end', **one})
        else:
            send({'id': rid, 'result': job})
while True:
    c, _ = srv.accept()
    try:
        serve(c)
    except (BrokenPipeError, ConnectionResetError):
        pass        # rcpctl hung up after refusing a reply: its right
    except Exception as e:
        print('fake master:', repr(e), flush=True)
    c.close()
PY
FPID=$!
t_track "$FPID"
for i in $(seq 1 100); do [ -S "$FSOCK" ] && break; sleep 0.05; done

# reply JOB CMD...: runs rcpctl CMD against the fake answering with JOB.
reply() {
	local job=$1; shift
	printf '%s\n' "$job" >"$JOB"
	"$RCPCTL" --socket "$FSOCK" "$@"
}

GOOD='{"id": 7, "state": "succeeded", "sources": ["/a"], "destination": "/b", "eta": 0, "bytes_done": 10, "files_done": 1, "errors": [], "errors_total": 0}'
NOSTATE='{"id": 7, "sources": ["/a"], "destination": "/b", "eta": 5, "bytes_total": 100, "bytes_done": 10}'
BADSTATE='{"id": 7, "state": 42, "eta": 5}'

t_check "the fake master answers a whole job: status exits 0" \
    t_run 0 "$T/out" reply "$GOOD" status 7
t_check "  and wait exits with the job's state" \
    t_run 0 "$T/out" reply "$GOOD" wait 7

# bad DESC PATTERN JOB CMD...: rcpctl exits 3 and names the member.
bad() {
	local desc=$1 pat=$2 job=$3; shift 3
	t_check "$desc: exit 3, no crash" t_run 3 "$T/out" reply "$job" "$@"
	t_check "  and names the member" \
	    t_grep "^rcpctl: malformed reply from the master: '$pat' " "$T/out"
}

bad "status, job without state" "job\.state" "$NOSTATE" status 7
bad "status --json, job without state" "job\.state" "$NOSTATE" status --json 7
bad "status, state not a string" "job\.state" "$BADSTATE" status 7
bad "status, state not a known one" "job\.state" '{"id": 7, "state": "asleep"}' status 7
bad "status, no job at all" "job" '"__absent__"' status 7
bad "status, job not an object" "job" '[1, 2]' status 7
bad "status, id not a number" "job\.id" '{"id": "7", "state": "running"}' status 7
bad "status, sources not strings" "job\.sources" '{"id": 7, "state": "running", "sources": [1]}' status 7
bad "status, bytes_done not a number" "job\.bytes_done" '{"id": 7, "state": "running", "bytes_done": "lots"}' status 7
bad "status without an id (live jobs), job without state" "jobs\[0\]\.state" "$NOSTATE" status
bad "list, job without state" "jobs\[0\]\.state" "$NOSTATE" list
bad "list, state not a string" "jobs\[0\]\.state" "$BADSTATE" list
bad "list, item not an object" "jobs\[0\]" '"job"' list
bad "wait, job without state" "job\.state" "$NOSTATE" wait 7
bad "wait --json, job without state" "job\.state" "$NOSTATE" wait --json 7
bad "wait, state not a string" "job\.state" "$BADSTATE" wait 7
bad "wait, no job" "job" '"__absent__"' wait 7
bad "watch, job without state" "job\.state" "$NOSTATE" watch 7
bad "watch --json, state not a string" "job\.state" "$BADSTATE" watch --json 7
bad "cancel, job without state" "job\.state" "$NOSTATE" cancel 7
bad "submit, job without id" "job\.id" '{"state": "queued"}' submit "$T/a" "$T/b"
bad "submit --wait, job without state" "job\.state" "$NOSTATE" submit --wait "$T/a" "$T/b"
bad "batch, job without state" "jobs\[0\]\.job\.state" "$NOSTATE" batch <(echo "$T/a $T/b")
bad "stats, an empty result" "queued" '{}' stats
bad "stats, jobs not an object" "jobs" '{"queued": 0, "running": 0, "workers": 1, "throughput": 0, "clients": 1, "jobs": 3}' stats
PAGE='"more": false, "next": 0, "ledger": {"errors": 1}, "state": "partial"'
bad "files, an empty result" "entries" '{}' files 7
bad "files, next not a number" "next" '{"entries": [], "more": false, "next": "x", "ledger": {}, "state": "partial"}' files 7
bad "files, no counts" "ledger" '{"entries": [], "more": false, "next": 0, "state": "partial"}' files 7
bad "files, a page that does not move on" "next" '{"entries": [], "more": true, "next": 0, "ledger": {}, "state": "partial"}' files 7
t_check "  rather than asking for it again and again" t_grep "'next' 0 does not move past the cursor 0$" "$T/out"
t_check "files, entries of kinds and members unknown: exit 0, no crash" \
    t_run 0 "$T/out" reply '{"entries": [3, {"kind": 5}, {"kind": "later"}, {"kind": "error"}, {"kind": "file", "path": "/x"}], '"$PAGE"'}' files 7
t_check "  the known ones shown" test "$(cat "$T/out")" = "$(printf 'error: -\ncopied: /x')"
bad "ping, a hello without the server's name" "hello\.server" '{"__hello__": {"protocol": 1}}' ping

kill "$FPID" 2>/dev/null
wait "$FPID" 2>/dev/null
t_check "the fake master saw only well-formed requests" \
    test ! -s "$T/fake.log"
t_done
