#!/bin/bash
# master-suite.sh: rm, link and chmod jobs of a real system-wide rcp-master
# (rcpctl rm|link|chmod).  They leave what rrm, rlink and rchm leave; as an
# unprivileged submitter they run as that user, so what the user may not
# remove, change or link is refused with its cause in the job's errors (and
# its ledger) and left as it was; a running rm job canceled ends canceled
# with its tree partly there and nothing outside it removed; a queued rm job
# survives a master restart (journal) and a running link job resumes; exit
# codes and states as copies'; --json and list show the kind; batch lines
# may be of any kind; a tool option's value is never taken for an option of
# rcpctl's; usage errors exit 2 with their cause.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"
. "$(dirname "$0")/suite-lib.sh"
suite_user
UID_=$(id -u "$SUITE_USER")
uctl() { as_user "$RCPCTL" --socket "$SOCK" "$@"; }
# gctl, guctl: ctl and uctl under the hang guard (a job here ends in seconds).
gctl() { guarded "$RCPCTL" --socket "$SOCK" "$@"; }
guctl() { guarded setpriv --reuid "$SUITE_USER" --regid "$SUITE_USER" --clear-groups "$RCPCTL" --socket "$SOCK" "$@"; }
# tree DIR: each entry's path, type, mode, owner, group and link count.
tree() { (cd "$1" && find . -printf '%P %y %m %u %g %n\n' | LC_ALL=C sort); }
# job_procs [USER]: this test's job processes (of USER).
job_procs() {
	local p
	for p in $(pgrep ${1:+-u "$1"} -f '^rcp-master-job --rcp-runner-child'); do
		t_descends "$p" $$ && echo "$p"
	done
	return 0
}
# same_tree A B: tree A is tree B (the first differences shown if not).
same_tree() { diff <(tree "$1") <(tree "$2") >"$T/tree.diff" && return 0; head -c 2000 "$T/tree.diff" >&2; return 1; }
# same_inode A B: A and B are hard links of one file.
same_inode() { test "$(stat -c %i "$1")" = "$(stat -c %i "$2")"; }

t_check "system-wide master starts" m_start --socket-mode 0666 --workers 2

# --- each kind against its tool, on the awkward fixture ---------------------------
mkdir "$T/outside" && printf keep >"$T/outside/canary"
suite_fixture "$T/r1" && suite_fixture "$T/r2"
ln -s "$T/outside" "$T/r1/to-outside" && ln -s "$T/outside" "$T/r2/to-outside"
t_check "rm job: exit 0" t_run 0 "$T/out" gctl rm --wait "$T/r1"
t_check "rm job: says what it removed" t_grep '^job [0-9]* succeeded: [0-9]* entries removed in ' "$T/out"
t_check "rrm: exit 0" t_run 0 "$T/out" "$RRM" "$T/r2"
t_check "rm job: the fixture is gone, as with rrm" test ! -e "$T/r1" -a ! -e "$T/r2"
t_check "rm job: the directory a symlink pointed to survives" test "$(cat "$T/outside/canary")" = keep
rmid=$(ctl list --json | jq -r 'select(.kind == "rm") | .id' | head -1)
t_check "rm job: --json shows the kind" test "$(job_field "$rmid" kind)" = rm
t_check "rm job: succeeded, no destination" test "$(job_field "$rmid" state) $(job_field "$rmid" destination)" = "succeeded null"
t_check "rm job: counts every entry removed" test "$(job_field "$rmid" entries_done)" = "$(ctl status --json "$rmid" | jq '.walk.files + .walk.dirs')" -a "$(job_field "$rmid" walk.files)" -gt 20

suite_fixture "$T/l"
t_check "link job: exit 0" t_run 0 "$T/out" gctl link --wait "$T/l" "$T/l-job"
t_check "rlink: exit 0" t_run 0 "$T/out" "$RLINK" "$T/l" "$T/l-tool"
t_check "link job: the same tree as rlink's" same_tree "$T/l-job" "$T/l-tool"
t_check "link job: files are hard links of the source's" same_inode "$T/l/dir/f2" "$T/l-job/dir/f2"
t_check "link job: deeper than PATH_MAX too" suite_deep_ok "$T/l-job"
lid=$(ctl list --json | jq -r 'select(.kind == "link") | .id')
t_check "link job: kind and destination in --json" test "$(job_field "$lid" kind) $(job_field "$lid" destination)" = "link $T/l-job"

