#!/bin/bash
# master-metrics.sh: rcpctl metrics prints the master's counters in the
# Prometheus text format, valid for promtool, with the bytes a job copied
# and the jobs by state, the entries rm, chmod and link jobs dealt with and
# the jobs by kind; rcpctl list of mixed kinds; it answers while a job runs; --metrics-textfile
# keeps a file of the same for node_exporter.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"

S=$T/src
"$FILEGEN" -q -s 5 "$S" 2,2 10 4K
bytes=$(find "$S" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
t_check "master starts" m_start --workers 2 --metrics-textfile "$T/rcp.prom"
t_check "a copy" t_run 0 "$T/out" ctl submit --wait "$S" "$T/d1"
# An rm, a chmod and a link job of a small tree each: their entries count
# by kind, not as transfers.
for d in rm ch ln; do mkdir -p "$T/$d/a/b" && touch "$T/$d/f" "$T/$d/a/f" "$T/$d/a/b/f"; done
ne=$(find "$T/rm" | wc -l)
t_check "an rm job" t_run 0 "$T/out" ctl rm --wait "$T/rm"
t_check "a chmod job" t_run 0 "$T/out" ctl chmod --wait --mode 750 "$T/ch"
t_check "a link job" t_run 0 "$T/out" ctl link --wait "$T/ln" "$T/ln2"
t_check "the link job linked" test "$(stat -c %h "$T/ln2/a/b/f")" = 2
t_check "metrics: exit 0" t_run 0 "$T/m" ctl metrics
if command -v promtool >/dev/null 2>&1; then
	t_check "metrics: promtool check metrics" t_run 0 "$T/pt" sh -c "promtool check metrics <'$T/m'"
else
	echo "# promtool not installed (Debian: prometheus): format not checked"
fi
t_check "metrics: bytes transferred" t_grep "^rcp_bytes_transferred_total $bytes\$" "$T/m"
t_check "metrics: four jobs succeeded" t_grep '^rcp_jobs\{state="succeeded"\} 4$' "$T/m"
t_check "metrics: none failed" t_grep '^rcp_jobs\{state="failed"\} 0$' "$T/m"
t_check "metrics: workers" t_grep '^rcp_workers 2$' "$T/m"
n=$(find "$S" -type f | wc -l)
t_check "metrics: files transferred" t_grep "^rcp_files_transferred_total $n\$" "$T/m"
t_check "metrics: no errors" t_grep '^rcp_errors_total 0$' "$T/m"
t_check "metrics: entries removed by the rm job" t_grep "^rcp_entries_total\\{kind=\"rm\"\\} $ne\$" "$T/m"
t_check "metrics: entries changed by the chmod job" t_grep "^rcp_entries_total\\{kind=\"chmod\"\\} $ne\$" "$T/m"
t_check "metrics: entries linked or made by the link job" t_grep "^rcp_entries_total\\{kind=\"link\"\\} $ne\$" "$T/m"
t_check "metrics: files the copy dealt with" t_grep "^rcp_entries_total\\{kind=\"copy\"\\} $n\$" "$T/m"
t_check "metrics: one counter family, kind as a label" test "$(grep -c '^# TYPE rcp_entries_total counter$' "$T/m")" = 1
for k in copy rm link chmod; do
	t_check "metrics: one $k job in the table" t_grep "^rcp_jobs_kind\\{kind=\"$k\"\\} 1\$" "$T/m"
done
t_check "stats --json: entries by kind" test "$(ctl stats --json | jq -c '[.entries_by_kind.rm, .entries_by_kind.chmod, .jobs_by_kind.link]')" = "[$ne,$ne,1]"
t_check "stats: the entries line" t_grep "^entries: copy $n, rm $ne, link $ne, chmod $ne\$" <(ctl stats)
# rcpctl list of mixed kinds: a KIND column for every row, under its header.
t_check "list: exit 0" t_run 0 "$T/list" ctl list
t_check "list: the header names the kind and paths" t_grep '^ID +STATE +PRIO +LABEL +KIND +PATHS$' "$T/list"
t_check "list: the kind in its column, every row" test "$(awk '{ print $5 }' "$T/list" | tr '\n' ' ')" = "KIND copy rm chmod link "
t_check "list: a copy's row" t_grep "^[0-9]+ +succeeded +0 +- +copy +$S -> $T/d1  \\[" "$T/list"
t_check "list: an rm's row, no destination" t_grep "^[0-9]+ +succeeded +0 +- +rm +$T/rm  \\[$ne entries removed" "$T/list"
t_check "list: a link's row" t_grep "^[0-9]+ +succeeded +0 +- +link +$T/ln -> $T/ln2  \\[" "$T/list"
t_check "metrics: submit-to-start histogram counts the jobs" t_grep '^rcp_job_start_wait_seconds_count 4$' "$T/m"
t_check "metrics: within the hour" t_grep '^rcp_job_start_wait_seconds_bucket\{le="3600"\} 4$' "$T/m"
untyped() {
	grep -v '^#' "$1" | sed 's/[{ ].*//; s/_bucket$//; s/_sum$//; s/_count$//' | sort -u |
	    while read -r f; do grep -q "^# TYPE $f " "$1" || echo "$f"; done
}
t_check "metrics: a TYPE for each family" test -z "$(untyped "$T/m")"

# --metrics-textfile: rewritten every 5 s from the housekeeping thread.
for ((i = 0; i < 300; i++)); do
	grep -q '^rcp_jobs{state="succeeded"} 4$' "$T/rcp.prom" 2>/dev/null && break
	sleep 0.1
done
t_check "textfile: has the succeeded jobs" t_grep '^rcp_jobs\{state="succeeded"\} 4$' "$T/rcp.prom"
t_check "textfile: the rm job's entries" t_grep "^rcp_entries_total\\{kind=\"rm\"\\} $ne\$" "$T/rcp.prom"
t_check "textfile: the bytes" t_grep "^rcp_bytes_transferred_total $bytes\$" "$T/rcp.prom"
if command -v promtool >/dev/null 2>&1; then
	t_check "textfile: promtool check metrics" t_run 0 "$T/pt" sh -c "promtool check metrics <'$T/rcp.prom'"
fi
sed -n '/^    groups:/,/^$/p' "$RCP_SRCDIR/doc/examples/node-exporter.md" | sed 's/^    //' >"$T/rules.yml"
if command -v promtool >/dev/null 2>&1; then
	t_check "doc/examples/node-exporter.md: promtool check rules" t_run 0 "$T/pt" promtool check rules "$T/rules.yml"
fi
t_check "textfile: no temporary left" test ! -e "$T/rcp.prom.tmp"
mkdir "$T/x1" "$T/x2" "$T/x3"
t_check "an rm job of three paths" t_run 0 "$T/out" ctl rm --wait "$T/x1" "$T/x2" "$T/x3"
t_check "list: its first path and how many more" t_grep "^[0-9]+ +succeeded +0 +- +rm +$T/x1 \\(\\+2 more\\)  \\[3 entries removed" <(ctl list)

id=$(ctl submit --json --ops-throttle 5 "$S" "$T/d2" | jq -r .id)
t_check "slow job: running" wait_running "$id" 20
t_check "metrics while a job runs: answers" t_run 0 "$T/m" guarded "$RCPCTL" --socket "$SOCK" metrics
t_check "metrics while a job runs: one running" t_grep '^rcp_jobs_running 1$' "$T/m"
t_check "metrics while a job runs: one worker busy" t_grep '^rcp_workers_busy 1$' "$T/m"
t_check "metrics while a job runs: one on the local pair" t_grep '^rcp_jobs_running_pair\{pair="local→local"\} 1$' "$T/m"
t_check "metrics while a job runs: promtool check metrics" t_run 0 "$T/pt" sh -c "promtool check metrics <'$T/m'"
ctl cancel "$id" >/dev/null
m_stop
t_done
