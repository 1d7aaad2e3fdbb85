#!/bin/bash
# master-list.sh: a master with many finished jobs lists them all through
# rcpctl, in pages, with its memory bounded.  The jobs are written straight
# into the journal in its on-disk format (one {"job": ...} line each, the
# record of a real job with only its id changed), as a master that ran them
# would have left it.  RCP_LIST_JOBS (default 5,000) sets how many; the
# cap on the master's peak RSS is RCP_LIST_RSS_MB (default 256).
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"

N=${RCP_LIST_JOBS:-5000}
CAP_MB=${RCP_LIST_RSS_MB:-256}
# Under AddressSanitizer (CI's build) shadow memory and the free quarantine
# triple a process's footprint: the same bound, in its units.
if ldd "$RCP_BUILDDIR/rcp-master" 2>/dev/null | grep -q libasan; then
	CAP_MB=$((CAP_MB * 3))
fi
mkdir -p "$T/src" && printf 'x\n' >"$T/src/f"

t_check "master starts" m_start --workers 1
t_check "a real job, as the template" t_run 0 "$T/out" ctl submit --wait --label many "$T/src" "$T/dst"
m_stop
python3 - "$STATE/journal" "$N" <<'PY' || exit 1
import json, sys
path, n = sys.argv[1], int(sys.argv[2])
recs = [json.loads(l) for l in open(path) if l.strip()]
tmpl = [r["job"] for r in recs if "job" in r and r["job"]["state"] == "succeeded"][-1]
with open(path, "w") as f:
    for i in range(1, n + 1):
        tmpl["id"] = i
        f.write(json.dumps({"job": tmpl}, separators=(",", ":")) + "\n")
    f.write(json.dumps({"next_id": n + 1}) + "\n")
PY
t_check "master starts on $N jobs" m_start --workers 1
t_check "list: exit 0" t_run 0 "$T/list" ctl list
t_check "list: all $N jobs, one row each" test "$(grep -c ' succeeded ' "$T/list")" = "$N"
t_check "list: one header" test "$(grep -c '^ID ' "$T/list")" = 1
t_check "list --json: $N objects, ids 1 to $N in order" test "$(ctl list --json | jq -r .id | awk -v n="$N" '$1 == NR { k++ } END { print (k == n && NR == n) }')" = 1
t_check "list --limit 10: the last 10" test "$(ctl list --json --limit 10 | jq -r .id | tr '\n' ' ')" = "$(seq $((N - 9)) "$N" | tr '\n' ' ')"
t_check "list --limit 1500: across pages" test "$(ctl list --json --limit 1500 | wc -l)" = 1500
t_check "list --label: all of them" test "$(ctl list --json --label many | wc -l)" = "$N"
t_check "list --state queued: none" test "$(ctl list --json --state queued | wc -l)" = 0
# One reply never nears the line cap: the biggest page, raw.
printf '%s\n' '{"id":0,"method":"hello","version":1}' '{"id":1,"method":"list","page":100000}' '{"id":2,"method":"list"}' |
    timeout -k 5 60 python3 -c '
import socket, sys, json
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
f = s.makefile("rb"); out = []
for _ in range(3):
    l = f.readline(); out.append((len(l), json.loads(l)))
print(out[1][0], len(out[1][1]["result"]["jobs"]), out[1][1]["result"]["more"], "error" in out[2][1] and out[2][1]["error"]["code"])
' "$SOCK" >"$T/raw" 2>&1
read -r bytes njobs more err <"$T/raw"
t_check "a page: at most 1,000 jobs, under 1 MiB ($njobs jobs, $bytes bytes)" test "${njobs:-0}" -le 1000 -a "${bytes:-9999999}" -lt 1048576 -a "$more" = True
t_check "an unpaged list too long for one reply: an error, not a cut list" test "$err" = invalid_argument
hwm=$(awk '/VmHWM/ { print int($2 / 1024) }' /proc/"$MPID"/status)
t_check "master's peak RSS ${hwm} MiB under ${CAP_MB} MiB" test "$hwm" -lt "$CAP_MB"
m_stop
t_done