suite_fixture "$T/c1" && suite_fixture "$T/c2"
t_check "chmod job: exit 0" t_run 0 "$T/out" gctl chmod --wait --mode 'f:g+rw d:g+rwxs' --group "$SUITE_USER" "$T/c1"
t_check "rchm: exit 0" t_run 0 "$T/out" "$RCHM" --mode 'f:g+rw d:g+rwxs' --group "$SUITE_USER" "$T/c2"
t_check "chmod job: modes and groups as rchm's" same_tree "$T/c1" "$T/c2"
t_check "chmod job: a file changed" test "$(stat -c '%a %G' "$T/c1/dir/f2")" = "660 $SUITE_USER"
cid=$(ctl list --json | jq -r 'select(.kind == "chmod") | .id')
t_check "chmod job: kind in status" t_grep '^kind: chmod$' <(ctl status "$cid") 
t_check "list: the kind before the path" t_grep "^$cid .* chmod $T/c1  \[[0-9]* entries changed" <(ctl list)

mkdir -p "$T/b1/x" "$T/b2/x" && printf f >"$T/b1/x/f" && printf g >"$T/b2/x/g"
printf 'rm %s\nchmod --mode 700 %s\nlink %s %s\n' "$T/b1" "$T/b2" "$T/b2" "$T/b3" >"$T/batch"
t_check "batch, lines of each kind: exit 0" t_run 0 "$T/out" gctl batch --wait "$T/batch"
t_check "batch: the rm, chmod and link lines done" test ! -e "$T/b1" -a "$(stat -c %a "$T/b2/x/g")" = 700
t_check "batch: the link line linked" same_inode "$T/b2/x/g" "$T/b3/x/g"
t_check "batch: a bad line of a kind, exit 2 naming it" t_run 2 "$T/out" gctl batch - <<<"rm --bogus x"
t_check "batch: the line said" t_grep "in - line 1" "$T/out"

NU=$T/$'n\xff-\xe9'
mkdir -p "$NU/sub" && printf x >"$NU/sub/"$'f\xfe'
t_check "rm job of a root not UTF-8: exit 0" t_run 0 "$T/out" gctl rm --wait "$NU"
t_check "rm job of a root not UTF-8: the exact bytes removed" test ! -e "$NU"

mkdir -p "$T/st/x"
t_check "rm job with --stall-timeout: exit 0" t_run 0 "$T/out" gctl rm --wait --stall-timeout 90s "$T/st"
t_check "rm job with --stall-timeout: the job's watchdog, in seconds" test "$(ctl list --json | jq -r 'select(.sources[0] == "'"$T/st"'") | .stall_timeout')" = 90

# --- a tool option's value is the tool's, even if it names an option of rcpctl ---
mkdir -p "$T/ex/d" && touch "$T/ex/--json" "$T/ex/d/--wait" "$T/ex/gone"
t_check "rm --exclude --json: exit 0" t_run 0 "$T/out" gctl rm --exclude --json --exc --wait --label=x --wait "$T/ex"
t_check "rm --exclude --json: rcpctl's output, not its --json" t_grep '^job [0-9]* succeeded: ' "$T/out"
t_check "rm --exclude --json: the patterns excluded, the rest removed" test -e "$T/ex/--json" -a -e "$T/ex/d/--wait" -a ! -e "$T/ex/gone"
exid=$(ctl list --json | jq -r 'select(.sources[0] == "'"$T/ex"'") | .id')
t_check "rm --exclude --json: the job's options, as given" test "$(ctl status --json "$exid" | jq -c '[.options, .label]')" = '[["--exclude","--json","--exc","--wait"],"x"]'
t_check "chmod --owner --key: an owner, not rcpctl's --key (exit 2)" t_run 2 "$T/out" ctl chmod --owner --key "$T/c1"
t_check "chmod --owner --key: the owner named" t_grep "--owner: no user '--key'" "$T/out"

# --- usage: exit 2 with the cause, nothing queued ---------------------------------
n0=$(ctl list --json | wc -l)
t_check "chmod without a change: exit 2" t_run 2 "$T/out" ctl chmod "$T/c1"
t_check "chmod without a change: why" t_grep 'nothing to change: give --mode, --owner or --group' "$T/out"
t_check "bad mode: exit 2" t_run 2 "$T/out" ctl chmod --mode zz "$T/c1"
t_check "an option rrm has not: exit 2" t_run 2 "$T/out" ctl rm --overwrite "$T/c1"
t_check "a bad --stall-timeout: exit 2" t_run 2 "$T/out" ctl rm --stall-timeout soon "$T/c1"
t_check "rm without a path: exit 2" t_run 2 "$T/out" ctl rm --wait
t_check "link with three paths: exit 2" t_run 2 "$T/out" ctl link "$T/l" "$T/a" "$T/b"
t_check "a remote path: exit 2" t_run 2 "$T/out" ctl rm host:/tmp/x
t_check "a remote path: said so" t_grep "rm jobs take local paths only: source 'host:/tmp/x' is host:path" "$T/out"
printf -- '- *.o\n' >"$T/rules"
t_check "--filter-file: refused by the master (exit 2)" t_run 2 "$T/out" ctl rm --filter-file "$T/rules" "$T/c1"
t_check "--filter-file: why" t_grep 'filter-file is not taken by rm jobs' "$T/out"
t_check "--record-files on rm: refused (exit 2)" t_run 2 "$T/out" ctl rm --record-files "$T/c1"
t_check "a bad kind in a raw request: invalid_argument naming it" test "$(python3 - "$SOCK" <<'EOF'
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
f = s.makefile('rb')
for m in ({'id': 0, 'method': 'hello', 'version': 1},
          {'id': 1, 'method': 'submit', 'kind': 'sweep', 'sources': ['/x']},
          {'id': 2, 'method': 'submit', 'kind': 'rm', 'sources': ['/x'], 'destination': '/y'},
          {'id': 3, 'method': 'submit', 'kind': 'link', 'sources': ['/x', '/z'], 'destination': '/y'}):
    s.sendall((json.dumps(m) + '\n').encode())
    r = json.loads(f.readline())
    if m['id'] > 0:
        print(r['error']['code'], r['error']['message'])
