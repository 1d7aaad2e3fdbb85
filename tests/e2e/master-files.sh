#!/bin/bash
# master-files.sh: a job's per-file ledger (rcpctl files).  A system-wide
# master runs an unprivileged user's local job over a tree with files and
# a directory the user cannot read and names that are not UTF-8: every
# failed entry is in the ledger with its cause, its path as bytes;
# --record-files lists every copied file, and the list is the copied tree;
# --errors shows the failures only; the listing comes in pages of at most
# 1,000 entries; another user gets "no job"; the ledger survives a restart
# of the master, and a kill -9 in the middle of a job (both attempts kept,
# the gap said); a small --ledger-max is hit and says what it left out;
# a remote job's error (from the agents, through the master's merged log)
# is in its ledger; a remote job with --record-files lists the files its
# destination agent copied (find's list of the destination, names not
# UTF-8 as bytes), one without lists none, a slow one fills its ledger
# while it runs; a ledger the master cannot write (EIO, from
# tests/fault/fault.so) leaves the copy going and says why it is empty;
# expired jobs take their ledgers with them.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/sshd-lib.sh"
. "$(dirname "$0")/master-lib.sh"

umask 022
sshd_setup
chmod 755 "$T"			# mktemp made it 0700: let the user in
trap 'sshd_stop; t_cleanup' EXIT
SH=127.0.0.2
DH=127.0.0.3

USER_=rcptest
id "$USER_" >/dev/null 2>&1 || useradd -M -s /usr/sbin/nologin "$USER_" 2>/dev/null ||
    id "$USER_" >/dev/null 2>&1 || { echo "cannot create user $USER_" >&2; exit 1; }
as_user() { setpriv --reuid "$USER_" --regid "$USER_" --clear-groups "$@"; }
uctl() { as_user "$RCPCTL" --socket "$SOCK" "$@"; }

# py SCRIPT: Python over the JSON lines of stdin (`lines`), with path(e),
# an entry's path as bytes (path_b64 when the name is not UTF-8).
py() {
	python3 -c "
import base64, json, os, sys
lines = [json.loads(l) for l in sys.stdin.buffer.read().splitlines()]
def path(e):
    return base64.b64decode(e['path_b64']) if 'path_b64' in e else e['path'].encode()
$1" "${@:2}"
}

# The source: 2,500 files (three pages of a listing), a file and a
# directory the user cannot read, names that are not UTF-8, one of them
# unreadable too.
S=$T/src
mkdir -p "$S/many" "$S/closed"
(cd "$S/many" && for i in $(seq 1 2500); do printf '%s\n' "$i" >"f$i"; done)
printf 'secret\n' >"$S/secret" && chmod 600 "$S/secret"
printf 'hidden\n' >"$S/closed/hidden" && chmod 700 "$S/closed"
printf 'latin\n' >"$S/"$'ok\xe9'
printf 'no\n' >"$S/"$'no\xfe' && chmod 600 "$S/"$'no\xfe'
chmod 755 "$S" "$S/many"
mkdir "$T/home" "$T/rootonly" && chown "$USER_:$USER_" "$T/home"
NCOPY=$(($(find "$S" -type f | wc -l) - 3))
BAD=$(printf '%s\n' "$S/closed" "$S/secret" "$S/"$'no\xfe' | LC_ALL=C sort | base64 -w0)

t_check "master starts" m_start --socket-mode 0666 --workers 2

