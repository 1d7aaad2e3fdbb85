#!/bin/bash
# master-load.sh: 200 jobs submitted at once by 8 concurrent clients (four
# submitting one job at a time, four with a batch file each) all finish,
# each with its own id, and every copy is right.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"

S=$T/src
"$FILEGEN" -q -s 3 "$S" 4 10 1K-16K
mkdir "$T/out"
t_check "master starts" m_start --workers 4

# client N: 25 jobs, copying the four source directories in turn.
client() {
	local n=$1 k
	if [ $((n % 2)) = 0 ]; then
		for k in $(seq 1 25); do
			ctl submit "$S/d$((k % 4))" "$T/out/c$n-$k" || echo "submit failed" >&2
		done
	else
		for k in $(seq 1 25); do
			echo "$S/d$((k % 4)) $T/out/c$n-$k"
		done >"$T/batch$n"
		ctl batch "$T/batch$n" || echo "batch failed" >&2
	fi >"$T/ids$n" 2>"$T/err$n"
}
pids=()
for n in $(seq 1 8); do client "$n" & pids+=($!); done
wait "${pids[@]}"
cat "$T"/ids* | sed -n 's/^job \([0-9]*\)$/\1/p' | sort -n >"$T/ids"
t_check "8 clients: no client failed" test -z "$(cat "$T"/err*)"
t_check "8 clients: 200 ids" test "$(wc -l <"$T/ids")" = 200
t_check "8 clients: 200 distinct ids" test "$(sort -u "$T/ids" | wc -l)" = 200

for id in $(cat "$T/ids"); do
	ctl wait "$id" >/dev/null 2>&1 || echo "$id"
done >"$T/notok"
t_check "all 200 jobs succeeded" test ! -s "$T/notok"
t_check "the master agrees: 200 succeeded" test "$(ctl list --state succeeded --json | jq -s length)" = 200
bad=0
for n in $(seq 1 8); do
	for k in $(seq 1 25); do
		diff -r "$S/d$((k % 4))" "$T/out/c$n-$k" >/dev/null 2>&1 || bad=$((bad + 1))
	done
done
t_check "all 200 copies equal their sources ($bad differ)" test "$bad" = 0
t_check "stats: nothing left queued or running" test "$(ctl stats --json | jq -r '"\(.queued) \(.running) \(.jobs.succeeded)"')" = "0 0 200"
m_stop

t_done