EOF
)" = "invalid_argument unknown job kind 'sweep' (expected copy, rm, link or chmod)
invalid_argument rm jobs take no 'destination'
invalid_argument a link job takes one source"
t_check "usage errors queued nothing" test "$(ctl list --json | wc -l)" = "$n0"
t_check "rm --help: exit 0, the tool's options" t_run 0 "$T/out" ctl rm --help
t_check "rm --help: names the age filters" t_grep 'modified-before' "$T/out"
t_check "an rm job of a missing path: failed (exit 1)" t_run 1 "$T/out" gctl rm --wait "$T/missing"
t_check "an rm job of a missing path: its cause" t_grep "error: cannot access '$T/missing': No such file or directory" "$T/out"

# --- as an unprivileged submitter: only what the user could do ----------------------
mkdir -p "$T/rootdir" "$T/mixed/mine" && printf r >"$T/rootdir/f" && printf r >"$T/rootfile"
printf m >"$T/mixed/mine/f" && printf r >"$T/mixed/rootf"
chown -R "$SUITE_USER:$SUITE_USER" "$T/mixed/mine" && chmod 755 "$T/rootdir" "$T/mixed"
chmod 644 "$T/rootfile" "$T/rootdir/f"
t_check "user's rm of a root file in a root directory: failed (exit 1)" t_run 1 "$T/out" guctl rm --wait "$T/rootdir/f"
t_check "user's rm: the cause" t_grep "cannot remove '$T/rootdir/f': Permission denied" "$T/out"
uid=$(uctl list --json | jq -r 'select(.kind == "rm") | .id' | tail -1)
t_check "user's rm: the job is the user's" test "$(job_field "$uid" uid)" = "$UID_"
t_check "user's rm: the cause in the job's errors" t_grep "cannot remove '$T/rootdir/f': Permission denied" <(job_field "$uid" 'errors[]')
t_check "user's rm: and in its ledger" t_grep "^error: cannot remove '$T/rootdir/f': Permission denied$" <(uctl files "$uid")
t_check "user's rm: the file is still there" test -f "$T/rootdir/f"
t_check "user's rm of a tree partly theirs: partial (exit 4)" t_run 4 "$T/out" guctl rm --wait "$T/mixed"
t_check "user's rm: what was theirs to remove is gone" test ! -e "$T/mixed/mine/f"
t_check "user's rm: root's file and directory stay, and the user's entry in it" test -f "$T/mixed/rootf" -a -d "$T/mixed/mine"
t_check "user's rm: the cause of what stayed" t_grep "cannot remove directory '$T/mixed/mine': Permission denied" "$T/out"
t_check "user's chmod of root's file: failed (exit 1)" t_run 1 "$T/out" guctl chmod --wait --mode 777 "$T/rootfile"
t_check "user's chmod: the cause" t_grep "'$T/rootfile': Operation not permitted" "$T/out"
t_check "user's chmod: the mode is unchanged" test "$(stat -c '%a %U' "$T/rootfile")" = "644 root"
as_user sh -c "printf u >'$T/home-file'" 2>/dev/null || { printf u >"$T/home-file"; chown "$SUITE_USER" "$T/home-file"; }
t_check "user's chown of their file to root: failed (exit 1)" t_run 1 "$T/out" guctl chmod --wait --owner root "$T/home-file"
t_check "user's chown: still the user's" test "$(stat -c %U "$T/home-file")" = "$SUITE_USER"
mkdir -p "$T/lsrc" "$T/ldst" && printf s >"$T/lsrc/secret" && printf o >"$T/lsrc/open"
chmod 600 "$T/lsrc/secret" && chmod 644 "$T/lsrc/open" && chmod 755 "$T/lsrc"
chown "$SUITE_USER" "$T/lsrc/open"
chown "$SUITE_USER" "$T/ldst"
t_check "protected_hardlinks is on" test "$(cat /proc/sys/fs/protected_hardlinks)" = 1
t_check "user's link of a file they cannot read: partial (exit 4)" t_run 4 "$T/out" guctl link --wait "$T/lsrc" "$T/ldst/copy"
t_check "user's link: the cause" t_grep "cannot create hard link '$T/ldst/copy/secret': Operation not permitted" "$T/out"
t_check "user's link: only that one failed" test "$(job_field "$(uctl list --json | jq -r 'select(.kind == "link") | .id' | tail -1)" errors_total)" = 1
t_check "user's link: no link to the secret" test ! -e "$T/ldst/copy/secret"
t_check "user's link: the secret has one link" test "$(stat -c %h "$T/lsrc/secret")" = 1
t_check "user's link: the user's own file was linked" same_inode "$T/lsrc/open" "$T/ldst/copy/open"

