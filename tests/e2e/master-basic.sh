#!/bin/bash
# master-basic.sh: rcp-master driven by rcpctl: submit, status, list, wait,
# watch, cancel, batch, stats, ping; the documented exit codes and --json
# objects; idempotency keys; rcp's options checked on both sides; remote
# jobs that cannot be are refused up front; a master that is not there.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/master-lib.sh"

S=$T/src
"$FILEGEN" -q -s 1 "$S" 3,3 20 1K-64K
t_check "source: 180 files" test "$(find "$S" -type f | wc -l)" = 180
t_check "master starts" m_start --workers 2

# --- a copy, to the end ------------------------------------------------------
t_check "submit --wait: exit 0" t_run 0 "$T/out" ctl submit --wait -p "$S" "$T/d1"
t_check "submit: prints the job id" t_grep '^job 1$' "$T/out"
t_check "submit --wait: how it ended" t_grep '^job 1 succeeded: 180 files' "$T/out"
t_check "submit --wait: data equal" diff -r "$S" "$T/d1"
t_check "submit --wait: -p kept times (rcmp)" t_run 0 "$T/rcmp" "$RCMP" "$S" "$T/d1"

# --- --json: one object with the documented members -----------------------------
t_check "submit --json: exit 0" t_run 0 "$T/j" ctl submit --json "$S" "$T/d2"
t_check "submit --json: id, state and counters" jq -e 'has("id") and has("state") and
    has("bytes_done") and has("bytes_total") and has("files_done") and has("files_total") and
    has("rate") and has("eta") and has("errors") and has("errors_total") and has("stats")' "$T/j" >/dev/null
id=$(jq -r .id "$T/j")
t_check "wait: exit 0" t_run 0 "$T/out" ctl wait "$id"
t_check "wait: the end line" t_grep "^job $id succeeded" "$T/out"
t_check "status --json: succeeded, totals known" test \
    "$(ctl status --json "$id" | jq -r '[.state, .files_done, .files_total, .bytes_done == .bytes_total, .eta] | join(" ")')" = "succeeded 180 180 true 0"
t_check "status: text" t_run 0 "$T/out" ctl status "$id"
t_check "status: state line" t_grep '^state: succeeded$' "$T/out"
t_check "status: progress line" t_grep '^progress: .* of .* \(100%\), 180 of 180 files' "$T/out"
t_check "list: two jobs" test "$(ctl list | grep -c succeeded)" = 2
t_check "list --state succeeded --json: two objects" test "$(ctl list --state succeeded --json | jq -s length)" = 2
t_check "list --state failed: none" test -z "$(ctl list --state failed)"
t_check "status of an unknown job: exit 1" t_run 1 "$T/out" ctl status 999
t_check "status of an unknown job: message" t_grep 'no job 999' "$T/out"

# --- --verify and --manifest are rcp options, counted in the job record ----------------
t_check "submit --verify --manifest: exit 0" t_run 0 "$T/j" ctl submit --json --verify --manifest "$T/man-v" "$S" "$T/dv"
id=$(jq -r .id "$T/j")
t_check "verify job: wait: exit 0" t_run 0 "$T/out" ctl wait "$id"
t_check "verify job: data equal" diff -r "$S" "$T/dv"
t_check "verify job: counters in --json" test \
    "$(ctl status --json "$id" | jq -r '[.stats.files_verified, .stats.bytes_verified == .bytes_total, .stats.verify_mismatches] | join(" ")')" = "180 true 0"
t_check "verify job: status text" t_run 0 "$T/out" ctl status "$id"
t_check "verify job: a verified line" t_grep '^verified: 180 files, .*, 0 mismatches$' "$T/out"
t_check "verify job: the manifest checks" sh -c "cd '$T/dv' && xxh128sum -c --strict '$T/man-v' >/dev/null"
t_check "submit --verify=bogus: refused" t_run 2 "$T/out" ctl submit --verify=bogus "$S" "$T/dv2"

# --- paths are the client's: relative to its cwd, ~ to its HOME --------------------
t_check "relative paths: exit 0" t_run 0 "$T/out" sh -c "cd '$T' && '$RCPCTL' --socket '$SOCK' submit --wait src d3"
t_check "relative paths: copied" diff -r "$S" "$T/d3"
t_check "~ paths: exit 0" t_run 0 "$T/out" env HOME="$T" "$RCPCTL" --socket "$SOCK" submit --wait '~/src' '~/d4'
t_check "~ paths: copied" diff -r "$S" "$T/d4"
mkdir "$T/dm"
t_check "several sources into a directory: exit 0" t_run 0 "$T/out" ctl submit --wait "$S/d0" "$S/d1" "$T/dm/"
t_check "several sources into a directory: copied" diff -r "$S/d1" "$T/dm/d1"
t_check "several sources without a trailing '/': exit 2" t_run 2 "$T/out" ctl submit "$S/d0" "$S/d1" "$T/d1"