# --- a user's job: every failure with its cause, every copied file ---------------------
t_check "user's job with --record-files: partial (exit 4)" t_run 4 "$T/out" uctl submit --wait --record-files "$S" "$T/home/c1"
t_check "files: exit 0" t_run 0 "$T/files1" uctl files 1
t_check "files: each failed entry" test "$(grep -c '^error: ' "$T/files1")" = 3
t_check "files: the cause of one" t_grep "^error: cannot open '$S/secret': Permission denied$" "$T/files1"
t_check "files: the unreadable directory" t_grep "^error: cannot open directory '$S/closed': Permission denied$" "$T/files1"
t_check "files: a name not UTF-8, escaped" t_grep "^error: cannot open '$S/no\\\\xfe': Permission denied$" "$T/files1"
t_check "files: every copied file" test "$(grep -c '^copied: ' "$T/files1")" = "$NCOPY"
t_check "files --json: exit 0" t_run 0 "$T/files1.json" uctl files --json 1
t_check "files --json: the copied files are the copied tree, as bytes" test "$(py '
got = sorted(path(e) for e in lines if e["kind"] == "file")
want = sorted(os.path.join(r, f) for r, d, fs in os.walk(sys.argv[1].encode()) for f in fs)
print(got == want and len(got) > 2500)' "$T/home/c1" <"$T/files1.json")" = True
t_check "files --json: the failed entries' paths, as bytes" test "$(py '
sys.stdout.buffer.write(base64.b64encode(b"".join(sorted(path(e) + b"\n" for e in lines if e["kind"] == "error"))))' <"$T/files1.json")" = "$BAD"
t_check "files --json: a summary line last, nothing dropped" test "$(py '
s = lines[-1]
print(s["kind"], s["state"], s["record_files"], s["ledger"]["errors"], s["ledger"]["files"], s["ledger"]["errors_dropped"], s["ledger"]["files_dropped"])' <"$T/files1.json")" = "summary partial True 3 $NCOPY 0 0"
t_check "files --errors: exit 0" t_run 0 "$T/out" uctl files --errors 1
t_check "files --errors: the failures only" test "$(grep -c '^error: cannot open.*Permission denied$' "$T/out") $(wc -l <"$T/out")" = "3 3"
t_check "files --errors --json: errors with cause and path" test "$(uctl files --errors --json 1 | py '
print(sorted(set(e["kind"] for e in lines)), all("Permission denied" in e["error"] and e["attempt"] == 1 for e in lines[:-1]), len(lines))')" = "['error', 'summary'] True 4"
t_check "status: still the first errors" test "$(uctl status --json 1 | jq -r '[.errors_total, (.errors | length), .ledger.errors] | join(" ")')" = "3 3 3"

# The socket's pages: a server-side cap, and a cursor that goes on.
t_check "files request: a page holds at most 1,000 entries; the pages add up" test "$(python3 - "$SOCK" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile('rb')
def call(m):
    s.sendall((json.dumps(m) + '\n').encode())
    return json.loads(f.readline())
call({'id': 0, 'method': 'hello', 'version': 1})
cursor, sizes, seen = 0, [], []
while True:
    r = call({'id': 1, 'method': 'files', 'job': 1, 'cursor': cursor, 'limit': 100000})['result']
    sizes.append(len(r['entries']))
    seen += [json.dumps(e, sort_keys=True) for e in r['entries']]
    if not r['more']:
        break
    cursor = r['next']
bad = call({'id': 2, 'method': 'files', 'job': 1, 'cursor': 10**12})
print(max(sizes), len(sizes) >= 3, len(seen) == len(set(seen)), len(seen), bad['error']['code'])
EOF
)" = "1000 True True $((NCOPY + 3)) invalid_argument"

# --- without --record-files: the failures only ------------------------------------------
t_check "job without --record-files: exit 4" t_run 4 "$T/out" uctl submit --wait "$S" "$T/home/c2"
t_check "its ledger: the three failures, no file" test "$(uctl files --json 2 | py '
print(len(lines) - 1, lines[-1]["ledger"]["files"], lines[-1]["record_files"])')" = "3 0 False"