# --- cancel of a running rm job (the user's, in a job's process) -----------------------
mkdir "$T/big"
for d in 0 1 2 3 4 5 6 7 8 9; do
	mkdir "$T/big/d$d" && (cd "$T/big/d$d" && seq -f "f%05g" 1 10000 | xargs touch)
done
ln -s "$T/outside" "$T/big/to-outside"
chown -R "$SUITE_USER:$SUITE_USER" "$T/big"
bid=$(uctl rm --json --ops-throttle 4000 "$T/big" | jq -r .id)
for ((i = 0; i < 400; i++)); do
	[ "$(job_field "$bid" entries_done)" -gt 100 ] 2>/dev/null && break
	sleep 0.05
done
t_check "big rm: running and removing" test "$(job_field "$bid" state)" = running -a "$(job_field "$bid" entries_done)" -gt 100
t_check "big rm: runs in a process of the user" test -n "$(job_procs "$SUITE_USER")"
t_check "big rm: cancel --wait exits 5" t_run 5 "$T/out" guctl cancel --wait "$bid"
t_check "big rm: canceled" test "$(job_field "$bid" state)" = canceled
left=$(find "$T/big" -type f | wc -l)
t_check "big rm: the tree is partly there ($left files left)" test "$left" -gt 0 -a "$left" -lt 100000
t_check "big rm: progress counted what went" test "$(job_field "$bid" walk.files)" -ge $((100000 - left - 1))
t_check "big rm: nothing outside removed" test "$(cat "$T/outside/canary")" = keep
t_check "big rm: no job's process left" test -z "$(job_procs)"
m_stop

# --- a queued rm job survives a restart (journal); a running link job resumes ----------
mkdir -p "$T/q1/sub" "$T/q2/sub"
for i in $(seq 1 60); do printf 'x%s' "$i" >"$T/q1/sub/f$i"; done
for i in $(seq 1 20); do printf y >"$T/q2/sub/g$i"; done
t_check "one-worker master starts" m_start --socket-mode 0666 --workers 1
slow=$(ctl link --json --ops-throttle 20 "$T/q1" "$T/q1-link" | jq -r .id)
qid=$(ctl rm --json --label queued "$T/q2" | jq -r .id)
for ((i = 0; i < 200; i++)); do
	[ "$(job_field "$slow" entries_done)" -gt 3 ] 2>/dev/null && break
	sleep 0.05
done
t_check "restart: the link job is running" test "$(job_field "$slow" state)" = running
t_check "restart: the rm job is queued behind it" test "$(job_field "$qid" state)" = queued
m_stop --requeue
t_check "restart: the journal keeps the kinds" t_grep '"kind":"rm"' "$STATE/journal"
t_check "restart: the link job was stopped part way" test "$(find "$T/q1-link" -type f | wc -l)" -lt 60
t_check "restart: the queued tree is untouched" test "$(find "$T/q2" -type f | wc -l)" = 20
t_check "master starts again" m_start --socket-mode 0666 --workers 1
t_check "restart: the queued rm job runs to success (exit 0)" t_run 0 "$T/out" gctl wait "$qid"
t_check "restart: its tree is gone" test ! -e "$T/q2"
t_check "restart: still an rm job, with its label" test "$(job_field "$qid" kind) $(job_field "$qid" label)" = "rm queued"
t_check "restart: the link job resumed to success (exit 0)" t_run 0 "$T/out" gctl wait "$slow"
t_check "restart: its tree complete, every file a link" test "$(find "$T/q1-link" -type f -links 2 | wc -l)" = 60
t_check "restart: and ran twice" test "$(job_field "$slow" attempts) $(job_field "$slow" kind)" = "2 link"
m_stop
t_check "master log: no crash, no sanitizer report" sh -c "! grep -q 'Sanitizer\|runtime error\|Segmentation' '$T/master.log'"
t_done