# --- exit 1: failed jobs, with the cause --------------------------------------------
t_check "missing source: exit 1" t_run 1 "$T/out" ctl submit --wait "$T/nonexistent" "$T/d5"
t_check "missing source: the cause" t_grep "failed: .*nonexistent" "$T/out"
t_check "existing destination: exit 1" t_run 1 "$T/out" ctl submit --wait "$S" "$T/d1"
t_check "existing destination: the cause" t_grep "already exists" "$T/out"
t_check "existing destination with -o: exit 0" t_run 0 "$T/out" ctl submit --wait -o "$S" "$T/d1"

# --- exit 5: cancel mid-copy ---------------------------------------------------------
ctl submit --json -p --ops-throttle 25 "$S" "$T/dc" >"$T/j"
id=$(jq -r .id "$T/j")
t_check "slow job: running" wait_running "$id" 20
# How fast is not the point (timeout 60 is a hang guard, exit 124): that
# the job stopped short of its end is, below.
t_check "cancel --wait: exit 5" t_run 5 "$T/out" timeout -k 5 60 "$RCPCTL" --socket "$SOCK" cancel --wait "$id"
t_check "cancel: state canceled" test "$(job_field "$id" state)" = canceled
n=$(find "$T/dc" -type f | wc -l)
t_check "cancel: the copy was cut short ($n of 180 files)" test "$n" -lt 180
t_check "cancel: no file looks complete without being so" test -z "$(looks_complete_but_differs "$S" "$T/dc")"
t_check "cancel again: exit 0 (already canceled)" t_run 0 "$T/out" ctl cancel "$id"
t_check "cancel a finished job: exit 1" t_run 1 "$T/out" ctl cancel 1
t_check "cancel a finished job: message" t_grep 'already finished \(succeeded\)' "$T/out"
t_check "rerun with -o -p completes it" t_run 0 "$T/out" ctl submit --wait -o -p "$S" "$T/dc"
t_check "rerun: data equal" diff -r "$S" "$T/dc"

# --- exit 6: waiting too little ---------------------------------------------------------
id=$(ctl submit --json --ops-throttle 10 "$S" "$T/dt" | jq -r .id)
t_check "wait --timeout 300ms: exit 6" t_run 6 "$T/out" ctl wait --timeout 300ms "$id"
t_check "wait --timeout: message" t_grep "has not ended yet" "$T/out"
ctl cancel "$id" >/dev/null

# --- watch: text lines off a terminal, JSON lines with --json ------------------------------
id=$(ctl submit --json --ops-throttle 200 "$S" "$T/dw" | jq -r .id)
t_check "watch: exit 0" t_run 0 "$T/watch" ctl watch --interval 200ms "$id"
t_check "watch: progress lines" t_grep "^job $id (queued|running): .* files" "$T/watch"
t_check "watch: the end line last" test "$(tail -1 "$T/watch" | cut -d: -f1)" = "job $id succeeded"
t_check "watch --json of an ended job: its object" test "$(ctl watch --json "$id" | tail -1 | jq -r .state)" = succeeded

# --- idempotency keys --------------------------------------------------------------------------
a=$(ctl submit --json --key nightly-1 --label nightly --priority 5 "$S" "$T/dk" | jq -r .id)
b=$(ctl submit --json --key nightly-1 --label nightly --priority 5 "$S" "$T/dk" | jq -r .id)
t_check "same key twice: the same job ($a, $b)" test "$a" = "$b"
t_check "same key: says so" t_run 0 "$T/out" ctl submit --key nightly-1 "$S" "$T/dk"
t_check "same key: message" t_grep "^already submitted as job $a$" "$T/out"
t_check "same key: one job only" test "$(ctl list --json | jq -s 'map(select(.key == "nightly-1")) | length')" = 1
t_check "label and priority kept" test "$(job_field "$a" label)/$(job_field "$a" priority)" = nightly/5
t_check "list --label" test "$(ctl list --label nightly --json | jq -r .id)" = "$a"
t_check "keyed job: exit 0" t_run 0 "$T/out" ctl wait "$a"

# --- options: rcp's parser, here and in the master -------------------------------------------------
t_check "unknown option: exit 2" t_run 2 "$T/out" ctl submit --bogus "$S" "$T/x"
t_check "unknown option: named" t_grep "unknown option '--bogus'" "$T/out"
t_check "bad value: exit 2" t_run 2 "$T/out" ctl submit --chunk-size 1 "$S" "$T/x"
t_check "bad value: named" t_grep "^rcpctl: --chunk-size: '1'" "$T/out"
t_check "missing filter file: exit 2" t_run 2 "$T/out" ctl submit --filter-file "$T/nofile" "$S" "$T/x"
t_check "--exclude reaches the job" t_run 0 "$T/out" ctl submit --wait --exclude 'f1*' "$S" "$T/dx"
t_check "--exclude: excluded files absent" test -z "$(find "$T/dx" -name 'f1*')"
t_check "--exclude: the options kept with the job" test "$(ctl list --json | jq -r 'select(.destination | endswith("/dx")) | .options | join(" ")')" = "--exclude f1*"
t_check "nothing was copied by refused submits" test ! -e "$T/x"