# --- only the submitter (or root) ----------------------------------------------------------
t_check "root's job: exit 0" t_run 0 "$T/out" ctl submit --wait --record-files "$S/many" "$T/rootonly/r1"
t_check "root's job, run in the master's process: every copied file listed" test "$(ctl files 3 | grep -c "^copied: $T/rootonly/r1/f[0-9]*$")" = 2500
t_check "another user: refused (exit 1)" t_run 1 "$T/out" uctl files 3
t_check "another user: 'no job'" t_grep "no job 3" "$T/out"
t_check "another user: nothing of it shown" test "$(grep -c copied "$T/out")" = 0
t_check "root: may read a user's ledger" t_run 0 "$T/out" ctl files --errors 1
t_check "root: the same failures" test "$(grep -c '^error: ' "$T/out")" = 3
t_check "the ledgers: the master's own files" test "$(stat -c '%U %a' "$STATE/ledger" "$STATE/ledger/1" | sort -u | tr '\n' ' ')" = "root 600 root 700 "

# --- a crash and a restart: the ledger survives; a small cap is hit, and says so ---------
mkdir "$T/few"
(cd "$T/few" && for i in $(seq 1 30); do printf '%s\n' "$i" >"g$i"; done)
chmod 755 "$T/few"
cid=$(uctl submit --json --record-files --ops-throttle 10 "$T/few" "$T/home/c3" | jq -r .id)
t_check "a slow job runs" wait_running "$cid" 30
sleep 1.2			# a second: its first entries are on disk
{ kill -9 "$MPID"; wait "$MPID"; } 2>/dev/null
t_check "master restarts after kill -9, with --ledger-max 8K" m_start --socket-mode 0666 --workers 2 --ledger-max 8K
t_check "the interrupted job runs again to its end" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" wait "$cid"
t_check "its ledger: both attempts, counted from the file, the crash said" test "$(uctl files --json "$cid" 2>/dev/null | py '
s = lines[-1]
files = [e for e in lines if e["kind"] == "file"]
print(sorted(set(e["attempt"] for e in files)), s["ledger"]["files"] == len(files), "stopped during attempt 1" in s["ledger_error"])')" = "[1, 2] True True"
t_check "after the restart: the same ledger" t_run 0 "$T/files1b" uctl files 1
t_check "after the restart: identical" cmp -s "$T/files1" "$T/files1b"
t_check "capped job: exit 4" t_run 4 "$T/out" uctl submit --wait --record-files "$S" "$T/home/c4"
t_check "capped ledger: files exits 4" t_run 4 "$T/capped" uctl files 5
t_check "capped ledger: says what it left out" t_grep "^rcpctl: job 5's ledger is incomplete: 0 failed entries and [0-9]+ copied files not recorded \(over rcp-master's --ledger-max\)$" "$T/capped"
t_check "capped ledger: the failures kept, files counted" test "$(uctl files --json 5 2>/dev/null | py '
n = lines[-1]["ledger"]
kept = sum(1 for e in lines if e["kind"] == "file")
print(n["errors"], n["files"] == kept > 0, n["files"] + n["files_dropped"], sum(1 for e in lines if e["kind"] == "error"))')" = "3 True $NCOPY 3"
t_check "capped ledger: within the cap on disk" test "$(stat -c %s "$STATE/ledger/5")" -le 8192
mkdir "$T/locked"
(cd "$T/locked" && for i in $(seq 1 200); do printf 'x\n' >"l$i"; done && chmod 600 l*)
chmod 755 "$T/locked"
t_check "200 failures past a small cap: partial (exit 4)" t_run 4 "$T/out" uctl submit --wait "$T/locked" "$T/home/c5"
t_check "files --errors: exits 4, and says how many failures it lacks" t_run 4 "$T/out" uctl files --errors 6
n6=$(grep -c '^error: ' "$T/out")
t_check "  the failures it kept, and the count of the others" t_grep "^rcpctl: job 6's ledger is incomplete: $((200 - n6)) failed entries and 0 copied files not recorded" "$T/out"
t_check "status: the first 20, and where the rest are, as far as they go" t_grep "^  \(rcpctl files 6 --errors lists $n6 of them: its ledger is full\)$" <(uctl status 6)