# --- remote paths: checked up front (remote copies run in master-remote.sh) ------------------------
t_check "sources on two hosts: exit 2" t_run 2 "$T/out" ctl submit h1:/a h2:/b "$T/dr/"
t_check "sources on two hosts: clear message" t_grep "all sources of a job must be on one host \('h1' and 'h2'\)" "$T/out"
t_check "bad remote option: exit 2" t_run 2 "$T/out" ctl submit --quic-profile lan "$S" otherhost:/backup
t_check "bad remote option: names it" t_grep "quic-profile: unknown profile 'lan'" "$T/out"

# --- names that are not UTF-8: carried as bytes (base64 in the JSON) -------------------------------
NU=$T/nu/$'caf\xe9-\xff'
NO=$T/nu/$'out-\xfe'
mkdir -p "$NU/sub" && printf 'bytes\n' >"$NU/sub/f"
t_check "non-UTF-8 source and destination: exit 0" t_run 0 "$T/out" ctl submit --wait "$NU" "$NO"
t_check "non-UTF-8: the copy has the exact names" cmp -s "$NU/sub/f" "$NO/sub/f"
id=$(ctl list --json | jq -r 'select(.sources_b64 != null) | .id' | tail -1)
t_check "non-UTF-8: the job keeps the bytes (sources_b64)" test "$(ctl status --json "$id" | jq -r '.sources_b64[0]' | base64 -d | od -An -c | tr -d ' \n')" = "$(printf '%s' "$NU" | od -An -c | tr -d ' \n')"
t_check "non-UTF-8: a display form too" test "$(ctl status --json "$id" | jq -r '.destination')" = "$T/nu/out-\\xfe"

# --- batch: one copy per line -------------------------------------------------------------------------
cat >"$T/batch" <<EOF
# nightly copies
$S/d0 $T/b0
-p '$S/d1' "$T/b1"   # quoted, with an option
--label special $S/d2 $T/b2
EOF
t_check "batch --wait: exit 0" t_run 0 "$T/out" ctl batch --wait --label fromfile "$T/batch"
t_check "batch: three jobs" test "$(grep -c '^job [0-9]*$' "$T/out")" = 3
t_check "batch: data equal" diff -r "$S/d1" "$T/b1"
t_check "batch: all three copied" test -d "$T/b0" -a -d "$T/b2"
t_check "batch: per-line label wins" test "$(ctl list --label special --json | jq -s length)" = 1
t_check "batch: default label" test "$(ctl list --label fromfile --json | jq -s length)" = 2
printf '%s\n' "$S/d0 $T/bb0" "--bogus $S/d1 $T/bb1" >"$T/badbatch"
t_check "batch with a bad line: exit 2" t_run 2 "$T/out" ctl batch "$T/badbatch"
t_check "batch with a bad line: names the line" t_grep "badbatch line 2" "$T/out"
t_check "batch with a bad line: nothing submitted" test ! -e "$T/bb0"

# --- stats and ping -------------------------------------------------------------------------------------
t_check "stats: exit 0" t_run 0 "$T/out" ctl stats
t_check "stats: queue length" t_grep '^queued: 0$' "$T/out"
t_check "stats --json: members" test "$(ctl stats --json | jq -r '[.queued, .running, .workers, (.throughput|type)] | join(" ")')" = "0 0 2 number"
t_check "ping: exit 0" t_run 0 "$T/out" ctl ping
t_check "ping: names the master" t_grep '^rcp-master [0-9.]+ \(protocol 1\) answers$' "$T/out"

# --- usage, and no master ----------------------------------------------------------------------------------
t_check "no command: exit 2" t_run 2 "$T/out" "$RCPCTL"
t_check "unknown command: exit 2" t_run 2 "$T/out" "$RCPCTL" frob
t_check "--help: exit codes documented" sh -c "'$RCPCTL' --help | grep -q '3 cannot reach the'"
t_check "no master there: exit 3" t_run 3 "$T/out" "$RCPCTL" --socket "$T/nothing.sock" ping
t_check "no master there: message" t_grep "cannot connect" "$T/out"
m_stop
t_check "shutdown: the master exited" sh -c "! kill -0 $MPID 2>/dev/null"
t_check "shutdown: socket removed" test ! -e "$SOCK"
t_check "after shutdown: exit 3" t_run 3 "$T/out" ctl ping

t_done