# --- a remote job's error, from its agents ----------------------------------------------
# With -L, a symlink to its own parent is an error of the source's entry,
# found on the destination's agent and sent to the master as a log line.
mkdir -p "$T/lsrc/d" "$T/rx"
printf 'x\n' >"$T/lsrc/d/x"
ln -s .. "$T/lsrc/d/loop"
t_check "remote job with a symlink loop: partial (exit 4)" t_run 4 "$T/out" ctl submit --wait -L --ssh-config "$SSH_CONFIG" "$SH:$T/lsrc" "$DH:$T/rx/"
t_check "remote job: the copy that could be made" cmp -s "$T/lsrc/d/x" "$T/rx/lsrc/d/x"
t_check "remote job: its error in the ledger" t_run 0 "$T/out" ctl files --errors --json 7
t_check "remote job: the entry (on the source host) and the cause" test "$(py '
print(len(lines), lines[0]["path"], "directory loop" in lines[0]["error"])' <"$T/out")" = "2 $SH:$T/lsrc/d/loop True"

# --- a remote job's copied files, from its destination agent ----------------------------
# The destination's engine reports each file it copied to the master
# (FILES, up to 2,048 paths a message: the 2,500 of many/ take several),
# which puts them in the job's ledger as a local job's.  Root's agents read
# all of $S, the names that are not UTF-8 too.
RN=$(find "$S" -type f | wc -l)
m_stop
t_check "master restarts without the small --ledger-max" m_start --socket-mode 0666 --workers 2
t_check "remote job with --record-files: exit 0" t_run 0 "$T/out" ctl submit --wait --record-files --ssh-config "$SSH_CONFIG" "$SH:$S" "$DH:$T/rx2"
find "$T/rx2" -type f -print0 >"$T/rx2.find"
t_check "remote job: the whole copy is there" test "$(tr -cd '\0' <"$T/rx2.find" | wc -c)" = "$RN"
t_check "remote job: files --json exit 0" t_run 0 "$T/rfiles.json" ctl files --json 8
t_check "remote job: its copied files are find's of the destination, as bytes" test "$(py '
got = sorted(path(e) for e in lines if e["kind"] == "file")
want = sorted(open(sys.argv[1], "rb").read().split(b"\0")[:-1])
print(got == want, len(got) == len(set(got)))' "$T/rx2.find" <"$T/rfiles.json")" = "True True"
t_check "remote job: the names that are not UTF-8, as path_b64" test "$(py '
d = sys.argv[1].encode()
print(sorted(base64.b64decode(e["path_b64"]) for e in lines if e["kind"] == "file" and "path_b64" in e) == [d + b"/no\xfe", d + b"/ok\xe9"])' "$T/rx2" <"$T/rfiles.json")" = True
t_check "remote job: the summary counts them all, no error, nothing dropped" test "$(py '
s = lines[-1]
print(s["state"], s["record_files"], s["ledger"]["files"], s["ledger"]["errors"], s["ledger"]["files_dropped"])' <"$T/rfiles.json")" = "succeeded True $RN 0 0"
t_check "remote job: files lists them as 'copied: PATH'" test "$(ctl files 8 | grep -c "^copied: $T/rx2/many/f[0-9]*$")" = 2500
t_check "remote job without --record-files: exit 0" t_run 0 "$T/out" ctl submit --wait --ssh-config "$SSH_CONFIG" "$SH:$S/many" "$DH:$T/rx3"
t_check "  copied" test "$(find "$T/rx3" -type f | wc -l)" = 2500
t_check "  its ledger: no file, nothing failed" test "$(ctl files --json 9 | py '
print(len(lines), lines[-1]["ledger"]["files"], lines[-1]["record_files"])')" = "1 0 False"
# A slow one (30 files at 10 operations a second): the agent sends what it
# has on each progress tick, so the ledger fills while the job runs.
rid=$(ctl submit --json --record-files --ops-throttle 10 --ssh-config "$SSH_CONFIG" "$SH:$T/few" "$DH:$T/rx4" | jq -r .id)
t_check "slow remote job: runs" wait_running "$rid" 30
part=
for i in $(seq 1 300); do
	[ "$(job_field "$rid" state)" = running ] || break
	n=$(ctl files --json "$rid" | py 'print(sum(1 for e in lines if e["kind"] == "file"))')
	[ "$n" -gt 0 ] && [ "$n" -lt 30 ] && { part=$n; break; }
	sleep 0.1
done
t_check "slow remote job: some of its files in the ledger while it runs ($part of 30)" test -n "$part"
t_check "slow remote job: succeeds" t_run 0 "$T/out" guarded "$RCPCTL" --socket "$SOCK" wait "$rid"
t_check "slow remote job: then all 30, each once" test "$(ctl files "$rid" | grep "^copied: $T/rx4/g[0-9]*$" | sort -u | wc -l) $(ctl files "$rid" | wc -l)" = "30 30"

# --- a ledger that cannot be written ----------------------------------------------------
# tests/fault/fault.so fails the master's writes to job 11's ledger with EIO.
m_stop
touch "$T/eio-write"
export LD_PRELOAD=$RCP_BUILDDIR/tests/fault/fault.so ASAN_OPTIONS=verify_asan_link_order=0
export RCP_TEST_EIO=$T/eio RCP_TEST_EIO_NAME=ledger/11
t_check "master restarts, its writes to a ledger failing" m_start --socket-mode 0666
unset LD_PRELOAD ASAN_OPTIONS RCP_TEST_EIO RCP_TEST_EIO_NAME
t_check "a job whose ledger cannot be written: the copy goes on (exit 4)" t_run 4 "$T/out" uctl submit --wait "$S" "$T/home/c8"
t_check "  and its files are still copied" test "$(find "$T/home/c8" -type f | wc -l)" = "$NCOPY"
t_check "its ledger: files exits 4" t_run 4 "$T/out" uctl files 11
t_check "  and says why it is empty, naming the cause" t_grep "^rcpctl: job 11's ledger is incomplete: 3 failed entries and 0 copied files not recorded \(cannot write ledger '.*/ledger/11': Input/output error\)$" "$T/out"
t_check "  the counts: nothing kept, three dropped" test "$(uctl status --json 11 | jq -r '[.ledger.errors, .ledger.errors_dropped, .errors_total] | join(" ")')" = "0 3 3"
t_check "  and the master logged it" t_grep "job 11: cannot write ledger" "$T/master.log"
rm -f "$T/eio-write"

# --- expired jobs take their ledgers along -------------------------------------------------
m_stop
sleep 1.2
t_check "master restarts with --keep 1s" m_start --socket-mode 0666 --keep 1s
t_check "jobs that expired while it was down: gone" t_run 1 "$T/out" ctl files 1
t_check "their ledgers: removed at the start" test -z "$(ls "$STATE/ledger")"
as_user mkdir "$T/home/c6"
t_check "a new job: exit 4" t_run 4 "$T/out" uctl submit --wait --record-files "$S/closed" "$S/many/f1" "$T/home/c6/"
t_check "its ledger is there" test -s "$STATE/ledger/12"
gone=
for i in $(seq 1 300); do
	[ ! -e "$STATE/ledger/12" ] && { gone=1; break; }
	sleep 0.1
done
t_check "expired with its job (housekeeping): the ledger removed" test -n "$gone"
t_check "and the job is gone" t_run 1 "$T/out" uctl files 12

m_stop
t_check "master log: no crash, no sanitizer report" test -z "$(grep -E 'ERROR: |runtime error|Sanitizer' "$T/master.log")"
grep -q -E 'ERROR: |runtime error|Sanitizer' "$T/master.log" && grep -m1 -A40 -E 'ERROR: |runtime error|Sanitizer' "$T/master.log" | sed 's/^/  | /' >&2

t_done
